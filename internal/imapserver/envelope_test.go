package imapserver

import (
	"bytes"
	"context"
	"testing"
)

func TestParseAddrList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.test", `((NIL NIL "alice" "example.test"))`},
		{`"Bob, Jr." <bob@example.test>`, `(("Bob, Jr." NIL "bob" "example.test"))`},
		{"Carol <carol@example.test> (work), dave@x.test", `(("Carol" NIL "carol" "example.test")(NIL NIL "dave" "x.test"))`},
		{"=?UTF-8?Q?J=C3=B6rg?= <j@x.test>", `(("=?UTF-8?Q?J=C3=B6rg?=" NIL "j" "x.test"))`},
		{"<@route.test:e@x.test>", `((NIL "@route.test" "e" "x.test"))`},
		{"friends: a@x.test, b@y.test;, c@z.test", `((NIL NIL "friends" NIL)(NIL NIL "a" "x.test")(NIL NIL "b" "y.test")(NIL NIL NIL NIL)(NIL NIL "c" "z.test"))`},
		{"undisclosed-recipients:;", `((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))`},
		{"", `NIL`},
		{"broken <", `NIL`},
		{`"quoted local"@x.test`, `((NIL NIL "quoted local" "x.test"))`},
	}
	for _, tc := range tests {
		if got := string(appendAddrList(nil, parseAddrList(tc.in))); got != tc.want {
			t.Errorf("parseAddrList(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	msg := "Subject: x\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.test\r\nSubject: inner\r\n\r\nbody\r\n"
	blob, err := BuildSummary(context.Background(), bytes.NewReader([]byte(msg)), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := decodeSummary(blob)
	if err != nil {
		t.Fatal(err)
	}
	want := `("message" "rfc822" NIL NIL NIL "7BIT" 40 (NIL "inner" ((NIL NIL "a" "b.test")) ((NIL NIL "a" "b.test")) ((NIL NIL "a" "b.test")) NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7BIT" 6 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)`
	if string(s.bodyStructure) != want {
		t.Errorf("bodystructure:\n got %s\nwant %s", s.bodyStructure, want)
	}
	if _, err := decodeSummary(blob[:len(blob)-1]); err == nil {
		t.Error("truncated blob decoded")
	}
	if _, err := decodeSummary([]byte{99}); err == nil {
		t.Error("blob of another version decoded")
	}
}

// balanced reports whether parentheses outside quoted strings and
// literals balance, a cheap check that a response is well-formed.
func balanced(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{':
			j := bytes.IndexByte(b[i:], '}')
			if j < 0 {
				return false
			}
			n := 0
			for _, c := range b[i+1 : i+j] {
				n = n*10 + int(c-'0')
			}
			i += j + 2 + n
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// FuzzBuildSummary formats ENVELOPE and BODYSTRUCTURE of arbitrary
// messages: no panic, balanced output, a blob that decodes.
func FuzzBuildSummary(f *testing.F) {
	f.Add([]byte("From: a <b@c>\r\nTo: g: x@y;\r\n\r\nbody"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: q\r\n\r\nx\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		blob, err := BuildSummary(context.Background(), bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			return
		}
		s, err := decodeSummary(blob)
		if err != nil {
			t.Fatalf("own blob: %v", err)
		}
		for _, b := range [][]byte{s.envelope, s.bodyStructure, s.body} {
			if !balanced(b) {
				t.Fatalf("unbalanced: %q", b)
			}
		}
	})
}

func FuzzParseAddrList(f *testing.F) {
	f.Add(`"a" <b@c>, g: d@e;`)
	f.Fuzz(func(t *testing.T, s string) {
		list := parseAddrList(s)
		if len(list) > maxAddrs+1 {
			t.Fatalf("%d addresses", len(list))
		}
		if !balanced(appendAddrList(nil, list)) {
			t.Fatal("unbalanced")
		}
	})
}
