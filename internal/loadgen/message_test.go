package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testTemplate(t *testing.T, size int, to ...string) (*template, Config) {
	t.Helper()
	cfg, err := Config{Size: size, To: to, Tag: "T"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newTemplate(&cfg, "RUNID", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), cfg
}

func TestTemplateSize(t *testing.T) {
	base, _ := testTemplate(t, 1)
	h := len(base.header)
	tests := []struct {
		size, want int
	}{
		{1, h}, // smaller than the header: the header alone
		{h - 1, h},
		{h, h},
		{h + 1, h + 1}, // the Subject grows by one byte
		{h + 2, h + 2}, // one empty body line
		{h + 3, h + 3},
		{h + 78, h + 78},
		{h + 79, h + 79}, // a shorter line and an empty one
		{h + 80, h + 80},
		{h + 157, h + 157},
		{4096, 4096},
		{100_000, 100_000},
		{1 << 20, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			tmpl, _ := testTemplate(t, tt.size)
			m := tmpl.forWorker()
			m.setSeq(1234567)
			var b bytes.Buffer
			w := bufio.NewWriter(&b)
			if err := m.writeTo(w); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if b.Len() != tt.want || tmpl.size() != tt.want {
				t.Fatalf("size %d: wrote %d, size() %d, want %d", tt.size, b.Len(), tmpl.size(), tt.want)
			}
			checkLines(t, b.String())
			if !strings.Contains(b.String(), "Subject: T 0001234567") {
				t.Errorf("no sequence in Subject:\n%s", m.header)
			}
		})
	}
}

// checkLines asserts the message invariants: CRLF lines of 7-bit text,
// none over 78 characters in the body, none starting with a dot.
func checkLines(t *testing.T, msg string) {
	t.Helper()
	if !strings.HasSuffix(msg, "\r\n") {
		t.Fatal("message does not end in CRLF")
	}
	header, body, ok := strings.Cut(msg, "\r\n\r\n")
	if !ok {
		t.Fatal("no header/body separator")
	}
	for _, l := range strings.Split(strings.TrimSuffix(msg, "\r\n"), "\r\n") {
		if strings.HasPrefix(l, ".") {
			t.Errorf("line starts with a dot: %q", l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("bare CR or LF in %q", l)
		}
		for _, c := range []byte(l) {
			if c >= 0x80 || (c < 0x20 && c != '\t') {
				t.Fatalf("non-text byte %#x in %q", c, l)
			}
		}
	}
	for _, l := range strings.Split(body, "\r\n") {
		if len(l) > bodyLineChars {
			t.Errorf("body line of %d chars", len(l))
		}
	}
	for _, want := range []string{"From: <", "To: <", "Subject: ", "Date: ", "Message-ID: <"} {
		if !strings.Contains(header, want) {
			t.Errorf("header lacks %q", want)
		}
	}
}

func TestSetSeqOnlyChangesDigits(t *testing.T) {
	tmpl, _ := testTemplate(t, 2000, "a@x.test", "b@x.test", "c@x.test")
	m := tmpl.forWorker()
	m.setSeq(1)
	one := string(m.header)
	m.setSeq(9876543)
	seven := string(m.header)
	if len(one) != len(seven) {
		t.Fatal("sequence changed the header length")
	}
	if strings.Count(one, "0000000001") != 2 || strings.Count(seven, "0009876543") != 2 {
		t.Errorf("sequence not in Subject and Message-ID:\n%s\n%s", one, seven)
	}
	if string(tmpl.header) == seven {
		t.Error("a worker's header must be its own copy")
	}
	if !strings.Contains(one, "To: <a@x.test>,\r\n <b@x.test>,\r\n <c@x.test>\r\n") {
		t.Errorf("recipients not folded:\n%s", one)
	}
}
