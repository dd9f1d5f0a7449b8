package imapserver

import (
	"errors"
	"io"
	"strconv"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/mime"
)

// fetchChunk is how many messages' summaries are asked for at once.
const fetchChunk = 256

// Responses to a FETCH are gathered in a buffer of outBufSize taken from
// the server's pool and written when they pass outFlushAt, so that a
// FETCH of 10,000 envelopes (3.4 MB) is about 60 writes, not 840
// (the session's own writer is small: idle sessions keep it).
const (
	outBufSize = 64 << 10
	outFlushAt = outBufSize - 4<<10
)

// getOut takes a response buffer from the pool.
func (ss *session) getOut() *[]byte {
	if p, ok := ss.srv.outBufs.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, outBufSize)
	return &b
}

// putOut returns a buffer; one that grew (a huge response line) is dropped.
func (ss *session) putOut(p *[]byte) {
	if cap(*p) > 2*outBufSize {
		return
	}
	*p = (*p)[:0]
	ss.srv.outBufs.Put(p)
}

// dateLayout is RFC 9051's date-time.
const dateLayout = "_2-Jan-2006 15:04:05 -0700"

// cmdFetch implements FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 7162
// CHANGEDSINCE, RFC 3516 BINARY).
func (ss *session) cmdFetch(tag string, d *imapwire.Decoder, uid bool) *status {
	d.SP()
	set := d.SeqSet()
	d.SP()
	req := parseFetch(d, uid)
	if !d.End() {
		return nil
	}
	if req.changedSince > 0 {
		ss.condstore = true // RFC 7162 §3.1: CHANGEDSINCE enables CONDSTORE
	}
	cur, err := ss.current()
	if err != nil {
		return errStatus(err)
	}
	ts, st := ss.resolve(set, uid, cur)
	if st != nil {
		return st
	}
	var seenSet map[uint32]bool
	if req.setSeen && !ss.sel.readOnly {
		if ts, _, seenSet, err = ss.markSeen(ts, cur); err != nil {
			return errStatus(err)
		}
	}
	out := ss.getOut()
	b := (*out)[:0]
	defer func() { // what is gathered goes out before the tagged status
		ss.write(b)
		*out = b[:0]
		ss.putOut(out)
	}()
	for start := 0; start < len(ts) && ss.writeErr == nil; start += fetchChunk {
		chunk := ts[start:min(start+fetchChunk, len(ts))]
		chunk = filterTargets(chunk, req)
		var sums []*summary
		if req.summary {
			if sums, err = ss.summaries(chunk); err != nil {
				return errStatus(err)
			}
		}
		for i := range chunk {
			var sum *summary
			if sums != nil {
				sum = sums[i]
			}
			if b, err = ss.fetchOne(b, req, &chunk[i], sum, seenSet[chunk[i].info.UID]); err != nil {
				return errStatus(err)
			}
			if len(b) >= outFlushAt {
				ss.write(b)
				b = b[:0]
			}
		}
	}
	return nil
}

// filterTargets drops the messages FETCH does not report: those not
// changed since CHANGEDSINCE (RFC 7162 §3.1.4), and for UID FETCH those
// expunged meanwhile, whose EXPUNGE follows the command.
func filterTargets(ts []target, req *fetchReq) []target {
	if req.changedSince == 0 && !req.uid {
		return ts
	}
	out := ts[:0:0]
	for _, t := range ts {
		if t.info.ModSeq > req.changedSince && !(req.uid && t.expunged) {
			out = append(out, t)
		}
	}
	return out
}

