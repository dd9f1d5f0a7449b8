package imapserver

import (
	"strconv"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// cmdCopy implements COPY and UID COPY (RFC 9051 §6.4.7) with COPYUID
// (RFC 4315 §3).
func (ss *session) cmdCopy(tag string, d *imapwire.Decoder, uid bool) *status {
	return ss.copyMove(d, uid, false)
}

// cmdMove implements MOVE and UID MOVE (RFC 6851). The COPYUID goes in
// an untagged OK before the EXPUNGE responses (RFC 6851 §4.3).
func (ss *session) cmdMove(tag string, d *imapwire.Decoder, uid bool) *status {
	return ss.copyMove(d, uid, true)
}

func (ss *session) copyMove(d *imapwire.Decoder, uid, move bool) *status {
	d.SP()
	set := d.SeqSet()
	d.SP()
	dest := ss.mailboxArg(d)
	if !d.End() {
		return nil
	}
	if move && ss.sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	ts, st := ss.resolve(set, uid, nil)
	if st != nil {
		return st
	}
	uids := uidsOf(ts)
	if len(uids) == 0 {
		if !uid && len(ts) > 0 {
			return no("EXPUNGEISSUED", "messages were expunged")
		}
		return nil
	}
	var res CopyResult
	var err error
	if move {
		res, err = ss.sel.mbox.Move(ss.ctx, uids, dest)
	} else {
		res, err = ss.sel.mbox.Copy(ss.ctx, uids, dest)
	}
	if err != nil {
		st := errStatus(err)
		if st.code == "NONEXISTENT" {
			st.code = "TRYCREATE" // RFC 9051 §6.4.7
		}
		return st
	}
	code := ""
	if len(res.Source) > 0 {
		b := []byte("COPYUID ")
		b = strconv.AppendUint(b, uint64(res.UIDValidity), 10)
		b = imapwire.AppendSet(append(b, ' '), res.Source)
		b = imapwire.AppendSet(append(b, ' '), res.Dest)
		code = string(b)
	}
	if move {
		if code != "" {
			ss.writef("* OK [%s] moved\r\n", code)
		}
		return nil
	}
	if uid {
		return ok(code, "UID COPY completed")
	}
	return ok(code, "COPY completed")
}
