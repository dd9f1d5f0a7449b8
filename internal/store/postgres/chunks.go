package postgres

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/posthorn/posthorn/internal/intake"
)

// chunkSize is the size of one body_chunks row, as in store/sqlite: small
// enough that partial reads touch little, large enough that a 25 MB body
// is 400 rows.
const chunkSize = 64 << 10

// inlineMax bounds the bodies of a batch that are sent inline with its
// other rows (one round trip) rather than streamed with COPY: they are in
// memory already, and the bound keeps the encoded batch small.
const inlineMax = 1 << 20

// chunkBufs holds chunk-sized read buffers for bodies read from spools.
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// inlineChunks fills p.chunks, without copying, when every body of the
// batch is in memory and all of them fit in inlineMax; it reports whether
// it did. Otherwise the chunks go by COPY (chunkSource).
func (p *plan) inlineChunks() bool {
	var total int
	for _, m := range p.msgs {
		b := m.Body.Bytes()
		if (b == nil && m.Body.Size() > 0) || m.Body.Err() != nil {
			return false
		}
		total += len(m.Head) + len(b)
	}
	if total > inlineMax {
		return false
	}
	for i, m := range p.msgs {
		b := m.Body.Bytes()
		if len(m.Head) > 0 {
			b = append(append(make([]byte, 0, len(m.Head)+len(b)), m.Head...), b...)
		}
		for seq := int32(0); len(b) > 0; seq++ {
			n := min(len(b), chunkSize)
			p.chunks.body = append(p.chunks.body, p.bodyIDs[i])
			p.chunks.seq = append(p.chunks.seq, seq)
			p.chunks.data = append(p.chunks.data, b[:n:n])
			b = b[n:]
		}
	}
	return true
}

// chunkSource is a pgx.CopyFromSource of the chunks of every body of a
// batch: it reads each message's head and spool one chunk at a time, so
// COPY streams a large body without holding it (pgx encodes each row
// before asking for the next, so one buffer serves every chunk).
type chunkSource struct {
	msgs []*intake.Message
	ids  []int64
	i    int       // current message
	r    io.Reader // its bytes; nil before the first chunk
	got  int64     // bytes of it read so far
	seq  int32     // seq of the chunk in cur
	cur  []byte
	bp   *[]byte
	err  error
}

func newChunkSource(msgs []*intake.Message, ids []int64) *chunkSource {
	return &chunkSource{msgs: msgs, ids: ids, seq: -1}
}

// Next reads the next non-empty chunk.
func (c *chunkSource) Next() bool {
	if c.bp == nil {
		c.bp = chunkBufs.Get().(*[]byte)
	}
	for c.err == nil && c.i < len(c.msgs) {
		m := c.msgs[c.i]
		if c.r == nil {
			c.r, c.got, c.seq = io.MultiReader(bytes.NewReader(m.Head), m.Body.NewReader()), 0, -1
		}
		n, err := io.ReadFull(c.r, *c.bp)
		if n > 0 {
			c.got += int64(n)
			c.seq++
			c.cur = (*c.bp)[:n]
			return true
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			if want := int64(len(m.Head)) + m.Body.Size(); c.got != want {
				c.err = fmt.Errorf("message %s: spool gave %d bytes, expected %d", m.ID, c.got, want)
				break
			}
			c.r = nil
			c.i++
		case err != nil:
			c.err = fmt.Errorf("message %s: reading spool: %w", m.ID, err)
		}
	}
	c.release()
	return false
}

func (c *chunkSource) Values() ([]any, error) {
	return []any{c.ids[c.i], c.seq, c.cur}, nil
}

func (c *chunkSource) Err() error { return c.err }

// check reports a short spool that COPY did not see (it only asks Err
// after a Next that returned false).
func (c *chunkSource) check() error {
	c.release()
	return c.err
}

func (c *chunkSource) release() {
	if c.bp != nil {
		chunkBufs.Put(c.bp)
		c.bp = nil
	}
	c.cur = nil
}
