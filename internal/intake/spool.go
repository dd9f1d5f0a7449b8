package intake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// defaultMemMax is how much of a message a spool keeps in memory before it
// moves everything to a temp file.
const defaultMemMax = 256 << 10

// fileBufSize is the write buffer of a spool file: DATA arrives in small
// writes, and a syscall each would cost more than the copy.
const fileBufSize = 64 << 10

// Spool holds one message's bytes: in memory up to a threshold, then in a
// temp file under the spool directory (created 0600, removed on Close).
//
// Write, Size, NewReader and Bytes are for one goroutine at a time (the
// session writes, then the committer reads). Close may be called while the
// committer still reads: the memory and file are freed when both are done.
type Spool struct {
	svc  *Service
	buf  []byte        // in memory, while f == nil
	f    *os.File      // once spilled
	w    *bufio.Writer // buffers writes to f
	size int64
	err  error // sticky: a failed spool stays failed

	mu       sync.Mutex
	refs     int  // holds by the committer
	closed   bool // Close was called
	released bool // memory and file are gone
}

// NewSpool returns an empty spool using s's directory and buffer pool.
func (s *Service) NewSpool() *Spool {
	return &Spool{svc: s}
}

// Write appends p. Past the memory threshold the spool moves to a file; a
// full disk gives a temporary mailerr.DiskFull error.
func (sp *Spool) Write(p []byte) (int, error) {
	if sp.err != nil {
		return 0, sp.err
	}
	if sp.released {
		return 0, errors.New("intake: write to a closed spool")
	}
	if sp.f == nil {
		need := len(sp.buf) + len(p)
		if need <= sp.svc.memMax {
			if need > cap(sp.buf) {
				nb := sp.svc.pool.get(need)
				if nb == nil { // memMax above the largest class
					nb = make([]byte, 0, need)
				}
				nb = append(nb, sp.buf...)
				sp.svc.pool.put(sp.buf)
				sp.buf = nb
			}
			sp.buf = append(sp.buf, p...)
			sp.size += int64(len(p))
			return len(p), nil
		}
		if err := sp.spill(); err != nil {
			sp.err = err
			return 0, err
		}
	}
	n, err := sp.w.Write(p)
	sp.size += int64(n)
	if err != nil {
		sp.err = spoolError("write", err)
		return n, sp.err
	}
	return n, nil
}

// spill moves the spool into a new temp file.
func (sp *Spool) spill() error {
	dir := sp.svc.dir
	f, err := os.CreateTemp(dir, "posthorn-spool-*") // mode 0600
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.CreateTemp(dir, "posthorn-spool-*")
		}
	}
	if err != nil {
		return spoolError("create", err)
	}
	sp.f = f
	sp.w = bufio.NewWriterSize(f, fileBufSize)
	if _, err := sp.w.Write(sp.buf); err != nil {
		return spoolError("write", err)
	}
	sp.svc.pool.put(sp.buf)
	sp.buf = nil
	return nil
}

// spoolError classifies a file error: a full disk (or quota) is a
// temporary DiskFull, so SMTP answers 452 and the client retries.
func spoolError(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return mailerr.Temporary(mailerr.DiskFull, "spool disk full", fmt.Errorf("intake: spool %s: %w", op, err))
	}
	return mailerr.Temporary(mailerr.Unknown, "spool failed", fmt.Errorf("intake: spool %s: %w", op, err))
}

// Size is the number of bytes written.
func (sp *Spool) Size() int64 { return sp.size }

// Err returns the error that made the spool unusable, or nil.
func (sp *Spool) Err() error { return sp.err }

// NewReader returns a reader of the whole spool from its start. Each call
// gives an independent reader; none copies the data.
func (sp *Spool) NewReader() io.Reader {
	if sp.err != nil {
		return errReader{sp.err}
	}
	if sp.f == nil {
		return bytes.NewReader(sp.buf)
	}
	if err := sp.w.Flush(); err != nil {
		sp.err = spoolError("write", err)
		return errReader{sp.err}
	}
	return io.NewSectionReader(sp.f, 0, sp.size)
}

// Bytes returns the message while it is wholly in memory (the fast path:
// the store can slice it without reading), else nil. It is valid until
// Close.
func (sp *Spool) Bytes() []byte {
	if sp.f != nil || sp.err != nil || sp.released {
		return nil
	}
	if sp.buf == nil {
		return []byte{}
	}
	return sp.buf
}

// Close frees the spool's memory and removes its file, now or, if the
// committer still holds it, as soon as it is done.
func (sp *Spool) Close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil
	}
	sp.closed = true
	if sp.refs > 0 {
		return nil
	}
	return sp.release()
}

// hold keeps the spool alive while the committer may read it.
func (sp *Spool) hold() {
	sp.mu.Lock()
	sp.refs++
	sp.mu.Unlock()
}

// unhold ends a hold, releasing the spool if it was closed meanwhile.
func (sp *Spool) unhold() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.refs--
	if sp.refs == 0 && sp.closed {
		if err := sp.release(); err != nil {
			sp.svc.log.Warn("intake: removing spool file", "err", err)
		}
	}
}

// release frees memory and file; sp.mu is held.
func (sp *Spool) release() error {
	if sp.released {
		return nil
	}
	sp.released = true
	sp.svc.pool.put(sp.buf)
	sp.buf = nil
	if sp.f == nil {
		return nil
	}
	name := sp.f.Name()
	err := sp.f.Close()
	if rerr := os.Remove(name); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("intake: closing spool: %w", err)
	}
	return nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
