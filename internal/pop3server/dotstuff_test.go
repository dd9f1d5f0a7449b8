package pop3server

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// stuff runs copyMessage over r and returns the output.
func stuff(t testing.TB, r io.Reader, bodyLines int64) string {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if _, err := copyMessage(w, r, make([]byte, 64), bodyLines); err != nil {
		t.Fatalf("copyMessage: %v", err)
	}
	w.Flush()
	return out.String()
}

func TestCopyMessage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		lines int64
		want  string
	}{
		{"empty", "", -1, ""},
		{"no final newline", "a", -1, "a\r\n"},
		{"lone dot", ".\r\n", -1, "..\r\n"},
		{"dots at line starts only", ".a.b\r\nc.\r\n..\r\n", -1, "..a.b\r\nc.\r\n...\r\n"},
		{"bare LF becomes CRLF", "a\nb\n.c\n", -1, "a\r\nb\r\n..c\r\n"},
		{"lone CR at end", "a\r", -1, "a\r\n"},
		{"CR inside a line kept", "a\rb\r\n", -1, "a\rb\r\n"},
		{"dot after unterminated end", "a\r\n.", -1, "a\r\n..\r\n"},
		{"top 0", "H: v\r\n\r\nb1\r\nb2\r\n", 0, "H: v\r\n\r\n"},
		{"top 1", "H: v\r\n\r\nb1\r\nb2\r\n", 1, "H: v\r\n\r\nb1\r\n"},
		{"top more than body", "H: v\r\n\r\nb1\r\n", 5, "H: v\r\n\r\nb1\r\n"},
		{"top header only", "H: v\r\nI: w\r\n", 0, "H: v\r\nI: w\r\n"},
		{"top unterminated body", "H: v\r\n\r\nb1", 3, "H: v\r\n\r\nb1\r\n"},
		{"top LF blank line", "H: v\n\n.b1\nb2\n", 1, "H: v\r\n\r\n..b1\r\n"},
		{"top empty message", "", 0, ""},
		{"top blank first line", "\r\nbody\r\n", 0, "\r\n"},
		{"top counts blank body lines", "H: v\r\n\r\n\r\n\r\nx\r\n", 2, "H: v\r\n\r\n\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stuff(t, strings.NewReader(tc.in), tc.lines); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			// The state must carry across reads of any size.
			if got := stuff(t, iotest.OneByteReader(strings.NewReader(tc.in)), tc.lines); got != tc.want {
				t.Errorf("one byte at a time: got %q, want %q", got, tc.want)
			}
		})
	}
}

// unstuff undoes dot-stuffing on a CRLF multi-line body and reports
// whether it was well formed: CRLF-terminated lines, no lone ".".
func unstuff(out string) (string, bool) {
	if out == "" {
		return "", true
	}
	if !strings.HasSuffix(out, "\r\n") {
		return "", false
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\r\n") {
		if l == "" {
			continue
		}
		if l == ".\r\n" || strings.Contains(strings.TrimSuffix(l, "\r\n"), "\n") {
			return "", false
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
	return b.String(), true
}

// normalize is what RETR should carry: bare LF as CRLF, a last line
// ended.
func normalize(in string) string {
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] == '\n' && (i == 0 || in[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(in[i])
	}
	s := b.String()
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		if strings.HasSuffix(s, "\r") {
			return s + "\n"
		}
		return s + "\r\n"
	}
	return s
}

func FuzzCopyMessage(f *testing.F) {
	for _, s := range []string{"", "a", ".\r\n", msg1, msg2, msg3, "a\nb\n", "H: v\n\n.x\n", "\r\r\n.\n", "a\r"} {
		f.Add(s, int64(-1))
		f.Add(s, int64(1))
	}
	f.Fuzz(func(t *testing.T, in string, lines int64) {
		if lines < -1 {
			lines = -1
		}
		out := stuff(t, strings.NewReader(in), lines)
		if slow := stuff(t, iotest.HalfReader(strings.NewReader(in)), lines); slow != out {
			t.Fatalf("output depends on read sizes: %q vs %q", out, slow)
		}
		got, ok := unstuff(out)
		if !ok {
			t.Fatalf("malformed multi-line body %q", out)
		}
		want := normalize(in)
		if lines < 0 && got != want {
			t.Fatalf("round trip: got %q, want %q", got, want)
		}
		if lines >= 0 && !strings.HasPrefix(want, got) && !strings.HasPrefix(want, strings.TrimSuffix(got, "\r\n")) {
			t.Fatalf("TOP output %q is not a prefix of %q", got, want)
		}
	})
}
