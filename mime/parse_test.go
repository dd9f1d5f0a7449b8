package mime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// leafBodies lists "path ctype body" for each leaf, bodies decoded.
func leafBodies(t *testing.T, msg string) (string, *Part) {
	t.Helper()
	p, err := ParseBytes(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p.Leaves(func(path string, c *Part) error {
		body, _ := io.ReadAll(c.Body())
		fmt.Fprintf(&b, "%s %s %q\n", path, c.ContentType, body)
		return nil
	})
	return b.String(), p
}

func TestParseStructure(t *testing.T) {
	tests := []struct {
		name, msg, want string
		defects         int // on the whole tree
	}{
		{"single part", "Subject: x\r\n\r\nhello\r\n", "1 text/plain \"hello\\r\\n\"\n", 0},
		{"multipart CRLF",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n\r\n--b--\r\nepilogue\r\n",
			"1 text/plain \"one\"\n2 text/html \"<p>two</p>\\r\\n\"\n", 0},
		{"multipart LF",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n--b--\n",
			"1 text/plain \"one\"\n2 text/plain \"two\"\n", 0},
		{"nested",
			"Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\n\nplain\n--inner\nContent-Type: text/html\n\n<b>html</b>\n--inner--\n--outer\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAEC\n--outer--\n",
			"1.1 text/plain \"plain\"\n1.2 text/html \"<b>html</b>\"\n2 application/octet-stream \"\\x00\\x01\\x02\"\n", 0},
		{"transport padding", "Content-Type: multipart/mixed; boundary=b\n\n--b  \t\n\none\n--b--  \n",
			"1 text/plain \"one\"\n", 0},
		{"missing close delimiter", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n",
			"1 text/plain \"one\\n\"\n", 1},
		{"inner missing close", "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\na\n--o\n\nb\n--o--\n",
			"1.1 text/plain \"a\"\n2 text/plain \"b\"\n", 1},
		{"no boundary param", "Content-Type: multipart/mixed\n\n--b\n\none\n--b--\n",
			"1 multipart/mixed \"--b\\n\\none\\n--b--\\n\"\n", 1},
		{"boundary never occurs", "Content-Type: multipart/mixed; boundary=zz\n\nhello\n",
			"1 multipart/mixed \"hello\\n\"\n", 1},
		{"digest defaults to message/rfc822",
			"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody one\n--d\nContent-Type: text/plain\n\nnot a message\n--d--\n",
			"1 message/rfc822 \"Subject: one\\n\\nbody one\"\n2 text/plain \"not a message\"\n", 0},
		{"bad content type", "Content-Type: garbage\n\nx", "1 text/plain \"x\"\n", 1},
		{"qp body", "Content-Transfer-Encoding: Quoted-Printable\n\ncaf=C3=A9=\n!\n", "1 text/plain \"café!\\n\"\n", 0},
		{"prefix delimiter (RFC 2046 5.1.1 note)", "Content-Type: multipart/mixed; boundary=b\n\n--b junk\n\none\n--b-- junk\n",
			"1 text/plain \"one\"\n", 0},
		{"longer boundary of the outer part wins", "Content-Type: multipart/mixed; boundary=ab\n\n--ab\nContent-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n--ab--\n",
			"1.1 text/plain \"x\"\n", 1},
		{"empty part", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--\r\n", "1 text/plain \"\"\n", 0},
		{"header runs into delimiter", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b--\n",
			"1 text/plain \"\"\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, root := leafBodies(t, tt.msg)
			if got != tt.want {
				t.Errorf("leaves:\n%s\nwant:\n%s\ntree:\n%s", got, tt.want, dump(root))
			}
			if n := countDefects(root); n != tt.defects {
				t.Errorf("%d defects, want %d\n%s", n, tt.defects, dump(root))
			}
		})
	}
}

