package imapserver

import (
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// capabilities lists what the server offers in the current state
// (RFC 9051 §7.2.2).
func (ss *session) capabilities() string {
	caps := []string{"IMAP4rev1", "IMAP4rev2"}
	if ss.state == stateNotAuth {
		if ss.srv.cfg.TLS != nil && !ss.isTLS {
			caps = append(caps, "STARTTLS")
		}
		if ss.authAllowed() {
			caps = append(caps, "AUTH=PLAIN", "SASL-IR")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
	}
	caps = append(caps, "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT",
		"UIDPLUS", "MOVE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
		"CREATE-SPECIAL-USE", "CONDSTORE", "ESEARCH", "STATUS=SIZE", "BINARY")
	if ss.state != stateNotAuth {
		if _, ok := ss.user.(QuotaUser); ok {
			caps = append(caps, "QUOTA", "QUOTA=RES-STORAGE")
		}
	}
	return strings.Join(caps, " ")
}

// authAllowed reports whether LOGIN and AUTHENTICATE may be used now.
func (ss *session) authAllowed() bool {
	return ss.isTLS || ss.srv.cfg.AllowPlaintextAuth
}

func (ss *session) cmdCapability(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	ss.writef("* CAPABILITY %s\r\n", ss.capabilities())
	return nil
}

func (ss *session) cmdNoop(tag string, d *imapwire.Decoder) *status {
	d.End()
	return nil
}

func (ss *session) cmdLogout(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	ss.writef("* BYE logging out\r\n")
	ss.state = stateLogout
	return nil
}

// cmdID answers RFC 2971 ID with the server's name; the client's fields
// are logged, bounded.
func (ss *session) cmdID(tag string, d *imapwire.Decoder) *status {
	d.SP()
	var fields []string
	if !d.Word("NIL") {
		d.Expect('(')
		for d.Err() == nil && !d.Byte(')') {
			if len(fields) > 0 {
				d.SP()
			}
			k := d.String()
			d.SP()
			v, _ := d.NString()
			if len(fields) < 60 {
				fields = append(fields, k, v)
			}
		}
	}
	if !d.End() {
		return nil
	}
	if len(fields) > 0 {
		ss.log.Debug("imap client id", "id", fields)
	}
	ss.writef("* ID (\"name\" \"posthorn\" \"vendor\" \"posthorn\")\r\n")
	return nil
}

// cmdEnable implements RFC 5161 ENABLE for IMAP4rev2 and CONDSTORE.
func (ss *session) cmdEnable(tag string, d *imapwire.Decoder) *status {
	var enabled []string
	for d.Byte(' ') {
		c := strings.ToUpper(d.Atom())
		switch c {
		case "IMAP4REV2":
			if !ss.rev2 {
				ss.rev2 = true
				enabled = append(enabled, "IMAP4rev2")
			}
		case "CONDSTORE":
			if !ss.condstore {
				ss.condstore = true
				enabled = append(enabled, "CONDSTORE")
			}
		}
	}
	if d.Err() != nil || !d.End() {
		return nil
	}
	if len(enabled) == 0 {
		ss.writef("* ENABLED\r\n")
	} else {
		ss.writef("* ENABLED %s\r\n", strings.Join(enabled, " "))
	}
	return nil
}