// markSeen sets \Seen on the targets that lack it (RFC 9051 §6.4.5:
// BODY[] without PEEK) and returns the targets with their new metadata.
func (ss *session) markSeen(ts []target, cur *Snapshot) ([]target, *Snapshot, map[uint32]bool, error) {
	var uids []uint32
	for _, t := range ts {
		if !t.expunged && !hasFlag(t.info.Flags, FlagSeen) {
			uids = append(uids, t.info.UID)
		}
	}
	if len(uids) == 0 {
		return ts, cur, nil, nil
	}
	if _, err := ss.sel.mbox.Store(ss.ctx, uids, FlagsAdd, []string{FlagSeen}, 0); err != nil {
		return nil, nil, nil, err
	}
	next, err := ss.current()
	if err != nil {
		return nil, nil, nil, err
	}
	seen := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		seen[u] = true
	}
	for i := range ts {
		if j, ok := next.Find(ts[i].info.UID); ok {
			ts[i].info = &next.Messages[j]
			if seen[ts[i].info.UID] {
				ss.tell(ts[i].info)
			}
		}
	}
	return ts, next, seen, nil
}

// tell records that the client was told m's flags at its mod-sequence.
func (ss *session) tell(m *MessageInfo) {
	if ss.sel.told == nil {
		ss.sel.told = make(map[uint32]uint64)
	}
	ss.sel.told[m.UID] = m.ModSeq
}

