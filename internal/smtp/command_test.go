package smtp

import (
	"errors"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line     string
		verb     string
		arg      string
		wantCode int
	}{
		{"EHLO example.com", "EHLO", "example.com", 0},
		{"ehlo example.com", "EHLO", "example.com", 0},
		{"QUIT", "QUIT", "", 0},
		{"MAIL FROM:<a@b>  ", "MAIL", "FROM:<a@b>", 0},
		{"", "", "", 500},
		{" MAIL", "", "", 500},
		{"MA1L FROM:<a@b>", "", "", 500},
		{"MAIL\x00FROM", "", "", 500},
		{"MAIL FROM:<a@b>\rRCPT", "", "", 500},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "", "", 500},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.line))
		if tt.wantCode != 0 {
			if code := errCode(err); code != tt.wantCode {
				t.Errorf("%q: code %d, want %d (err %v)", tt.line, code, tt.wantCode, err)
			}
			continue
		}
		if err != nil || c.Verb != tt.verb || c.Arg != tt.arg {
			t.Errorf("%q: got %+v, %v; want %s %q", tt.line, c, err, tt.verb, tt.arg)
		}
	}
}

func errCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func errEnh(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Enhanced
	}
	return ""
}

func TestParseMail(t *testing.T) {
	tests := []struct {
		arg     string
		want    MailArgs
		code    int
		enh     string
		fromStr string
	}{
		{arg: "FROM:<a@b.example>", want: MailArgs{From: Path{"a", "b.example"}}, fromStr: "a@b.example"},
		{arg: "from:<a@b.example>", want: MailArgs{From: Path{"a", "b.example"}}},
		{arg: "FROM: <a@b.example>", want: MailArgs{From: Path{"a", "b.example"}}},
		{arg: "FROM:<>", want: MailArgs{}, fromStr: ""},
		{arg: "FROM:<@r1.example,@r2.example:u@d.example>", want: MailArgs{From: Path{"u", "d.example"}}},
		{arg: `FROM:<"john doe"@d.example>`, want: MailArgs{From: Path{"john doe", "d.example"}}, fromStr: `"john doe"@d.example`},
		{arg: `FROM:<"a\"b>c"@d.example>`, want: MailArgs{From: Path{`a"b>c`, "d.example"}}, fromStr: `"a\"b>c"@d.example`},
		{arg: "FROM:<u@[192.0.2.1]>", want: MailArgs{From: Path{"u", "[192.0.2.1]"}}},
		{arg: "FROM:<u@[IPv6:2001:db8::1]>", want: MailArgs{From: Path{"u", "[IPv6:2001:db8::1]"}}},
		{arg: "FROM:<a@b.example> SIZE=1000 BODY=8bitmime", want: MailArgs{From: Path{"a", "b.example"}, Size: 1000, Body: "8BITMIME"}},
		{arg: "FROM:<a@b.example> BODY=BINARYMIME", want: MailArgs{From: Path{"a", "b.example"}, Body: "BINARYMIME"}},
		{arg: "FROM:<a@b.example> RET=hdrs ENVID=QQ+2B1", want: MailArgs{From: Path{"a", "b.example"}, Ret: "HDRS", EnvID: "QQ+1"}},
		{arg: "FROM:<a@b.example> AUTH=<>", want: MailArgs{From: Path{"a", "b.example"}, Auth: "<>"}},
		{arg: "FROM:<a@b.example> AUTH=u+2Bx@b.example", want: MailArgs{From: Path{"a", "b.example"}, Auth: "u+x@b.example"}},
		{arg: "FROM:<jö@bü.example> SMTPUTF8", want: MailArgs{From: Path{"jö", "bü.example"}, SMTPUTF8: true}},
		{arg: "FROM:<a@b.example>  SIZE=5", want: MailArgs{From: Path{"a", "b.example"}, Size: 5}},

		{arg: "FROM:a@b.example", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@b.example", code: 501, enh: "5.1.7"},
		{arg: "TO:<a@b.example>", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<postmaster>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a..b@c.example>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@-b.example>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@b..example>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@[300.1.1.1]>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@[IPv6:1.2.3.4]>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@b.example>SIZE=1", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> SIZE=x", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> SIZE=-1", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> SIZE=99999999999999999999999", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> SIZE=1 SIZE=2", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> BODY=9BIT", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> RET=ALL", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> ENVID=a+zz", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> SMTPUTF8=yes", code: 501, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> FOO=bar", code: 555, enh: "5.5.4"},
		{arg: "FROM:<a@b.example> FOO", code: 555, enh: "5.5.4"},
		{arg: "FROM:<jö@b.example>", code: 553, enh: "5.6.7"},
		{arg: "FROM:<j@bü.example>", code: 553, enh: "5.6.7"},
		{arg: "FROM:<j\xff@b.example> SMTPUTF8", code: 501, enh: "5.1.7"},
		{arg: "FROM:<" + string(make([]byte, 0)) + repeat("a", 65) + "@b.example>", code: 501, enh: "5.1.7"},
		{arg: "FROM:<a@" + repeat("b.", 130) + "example>", code: 501, enh: "5.1.7"},
	}
	for _, tt := range tests {
		m, err := ParseMail(tt.arg)
		if tt.code != 0 {
			if errCode(err) != tt.code || errEnh(err) != tt.enh {
				t.Errorf("%q: err %v, want %d %s", tt.arg, err, tt.code, tt.enh)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.arg, err)
			continue
		}
		if m != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.arg, m, tt.want)
		}
		if tt.fromStr != "" && m.From.String() != tt.fromStr {
			t.Errorf("%q: String() = %q, want %q", tt.arg, m.From.String(), tt.fromStr)
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestParseRcpt(t *testing.T) {
	tests := []struct {
		arg  string
		utf8 bool
		want RcptArgs
		code int
		enh  string
	}{
		{arg: "TO:<u@d.example>", want: RcptArgs{To: Path{"u", "d.example"}}},
		{arg: "to: <u@d.example>", want: RcptArgs{To: Path{"u", "d.example"}}},
		{arg: "TO:<Postmaster>", want: RcptArgs{To: Path{"Postmaster", ""}}},
		{arg: "TO:<postmaster@d.example>", want: RcptArgs{To: Path{"postmaster", "d.example"}}},
		{arg: "TO:<u@d.example> NOTIFY=success,delay ORCPT=rfc822;u+40d.example",
			want: RcptArgs{To: Path{"u", "d.example"}, Notify: "SUCCESS,DELAY", ORCPT: "rfc822;u@d.example"}},
		{arg: "TO:<u@d.example> NOTIFY=NEVER", want: RcptArgs{To: Path{"u", "d.example"}, Notify: "NEVER"}},
		{arg: "TO:<ü@d.example>", utf8: true, want: RcptArgs{To: Path{"ü", "d.example"}}},

		{arg: "TO:<>", code: 501, enh: "5.1.3"},
		{arg: "TO:u@d.example", code: 501, enh: "5.1.3"},
		{arg: "TO:<u@d.example", code: 501, enh: "5.1.3"},
		{arg: "FROM:<u@d.example>", code: 501, enh: "5.5.4"},
		{arg: "TO:<ü@d.example>", code: 553, enh: "5.6.7"},
		{arg: "TO:<u@d.example> NOTIFY=NEVER,SUCCESS", code: 501, enh: "5.5.4"},
		{arg: "TO:<u@d.example> NOTIFY=SUCCESS,SUCCESS", code: 501, enh: "5.5.4"},
		{arg: "TO:<u@d.example> NOTIFY", code: 501, enh: "5.5.4"},
		{arg: "TO:<u@d.example> ORCPT=rfc822", code: 501, enh: "5.5.4"},
		{arg: "TO:<u@d.example> ORCPT=rfc822;+4", code: 501, enh: "5.5.4"},
		{arg: "TO:<u@d.example> SIZE=1", code: 555, enh: "5.5.4"},
	}
	for _, tt := range tests {
		r, err := ParseRcpt(tt.arg, tt.utf8)
		if tt.code != 0 {
			if errCode(err) != tt.code || errEnh(err) != tt.enh {
				t.Errorf("%q: err %v, want %d %s", tt.arg, err, tt.code, tt.enh)
			}
			continue
		}
		if err != nil || r != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.arg, r, err, tt.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		utf8 bool
		want string
		ok   bool
	}{
		{"<a@b.example>", false, "a@b.example", true},
		{"<>", false, "", true},
		{"<a@b.example> x", false, "", false},
		{"<ü@b.example>", true, "ü@b.example", true},
		{"<ü@b.example>", false, "", false},
		{`<"a b"@c>`, false, `"a b"@c`, true},
		{`<""@c>`, false, `""@c`, true},
		{`<"a\`, false, "", false},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.in, tt.utf8)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err == nil && p.String() != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, p.String(), tt.want)
		}
	}
}

func TestXtext(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abc", true},
		{"a+2Bb+3D", "a+b=", true},
		{"a+2bb", "a+b", true},
		{"a+2", "", false},
		{"a+", "", false},
		{"a b", "", false},
		{"a=b", "", false},
		{"a+zz", "", false},
	}
	for _, tt := range tests {
		got, err := DecodeXtext(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("DecodeXtext(%q) = %q, %v", tt.in, got, err)
		}
	}
	for _, s := range []string{"", "plain", "a+b=c d\x01é"} {
		enc := EncodeXtext(s)
		dec, err := DecodeXtext(enc)
		if err != nil || dec != s {
			t.Errorf("round trip %q -> %q -> %q, %v", s, enc, dec, err)
		}
	}
}
