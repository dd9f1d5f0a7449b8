package store

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestChunkedMessage(t *testing.T) {
	prefix := []byte("Return-Path: <a@b>\r\n")
	body := bytes.Repeat([]byte("0123456789"), 7) // 70 octets in chunks of 16
	const cs = 16
	chunks := func(b []byte) func(int) ([]byte, error) {
		return func(seq int) ([]byte, error) {
			lo := seq * cs
			if lo >= len(b) {
				return nil, io.ErrUnexpectedEOF
			}
			return b[lo:min(lo+cs, len(b))], nil
		}
	}
	whole := append(append([]byte{}, prefix...), body...)
	for _, first := range [][]byte{nil, body[:cs]} {
		m := NewChunkedMessage(prefix, 7, int64(len(body)), cs, first, chunks(body))
		if m.Size() != int64(len(whole)) {
			t.Fatalf("Size = %d, want %d", m.Size(), len(whole))
		}
		for _, tc := range []struct{ off, n int }{
			{0, len(whole)}, {0, 5}, {len(prefix) - 3, 10}, {len(prefix) + cs - 1, 2},
			{len(prefix) + 60, 10}, {len(whole) - 1, 1}, {17, 40},
		} {
			p := make([]byte, tc.n)
			n, err := m.ReadAt(p, int64(tc.off))
			if n != tc.n || (err != nil && err != io.EOF) || !bytes.Equal(p[:n], whole[tc.off:tc.off+tc.n]) {
				t.Errorf("first=%v ReadAt(%d, %d) = %d, %v: %q", first != nil, tc.off, tc.n, n, err, p[:n])
			}
		}
		if n, err := m.ReadAt(make([]byte, 4), int64(len(whole))); n != 0 || err != io.EOF {
			t.Errorf("ReadAt at end = %d, %v; want 0, EOF", n, err)
		}
		if _, err := m.ReadAt(make([]byte, 1), -1); err == nil {
			t.Error("negative offset accepted")
		}
		m.Close()
		if _, err := m.ReadAt(make([]byte, 1), int64(len(prefix)+20)); err == nil {
			t.Error("read after Close succeeded")
		}
	}
	// A body shorter than its recorded size is an error, never silence.
	m := NewChunkedMessage(nil, 9, 40, cs, nil, chunks(body[:20]))
	if _, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size())); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v, want ErrUnexpectedEOF", err)
	}
	// Sequential reads fetch each chunk once.
	m = NewChunkedMessage(nil, 9, int64(len(body)), cs, nil, chunks(body))
	if got, err := io.ReadAll(io.NewSectionReader(m, 0, m.Size())); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if f := m.Fetches(); f != (len(body)+cs-1)/cs {
		t.Errorf("Fetches = %d, want %d", f, (len(body)+cs-1)/cs)
	}
}
