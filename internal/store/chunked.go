package store

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// ChunkedMessage is a MessageReaderAt over a stored message: its
// per-recipient prefix followed by a body kept in fixed-size chunks, as
// both stores keep it. A read fetches the chunk it needs and keeps the
// last one, so a sequential read fetches each chunk once and a partial
// FETCH of a large message only the chunks it covers.
type ChunkedMessage struct {
	prefix    []byte
	bodyID    int64
	bodySize  int64
	chunkSize int64
	fetch     func(seq int) ([]byte, error)

	mu      sync.Mutex
	cur     int // seq of the chunk held, -1: none
	chunk   []byte
	closed  bool
	fetches int
}

// NewChunkedMessage returns a reader over prefix || body, whose chunk seq
// (chunkSize octets each, the last one shorter) fetch returns; first, if
// not nil, is chunk 0 already at hand. fetch returns io.ErrUnexpectedEOF
// (wrapped) when the chunk is gone.
func NewChunkedMessage(prefix []byte, bodyID, bodySize, chunkSize int64, first []byte,
	fetch func(seq int) ([]byte, error)) *ChunkedMessage {
	m := &ChunkedMessage{prefix: prefix, bodyID: bodyID, bodySize: bodySize, chunkSize: chunkSize,
		fetch: fetch, cur: -1}
	if len(first) > 0 {
		m.cur, m.chunk = 0, first
	}
	return m
}

// Size is the message's size in octets, prefix included.
func (m *ChunkedMessage) Size() int64 { return int64(len(m.prefix)) + m.bodySize }

// Fetches counts the chunks fetched so far (tests check that partial
// reads read little).
func (m *ChunkedMessage) Fetches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetches
}

// Close drops the chunk held; later reads fail.
func (m *ChunkedMessage) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed, m.chunk = true, nil
	return nil
}

// ReadAt implements io.ReaderAt.
func (m *ChunkedMessage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	n := 0
	for len(p) > 0 {
		if off >= m.Size() {
			return n, io.EOF
		}
		if off < int64(len(m.prefix)) {
			k := copy(p, m.prefix[off:])
			n, off, p = n+k, off+int64(k), p[k:]
			continue
		}
		bo := off - int64(len(m.prefix))
		k, err := m.copyChunk(p, int(bo/m.chunkSize), bo%m.chunkSize)
		if err != nil {
			return n, err
		}
		n, off, p = n+k, off+int64(k), p[k:]
	}
	return n, nil
}

// copyChunk copies body chunk seq from offset in into p, fetching it
// unless it is the one held.
func (m *ChunkedMessage) copyChunk(p []byte, seq int, in int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errors.New("store: read of a closed message")
	}
	if m.cur != seq {
		data, err := m.fetch(seq)
		if err != nil {
			return 0, err
		}
		m.cur, m.chunk = seq, data
		m.fetches++
	}
	if in >= int64(len(m.chunk)) {
		return 0, fmt.Errorf("store: body %d shorter than its size: %w", m.bodyID, io.ErrUnexpectedEOF)
	}
	return copy(p, m.chunk[in:]), nil
}
