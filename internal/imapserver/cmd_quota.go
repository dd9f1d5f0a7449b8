package imapserver

import (
	"strconv"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// cmdGetQuota implements RFC 9208 §4.2 GETQUOTA for the one root "".
func (ss *session) cmdGetQuota(tag string, d *imapwire.Decoder) *status {
	d.SP()
	root := d.AString()
	if !d.End() {
		return nil
	}
	if root != "" {
		return no("NONEXISTENT", "no such quota root")
	}
	return ss.quotaResponse()
}

// cmdGetQuotaRoot implements RFC 9208 §4.3: every mailbox has root "".
func (ss *session) cmdGetQuotaRoot(tag string, d *imapwire.Decoder) *status {
	d.SP()
	name := ss.mailboxArg(d)
	if !d.End() {
		return nil
	}
	b := ss.appendMailbox([]byte("* QUOTAROOT "), name)
	ss.write(append(b, " \"\"\r\n"...))
	return ss.quotaResponse()
}

func (ss *session) quotaResponse() *status {
	qu, ok := ss.user.(QuotaUser)
	if !ok {
		return no("CANNOT", "no quota")
	}
	used, limit, err := qu.Quota(ss.ctx)
	if err != nil {
		return errStatus(err)
	}
	if limit <= 0 {
		ss.writef("* QUOTA \"\" ()\r\n")
		return nil
	}
	// RFC 9208 §5.1: STORAGE is in units of 1024 octets.
	b := []byte("* QUOTA \"\" (STORAGE ")
	b = strconv.AppendInt(b, (used+1023)/1024, 10)
	b = strconv.AppendInt(append(b, ' '), limit/1024, 10)
	ss.write(append(b, ")\r\n"...))
	return nil
}
