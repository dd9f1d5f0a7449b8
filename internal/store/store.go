// Package store holds what every posthorn store shares, whatever its
// engine: the rows it hands out (users, aliases, mailboxes, messages) and
// the address rules for looking them up. The engines live below it
// (store/sqlite now, store/postgres later) and pass one conformance suite
// (store/storetest).
//
// Addresses: an account is looked up by its whole address lower-cased
// (AddressKey), so logins are case-insensitive; the address as typed is
// kept for display with only its domain lower-cased (NormalizeAddress).
// Internationalised domains (IDNA, RFC 5891) are not converted: an address
// is stored as the UTF-8 it arrived in (RFC 6531 SMTPUTF8).
package store

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// User is an account: one address, its credentials and its quota.
type User struct {
	ID          int64
	Address     string
	Quota, Used int64 // bytes; Quota 0 means none
	Credentials auth.Credentials
	Created     time.Time
}

// Alias maps an address to targets: local users or remote addresses.
type Alias struct {
	Address string
	Targets []string
}

// Mailbox is one IMAP mailbox of a user (RFC 9051 §2.3.1.1 UIDs).
type Mailbox struct {
	ID, UserID    int64
	Name          string
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64 // RFC 7162 CONDSTORE
	SpecialUse    string // RFC 6154, e.g. `\Sent`; "" for none
	Subscribed    bool
}

// MessageInfo is one message of a mailbox, without its bytes.
type MessageInfo struct {
	ID           int64
	UID          uint32
	Size         int64 // prefix + body, the size POP3 and IMAP report
	Flags        []string
	InternalDate time.Time
	ModSeq       uint64
}

// MailboxSpec names a mailbox made with every new user.
type MailboxSpec struct {
	Name       string
	SpecialUse string
}

// DefaultMailboxes returns the mailboxes AddUser creates: INBOX and the
// RFC 6154 special-use ones.
func DefaultMailboxes() []MailboxSpec {
	return []MailboxSpec{
		{"INBOX", ""},
		{"Drafts", `\Drafts`},
		{"Sent", `\Sent`},
		{"Trash", `\Trash`},
		{"Junk", `\Junk`},
		{"Archive", `\Archive`},
	}
}

// Address limits (RFC 5321 §4.5.3.1).
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxAddress   = 254 // RFC 5321 §4.5.3.1.3 path minus the brackets
)

// NormalizeAddress trims surrounding space and lower-cases the domain; the
// local part is kept as given (RFC 5321 §2.4: it may be case-sensitive).
// The address must have a non-empty local part and domain around its last
// "@", be valid UTF-8 without spaces or control characters, and fit RFC
// 5321's length limits.
func NormalizeAddress(addr string) (string, error) {
	a := strings.TrimSpace(addr)
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return "", badAddress(addr, "no @")
	}
	local, domain := a[:at], strings.TrimSuffix(a[at+1:], ".")
	switch {
	case local == "" || domain == "":
		return "", badAddress(addr, "empty local part or domain")
	case len(local) > maxLocalPart || len(domain) > maxDomain || len(a) > maxAddress:
		return "", badAddress(addr, "too long")
	case !utf8.ValidString(a):
		return "", badAddress(addr, "not UTF-8")
	case strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' }):
		return "", badAddress(addr, "space, control character or bracket")
	case domain[0] == '.' || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return "", badAddress(addr, "empty label in the domain")
	}
	return local + "@" + strings.ToLower(domain), nil
}

// AddressKey is the lookup key of an address: all of it lower-cased, so
// that logins and deliveries are case-insensitive.
func AddressKey(addr string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(addr), "."))
}

func badAddress(addr, why string) error {
	if len(addr) > 80 {
		addr = addr[:80] + "..."
	}
	return mailerr.Permanent(mailerr.BadInput, "invalid address "+quote(addr)+": "+why, nil)
}

func quote(s string) string { return `"` + strings.ToValidUTF8(s, "?") + `"` }
