package e2e

import (
	"bytes"
	"testing"
)

// Tests of the harness's own helpers: they need no server, so a broken
// helper shows up as itself and not as a product failure.

func TestHelperSplitTrace(t *testing.T) {
	cases := []struct {
		name, in string
		names    []string
		rest     string
	}{
		{"none", "From: a\r\n\r\nbody\r\n", nil, "From: a\r\n\r\nbody\r\n"},
		{"three", "Return-Path: <a@b>\r\nDelivered-To: c@d\r\nReceived: from x\r\n\tby y\r\n\tid z; date\r\nFrom: a\r\n\r\nb\r\n",
			[]string{"Return-Path", "Delivered-To", "Received"}, "From: a\r\n\r\nb\r\n"},
		{"no-header-body", "Received: from x\r\n by y\r\nThis is my test e-mail from SMTP server.\r\n",
			[]string{"Received"}, "This is my test e-mail from SMTP server.\r\n"},
		{"blank-after", "Received: from x\r\n\r\nbody\r\n", []string{"Received"}, "\r\nbody\r\n"},
		{"colon-later-line", "body line\r\nKey: v\r\n", nil, "body line\r\nKey: v\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, rest := SplitTrace([]byte(c.in))
			if len(f) != len(c.names) {
				t.Fatalf("fields %+v, want names %v", f, c.names)
			}
			for i := range f {
				if f[i].Name != c.names[i] {
					t.Errorf("field %d: %q, want %q", i, f[i].Name, c.names[i])
				}
			}
			if string(rest) != c.rest {
				t.Errorf("rest %q, want %q", rest, c.rest)
			}
		})
	}
}

func TestHelperDotStuff(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\r\n", "a\r\n.\r\n"},
		{".a\r\n..b\r\n.\r\n", "..a\r\n...b\r\n..\r\n.\r\n"},
		{"no final crlf", "no final crlf\r\n.\r\n"},
		{"", "\r\n.\r\n"},
	}
	for _, c := range cases {
		if got := string(dotStuff([]byte(c.in))); got != c.want {
			t.Errorf("dotStuff(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHelperMatchReply(t *testing.T) {
	r := Reply{Code: 550, Lines: []string{"5.1.1 no such user"}}
	cases := []struct {
		want string
		ok   bool
	}{{"550", true}, {"550 5.1.1", true}, {"550 5.7.1", false}, {"451|550", true}, {"250", false}}
	for _, c := range cases {
		if got := matchReply(r, c.want); got != c.ok {
			t.Errorf("matchReply(%v, %q) = %v, want %v", r, c.want, got, c.ok)
		}
	}
	if e := (Reply{Code: 250, Lines: []string{"mx.example.test hello"}}).Enhanced(); e != "" {
		t.Errorf("Enhanced of a reply without one = %q", e)
	}
}

func TestHelperHeaderOf(t *testing.T) {
	msg := []byte("A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n")
	cases := []struct {
		n    int
		want string
	}{{0, "A: 1\r\nB: 2\r\n\r\n"}, {2, "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n"}, {10, string(msg)}}
	for _, c := range cases {
		if got := headerOf(msg, c.n); !bytes.Equal(got, []byte(c.want)) {
			t.Errorf("headerOf(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestHelperTaggedMessage(t *testing.T) {
	for _, size := range []int{100, 5000, 300 << 10} {
		m := taggedMessage("w1-n2", size)
		if len(m) < size || len(m) > size+200 {
			t.Errorf("taggedMessage size %d for %d", len(m), size)
		}
		if sm := tagRe.FindSubmatch(m); sm == nil || string(sm[1]) != "w1-n2" {
			t.Errorf("tag not found in %q", head(m, 200))
		}
		if !bytes.HasSuffix(m, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(m, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("taggedMessage is not CRLF throughout")
		}
	}
}
