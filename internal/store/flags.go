package store

import (
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Limits every store enforces on flags and mailbox names, so that the
// engines cannot tell one store from another by what they accept.
const (
	MaxFlags       = 100   // flags on one message
	MaxFlagLen     = 200   // octets of one flag
	MaxMailboxName = 1000  // octets of a mailbox name
	MaxMailboxes   = 10000 // mailboxes (and subscriptions) of one user
)

// CheckFlags refuses flags that cannot be stored space-separated.
func CheckFlags(flags []string) error {
	if len(flags) > MaxFlags {
		return mailerr.Permanent(mailerr.BadInput, "too many flags", nil)
	}
	for _, f := range flags {
		if f == "" || len(f) > MaxFlagLen || strings.ContainsFunc(f, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return mailerr.Permanent(mailerr.BadInput, "bad flag", nil)
		}
	}
	return nil
}

// ApplyFlags returns old changed by op; flags compare case-insensitively,
// and old's order and spelling are kept.
func ApplyFlags(old []string, op FlagOp, flags []string) []string {
	has := func(list []string, f string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, f) })
	}
	var out []string
	switch op {
	case FlagsReplace:
		for _, f := range flags {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case FlagsAdd:
		out = slices.Clone(old)
		for _, f := range flags {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case FlagsRemove:
		for _, f := range old {
			if !has(flags, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// CanonicalMailboxName spells INBOX in capitals, whatever case it came in
// (RFC 9051 §5.1), and checks the name's size.
func CanonicalMailboxName(name string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	if name == "" || len(name) > MaxMailboxName {
		return "", mailerr.Permanent(mailerr.BadInput, "mailbox name empty or too long", nil)
	}
	return name, nil
}
