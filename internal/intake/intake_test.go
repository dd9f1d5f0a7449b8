package intake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// fakeCommitter records batches; it fails any batch holding a message whose
// ID is in bad, and blocks on gate (if set) before each commit.
type fakeCommitter struct {
	mu      sync.Mutex
	batches [][]string // message IDs per CommitBatch call
	bodies  map[string][]byte
	bad     map[string]bool
	entered chan struct{} // receives once per call, if not nil
	gate    chan struct{} // each call waits for one value, if not nil
}

func (f *fakeCommitter) CommitBatch(ctx context.Context, msgs []*Message) error {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, m := range msgs {
		if f.bad[m.ID] {
			f.batches = append(f.batches, nil)
			return mailerr.Permanent(mailerr.BadInput, "bad message "+m.ID, nil)
		}
		ids = append(ids, m.ID)
	}
	f.batches = append(f.batches, ids)
	for _, m := range msgs {
		b, err := io.ReadAll(m.Body.NewReader())
		if err != nil {
			return err
		}
		if f.bodies == nil {
			f.bodies = map[string][]byte{}
		}
		f.bodies[m.ID] = b
	}
	return nil
}

func (f *fakeCommitter) committed() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := map[string]bool{}
	for _, b := range f.batches {
		for _, id := range b {
			got[id] = true
		}
	}
	return got
}

func newMsg(s *Service, id string, body string) *Message {
	sp := s.NewSpool()
	sp.Write([]byte(body))
	return &Message{ID: id, Body: sp}
}

// waitPending spins until n messages are queued.
func waitPending(s *Service, n int) {
	for {
		s.mu.Lock()
		l := len(s.pending)
		s.mu.Unlock()
		if l >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestBatching(t *testing.T) {
	fc := &fakeCommitter{entered: make(chan struct{}, 100), gate: make(chan struct{})}
	reg := prometheus.NewRegistry()
	s := New(fc, t.TempDir(), nil, NewMetrics(reg))
	defer s.Close()

	first := make(chan error, 1)
	go func() { first <- s.Submit(context.Background(), newMsg(s, "first", "x")) }()
	<-fc.entered // the committer is inside the first commit

	const n = 20
	errs := make(chan error, n)
	for i := range n {
		m := newMsg(s, string(rune('a'+i)), "body")
		go func() { errs <- s.Submit(context.Background(), m) }()
	}
	waitPending(s, n)
	close(fc.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(fc.batches) != 2 || len(fc.batches[0]) != 1 || len(fc.batches[1]) != n {
		t.Errorf("batches %v; want one of 1 then one of %d", fc.batches, n)
	}
	mf, err := reg.Gather()
	if err != nil || len(mf) != 3 {
		t.Errorf("metrics: %d families, %v", len(mf), err)
	}
}

func TestBatchLimits(t *testing.T) {
	fc := &fakeCommitter{entered: make(chan struct{}, 100), gate: make(chan struct{}, 100)}
	s := New(fc, t.TempDir(), nil, nil)
	s.maxBatch = 3
	s.maxBatchBytes = 10
	go s.Submit(context.Background(), newMsg(s, "first", "x"))
	<-fc.entered
	var wg sync.WaitGroup
	sizes := []int{4, 4, 4, 1, 1, 1, 1, 20}
	for i, sz := range sizes {
		m := newMsg(s, string(rune('a'+i)), string(bytes.Repeat([]byte("y"), sz)))
		wg.Go(func() { s.Submit(context.Background(), m) })
		waitPending(s, i+1) // keep submission order
	}
	for range 5 {
		fc.gate <- struct{}{}
	}
	wg.Wait()
	s.Close()
	want := [][]string{{"first"}, {"a", "b"}, {"c", "d", "e"}, {"f", "g"}, {"h"}}
	if len(fc.batches) != len(want) {
		t.Fatalf("batches %v, want %v", fc.batches, want)
	}
	for i := range want {
		if len(fc.batches[i]) != len(want[i]) {
			t.Errorf("batch %d = %v, want %v", i, fc.batches[i], want[i])
		}
	}
}

func TestErrorIsolation(t *testing.T) {
	fc := &fakeCommitter{entered: make(chan struct{}, 100), gate: make(chan struct{}, 100),
		bad: map[string]bool{"bad": true}}
	s := New(fc, t.TempDir(), nil, nil)
	defer s.Close()
	go s.Submit(context.Background(), newMsg(s, "first", "x"))
	<-fc.entered

	ids := []string{"ok1", "bad", "ok2", "ok3"}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		m := newMsg(s, id, "body")
		wg.Go(func() { errs[i] = s.Submit(context.Background(), m) })
	}
	waitPending(s, len(ids))
	for range 10 {
		fc.gate <- struct{}{}
	}
	wg.Wait()
	for i, id := range ids {
		if id == "bad" {
			if !mailerr.Is(errs[i], mailerr.BadInput) || !mailerr.IsPermanent(errs[i]) {
				t.Errorf("bad message: err %v, want permanent BadInput", errs[i])
			}
		} else if errs[i] != nil {
			t.Errorf("%s: %v", id, errs[i])
		}
	}
	got := fc.committed()
	if !got["ok1"] || !got["ok2"] || !got["ok3"] || got["bad"] {
		t.Errorf("committed %v", got)
	}
}

func TestSubmitCancel(t *testing.T) {
	fc := &fakeCommitter{entered: make(chan struct{}, 100), gate: make(chan struct{})}
	s := New(fc, t.TempDir(), nil, nil)
	first := newMsg(s, "first", "x")
	firstErr := make(chan error, 1)
	ctx1, cancel1 := context.WithCancel(context.Background())
	go func() { firstErr <- s.Submit(ctx1, first) }()
	<-fc.entered

	// Waiting, not taken: withdrawn and never committed.
	ctx, cancel := context.WithCancel(context.Background())
	m := newMsg(s, "cancelled", "y")
	done := make(chan error, 1)
	go func() { done <- s.Submit(ctx, m) }()
	waitPending(s, 1)
	cancel()
	err := <-done
	if !mailerr.Is(err, mailerr.Unavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled submit: %v", err)
	}
	m.Body.Close()

	// Taken, in flight: the submitter gets an error and closes its spool;
	// the committer must still read the bytes intact.
	cancel1()
	if err := <-firstErr; err == nil {
		t.Error("cancelled in-flight submit returned nil")
	}
	first.Body.Close()
	close(fc.gate)
	s.Close()
	got := fc.committed()
	if got["cancelled"] || !got["first"] {
		t.Errorf("committed %v", got)
	}
	if string(fc.bodies["first"]) != "x" {
		t.Errorf("in-flight body = %q", fc.bodies["first"])
	}
	if err := s.Submit(context.Background(), newMsg(s, "late", "z")); !mailerr.Is(err, mailerr.Unavailable) {
		t.Errorf("submit after Close: %v", err)
	}
}

type panicCommitter struct{}

func (panicCommitter) CommitBatch(context.Context, []*Message) error { panic("boom") }

func TestCommitPanic(t *testing.T) {
	s := New(panicCommitter{}, t.TempDir(), nil, nil)
	defer s.Close()
	err := s.Submit(context.Background(), newMsg(s, "", "x"))
	if err == nil || mailerr.IsPermanent(err) {
		t.Errorf("panicking store: %v, want a temporary error", err)
	}
	if err := s.Submit(context.Background(), &Message{}); !mailerr.Is(err, mailerr.BadInput) {
		t.Errorf("no body: %v", err)
	}
}

func TestSpool(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := filepath.Join(t.TempDir(), "spool") // made on first spill
	s := New(&fakeCommitter{}, dir, nil, nil)
	defer s.Close()
	for _, size := range []int{0, 1, 100, 8 << 10, 8<<10 + 1, 200 << 10, 256 << 10, 256<<10 + 1, 3 << 20} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(rng.UintN(256))
		}
		sp := s.NewSpool()
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(10000))
			if w, err := sp.Write(rest[:n]); err != nil || w != n {
				t.Fatalf("size %d: Write = %d, %v", size, w, err)
			}
			rest = rest[n:]
		}
		if sp.Size() != int64(size) {
			t.Errorf("Size() = %d, want %d", sp.Size(), size)
		}
		inMem := size <= 256<<10
		if (sp.Bytes() != nil) != inMem {
			t.Errorf("size %d: Bytes() non-nil = %v, want %v", size, sp.Bytes() != nil, inMem)
		}
		for range 2 { // NewReader twice: both from the start
			got, err := io.ReadAll(sp.NewReader())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("size %d: read back %d bytes, %v", size, len(got), err)
			}
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if inMem != (len(files) == 0) {
			t.Errorf("size %d: %d spool files", size, len(files))
		}
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("spool file %s: %v, %v", f, fi.Mode(), err)
			}
		}
		if err := sp.Close(); err != nil {
			t.Error(err)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
			t.Errorf("Close left %v", files)
		}
	}
}

