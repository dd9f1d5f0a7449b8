package imapserver

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

func (ss *session) cmdSelect(tag string, d *imapwire.Decoder) *status {
	return ss.selectMailbox(d, false)
}

func (ss *session) cmdExamine(tag string, d *imapwire.Decoder) *status {
	return ss.selectMailbox(d, true)
}

// selectMailbox implements SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3)
// with the CONDSTORE parameter (RFC 7162 §3.1.8).
func (ss *session) selectMailbox(d *imapwire.Decoder, readOnly bool) *status {
	d.SP()
	name := ss.mailboxArg(d)
	condstore := false
	if d.Byte(' ') {
		d.Expect('(')
		for d.Err() == nil && !d.Byte(')') {
			d.Byte(' ')
			switch strings.ToUpper(d.Atom()) {
			case "CONDSTORE":
				condstore = true
			default:
				if d.Err() == nil {
					return bad("unknown SELECT parameter")
				}
			}
		}
	}
	if !d.End() {
		return nil
	}
	if ss.sel != nil {
		ss.unselect()
		// RFC 9051 §7.1: the previous mailbox is closed before the new
		// one's responses.
		ss.writef("* OK [CLOSED] previous mailbox closed\r\n")
	}
	mbox, err := ss.user.Select(ss.ctx, name, readOnly)
	if err != nil {
		return errStatus(err)
	}
	snap, err := mbox.Snapshot(ss.ctx)
	if err != nil {
		mbox.Close()
		return errStatus(err)
	}
	if condstore {
		ss.condstore = true
	}
	ss.sel = &selected{mbox: mbox, name: name, readOnly: readOnly, view: snap}
	ss.state = stateSelected
	ss.write(ss.selectResponses(name, snap, readOnly))
	if readOnly {
		return ok("READ-ONLY", "EXAMINE completed")
	}
	return ok("READ-WRITE", "SELECT completed")
}

// selectResponses formats the untagged responses of SELECT.
func (ss *session) selectResponses(name string, snap *Snapshot, readOnly bool) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "* "...)
	b = strconv.AppendInt(b, int64(len(snap.Messages)), 10)
	b = append(b, " EXISTS\r\n"...)
	if !ss.rev2 {
		b = append(b, "* 0 RECENT\r\n"...)
		for i := range snap.Messages {
			if !hasFlag(snap.Messages[i].Flags, FlagSeen) {
				b = append(b, "* OK [UNSEEN "...)
				b = strconv.AppendInt(b, int64(i+1), 10)
				b = append(b, "] first unseen\r\n"...)
				break
			}
		}
	}
	b = append(b, "* OK [UIDVALIDITY "...)
	b = strconv.AppendUint(b, uint64(snap.UIDValidity), 10)
	b = append(b, "] UIDs valid\r\n* OK [UIDNEXT "...)
	b = strconv.AppendUint(b, uint64(snap.UIDNext), 10)
	b = append(b, "] predicted next UID\r\n"...)
	b = ss.appendFlagsResponses(b, snap, readOnly)
	if ss.condstore {
		b = append(b, "* OK [HIGHESTMODSEQ "...)
		b = strconv.AppendUint(b, snap.HighestModSeq, 10)
		b = append(b, "] highest\r\n"...)
	}
	if ss.rev2 {
		b = append(b, "* LIST () \"/\" "...)
		b = ss.appendMailbox(b, name)
		b = append(b, "\r\n"...)
	}
	return b
}

// hasFlag reports whether flags holds f, case-insensitively.
func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f || strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// cmdClose implements RFC 9051 §6.4.1: expunge silently (unless
// read-only) and leave the selected state.
func (ss *session) cmdClose(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	if !ss.sel.readOnly {
		if _, err := ss.sel.mbox.Expunge(ss.ctx, nil); err != nil {
			return errStatus(err)
		}
	}
	ss.unselect()
	return nil
}

// cmdUnselect implements RFC 3691 / RFC 9051 §6.4.2.
func (ss *session) cmdUnselect(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	ss.unselect()
	return nil
}

// cmdExpunge implements RFC 9051 §6.4.3; the EXPUNGE responses come from
// the sync after the command.
func (ss *session) cmdExpunge(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	if ss.sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	if _, err := ss.sel.mbox.Expunge(ss.ctx, nil); err != nil {
		return errStatus(err)
	}
	return nil
}

// cmdUIDExpunge implements UID EXPUNGE (RFC 4315 §2.1).
func (ss *session) cmdUIDExpunge(tag string, d *imapwire.Decoder, _ bool) *status {
	d.SP()
	set := d.SeqSet()
	if !d.End() {
		return nil
	}
	if ss.sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	ts, st := ss.resolve(set, true, nil)
	if st != nil {
		return st
	}
	if len(ts) == 0 {
		return nil
	}
	if _, err := ss.sel.mbox.Expunge(ss.ctx, uidsOf(ts)); err != nil {
		return errStatus(err)
	}
	return nil
}
