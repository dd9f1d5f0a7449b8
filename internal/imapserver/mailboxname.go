package imapserver

import (
	"strings"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// sep is the hierarchy separator.
const sep = '/'

// maxMailboxName bounds a mailbox name in octets.
const maxMailboxName = 1000

// mailboxArg reads a mailbox name and returns it in UTF-8, "INBOX" in
// capitals. Clients that have not enabled IMAP4rev2 send modified UTF-7
// (RFC 3501 §5.1.3); a name that is not valid modified UTF-7 but valid
// UTF-8 is taken as it is, as some clients send UTF-8 anyway.
func (ss *session) mailboxArg(d *imapwire.Decoder) string {
	raw := d.AString()
	if d.Err() != nil {
		return ""
	}
	name := raw
	if !ss.rev2 {
		if dec, err := imapwire.DecodeUTF7(raw); err == nil {
			name = dec
		}
	}
	return canonicalName(name)
}

// canonicalName spells INBOX (and an INBOX prefix) in capitals.
func canonicalName(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == sep) {
		return "INBOX" + name[5:]
	}
	return name
}

// checkName validates a name for CREATE and RENAME.
func checkName(name string) *status {
	switch {
	case name == "":
		return no("CANNOT", "empty mailbox name")
	case len(name) > maxMailboxName:
		return no("TOOBIG", "mailbox name too long")
	case !utf8.ValidString(name):
		return no("CANNOT", "mailbox name is not valid UTF-8")
	case name[0] == sep || strings.Contains(name, "//"):
		return no("CANNOT", "empty hierarchy level in mailbox name")
	case strings.ContainsAny(name, "*%\r\n\x00"):
		return no("CANNOT", "mailbox name contains wildcard or control characters")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return no("CANNOT", "mailbox name contains control characters")
		}
	}
	return nil
}

// appendMailbox formats a mailbox name for the client: UTF-8 when it has
// enabled IMAP4rev2, modified UTF-7 otherwise.
func (ss *session) appendMailbox(b []byte, name string) []byte {
	if !ss.rev2 {
		name = imapwire.EncodeUTF7(name)
	}
	return imapwire.AppendString(b, name, ss.rev2)
}

// match reports whether name matches the LIST pattern: "*" matches
// anything, "%" anything but the separator (RFC 9051 §6.3.9). Dynamic
// programming, so that a hostile pattern costs O(len(name)·len(pattern)).
func match(pattern, name string) bool {
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		for j := range next {
			next[j] = false
		}
		switch c {
		case '*', '%':
			run := false
			for j := 0; j <= len(name); j++ {
				if prev[j] {
					run = true
				}
				next[j] = run
				if c == '%' && j < len(name) && name[j] == sep {
					// A run cannot pass a separator; restart only where
					// prev matches.
					run = false
					if j+1 <= len(name) && prev[j+1] {
						run = true
					}
				}
			}
		default:
			for j := 0; j < len(name); j++ {
				if prev[j] && name[j] == c {
					next[j+1] = true
				}
			}
		}
		prev, next = next, prev
	}
	return prev[len(name)]
}
