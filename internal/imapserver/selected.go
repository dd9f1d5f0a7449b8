package imapserver

import (
	"slices"
	"strconv"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// selected is the state of a session in the selected state.
type selected struct {
	mbox     Mailbox
	name     string
	readOnly bool
	// view is the mailbox as the client knows it: message sequence number
	// n is view.Messages[n-1]. It is the backend's shared snapshot, never
	// a copy.
	view *Snapshot
	// told holds mod-sequences of flag changes this session already
	// reported (its own STORE), so that sync does not repeat them.
	told map[uint32]uint64
}

// unselect leaves the selected state.
func (ss *session) unselect() {
	if ss.sel == nil {
		return
	}
	if err := ss.sel.mbox.Close(); err != nil {
		ss.log.Warn("imap mailbox close", "err", err)
	}
	ss.sel = nil
	if ss.state == stateSelected {
		ss.state = stateAuth
	}
}

// current returns the mailbox as it is now, or the view when the backend
// fails (the caller then works on what the client knows).
func (ss *session) current() (*Snapshot, error) {
	return ss.sel.mbox.Snapshot(ss.ctx)
}

// sync tells the client what changed since its view (RFC 9051 §7.5.1:
// EXPUNGE, EXISTS, FETCH FLAGS). When expunges are not allowed now and some
// happened, nothing is reported and the view stays, so the client's
// sequence numbers stay valid; the next command that allows them reports
// everything.
func (ss *session) sync(expungeOK bool) {
	sel := ss.sel
	cur, err := sel.mbox.Snapshot(ss.ctx)
	if err != nil {
		if mailerr.Is(err, mailerr.NoSuchUser) {
			// Deleted under us: the view cannot be kept consistent.
			ss.writef("* BYE [NONEXISTENT] selected mailbox was deleted\r\n")
			ss.state = stateLogout
			return
		}
		ss.log.Warn("imap snapshot", "err", err)
		return
	}
	old := sel.view
	if cur == old {
		sel.told = nil
		return
	}
	var expunged []int // indices into old, ascending
	j := 0
	for i := range old.Messages {
		u := old.Messages[i].UID
		for j < len(cur.Messages) && cur.Messages[j].UID < u {
			j++
		}
		if j >= len(cur.Messages) || cur.Messages[j].UID != u {
			expunged = append(expunged, i)
		}
	}
	if len(expunged) > 0 && !expungeOK {
		return
	}
	b := make([]byte, 0, 256)
	// From the highest number down, so that earlier numbers stay valid.
	for k := len(expunged) - 1; k >= 0; k-- {
		b = append(b, "* "...)
		b = strconv.AppendInt(b, int64(expunged[k]+1), 10)
		b = append(b, " EXPUNGE\r\n"...)
		if len(b) > 3000 {
			ss.write(b)
			b = b[:0]
		}
	}
	if !slices.Equal(old.Keywords, cur.Keywords) {
		b = ss.appendFlagsResponses(b, cur, sel.readOnly)
	}
	if cur.MaxUID() > old.MaxUID() { // UIDs only grow: a larger one is new
		b = append(b, "* "...)
		b = strconv.AppendInt(b, int64(len(cur.Messages)), 10)
		b = append(b, " EXISTS\r\n"...)
	}
	ss.write(b)
	ss.reportFlagChanges(old, cur)
	sel.view = cur
	sel.told = nil
}

// reportFlagChanges sends FETCH FLAGS for messages present in both
// snapshots whose mod-sequence went up, unless this session reported them.
func (ss *session) reportFlagChanges(old, cur *Snapshot) {
	if cur.HighestModSeq == old.HighestModSeq {
		return // every flag change raises HIGHESTMODSEQ
	}
	b := make([]byte, 0, 512)
	i := 0
	for n := range cur.Messages {
		m := &cur.Messages[n]
		for i < len(old.Messages) && old.Messages[i].UID < m.UID {
			i++
		}
		if i >= len(old.Messages) || old.Messages[i].UID != m.UID {
			continue
		}
		if m.ModSeq <= old.Messages[i].ModSeq {
			continue
		}
		if t, ok := ss.sel.told[m.UID]; ok && t >= m.ModSeq {
			continue
		}
		if !ss.condstore && slices.Equal(m.Flags, old.Messages[i].Flags) {
			continue
		}
		b = ss.appendFlagsFetch(b, uint32(n+1), m, true)
		if len(b) > 3000 {
			ss.write(b)
			b = b[:0]
		}
	}
	ss.write(b)
}

// appendFlagsFetch formats "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])".
// With CONDSTORE enabled every such response carries UID and MODSEQ
// (RFC 7162 §3.1).
func (ss *session) appendFlagsFetch(b []byte, seq uint32, m *MessageInfo, withUID bool) []byte {
	withUID = withUID || ss.condstore
	b = append(b, "* "...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, " FETCH ("...)
	if withUID {
		b = append(b, "UID "...)
		b = strconv.AppendUint(b, uint64(m.UID), 10)
		b = append(b, ' ')
	}
	b = appendFlags(append(b, "FLAGS "...), m.Flags)
	if ss.condstore {
		b = append(b, " MODSEQ ("...)
		b = strconv.AppendUint(b, m.ModSeq, 10)
		b = append(b, ')')
	}
	return append(b, ")\r\n"...)
}

// appendFlags formats a parenthesised flag list.
func appendFlags(b []byte, flags []string) []byte {
	b = append(b, '(')
	for i, f := range flags {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return append(b, ')')
}

// appendFlagsResponses formats FLAGS and PERMANENTFLAGS (RFC 9051 §7.3.5,
// §7.1).
func (ss *session) appendFlagsResponses(b []byte, snap *Snapshot, readOnly bool) []byte {
	sys := []string{FlagAnswered, FlagFlagged, FlagDeleted, FlagSeen, FlagDraft}
	all := append(sys[:len(sys):len(sys)], snap.Keywords...)
	b = appendFlags(append(b, "* FLAGS "...), all)
	b = append(b, "\r\n"...)
	if readOnly {
		return append(b, "* OK [PERMANENTFLAGS ()] read-only mailbox\r\n"...)
	}
	b = append(b, "* OK [PERMANENTFLAGS "...)
	b = appendFlags(b, append(all, `\*`))
	return append(b, "] flags permitted\r\n"...)
}

// target is a message a command works on: its sequence number in the view
// and its metadata as it is now (or as the view has it, when expunged
// meanwhile).
type target struct {
	seq      uint32
	info     *MessageInfo
	expunged bool
}

// resolve turns a sequence set (or UID set) into the messages of the view
// it names, in ascending order, with current metadata from cur.
func (ss *session) resolve(set imapwire.SeqSet, uid bool, cur *Snapshot) ([]target, *status) {
	if set.Saved {
		return nil, bad("$ (SEARCHRES) is not supported")
	}
	view := ss.sel.view
	var out []target
	add := func(i int) {
		t := target{seq: uint32(i + 1), info: &view.Messages[i]}
		if cur != nil && cur != view {
			if j, ok := cur.Find(t.info.UID); ok {
				t.info = &cur.Messages[j]
			} else {
				t.expunged = true
			}
		}
		out = append(out, t)
	}
	n := len(view.Messages)
	// Mark, then collect, so that overlapping ranges yield each message
	// once and in order, at O(n + ranges·log n).
	marked := make([]bool, n)
	if !uid {
		for _, r := range set.Resolve(uint32(n)) {
			if r.Stop > uint32(n) || r.Start == 0 {
				return nil, bad("invalid message sequence number")
			}
			for i := r.Start; i <= r.Stop; i++ {
				marked[i-1] = true
			}
		}
	} else {
		for _, r := range set.Resolve(view.MaxUID()) {
			i, _ := view.Find(r.Start)
			for ; i < n && view.Messages[i].UID <= r.Stop; i++ {
				marked[i] = true
			}
		}
	}
	for i, m := range marked {
		if m {
			add(i)
		}
	}
	return out, nil
}

// uidsOf returns the UIDs of targets that still exist.
func uidsOf(ts []target) []uint32 {
	out := make([]uint32, 0, len(ts))
	for _, t := range ts {
		if !t.expunged {
			out = append(out, t.info.UID)
		}
	}
	return out
}
