package imapserver

import (
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// cmdStore implements STORE and UID STORE (RFC 9051 §6.4.6) with
// UNCHANGEDSINCE (RFC 7162 §3.1.3).
func (ss *session) cmdStore(tag string, d *imapwire.Decoder, uid bool) *status {
	d.SP()
	set := d.SeqSet()
	d.SP()
	var unchangedSince uint64
	if d.Byte('(') {
		if !d.Word("UNCHANGEDSINCE") {
			return bad("unknown STORE modifier")
		}
		d.SP()
		unchangedSince = d.Number64()
		d.Expect(')')
		d.SP()
		ss.condstore = true
	}
	op := FlagsSet
	switch {
	case d.Byte('+'):
		op = FlagsAdd
	case d.Byte('-'):
		op = FlagsRemove
	}
	item := strings.ToUpper(d.Keyword())
	silent := false
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		silent = true
	default:
		if d.Err() == nil {
			return bad("expected FLAGS or FLAGS.SILENT")
		}
	}
	d.SP()
	flags := d.FlagList(true)
	if !d.End() {
		return nil
	}
	flags, st := canonicalFlags(flags)
	if st != nil {
		return st
	}
	if ss.sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	ts, st := ss.resolve(set, uid, nil)
	if st != nil {
		return st
	}
	failed, err := ss.sel.mbox.Store(ss.ctx, uidsOf(ts), op, flags, unchangedSince)
	if err != nil {
		return errStatus(err)
	}
	cur, err := ss.current()
	if err != nil {
		return errStatus(err)
	}
	ss.storeResponses(ts, cur, failed, silent, uid)
	if len(failed) > 0 {
		// RFC 7162 §3.1.3: the messages not changed, as a MODIFIED code.
		b := []byte("MODIFIED ")
		if uid {
			b = imapwire.AppendSet(b, failed)
		} else {
			b = imapwire.AppendSet(b, ss.seqsOf(failed))
		}
		return ok(string(b), "conditional STORE failed for some messages")
	}
	return nil
}

// storeResponses sends the FETCH responses of STORE: the new flags of
// each message (unless .SILENT), and with CONDSTORE the MODSEQ, which
// .SILENT does not suppress (RFC 7162 §3.1.3).
func (ss *session) storeResponses(ts []target, cur *Snapshot, failed []uint32, silent, uid bool) {
	b := make([]byte, 0, 1024)
	for _, t := range ts {
		j, found := cur.Find(t.info.UID)
		if !found || slices.Contains(failed, t.info.UID) {
			continue
		}
		m := &cur.Messages[j]
		ss.tell(m)
		if silent && !(ss.condstore && m.ModSeq != t.info.ModSeq) {
			continue
		}
		b = ss.appendFlagsFetch(b, t.seq, m, uid)
		if len(b) > 3000 {
			ss.write(b)
			b = b[:0]
		}
	}
	ss.write(b)
}

// seqsOf maps UIDs of the view to sequence numbers.
func (ss *session) seqsOf(uids []uint32) []uint32 {
	out := make([]uint32, 0, len(uids))
	for _, u := range uids {
		if i, ok := ss.sel.view.Find(u); ok {
			out = append(out, uint32(i+1))
		}
	}
	return out
}

// canonicalFlags spells system flags canonically, refuses \Recent and
// unknown system flags, and drops duplicates.
func canonicalFlags(flags []string) ([]string, *status) {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			c := ""
			for _, s := range []string{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft} {
				if strings.EqualFold(f, s) {
					c = s
				}
			}
			if c == "" {
				return nil, bad("unknown system flag %s", f)
			}
			f = c
		}
		if len(f) > 100 {
			return nil, bad("keyword too long")
		}
		if !hasFlag(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
