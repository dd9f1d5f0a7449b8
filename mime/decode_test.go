package mime

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBase64Lenient(t *testing.T) {
	tests := []struct {
		in, want      string
		bad, unpadded bool
	}{
		{"SGVsbG8=", "Hello", false, false},
		{"SGVsbG8", "Hello", false, true},
		{"SGVs\r\nbG8h\r\n", "Hell" + "o!", false, false},
		{"SGVs bG8h", "Hello!", false, false},
		{"SGV*sbG8h", "Hello!", true, false},
		{"SGVsbG8=SGVsbG8=", "HelloHello", false, false}, // concatenated encodings
		{"SGVsbG8h=", "Hello!", false, false},
		{"S", "", true, true},
		{"", "", false, false},
	}
	for _, tt := range tests {
		r := newBase64Reader(iotest.OneByteReader(strings.NewReader(tt.in)), 1)
		got, err := io.ReadAll(r)
		bad, unpadded := r.defects()
		if err != nil || string(got) != tt.want || bad != tt.bad || unpadded != tt.unpadded {
			t.Errorf("base64 %q = %q, %v, bad=%v unpadded=%v; want %q, bad=%v unpadded=%v",
				tt.in, got, err, bad, unpadded, tt.want, tt.bad, tt.unpadded)
		}
	}
}

func TestQuotedPrintableLenient(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"a=3Db", "a=b", false},
		{"caf=C3=A9\r\n", "café\r\n", false},
		{"caf=c3=a9\n", "café\n", false},         // lower-case hex, LF kept
		{"soft=\r\nbreak", "softbreak", false},   // soft line break
		{"soft=  \r\nbreak", "softbreak", false}, // white space after "="
		{"trailing   \r\nspace\t\n", "trailing\r\nspace\n", false},
		{"1=+2", "1=+2", true}, // "=" that starts no escape
		{"end=", "end", false}, // soft break at the very end
		{"x=4", "x=4", true},
		{"=", "", false},
		{"a\r\n\r\nb", "a\r\n\r\nb", false},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = strings.NewReader(tt.in)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			r := newQPReader(src, -1)
			got, err := io.ReadAll(r)
			if err != nil || string(got) != tt.want || r.bad != tt.bad {
				t.Errorf("qp %q (one byte %v) = %q, %v, bad=%v; want %q, bad=%v", tt.in, oneByte, got, err, r.bad, tt.want, tt.bad)
			}
		}
	}
}

// TestQuotedPrintableLongLines feeds lines longer than the buffer,
// including runs of white space and "=" that cannot be cut cleanly.
func TestQuotedPrintableLongLines(t *testing.T) {
	for _, in := range []string{
		strings.Repeat(" ", 20000) + "x\r\n",
		strings.Repeat("=", 20000) + "\r\n",
		strings.Repeat("=41", 10000) + "\r\n",
		strings.Repeat("a", 20000),
	} {
		got, err := io.ReadAll(newQPReader(strings.NewReader(in), -1))
		if err != nil || len(got) == 0 {
			t.Errorf("%.10q...: %d bytes, %v", in, len(got), err)
		}
		if strings.HasPrefix(in, "=41") && string(got) != strings.Repeat("A", 10000)+"\r\n" {
			t.Errorf("escapes across buffer boundaries decoded wrong")
		}
	}
}

// TestQuotedPrintableCuts: a line longer than the buffer decodes as it
// would in one piece, whatever the read sizes, when it is cut inside
// escapes, runs of "=" that are not escapes, soft line breaks after
// white space and white space before a line break (shorter than the
// buffer; a longer trailing run is kept, see qpReader).
func TestQuotedPrintableCuts(t *testing.T) {
	long := func(unit string, n int) string { return strings.Repeat(unit, n) }
	for _, tt := range []struct {
		in       string
		blankEnd bool // has white space before a line break (or "=" and one)
	}{
		{long("=0", 5000) + "0\r\n", false},
		{long("=0=", 3000) + "41\r\nx", false},
		{"x" + long(" ", 3000) + "\r\n" + long("y", 9000), true},
		{long("z", 5000) + "=" + long("\t", 3000) + "\r\nsoft", true},
		{long("z", 8190) + "=4", false},
		{long("z", 8190) + "=41" + long(" ", 100), true},
		{long("a=4 ", 3000) + "\n", true},
		{long("b", 8191) + "\r" + "\nc\r", false},
		{long(" ", 20000) + "x\r\n", false},
	} {
		in := tt.in
		want := (&qpReader{}).decodeLines(nil, []byte(in))
		for _, size := range []int64{-1, 40, 300} {
			if bufLen := len(newQPReader(nil, size).in); tt.blankEnd && blankRun(in) >= bufLen-3 {
				continue // white space that may end a line, longer than the buffer
			}
			for _, step := range []int{1, 7, 4096} {
				r := newQPReader(iotest.OneByteReader(strings.NewReader(in)), size)
				var got []byte
				buf := make([]byte, step)
				for {
					n, err := r.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%.12q... (%d bytes) with buffer for %d, reads of %d: %d bytes, want %d; differ at %d",
						in, len(in), size, step, len(got), len(want), firstDiff(got, want))
				}
			}
		}
	}
}

