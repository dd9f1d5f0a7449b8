package loadgen

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  int
		lines []string
		err   bool
	}{
		{"single", "250 ok\r\n", 250, []string{"ok"}, false},
		{"code only", "250\r\n", 250, []string{""}, false},
		{"bare LF tolerated", "354 go\n", 354, []string{"go"}, false},
		{"multi", "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n", 250, []string{"mx.test", "PIPELINING", "SIZE 10"}, false},
		{"enhanced", "451 4.3.0 try later\r\n", 451, []string{"4.3.0 try later"}, false},
		{"code changes", "250-a\r\n251 b\r\n", 0, nil, true},
		{"bad digits", "2x0 ok\r\n", 0, nil, true},
		{"first digit 6", "650 ok\r\n", 0, nil, true},
		{"bad separator", "250+ok\r\n", 0, nil, true},
		{"short", "25\r\n", 0, nil, true},
		{"eof mid reply", "250-a\r\n", 0, nil, true},
		{"no newline", "250 ok", 0, nil, true},
		{"empty", "", 0, nil, true},
		{"line too long", "250 " + strings.Repeat("x", maxReplyLine) + "\r\n", 0, nil, true},
		{"too many lines", strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n", 0, nil, true},
		{"most lines allowed", strings.Repeat("250-x\r\n", maxReplyLines-1) + "250 x\r\n", 250, slices.Repeat([]string{"x"}, maxReplyLines), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.in), maxReplyLine))
			if tt.err {
				if err == nil {
					t.Fatalf("readReply(%q) = %v, want an error", tt.in, r)
				}
				return
			}
			if err != nil {
				t.Fatalf("readReply(%q): %v", tt.in, err)
			}
			if r.Code != tt.code || !slices.Equal(r.Lines, tt.lines) {
				t.Errorf("readReply(%q) = %d %q, want %d %q", tt.in, r.Code, r.Lines, tt.code, tt.lines)
			}
		})
	}
}

func TestReplyErrorClass(t *testing.T) {
	tests := []struct {
		reply     Reply
		permanent bool
		reason    string
	}{
		{Reply{451, []string{"4.3.0 later"}}, false, "unavailable"},
		{Reply{421, []string{"closing"}}, false, "unavailable"},
		{Reply{452, []string{"4.2.2 over quota"}}, false, "over quota"},
		{Reply{550, []string{"5.1.1 no such user"}}, true, "no such user"},
		{Reply{552, []string{"too big"}}, true, "too big"},
		{Reply{535, []string{"5.7.8 bad credentials"}}, true, "authentication failed"},
		{Reply{554, []string{"no"}}, true, "policy"},
	}
	for _, tt := range tests {
		err := replyError("MAIL", tt.reply)
		if got := codeOf(err); got != tt.reply.Code {
			t.Errorf("codeOf(%v) = %d", tt.reply, got)
		}
		if got := mailerr.IsPermanent(err); got != tt.permanent {
			t.Errorf("%v permanent = %v, want %v", tt.reply, got, tt.permanent)
		}
		if got := reasonOf(tt.reply).String(); got != tt.reason {
			t.Errorf("%v reason = %q, want %q", tt.reply, got, tt.reason)
		}
	}
	if codeOf(errors.New("EOF")) != 0 {
		t.Error("a network error must have code 0")
	}
}

// FuzzReadReply checks that any input gives a reply or an error, within
// the bounds, and that a parsed reply's code is valid.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "354\n", "421-x\r\n", "9", "250-a\r\n251 b\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(string(in)), maxReplyLine))
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 559 {
			t.Fatalf("code %d out of range", r.Code)
		}
		if len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
			t.Fatalf("%d lines", len(r.Lines))
		}
		for _, l := range r.Lines {
			if strings.ContainsAny(l, "\n") || len(l) > maxReplyLine {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}
