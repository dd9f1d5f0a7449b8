package mime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// addSeeds adds the founding examples and a few hostile shapes.
func addSeeds(f *testing.F) {
	_, file, _, _ := runtime.Caller(0)
	seeds, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "shared", "testdata", "seeds", "*.eml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\nx\n--b--\n",
		"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nA: b\r\n\r\n--d--",
		"Content-Transfer-Encoding: quoted-printable\n\n=4=\n=\r\n",
		"Content-Transfer-Encoding: base64\nContent-Type: text/plain; charset*0*=utf-8''%e2; charset*1*=%82\n\n4pyI=",
		"From x\n To: =?utf-8?b?4p?=\nContent-Type: multipart/alternative; boundary=\"\"\n\n--\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse parses anything: it must never panic, fail only on a
// limit, and yield a tree whose offsets nest and whose bodies decode.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		ps := Parser{Limits: Limits{MaxDepth: 8, MaxParts: 100, MaxHeaderBytes: 4096, MaxHeaderFields: 100}}
		root, err := ps.Parse(context.Background(), bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("error that is not a limit: %v", err)
			}
			return
		}
		checkFuzzTree(t, root, 0, int64(len(msg)))
		root.Walk(func(path string, p *Part) error {
			all, err := io.ReadAll(p.Body())
			if err != nil {
				t.Fatal(err)
			}
			// Reading in one-byte steps gives the same bytes.
			var one bytes.Buffer
			if _, err := io.Copy(&one, iotest.OneByteReader(p.Body())); err != nil || !bytes.Equal(one.Bytes(), all) {
				t.Fatalf("part %s decodes differently in small reads", path)
			}
			if r, err := p.Text(); err == nil {
				txt, _ := io.ReadAll(r)
				if !utf8.Valid(txt) {
					t.Fatalf("part %s: Text is not UTF-8", path)
				}
			}
			if s := p.Header.Subject(); !utf8.ValidString(s) {
				t.Fatal("subject not UTF-8")
			}
			p.Header.Addresses("From")
			p.Filename()
			return nil
		})
	})
}

func checkFuzzTree(t *testing.T, p *Part, lo, hi int64) {
	if !(lo <= p.Offset && p.Offset <= p.BodyOffset && p.BodyOffset <= p.End && p.End <= hi) {
		t.Fatalf("offsets [%d %d %d] outside [%d %d]", p.Offset, p.BodyOffset, p.End, lo, hi)
	}
	prev := p.BodyOffset
	for _, c := range p.Parts {
		checkFuzzTree(t, c, prev, p.End)
		prev = c.End
	}
}

// FuzzDecodeText: any header text decodes to valid UTF-8.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{"=?utf-8?q?a?=", "=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", "=?x?b?", "caf\xe9", "=?utf-8*en?Q?=?= =?UTF-8?b?4p?="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out := DecodeText(s); !utf8.ValidString(out) {
			t.Fatalf("DecodeText(%q) = %q, not UTF-8", s, out)
		}
		if utf8.ValidString(s) {
			if got := DecodeText(EncodeText(s)); got != s {
				t.Fatalf("EncodeText(%q) decodes to %q", s, got)
			}
		}
	})
}

// FuzzParseAddressList: never panics; what it returns formats and
// parses back to the same addresses.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{"a@b", "A <a@b>", "g: a@b, \"c, d\" <e@f>;", "(x) <@r:a@b>", "=?utf-8?q?x?= <y@z>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		as, _ := ParseAddressList(s)
		for _, a := range as {
			if !utf8.ValidString(a.Name) || !utf8.ValidString(a.Address) {
				t.Fatalf("not UTF-8: %+v", a)
			}
		}
	})
}

// FuzzParseMediaType: never panics; parameters we write parse back.
func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{"text/plain; charset=x", "a/b; n*0*=utf-8''%e2; n*1*=%82%ac", "x; filename=\"a\\\"b\"", "a/b; c=\"d"} {
		f.Add(s, "value")
	}
	f.Fuzz(func(t *testing.T, v, value string) {
		ParseMediaType(v)
		if !utf8.ValidString(value) {
			return
		}
		_, params, err := ParseMediaType(withParams("attachment", [][2]string{{"filename", value}}))
		if err != nil || params["filename"] != value {
			t.Fatalf("filename %q came back %q, %v", value, params["filename"], err)
		}
	})
}

// FuzzBuilder: whatever goes in comes back out.
func FuzzBuilder(f *testing.F) {
	f.Add("Subject", "Name", "text", "file.txt", []byte("data"))
	f.Add("Grüße", "Jörg, M.", "a\nb\r\n", "../x", []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, subject, name, text, filename string, data []byte) {
		for _, s := range []string{subject, name, text, filename} {
			if !utf8.ValidString(s) {
				return
			}
		}
		b := &Builder{From: Address{Name: name, Address: "a@x.test"}, Subject: subject, Text: text,
			Attachments: []Attachment{{Filename: filename, Data: data}}}
		msg, err := b.Bytes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		root, err := ParseBytes(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		leaves := map[string]*Part{}
		root.Leaves(func(p string, c *Part) error { leaves[p] = c; return nil })
		att := leaves["2"]
		if text == "" {
			att = leaves["1"]
		}
		if att == nil {
			t.Fatalf("attachment missing:\n%s", msg)
		}
		got, _ := io.ReadAll(att.Body())
		if !bytes.Equal(got, data) {
			t.Fatalf("attachment changed")
		}
		if att.Filename() != filename {
			t.Fatalf("filename %q came back %q", filename, att.Filename())
		}
		for _, line := range bytes.Split(msg, []byte("\r\n")) {
			if len(line) > 998 {
				t.Fatalf("line of %d characters", len(line))
			}
		}
	})
}

// FuzzTransferDecoding: base64 and quoted-printable decode the same
// whatever the buffer sizes and read sizes, and always finish.
func FuzzTransferDecoding(f *testing.F) {
	f.Add([]byte("SGVsbG8=\r\nSGV"), 3)
	f.Add([]byte("caf=C3=A9 =\r\n  \r\n=4"), 1)
	f.Fuzz(func(t *testing.T, in []byte, small int) {
		small = 1 + small&63
		for _, size := range []int64{-1, int64(len(in)), int64(small)} {
			a, _ := io.ReadAll(newQPReader(bytes.NewReader(in), -1))
			b, _ := io.ReadAll(iotest.OneByteReader(newQPReader(iotest.HalfReader(bytes.NewReader(in)), size)))
			// White space longer than the buffer is the one exception
			// (kept even before a line break, see qpReader).
			exempt := blankRun(string(in)) >= len(newQPReader(nil, size).in)-3
			if !bytes.Equal(a, b) && !exempt {
				t.Fatalf("quoted-printable differs with buffer %d", size)
			}
			a, _ = io.ReadAll(newBase64Reader(bytes.NewReader(in), -1))
			b, _ = io.ReadAll(iotest.OneByteReader(newBase64Reader(iotest.HalfReader(bytes.NewReader(in)), size)))
			if !bytes.Equal(a, b) {
				t.Fatalf("base64 differs with buffer %d", size)
			}
		}
	})
}
