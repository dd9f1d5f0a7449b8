package smtpclient

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
	phmime "github.com/posthorn/posthorn/mime"
)

var longLine = strings.Repeat("x", 1200)

// mixed8bit is a message with 8-bit leaves at several depths, a binary
// part, an enclosed message and parts that must stay as they are.
var mixed8bit = strings.Join([]string{
	"From: a@client.test",
	"To: b@mx.test",
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
	"MIME-Version: 1.0",
	"Content-Type: multipart/mixed;",
	"\tboundary=\"outer\"",
	"Content-Transfer-Encoding: 8bit",
	"",
	"Preamble with ümlaut.",
	"--outer",
	"Content-Type: text/plain; charset=utf-8",
	"Content-Transfer-Encoding: 8bit",
	"",
	"Grüße aus Köln",
	"trailing space ",
	".a line with a leading dot",
	longLine,
	"",
	"--outer",
	"Content-Type: multipart/alternative; boundary=inner",
	"",
	"--inner",
	"Content-Type: text/plain",
	"",
	"plain ascii stays",
	"--inner",
	"Content-Type: text/html; charset=utf-8",
	"Content-Transfer-Encoding: 8BIT",
	"",
	"<p>naïve café</p>",
	"--inner--",
	"",
	"--outer",
	"Content-Type: application/octet-stream",
	"Content-Transfer-Encoding: binary",
	"",
	"\x00\x01\x80\xff\xfe binary \x9f",
	"--outer",
	"Content-Type: message/rfc822",
	"Content-Transfer-Encoding: 8bit",
	"",
	"Subject: inner",
	"",
	"inner body ñ",
	"--outer",
	"Content-Type: image/png",
	"Content-Transfer-Encoding: base64",
	"",
	"iVBORw0KGgo=",
	"--outer--",
	"Epilogue ü.",
	"",
}, "\r\n")

// leaves returns the decoded body of every leaf, by section path.
func leaves(t *testing.T, msg []byte) map[string]string {
	t.Helper()
	root, err := phmime.ParseBytes(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	root.Walk(func(path string, p *phmime.Part) error {
		if len(p.Parts) > 0 {
			return nil
		}
		b, err := io.ReadAll(p.Body())
		if err != nil {
			t.Fatal(err)
		}
		out[path+" "+p.ContentType] = string(b)
		return nil
	})
	return out
}

func convertString(t *testing.T, msg string) (string, *conversion) {
	t.Helper()
	cv := analyse(context.Background(), bodyOf(msg))
	if cv.err != nil || !cv.needed {
		return "", cv
	}
	var out bytes.Buffer
	if err := cv.write(context.Background(), strings.NewReader(msg), &out); err != nil {
		t.Fatal(err)
	}
	if int64(out.Len()) != cv.size {
		t.Errorf("counted size %d, written %d", cv.size, out.Len())
	}
	return out.String(), cv
}

func check7bit(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0 {
			t.Fatalf("octet %#x at %d in converted message:\n%s", s[i], i, s)
		}
	}
	for _, l := range strings.Split(s, "\r\n") {
		if len(l) > 998 {
			t.Fatalf("line of %d octets in converted message", len(l))
		}
	}
}

func TestConvertMultipart(t *testing.T) {
	out, cv := convertString(t, mixed8bit)
	if cv.err != nil || !cv.needed {
		t.Fatalf("err=%v needed=%v", cv.err, cv.needed)
	}
	check7bit(t, out)
	want, got := leaves(t, []byte(mixed8bit)), leaves(t, []byte(out))
	if len(want) != 6 {
		t.Fatalf("original has %d leaves: %v", len(want), want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("leaf %s: got %q, want %q", k, got[k], v)
		}
	}
	for _, s := range []string{
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe",
		"Content-Transfer-Encoding: base64\r\n",
		"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n",
		"Content-Type: text/plain\r\n\r\nplain ascii stays\r\n--inner",
		"iVBORw0KGgo=\r\n--outer--",
		"Preamble with ??mlaut.",
		"Subject: inner\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ninner body =C3=B1\r\n--outer",
		"boundary=\"outer\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("converted message lacks %q:\n%s", s, out)
		}
	}
	if strings.Count(out, "Content-Transfer-Encoding") != strings.Count(mixed8bit, "Content-Transfer-Encoding")+1 {
		t.Errorf("CTE fields: got %d in\n%s", strings.Count(out, "Content-Transfer-Encoding"), out)
	}
}