func TestMessageRFC822(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" +
		"Subject: inner\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nin1\r\n--c\r\n\r\nin2\r\n--c--\r\n" +
		"\r\n--b--\r\n"
	root, err := ParseBytes(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	root.Walk(func(path string, p *Part) error {
		paths = append(paths, path+"="+p.ContentType)
		return nil
	})
	want := "=multipart/mixed 1=text/plain 2=message/rfc822 2.1=text/plain 2.2=text/plain"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("walk %s, want %s", got, want)
	}
	rfc := root.Parts[1]
	inner := rfc.Parts[0]
	if inner.Header.Subject() != "inner" || len(inner.Parts) != 2 {
		t.Fatalf("inner message not parsed:\n%s", dump(root))
	}
	raw, _ := io.ReadAll(rfc.Body())
	if !bytes.HasPrefix(raw, []byte("Subject: inner")) || !bytes.HasSuffix(raw, []byte("--c--\r\n")) {
		t.Errorf("message/rfc822 body %q", raw)
	}
	got, _ := leafBodies(t, msg)
	if got != "1 text/plain \"hi\"\n2 message/rfc822 "+fmt.Sprintf("%q", raw)+"\n" {
		t.Errorf("leaves %s", got)
	}
}

// TestOffsetsRFC2046 checks that the CRLF before a delimiter belongs to
// the delimiter and that offsets address the message bytes exactly.
func TestOffsetsRFC2046(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: 1\r\n\r\nbody\r\n\r\n--b--\r\n"
	root, err := ParseBytes(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	c := root.Parts[0]
	if got := msg[c.Offset:c.BodyOffset]; got != "X: 1\r\n\r\n" {
		t.Errorf("header bytes %q", got)
	}
	if got := msg[c.BodyOffset:c.End]; got != "body\r\n" {
		t.Errorf("body bytes %q", got)
	}
	raw, _ := io.ReadAll(c.Raw())
	if string(raw) != "X: 1\r\n\r\nbody\r\n" {
		t.Errorf("Raw %q", raw)
	}
	if root.End != int64(len(msg)) {
		t.Errorf("root ends at %d, want %d", root.End, len(msg))
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("Content-Type: multipart/mixed; boundary=b\n\n--b\n", 10) + "\nx\n"
	many := "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\nx\n", 20) + "--b--\n"
	tests := []struct {
		name   string
		lim    Limits
		msg    string
		limit  string
		wantOK bool
	}{
		{"depth", Limits{MaxDepth: 5}, deep, "depth", false},
		{"depth ok", Limits{MaxDepth: 20}, deep, "", true},
		{"parts", Limits{MaxParts: 10}, many, "parts", false},
		{"header bytes", Limits{MaxHeaderBytes: 100}, "X: " + strings.Repeat("a", 200) + "\n\n", "header bytes", false},
		{"header folded bytes", Limits{MaxHeaderBytes: 100}, "X: a\n" + strings.Repeat(" a\n", 60) + "\n", "header bytes", false},
		{"header fields", Limits{MaxHeaderFields: 3}, "A: 1\nB: 2\nC: 3\nD: 4\n\n", "header fields", false},
	}
	for _, tt := range tests {
		_, err := Parser{Limits: tt.lim}.Parse(context.Background(), strings.NewReader(tt.msg), int64(len(tt.msg)))
		if tt.wantOK {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != tt.limit {
			t.Errorf("%s: error %v, want the %s limit", tt.name, err, tt.limit)
			continue
		}
		if !mailerr.IsPermanent(err) || !mailerr.Is(err, mailerr.TooBig) {
			t.Errorf("%s: error %v not classified permanent/TooBig", tt.name, err)
		}
	}
}

func TestParseCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ParseBytes(ctx, []byte("A: 1\n\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// shortReaderAt claims a size its data does not have.
type shortReaderAt struct{ data []byte }

func (s shortReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.data)) {
		return 0, io.EOF
	}
	n := copy(p, s.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestParseShortInput(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n"
	_, err := Parse(context.Background(), shortReaderAt{[]byte(msg)}, int64(len(msg))+100)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

// countDefects counts the defects in the tree (each part once).
func countDefects(p *Part) int {
	n := len(p.Defects)
	for _, c := range p.Parts {
		n += countDefects(c)
	}
	return n
}
