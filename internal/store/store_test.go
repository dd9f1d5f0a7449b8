package store

import (
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func TestNormalizeAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alice@Example.COM", "Alice@example.com"},
		{"  bob@example.org \t", "bob@example.org"},
		{"x@example.org.", "x@example.org"},
		{`"odd@local"@example.org`, `"odd@local"@example.org`},
		{"jörg@Bücher.example", "jörg@bücher.example"},
		{"", ""},
		{"nobody", ""},
		{"@example.org", ""},
		{"user@", ""},
		{"0@..", ""},
		{"a@.example.org", ""},
		{"a@example..org", ""},
		{"us er@example.org", ""},
		{"user@exa\x00mple.org", ""},
		{"<user@example.org>", ""},
		{"\xff@example.org", ""},
		{strings.Repeat("a", 65) + "@example.org", ""},
		{"a@" + strings.Repeat("b", 260), ""},
	} {
		got, err := NormalizeAddress(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if err != nil && !mailerr.Is(err, mailerr.BadInput) {
			t.Errorf("NormalizeAddress(%q) error %v is not BadInput", tc.in, err)
		}
	}
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alice@Example.COM", "alice@example.com"},
		{" alice@example.com. ", "alice@example.com"},
		{"ÄRGER@X.example", "ärger@x.example"},
	} {
		if got := AddressKey(tc.in); got != tc.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDefaultMailboxes(t *testing.T) {
	m := DefaultMailboxes()
	if m[0].Name != "INBOX" || len(m) != 6 {
		t.Fatalf("DefaultMailboxes() = %v", m)
	}
	m[0].Name = "changed"
	if DefaultMailboxes()[0].Name != "INBOX" {
		t.Error("DefaultMailboxes shares its slice")
	}
}

func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"a@b.c", "A@B.C.", " x@y ", "@", "a@b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeAddress(s)
		if err != nil {
			return
		}
		n2, err := NormalizeAddress(n)
		if err != nil || n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, n, n2, err)
		}
		if AddressKey(n) != AddressKey(strings.ToUpper(n)) && sameLower(strings.ToUpper(n), n) {
			t.Fatalf("AddressKey case-sensitive for %q", n)
		}
		if len(n) > maxAddress || !strings.Contains(n, "@") {
			t.Fatalf("bad result %q", n)
		}
	})
}

// sameLower reports whether a and b lower-case to the same string. Not
// strings.EqualFold: Unicode folding also matches letters such as 'ϰ' and
// 'κ' that lower-casing keeps apart, and AddressKey lower-cases.
func sameLower(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	return la == lb
}