func TestConvertCases(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		needed   bool
		enhanced string // failure
		contains string
	}{
		{"not mime", "Subject: x\r\n\r\nnaïve\r\n", true, "", "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=C3=AFve\r\n"},
		{"7-bit after all", "Subject: x\r\n\r\nplain\r\n", false, "", ""},
		{"8-bit header", "Subject: naïve\r\n\r\nbody\r\n", false, "5.6.3", ""},
		{"8-bit in a base64 part", "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n\xff\xfe\r\n", false, "5.6.3", ""},
		{"8-bit header in a part", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Description: é\r\n\r\nx\r\n--b--\r\n", false, "5.6.3", ""},
		{"long ascii line", "Subject: x\r\n\r\n" + longLine + "\r\n", true, "", "=\r\n"},
		{"no final line break", "Subject: x\r\n\r\nü", true, "", "\r\n\r\n=C3=BC"},
		{"header only", "Subject: x\r\n", false, "", ""},
		{"missing close delimiter", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nü\r\n", true, "", "\r\n\r\n=C3=BC\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, cv := convertString(t, tc.msg)
			if tc.enhanced != "" {
				re := ReplyOf(cv.err)
				if re == nil || re.Enhanced != tc.enhanced || !mailerr.IsPermanent(cv.err) {
					t.Fatalf("err %v, want permanent %s", cv.err, tc.enhanced)
				}
				return
			}
			if cv.err != nil || cv.needed != tc.needed {
				t.Fatalf("err=%v needed=%v, want needed=%v", cv.err, cv.needed, tc.needed)
			}
			if !tc.needed {
				return
			}
			check7bit(t, out)
			if !strings.Contains(out, tc.contains) {
				t.Errorf("output lacks %q:\n%q", tc.contains, out)
			}
			want, got := leaves(t, []byte(tc.msg)), leaves(t, []byte(out))
			for k, v := range want {
				if strings.TrimRight(got[k], "\r\n") != strings.TrimRight(v, "\r\n") {
					t.Errorf("leaf %s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestDeliverConverts(t *testing.T) {
	for _, ext := range [][]string{{"SIZE", "PIPELINING"}, {"SIZE", "8BITMIME"}} {
		srv := newFakeServer(t, &fakeServer{ext: ext})
		cl := testClient(t, nil)
		env := envOf("a@mx.test")
		env.BodyType = Body8BitMIME
		res := cl.Deliver(context.Background(), []Hop{srv.hop()}, env, bodyOf(mixed8bit))
		checkResult(t, res, want{delivered: true})
		s := srv.session(0)
		got := string(s.msgs[0])
		mail := s.cmds[1]
		if ext[1] == "8BITMIME" {
			if got != mixed8bit || res.Converted || !strings.Contains(mail, "BODY=8BITMIME") {
				t.Errorf("8BITMIME peer: converted=%v, MAIL %q", res.Converted, mail)
			}
			continue
		}
		check7bit(t, got)
		if !res.Converted || strings.Contains(mail, "BODY=") || !strings.HasSuffix(mail, " SIZE="+strconv.Itoa(len(got))) {
			t.Errorf("7-bit peer: converted=%v, MAIL %q, received %d octets", res.Converted, mail, len(got))
		}
	}
}

func TestDeliverUnconvertible(t *testing.T) {
	srv := newFakeServer(t, &fakeServer{})
	cl := testClient(t, nil)
	env := envOf("a@mx.test", "b@mx.test")
	env.BodyType = Body8BitMIME
	res := cl.Deliver(context.Background(), []Hop{srv.hop()}, env, bodyOf("Subject: naïve\r\n\r\nx\r\n"))
	checkResult(t, res, want{permanent: true, enhanced: "5.6.3"}, want{permanent: true, enhanced: "5.6.3"})
	if !strings.Contains(res.Rcpts[0].Text, "8BITMIME") {
		t.Errorf("reason %q does not name 8BITMIME", res.Rcpts[0].Text)
	}
}
