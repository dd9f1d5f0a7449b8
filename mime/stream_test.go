package mime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// randReader yields n pseudo-random bytes.
type randReader struct {
	rng *rand.ChaCha8
	n   int64
}

func (r *randReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	r.rng.Read(p)
	r.n -= int64(len(p))
	return len(p), nil
}

func (r *randReader) Close() error { return nil }

// TestStreaming50MB composes a message with a 50 MB attachment straight
// to a file, parses it from the file and decodes the attachment,
// checking the bytes and that parse and decode allocate a small,
// fixed amount: the body is never held in memory.
func TestStreaming50MB(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB: skipped in -short")
	}
	const size = 50 << 20
	var seed [32]byte
	binaryRand(seed[:])
	t.Logf("seed %x", seed)
	src := func() *randReader { return &randReader{rand.NewChaCha8(seed), size} }
	want := sha256.New()
	io.Copy(want, src())

	path := filepath.Join(t.TempDir(), "big.eml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{From: Address{Address: "a@x.test"}, Text: "see attached",
		Attachments: []Attachment{{Filename: "big.bin", Open: func() (io.ReadCloser, error) { return src(), nil }}}}
	if _, err := b.Write(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	root, err := Parse(context.Background(), f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	att := root.Parts[1]
	got := sha256.New()
	n, err := io.Copy(got, att.Body())
	runtime.ReadMemStats(&after)
	f.Close()
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("decoded %d bytes, %v; equal=%v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("message %d bytes; parse and decode allocated %d bytes", st.Size(), alloc)
	if alloc > 2<<20 {
		t.Errorf("parse and decode of a %d-byte message allocated %d bytes", st.Size(), alloc)
	}
}

func binaryRand(b []byte) {
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
}