// blankRun is the longest run of spaces and tabs in s.
func blankRun(s string) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

func TestQPSafeCut(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{"ab=4", 2},    // an escape the next byte may finish
		{"ab=41", 5},   // a whole escape
		{"=0=0=00", 7}, // "=" that are not escapes, then "=00"
		{"=0=0=0", 4},  // the last "=0" may become "=0X"
		{"ab  ", 2},    // white space that may end the line
		{"ab  c", 5},   // white space inside the line
		{"ab=  ", 2},   // may be a soft line break
		{"ab=  x", 6},  // "=" standing for itself
		{"ab\r", 2},    // may start the line break
		{"ab\rc", 4},   // a CR inside the line
		{"ab \t\r", 2}, // white space then a CR
		{"   ", 0},     // nothing is safe
	}
	for _, tt := range tests {
		if got := qpSafeCut([]byte(tt.in)); got != tt.want {
			t.Errorf("qpSafeCut(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestEncodersRoundTrip encodes random data with the builder's encoders
// and decodes it back.
func TestEncodersRoundTrip(t *testing.T) {
	seed := uint64(rand.Uint32())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 200; i++ {
		n := rng.IntN(3000)
		b := make([]byte, n)
		alphabet := []byte("ab =\t\r\n.F\x00\xff")
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[j] = byte(rng.IntN(256))
			}
		}
		qp := appendQP(nil, b)
		for _, line := range bytes.Split(qp, []byte("\r\n")) {
			if len(line) > 76 {
				t.Fatalf("qp line of %d bytes", len(line))
			}
		}
		got, _ := io.ReadAll(newQPReader(bytes.NewReader(qp), -1))
		if !bytes.Equal(got, b) {
			t.Fatalf("qp round trip failed for %q:\n%q\n%q", b, qp, got)
		}
		var enc bytes.Buffer
		w := &base64Lines{w: &enc}
		for rest := b; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(100))
			w.Write(rest[:k])
			rest = rest[k:]
		}
		w.Close()
		got, _ = io.ReadAll(newBase64Reader(&enc, -1))
		if !bytes.Equal(got, b) {
			t.Fatalf("base64 round trip failed")
		}
	}
}

func TestChooseEncoding(t *testing.T) {
	tests := []struct {
		in   string
		text bool
		want string
	}{
		{"hello\r\nworld\r\n", true, Enc7bit},
		{"hello\nworld\n", false, EncBase64},
		{"hello\nworld\n", true, EncQuotedPrintable},
		{"caf\xc3\xa9 au lait, s'il vous plaît\r\n", true, EncQuotedPrintable},
		{strings.Repeat("日本語", 10), true, EncBase64},
		{strings.Repeat("a", 79), true, EncQuotedPrintable},
		{"\x00\x01\x02", false, EncBase64},
		{"", true, Enc7bit},
	}
	for _, tt := range tests {
		if got := ChooseEncoding([]byte(tt.in), tt.text); got != tt.want {
			t.Errorf("ChooseEncoding(%q, %v) = %s, want %s", tt.in, tt.text, got, tt.want)
		}
	}
}

func TestCharsetReader(t *testing.T) {
	tests := []struct{ charset, in, want string }{
		{"utf-8", "café", "café"},
		{"UTF8", "caf\xe9", "caf\uFFFD"},
		{"", "plain", "plain"},
		{"iso-8859-1", "caf\xe9", "café"},
		{"latin1", "\x80", "€"},
		{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
		{"shift_jis", "\x83\x65\x83\x58\x83\x67", "テスト"},
		{"cp850", "\x82", "é"},
		{"iso8859-15", "\xa4", "€"},
	}
	for _, tt := range tests {
		r, err := NewCharsetReader(tt.charset, iotest.OneByteReader(strings.NewReader(tt.in)))
		if err != nil {
			t.Errorf("%s: %v", tt.charset, err)
			continue
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %q = %q, %v; want %q", tt.charset, tt.in, got, err, tt.want)
		}
	}
	if _, err := NewCharsetReader("x-no-such", strings.NewReader("")); err == nil {
		t.Error("unknown charset accepted")
	}
}
