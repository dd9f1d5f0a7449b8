package mime

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// poolMessage builds a multipart message of n parts that cycle through
// the readers that use pooled buffers: base64 binary (Body), quoted-
// printable Latin-1 (Text: qp then charset), base64 Windows-1251 (Text:
// base64 then charset), and 8bit UTF-8 (Text). want[i] is what part i
// must yield, computed with the standard library and golang.org/x/text.
func poolMessage(t testing.TB, rng *rand.Rand, n int) (msg []byte, want [][]byte) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("From: a@x.test\r\nContent-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n")
	for i := 0; i < n; i++ {
		size := rng.IntN(30000)
		raw := make([]byte, size)
		b.WriteString("--=_b\r\n")
		switch i % 4 {
		case 0:
			for j := range raw {
				raw[j] = byte(rng.Uint32())
			}
			b.WriteString("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
			writeBase64Lines(&b, raw)
			want = append(want, raw)
		case 1, 2:
			for j := range raw {
				raw[j] = byte(0x20 + rng.IntN(0xE0))
			}
			cm := charmap.Windows1252 // what iso-8859-1 is read as
			if i%4 == 2 {
				cm = charmap.Windows1251
			}
			dec, err := io.ReadAll(transform.NewReader(bytes.NewReader(raw), cm.NewDecoder()))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, dec)
			if i%4 == 1 {
				b.WriteString("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
				w := quotedprintable.NewWriter(&b)
				w.Binary = true
				w.Write(raw)
				w.Close()
			} else {
				b.WriteString("Content-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: base64\r\n\r\n")
				writeBase64Lines(&b, raw)
			}
		default:
			for j := range raw {
				raw[j] = 'a' + byte(rng.IntN(26))
				if j%70 == 69 {
					raw[j] = '\n'
				}
			}
			b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
			b.Write(raw)
			want = append(want, raw)
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--=_b--\r\n")
	return b.Bytes(), want
}

func writeBase64Lines(b *bytes.Buffer, raw []byte) {
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
}

// partReader is what a mail reader opens for part: Text for text, Body
// for the rest.
func partReader(p *Part) io.Reader {
	if strings.HasPrefix(p.ContentType, "text/") {
		if r, err := p.Text(); err == nil {
			return r
		}
	}
	return p.Body()
}

// TestPooledReadersInterleaved reads the parts of a message through
// a few readers open at once, round robin in odd-sized chunks, so that
// a buffer one reader gives back is taken by the next while others are
// still reading, in several goroutines at once (run with -race). Every
// part must come out exactly: no reader may see another's buffer.
func TestPooledReadersInterleaved(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	msg, want := poolMessage(t, rand.New(rand.NewPCG(seed, 1)), 40)
	root, err := Parse(context.Background(), bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Parts) != len(want) {
		t.Fatalf("%d parts, want %d:\n%s", len(root.Parts), len(want), dump(root))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readInterleaved(root.Parts, want, rand.New(rand.NewPCG(seed, uint64(g)+2)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// readInterleaved keeps up to four readers open, reads a chunk from
// each in turn, opens the next part when one ends, and closes every
// seventh reader half-way (checking that it then fails).
func readInterleaved(parts []*Part, want [][]byte, rng *rand.Rand) error {
	type open struct {
		i   int
		r   io.Reader
		got []byte
	}
	var cur []*open
	next := 0
	for next < len(parts) || len(cur) > 0 {
		for len(cur) < 4 && next < len(parts) {
			cur = append(cur, &open{i: next, r: partReader(parts[next])})
			next++
		}
		for k := 0; k < len(cur); k++ {
			o := cur[k]
			buf := make([]byte, 1+rng.IntN(5000))
			n, err := o.r.Read(buf)
			o.got = append(o.got, buf[:n]...)
			if o.i%7 == 3 && len(o.got) > len(want[o.i])/2 {
				if br, ok := o.r.(*BodyReader); ok {
					br.Close()
					if _, err := br.Read(buf); err == nil || err == io.EOF {
						return fmt.Errorf("part %d: Read after Close = %v, want an error", o.i, err)
					}
					err = io.EOF
					o.got = want[o.i] // stopped early on purpose
				}
			}
			if err == nil {
				continue
			}
			if err != io.EOF {
				return fmt.Errorf("part %d: %w", o.i, err)
			}
			if !bytes.Equal(o.got, want[o.i]) {
				return fmt.Errorf("part %d (%s, %s): got %d bytes, want %d; differ at %d", o.i,
					parts[o.i].ContentType, parts[o.i].TransferEncoding, len(o.got), len(want[o.i]), firstDiff(o.got, want[o.i]))
			}
			cur = append(cur[:k], cur[k+1:]...)
			k--
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestManyPartsAllocate: parsing a message of 300 parts from a
// ReaderAt and decoding every part allocates the tree (a few hundred
// bytes a part) and a fixed set of buffers, whatever the size of the
// parts. Before buffers were pooled, each part allocated 8 to 24 KiB of
// its own (3 to 4 MB for this message, about half its size).
func TestManyPartsAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled buffers at random")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	msg, want := poolMessage(t, rand.New(rand.NewPCG(seed, 1)), 300)
	run := func() {
		root, err := Parse(context.Background(), bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range root.Parts {
			n, err := io.Copy(io.Discard, partReader(p))
			if err != nil || n != int64(len(want[i])) {
				t.Fatalf("part %d: %d bytes, %v; want %d", i, n, err, len(want[i]))
			}
		}
	}
	run() // fill the pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("message %d bytes, 300 parts: parse and decode allocated %d bytes (%.3fx)", len(msg), alloc, float64(alloc)/float64(len(msg)))
	// 2 KiB a part for the tree and the readers' small structs, and
	// 128 KiB for buffers (more than a pooled set, in case a garbage
	// collection empties the pools during the run).
	if limit := uint64(300*2<<10 + 128<<10); alloc > limit {
		t.Errorf("parse and decode allocated %d bytes, over %d", alloc, limit)
	}
}

// TestBodyReaderClose: Close releases a reader part-way or at the end;
// Read after it fails, and Close may be called again.
func TestBodyReaderClose(t *testing.T) {
	for _, te := range []string{"base64", "quoted-printable", "7bit"} {
		body := strings.Repeat("SGVsbG8gd29ybGQh\r\n", 1000)
		msg := "Content-Transfer-Encoding: " + te + "\r\n\r\n" + body
		root, err := ParseBytes(context.Background(), []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		for _, readAll := range []bool{false, true} {
			br := root.Body()
			buf := make([]byte, 100)
			if readAll {
				if _, err := io.Copy(io.Discard, br); err != nil {
					t.Fatal(err)
				}
			} else if n, err := br.Read(buf); n == 0 || err != nil {
				t.Fatalf("%s: first Read = %d, %v", te, n, err)
			}
			if err := br.Close(); err != nil {
				t.Errorf("%s: Close = %v", te, err)
			}
			if n, err := br.Read(buf); n != 0 || err == nil {
				t.Errorf("%s (read all %v): Read after Close = %d, %v; want 0 and an error", te, readAll, n, err)
			}
			if readAll {
				continue
			}
			if err := br.Close(); err != nil {
				t.Errorf("%s: second Close = %v", te, err)
			}
		}
	}
}

// decodeCharsets are the decoders FuzzCharsetReader compares: single
// byte, multi-byte, stateful and two-byte-unit ones.
var decodeCharsets = []string{"windows-1252", "shift_jis", "iso-2022-jp", "euc-kr", "gb18030", "big5", "utf-16le", "koi8-r"}

// FuzzCharsetReader: the pooled decodeReader yields what
// transform.Reader yields for the same decoder and input, whatever the
// read sizes.
func FuzzCharsetReader(f *testing.F) {
	f.Add([]byte("caf\xe9 \x83\x65\x83\x58"), uint8(0), uint8(3))
	f.Add([]byte("\x1b$B%F%9%H\x1b(B"), uint8(2), uint8(1))
	f.Add(bytes.Repeat([]byte("\xa4\xa4\x81"), 5000), uint8(4), uint8(200))
	f.Fuzz(func(t *testing.T, in []byte, which, chunk uint8) {
		e, err := htmlindex.Get(decodeCharsets[int(which)%len(decodeCharsets)])
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := io.ReadAll(transform.NewReader(bytes.NewReader(in), e.NewDecoder()))
		r := newDecodeReader(iotest.HalfReader(bytes.NewReader(in)), e.NewDecoder())
		var got []byte
		buf := make([]byte, 1+int(chunk))
		var gotErr error
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if err != io.EOF {
					gotErr = err
				}
				break
			}
		}
		if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("decodeReader = %q, %v; transform.Reader = %q, %v", got, gotErr, want, wantErr)
		}
	})
}

// TestCharsetReaderSourceError: a read error of the source comes out
// after the bytes read before it.
func TestCharsetReaderSourceError(t *testing.T) {
	boom := errors.New("boom")
	src := io.MultiReader(strings.NewReader("caf\xe9"), iotest.ErrReader(boom))
	r, err := NewCharsetReader("iso-8859-1", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if string(got) != "café" || !errors.Is(err, boom) {
		t.Errorf("got %q, %v; want %q, boom", got, err, "café")
	}
}

// TestReadAllTextBound: ReadAllText refuses a text longer than
// MaxReadAllText with a TooBig error instead of holding it.
func TestReadAllTextBound(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB: skipped in -short")
	}
	msg := "Content-Type: text/plain\r\n\r\n" + strings.Repeat("a", MaxReadAllText+1)
	root, err := ParseBytes(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	s, err := root.ReadAllText()
	if s != "" || !mailerr.Is(err, mailerr.TooBig) {
		t.Errorf("ReadAllText of %d bytes = %d bytes, %v; want a TooBig error", MaxReadAllText+1, len(s), err)
	}
}
