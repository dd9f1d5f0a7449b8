package smtpserver

import (
	"bufio"
	"io"
	"sync"
)

// dataBufferSize is the read buffer of a session while it receives DATA:
// a 100 KB message is then two or three read(2) calls instead of 25
// through the session's 4 KiB buffer. It is taken from a pool for the
// DATA command only, so an idle session still holds 4 KiB.
const dataBufferSize = 64 << 10

var dataReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, dataBufferSize) }}

// prefixReader returns pre, then reads from r.
type prefixReader struct {
	pre []byte
	r   io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// beginData makes the session read through a large pooled buffer. What
// the small reader already holds comes first, read in place: the large
// buffer takes all of it with its first fill, and the small reader is
// not touched until shrinkReader, which waits for that.
func (s *session) beginData() {
	if s.br != s.small {
		return // still reading through a large buffer
	}
	br := dataReaders.Get().(*bufio.Reader)
	s.bigSrc = &prefixReader{r: connReader{s}}
	if n := s.small.Buffered(); n > 0 {
		s.bigSrc.pre, _ = s.small.Peek(n)
	}
	br.Reset(s.bigSrc)
	s.br = br
	s.lr.R = br
}

// shrinkReader goes back to the small reader once the large one holds
// nothing: bufio reads its source only when empty, so no octet is lost
// or reordered. Until then (a pipelining client sent commands behind
// its data) the session keeps reading from the large buffer.
func (s *session) shrinkReader() {
	if s.br == s.small || s.br.Buffered() > 0 || len(s.bigSrc.pre) > 0 {
		return
	}
	s.br.Reset(nil)
	dataReaders.Put(s.br)
	s.bigSrc = nil
	s.small.Reset(connReader{s})
	s.br = s.small
	s.lr.R = s.small
}
