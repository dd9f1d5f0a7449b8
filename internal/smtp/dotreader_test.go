package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func readDot(t testing.TB, input string, max int64, bufSize int) (out string, rest string, err error, eight bool) {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(input), 16)
	d := NewDotReader(br, max)
	var b bytes.Buffer
	buf := make([]byte, bufSize)
	for {
		n, e := d.Read(buf)
		b.Write(buf[:n])
		if e != nil {
			err = e
			break
		}
	}
	r, _ := io.ReadAll(br)
	return b.String(), string(r), err, d.EightBit()
}

func TestDotReader(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		max   int64
		want  string
		rest  string
		err   error
		eight bool
	}{
		{name: "simple", in: "Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n", want: "Subject: x\r\n\r\nhi\r\n", rest: "QUIT\r\n", err: io.EOF},
		{name: "empty", in: ".\r\nQUIT\r\n", want: "", rest: "QUIT\r\n", err: io.EOF},
		{name: "unstuff", in: "..a\r\n..\r\n.\r\n", want: ".a\r\n.\r\n", err: io.EOF},
		{name: "smuggle lf dot lf", in: "a\n.\nMAIL FROM:<x@y>\r\n.\r\n", want: "a\r\n.\r\nMAIL FROM:<x@y>\r\n", err: io.EOF},
		{name: "smuggle cr dot cr", in: "a\r.\rMAIL\r\n.\r\n", want: "a\r\n.\r\nMAIL\r\n", err: io.EOF},
		{name: "smuggle lf dot crlf", in: "a\n.\r\nMAIL\r\n.\r\n", want: "a\r\n.\r\nMAIL\r\n", err: io.EOF},
		{name: "smuggle crlf dot lf", in: "a\r\n.\nMAIL\r\n.\r\n", want: "a\r\n.\r\nMAIL\r\n", err: io.EOF},
		{name: "smuggle crlf dot cr", in: "a\r\n.\rMAIL\r\n.\r\n", want: "a\r\n.\r\nMAIL\r\n", err: io.EOF},
		{name: "bare lf normalised", in: "a\nb\r\n.\r\n", want: "a\r\nb\r\n", err: io.EOF},
		{name: "bare cr normalised", in: "a\rb\r\n.\r\n", want: "a\r\nb\r\n", err: io.EOF},
		{name: "cr cr lf", in: "a\r\r\n.\r\n", want: "a\r\n\r\n", err: io.EOF},
		{name: "dot cr cr lf", in: "a\r\n.\r\r\n.\r\n", want: "a\r\n.\r\n\r\n", err: io.EOF},
		{name: "8bit", in: "h\xc3\xa9\r\n.\r\n", want: "h\xc3\xa9\r\n", err: io.EOF, eight: true},
		{name: "eof", in: "abc\r\n", want: "abc\r\n", err: io.ErrUnexpectedEOF},
		{name: "at limit", in: "abc\r\n.\r\n", max: 5, want: "abc\r\n", err: io.EOF},
		{name: "over limit", in: "abcdef\r\n.\r\nQUIT\r\n", max: 5, want: "abcde", rest: "QUIT\r\n", err: ErrTooBig},
		{name: "over limit at crlf", in: "abcd\r\n.\r\nQUIT\r\n", max: 5, want: "abcd\r", rest: "QUIT\r\n", err: ErrTooBig},
	}
	for _, tt := range tests {
		for _, bufSize := range []int{1, 2, 3, 7, 4096} {
			out, rest, err, eight := readDot(t, tt.in, tt.max, bufSize)
			if out != tt.want || rest != tt.rest || !errors.Is(err, tt.err) || eight != tt.eight {
				t.Errorf("%s/buf%d: got %q rest %q err %v eight %v; want %q rest %q err %v eight %v",
					tt.name, bufSize, out, rest, err, eight, tt.want, tt.rest, tt.err, tt.eight)
			}
		}
	}
}

// TestDotReaderOneByte feeds the reader one octet per underlying read so
// that every state boundary falls between reads.
func TestDotReaderOneByte(t *testing.T) {
	in := "a\n.\r\n..b\r\r\n.x\r\n.\r\nNEXT"
	br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16)
	got, err := io.ReadAll(NewDotReader(br, 0))
	if err != nil || string(got) != "a\r\n.\r\n.b\r\n\r\nx\r\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "NEXT" {
		t.Fatalf("rest %q", rest)
	}
}

