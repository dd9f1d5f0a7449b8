package imapserver

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/mime"
)

// maxSearchText bounds the decoded text of one part that BODY and TEXT
// search; the rest is not searched.
const maxSearchText = 16 << 20

// searchMsg is the message a search program is evaluated on; its content
// is opened and parsed only when a key needs it.
type searchMsg struct {
	ctx    context.Context
	mbox   Mailbox
	seq    uint32
	max    uint32 // largest sequence number
	maxUID uint32
	info   *MessageInfo
	msg    Message
	root   *mime.Part
	err    error
	opened bool
}

func (m *searchMsg) parsed() *mime.Part {
	if !m.opened {
		m.opened = true
		m.msg, m.err = m.mbox.Open(m.ctx, m.info.UID)
		if m.err == nil {
			m.root, m.err = mime.Parse(m.ctx, m.msg, m.msg.Size())
		}
	}
	return m.root
}

func (m *searchMsg) close() {
	if m.msg != nil {
		m.msg.Close()
	}
}

// eval reports whether the message matches k.
func (m *searchMsg) eval(k *searchKey) bool {
	f := m.info.Flags
	switch k.op {
	case "AND":
		for _, a := range k.args {
			if !m.eval(a) {
				return false
			}
		}
		return true
	case "ALL":
		return true
	case "NOT":
		return !m.eval(k.args[0])
	case "OR":
		return m.eval(k.args[0]) || m.eval(k.args[1])
	case "SEQ":
		if k.resolved == nil {
			k.resolved = k.set.Resolve(m.max)
		}
		return imapwire.Contains(k.resolved, m.seq)
	case "UID":
		if k.resolved == nil {
			k.resolved = k.set.Resolve(m.maxUID)
		}
		return imapwire.Contains(k.resolved, m.info.UID)
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN":
		return hasFlag(f, `\`+k.op)
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		return !hasFlag(f, `\`+k.op[2:])
	case "NEW", "RECENT":
		return false // \Recent is not kept (IMAP4rev2)
	case "OLD":
		return true
	case "KEYWORD":
		return hasFlag(f, k.str)
	case "UNKEYWORD":
		return !hasFlag(f, k.str)
	case "LARGER":
		return m.info.Size > k.num
	case "SMALLER":
		return m.info.Size < k.num
	case "MODSEQ":
		return m.info.ModSeq >= uint64(k.num)
	case "BEFORE", "ON", "SINCE":
		return compareDate(k.op, m.info.InternalDate, k.date)
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		root := m.parsed()
		if root == nil {
			return false
		}
		t, err := root.Header.Date()
		return err == nil && compareDate(k.op[4:], t, k.date)
	case "FROM", "TO", "CC", "BCC", "SUBJECT":
		return m.headerContains(headerName(k.op), k.str)
	case "HEADER":
		return m.headerContains(k.field, k.str)
	case "BODY":
		return m.bodyContains(k.str)
	case "TEXT":
		return m.headerContains("", k.str) || m.bodyContains(k.str)
	}
	return false
}

func headerName(op string) string {
	if op == "SUBJECT" {
		return "Subject"
	}
	return op[:1] + strings.ToLower(op[1:])
}

// compareDate compares the dates of t (in its own zone) and d, ignoring
// time (RFC 9051 §6.4.4).
func compareDate(op string, t, d time.Time) bool {
	y, mo, da := t.Date()
	day := time.Date(y, mo, da, 0, 0, 0, 0, time.UTC)
	switch op {
	case "BEFORE":
		return day.Before(d)
	case "ON":
		return day.Equal(d)
	default:
		return !day.Before(d)
	}
}

// headerContains reports whether a field named name (every field when
// name is "") contains s, after decoding encoded words. An empty s
// matches every message that has the field (RFC 9051 §6.4.4 HEADER).
func (m *searchMsg) headerContains(name, s string) bool {
	root := m.parsed()
	if root == nil {
		return false
	}
	h := &root.Header
	for i := 0; i < h.Len(); i++ {
		f := h.Field(i)
		if name != "" && !strings.EqualFold(f.Name, name) {
			continue
		}
		if s == "" || strings.Contains(strings.ToLower(mime.DecodeText(f.Value)), s) {
			return true
		}
	}
	return false
}

// bodyContains searches the text parts, decoded to UTF-8.
func (m *searchMsg) bodyContains(s string) bool {
	root := m.parsed()
	if root == nil {
		return false
	}
	found := false
	root.Leaves(func(_ string, p *mime.Part) error {
		if found || !strings.HasPrefix(p.ContentType, "text/") && !strings.HasPrefix(p.ContentType, "message/") {
			return nil
		}
		if strings.Contains(strings.ToLower(partText(p)), s) {
			found = true
		}
		return nil
	})
	return found
}

// partText decodes a part's body to UTF-8, bounded. An unknown charset
// is searched as it stands.
func partText(p *mime.Part) string {
	r, err := p.Text()
	if err != nil {
		r = p.Body()
	}
	b, _ := io.ReadAll(io.LimitReader(r, maxSearchText))
	return string(b)
}

// cmdSearch implements SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH
// (RFC 4731) and the MODSEQ key (RFC 7162 §3.1.5).
func (ss *session) cmdSearch(tag string, d *imapwire.Decoder, uid bool) *status {
	req, st := parseSearch(d)
	if st != nil || req == nil {
		return st
	}
	if req.modseq {
		ss.condstore = true
	}
	view := ss.sel.view
	cur, err := ss.current()
	if err != nil {
		return errStatus(err)
	}
	var hits []uint32
	var maxMod uint64
	for i := range view.Messages {
		info := &view.Messages[i]
		if j, found := cur.Find(info.UID); found {
			info = &cur.Messages[j]
		}
		m := &searchMsg{ctx: ss.ctx, mbox: ss.sel.mbox, seq: uint32(i + 1), max: uint32(len(view.Messages)),
			maxUID: view.MaxUID(), info: info}
		match := m.eval(req.key)
		m.close()
		if m.err != nil && !mailerr.Is(m.err, mailerr.NoSuchUser) {
			return errStatus(m.err)
		}
		if match {
			if uid {
				hits = append(hits, info.UID)
			} else {
				hits = append(hits, m.seq)
			}
			maxMod = max(maxMod, info.ModSeq)
		}
	}
	if req.esearch || ss.rev2 {
		ss.write(ss.esearchResponse(tag, uid, req, hits, maxMod))
		return nil
	}
	b := []byte("* SEARCH")
	for _, h := range hits {
		b = strconv.AppendUint(append(b, ' '), uint64(h), 10)
	}
	if req.modseq && len(hits) > 0 {
		b = strconv.AppendUint(append(b, " (MODSEQ "...), maxMod, 10)
		b = append(b, ')')
	}
	ss.write(append(b, "\r\n"...))
	return nil
}

// esearchResponse formats "* ESEARCH (TAG ...) [UID] ..." (RFC 4731 §3).
func (ss *session) esearchResponse(tag string, uid bool, req *searchReq, hits []uint32, maxMod uint64) []byte {
	b := []byte("* ESEARCH (TAG ")
	b = imapwire.AppendString(b, tag, false)
	b = append(b, ')')
	if uid {
		b = append(b, " UID"...)
	}
	ret := req.ret
	if len(ret) == 0 {
		ret = []string{"ALL"}
	}
	for _, r := range ret {
		switch r {
		case "MIN":
			if len(hits) > 0 {
				b = strconv.AppendUint(append(b, " MIN "...), uint64(hits[0]), 10)
			}
		case "MAX":
			if len(hits) > 0 {
				b = strconv.AppendUint(append(b, " MAX "...), uint64(hits[len(hits)-1]), 10)
			}
		case "COUNT":
			b = strconv.AppendInt(append(b, " COUNT "...), int64(len(hits)), 10)
		case "ALL":
			if len(hits) > 0 {
				b = imapwire.AppendSet(append(b, " ALL "...), hits)
			}
		}
	}
	if req.modseq && len(hits) > 0 {
		b = strconv.AppendUint(append(b, " MODSEQ "...), maxMod, 10)
	}
	return append(b, "\r\n"...)
}