func TestSpoolError(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	err := spoolError("write", enospc)
	if !mailerr.Is(err, mailerr.DiskFull) || mailerr.IsPermanent(err) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("ENOSPC: %v", err)
	}
	if err := spoolError("write", syscall.EIO); mailerr.Is(err, mailerr.DiskFull) || mailerr.IsPermanent(err) {
		t.Errorf("EIO: %v", err)
	}
	// A spool whose directory cannot be made fails with a sticky error.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	s := New(&fakeCommitter{}, filepath.Join(file, "sub"), nil, nil)
	defer s.Close()
	s.memMax = 10
	sp := s.NewSpool()
	defer sp.Close()
	if _, err := sp.Write(make([]byte, 20)); err == nil {
		t.Fatal("spill into a bad directory succeeded")
	}
	if _, err := sp.Write([]byte("x")); err == nil || sp.Err() == nil {
		t.Error("error not sticky")
	}
	if err := s.Submit(context.Background(), &Message{Body: sp}); err == nil {
		t.Error("submit of a failed spool succeeded")
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewID()
		if len(id) != 16 || seen[id] {
			t.Fatalf("NewID() = %q (dup %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.observeCommit(1, 0, nil) // must not panic
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	if a.batchSize != b.batchSize {
		t.Error("second NewMetrics on one registry did not reuse the collectors")
	}
}

// nopCommitter is the store's fastest possible answer: what remains is
// intake's own cost.
type nopCommitter struct{}

func (nopCommitter) CommitBatch(ctx context.Context, msgs []*Message) error {
	for _, m := range msgs {
		if m.Body.Bytes() == nil {
			io.Copy(io.Discard, m.Body.NewReader())
		}
	}
	return nil
}

func BenchmarkSubmit(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10, 1 << 20} {
		b.Run(byteSize(size), func(b *testing.B) {
			s := New(nopCommitter{}, b.TempDir(), nil, nil)
			defer s.Close()
			data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					sp := s.NewSpool()
					for off := 0; off < len(data); off += 4096 {
						sp.Write(data[off:min(off+4096, len(data))])
					}
					if err := s.Submit(context.Background(), &Message{Body: sp}); err != nil {
						b.Error(err)
					}
					sp.Close()
				}
			})
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return string(rune('0'+n>>20)) + "MiB"
	default:
		return itoa(n>>10) + "KiB"
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