func TestDotWriterRoundTrip(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	alphabet := []byte("ab.\r\n\xe9")
	for i := range 500 {
		in := make([]byte, rng.IntN(40))
		for j := range in {
			in[j] = alphabet[rng.IntN(len(alphabet))]
		}
		checkRoundTrip(t, in)
		if t.Failed() {
			t.Fatalf("case %d failed", i)
		}
	}
}

// normalizeLines is the reference: bare CR or LF become CRLF, and a
// final line end is added when missing.
func normalizeLines(in []byte) []byte {
	var out []byte
	for i := 0; i < len(in); i++ {
		switch {
		case in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n':
			out = append(out, '\r', '\n')
			i++
		case in[i] == '\r' || in[i] == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, in[i])
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

func checkRoundTrip(t testing.TB, in []byte) {
	var wire bytes.Buffer
	w := NewDotWriter(&wire)
	if _, err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wire.WriteString("NEXT")
	br := bufio.NewReaderSize(&wire, 16)
	got, err := io.ReadAll(NewDotReader(br, 0))
	if err != nil {
		t.Fatalf("%q: read: %v", in, err)
	}
	if want := normalizeLines(in); !bytes.Equal(got, want) {
		t.Errorf("%q: round trip %q, want %q", in, got, want)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "NEXT" {
		t.Errorf("%q: rest %q", in, rest)
	}
}

func TestNormalizer(t *testing.T) {
	tests := []struct {
		chunks []string
		want   string
	}{
		{[]string{"a\r\nb"}, "a\r\nb"},
		{[]string{"a\r", "\nb"}, "a\r\nb"},
		{[]string{"a\n", ".b\r"}, "a\r\n.b\r\n"},
		{[]string{"a\r", "b"}, "a\r\nb"},
		{[]string{"\r\r\n"}, "\r\n\r\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		n := NewNormalizer(&b)
		for _, c := range tt.chunks {
			if _, err := n.Write([]byte(c)); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%q: got %q, want %q", tt.chunks, b.String(), tt.want)
		}
	}
}

func TestDotWriter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ".\r\n"},
		{"a", "a\r\n.\r\n"},
		{".a\r\n.\r\n", "..a\r\n..\r\n.\r\n"},
		{"a\nb\n", "a\r\nb\r\n.\r\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		w := NewDotWriter(&b)
		w.Write([]byte(tt.in))
		w.Close()
		if b.String() != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, b.String(), tt.want)
		}
	}
}

func BenchmarkDotReader(b *testing.B) {
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	msg := strings.Repeat(line, 10000) + ".\r\n"
	b.SetBytes(int64(len(msg)))
	buf := make([]byte, 32*1024)
	for b.Loop() {
		d := NewDotReader(bufio.NewReaderSize(strings.NewReader(msg), 4096), 0)
		for {
			if _, err := d.Read(buf); err != nil {
				break
			}
		}
	}
}

// TestDotReaderReadSizes reads one message through every small read size
// and buffer size, and with limits around its size: the output (whole
// CRLF lines go out in one piece when they fit, otherwise octet by
// octet) must not depend on them.
func TestDotReaderReadSizes(t *testing.T) {
	in := "Subject: x\r\n\r\nline one\r\n..stuffed\r\nbare\nlf\rcr\r\n\r\n.\r\r\n\xe9t\xe9\r\nlast\r\n.\r\ntail"
	want := "Subject: x\r\n\r\nline one\r\n.stuffed\r\nbare\r\nlf\r\ncr\r\n\r\n.\r\n\r\n\xe9t\xe9\r\nlast\r\n"
	for _, bufSize := range []int{16, 17, 23, 64, 4096} {
		for readSize := 1; readSize <= 40; readSize++ {
			for _, max := range []int64{0, int64(len(want)), int64(len(want)) - 1, 10} {
				br := bufio.NewReaderSize(strings.NewReader(in), bufSize)
				d := NewDotReader(br, max)
				var out bytes.Buffer
				var err error
				for buf := make([]byte, readSize); err == nil; {
					var n int
					n, err = d.Read(buf)
					out.Write(buf[:n])
				}
				rest, _ := io.ReadAll(br)
				wantOut, wantErr := want, error(io.EOF)
				if max > 0 && max < int64(len(want)) {
					wantOut, wantErr = want[:max], ErrTooBig
				}
				if out.String() != wantOut || err != wantErr || string(rest) != "tail" || !d.EightBit() || d.Size() != int64(len(want)) {
					t.Fatalf("buffer %d, reads of %d, max %d: %q, %v, rest %q, 8bit %v, size %d",
						bufSize, readSize, max, out.String(), err, rest, d.EightBit(), d.Size())
				}
			}
		}
	}
}