// summaries returns the cached summaries of chunk, computing and storing
// those that are missing.
func (ss *session) summaries(chunk []target) ([]*summary, error) {
	out := make([]*summary, len(chunk))
	vals := make([]summary, len(chunk)) // one allocation for the chunk
	idx := make([]int, 0, len(chunk))   // chunk index of uids[k]
	uids := make([]uint32, 0, len(chunk))
	for i, t := range chunk {
		if !t.expunged {
			idx = append(idx, i)
			uids = append(uids, t.info.UID)
		}
	}
	k := 0
	err := ss.sel.mbox.Summaries(ss.ctx, uids, func(uid uint32, blob []byte) error {
		// fn comes in the order of uids, skipping expunged ones.
		for k < len(uids) && uids[k] != uid {
			k++
		}
		if k == len(uids) {
			return nil
		}
		i := idx[k]
		if blob != nil && decodeSummaryInto(&vals[i], blob) == nil {
			out[i] = &vals[i]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i] != nil || chunk[i].expunged {
			continue
		}
		s, err := ss.buildSummary(chunk[i].info.UID)
		switch {
		case mailerr.Is(err, mailerr.TooBig):
			// Past the MIME parser's limits: describe it as one opaque
			// part rather than fail the whole FETCH.
			s = fallbackSummary(chunk[i].info.Size)
		case err != nil && !mailerr.Is(err, mailerr.NoSuchUser):
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// buildSummary parses one message and stores its summary.
func (ss *session) buildSummary(uid uint32) (*summary, error) {
	m, err := ss.sel.mbox.Open(ss.ctx, uid)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	s, err := computeSummary(ss.ctx, m, m.Size())
	if err != nil {
		return nil, err
	}
	if err := ss.sel.mbox.SetSummary(ss.ctx, uid, s.encode()); err != nil {
		ss.log.Debug("imap set summary", "uid", uid, "err", err)
	}
	return s, nil
}

// fetchOne appends the FETCH response of one message to b. Items with
// message content write b out first and stream the octets.
func (ss *session) fetchOne(b []byte, req *fetchReq, t *target, sum *summary, seenChanged bool) ([]byte, error) {
	var msg Message
	if req.content {
		if t.expunged {
			return b, nil
		}
		var err error
		if msg, err = ss.sel.mbox.Open(ss.ctx, t.info.UID); err != nil {
			if mailerr.Is(err, mailerr.NoSuchUser) {
				return b, nil // expunged meanwhile: nothing to show
			}
			return b, err
		}
		defer msg.Close()
	}
	if (sum == nil) && req.summary {
		return b, nil // expunged before its summary could be built
	}
	var parse func() (*mime.Part, error)
	if req.content {
		var root *mime.Part
		parse = func() (*mime.Part, error) {
			if root == nil {
				var err error
				if root, err = mime.Parse(ss.ctx, msg, msg.Size()); err != nil {
					return nil, err
				}
			}
			return root, nil
		}
	}
	info := t.info
	start := len(b)
	b = append(b, "* "...)
	b = strconv.AppendUint(b, uint64(t.seq), 10)
	b = append(b, " FETCH ("...)
	hasFlags := false
	for i := range req.items {
		it := &req.items[i]
		if i > 0 {
			b = append(b, ' ')
		}
		switch it.name {
		case "UID":
			b = strconv.AppendUint(append(b, "UID "...), uint64(info.UID), 10)
		case "FLAGS":
			b = appendFlags(append(b, "FLAGS "...), info.Flags)
			hasFlags = true
		case "INTERNALDATE":
			b = append(b, "INTERNALDATE \""...)
			b = info.InternalDate.AppendFormat(b, dateLayout)
			b = append(b, '"')
		case "RFC822.SIZE":
			b = strconv.AppendInt(append(b, "RFC822.SIZE "...), info.Size, 10)
		case "MODSEQ":
			b = strconv.AppendUint(append(b, "MODSEQ ("...), info.ModSeq, 10)
			b = append(b, ')')
		case "ENVELOPE":
			b = append(append(b, "ENVELOPE "...), sum.envelope...)
		case "BODYSTRUCTURE":
			b = append(append(b, "BODYSTRUCTURE "...), sum.bodyStructure...)
		case "BODY":
			if it.section == nil {
				b = append(append(b, "BODY "...), sum.body...)
				continue
			}
			fallthrough
		default:
			nb, err := ss.fetchContent(b, it, msg, parse)
			if err != nil {
				if len(nb) >= start {
					nb = nb[:start] // not written: drop this message's partial response
				}
				return nb, err
			}
			b = nb
		}
	}
	if seenChanged && !hasFlags {
		b = appendFlags(append(b, " FLAGS "...), info.Flags)
		if ss.condstore && !req.has("MODSEQ") {
			// RFC 7162 §3.1: the implicit \Seen change reports MODSEQ.
			b = strconv.AppendUint(append(b, " MODSEQ ("...), info.ModSeq, 10)
			b = append(b, ')')
		}
	}
	return append(b, ")\r\n"...), nil
}

// fetchContent writes b and then one body item, streaming the octets; it
// returns an empty buffer to go on with. On an error before anything was
// written it returns b as it was, after that an empty b.
func (ss *session) fetchContent(b []byte, it *fetchItem, msg Message, parse func() (*mime.Part, error)) ([]byte, error) {
	s := it.section
	name := it.name
	switch it.name {
	case "RFC822":
		s = &section{}
	case "RFC822.HEADER":
		s = &section{text: "HEADER"}
	case "RFC822.TEXT":
		s = &section{text: "TEXT"}
	}
	var open func() io.Reader
	var size int64
	var err error
	if name == "BINARY" || name == "BINARY.SIZE" {
		open, size, err = binaryReader(msg, msg.Size(), s, parse)
	} else {
		var r io.Reader
		r, size, err = sectionReader(msg, msg.Size(), s, parse)
		open = func() io.Reader { return r }
	}
	switch {
	case errors.Is(err, errNoPart):
		open, size, err = func() io.Reader { return nil }, 0, nil
	case errors.Is(err, errUnknownCTE):
		return b, no("UNKNOWN-CTE", "cannot decode the part's transfer encoding")
	case err != nil:
		return b, err
	}
	if name == "BINARY.SIZE" {
		b = appendSectionName(b, it)
		return strconv.AppendInt(append(b, ' '), size, 10), nil
	}
	if it.section != nil {
		b = appendSectionName(b, it)
	} else {
		b = append(b, name...)
	}
	off, n := int64(0), size
	if it.partial {
		off = min(it.origin, size)
		n = min(it.count, size-off)
	}
	b = append(b, ' ')
	if name == "BINARY" {
		b = append(b, '~')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, "}\r\n"...)
	ss.write(b)
	if n > 0 {
		r := open()
		if off > 0 {
			if _, err := io.CopyN(io.Discard, r, off); err != nil {
				return b[:0], err
			}
		}
		if ss.writeErr == nil {
			if _, err := io.CopyN(ss.bw, r, n); err != nil {
				ss.writeErr = err
				return b[:0], err
			}
		}
	}
	return b[:0], nil
}
