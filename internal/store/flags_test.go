package store

import (
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func TestApplyFlags(t *testing.T) {
	old := []string{`\Seen`, "$Label"}
	for _, tc := range []struct {
		op    FlagOp
		flags []string
		want  []string
	}{
		{FlagsReplace, []string{`\Flagged`, `\flagged`}, []string{`\Flagged`}},
		{FlagsReplace, nil, nil},
		{FlagsAdd, []string{`\seen`, `\Draft`}, []string{`\Seen`, "$Label", `\Draft`}},
		{FlagsRemove, []string{`\SEEN`}, []string{"$Label"}},
		{FlagsRemove, []string{"other"}, []string{`\Seen`, "$Label"}},
	} {
		if got := ApplyFlags(old, tc.op, tc.flags); !slices.Equal(got, tc.want) {
			t.Errorf("ApplyFlags(%v, %d, %v) = %v, want %v", old, tc.op, tc.flags, got, tc.want)
		}
	}
	if old[0] != `\Seen` || len(old) != 2 {
		t.Errorf("ApplyFlags changed its input: %v", old)
	}
}

func TestCheckFlags(t *testing.T) {
	many := make([]string, MaxFlags+1)
	for i := range many {
		many[i] = "f"
	}
	for _, tc := range []struct {
		flags []string
		ok    bool
	}{
		{[]string{`\Seen`, "$Junk"}, true},
		{nil, true},
		{[]string{""}, false},
		{[]string{"a b"}, false},
		{[]string{"a\x7f"}, false},
		{[]string{strings.Repeat("x", MaxFlagLen+1)}, false},
		{many, false},
	} {
		err := CheckFlags(tc.flags)
		if (err == nil) != tc.ok {
			t.Errorf("CheckFlags(%.40q) = %v, want ok=%v", tc.flags, err, tc.ok)
		}
		if err != nil && !mailerr.IsPermanent(err) {
			t.Errorf("CheckFlags error %v is not permanent", err)
		}
	}
}

func TestCanonicalMailboxName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"inbox", "INBOX"}, {"InBoX", "INBOX"}, {"Inbox/x", "Inbox/x"}, {"Sent", "Sent"},
		{"", ""}, {strings.Repeat("a", MaxMailboxName+1), ""},
	} {
		got, err := CanonicalMailboxName(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("CanonicalMailboxName(%.20q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
