package imapserver

import (
	"bytes"
	"strconv"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// appendDateLayout is the date-time of APPEND.
const appendDateLayout = "_2-Jan-2006 15:04:05 -0700"

// cmdAppend implements RFC 9051 §6.3.12 with APPENDUID (RFC 4315 §3) and
// binary literals (RFC 3516 §4.4). The literal was read whole under
// Config.MaxLiteral before the command runs.
func (ss *session) cmdAppend(tag string, d *imapwire.Decoder) *status {
	d.SP()
	name := ss.mailboxArg(d)
	d.SP()
	var flags []string
	if d.Peek() == '(' {
		flags = d.FlagList(false)
		d.SP()
	}
	date := time.Now()
	if d.Peek() == '"' {
		s := d.String()
		t, err := time.Parse(appendDateLayout, s)
		if err != nil && d.Err() == nil {
			return bad("bad date-time %q", s)
		}
		date = t
		d.SP()
	}
	msg, binary := d.Literal8()
	if !d.End() {
		return nil
	}
	flags, st := canonicalFlags(flags)
	if st != nil {
		return st
	}
	if len(msg) == 0 {
		return no("CANNOT", "empty message")
	}
	if !binary && bytes.IndexByte(msg, 0) >= 0 {
		// RFC 3516 §4.4: NUL only in a literal8.
		return no("CANNOT", "NUL in message; use a binary literal")
	}
	res, err := ss.user.Append(ss.ctx, name, bytes.NewReader(msg), int64(len(msg)), flags, date)
	if err != nil {
		st := errStatus(err)
		if st.code == "NONEXISTENT" {
			st.code = "TRYCREATE" // RFC 9051 §6.3.12
		}
		return st
	}
	b := []byte("APPENDUID ")
	b = strconv.AppendUint(b, uint64(res.UIDValidity), 10)
	b = strconv.AppendUint(append(b, ' '), uint64(res.UID), 10)
	return ok(string(b), "APPEND completed")
}
