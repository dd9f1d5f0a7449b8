package mime

import (
	"bytes"
	"errors"
	"io"
)

// scanner reads a message front to back from an io.ReaderAt through one
// buffer, so the parser touches each byte once and never holds a body.
// Slices it returns are valid until the next call.
type scanner struct {
	ra     io.ReaderAt
	size   int64
	buf    []byte
	bufOff int64   // message offset of buf[0]
	r, w   int     // unread bytes are buf[r:w]
	err    error   // sticky read error other than io.EOF
	pooled *[]byte // buf, when it came from bufPool; goes back in release
}

// newScanner reads size bytes of ra through a pooled buffer (a small
// message through one of its own size); either is large enough that a
// delimiter line (maxDelimLine) always fits.
func newScanner(ra io.ReaderAt, size int64) *scanner {
	s := &scanner{ra: ra, size: size}
	if size > smallMessage {
		s.pooled = getBuf()
		s.buf = *s.pooled
		return s
	}
	// A small message needs no more buffer than its size.
	s.buf = make([]byte, max(int(max(size, 0))+16, 2*maxDelimLine))
	return s
}

// release gives a pooled buffer back; the scanner must not be used
// after it. Nothing the parser keeps points into the buffer: header
// bytes are copied into strings as each header ends.
func (s *scanner) release() {
	putBuf(s.pooled)
	s.buf, s.pooled, s.r, s.w = nil, nil, 0, 0
}

// off is the message offset of the next unread byte.
func (s *scanner) off() int64 { return s.bufOff + int64(s.r) }

// eof reports whether every byte has been read.
func (s *scanner) eof() bool { return s.off() >= s.size || s.err != nil }

// fill reads more input, keeping the two bytes before r (the line break
// in front of a delimiter). It returns false when nothing more came.
func (s *scanner) fill() bool {
	if s.err != nil || s.bufOff+int64(s.w) >= s.size {
		return false
	}
	keep := min(s.r, 2)
	if s.r-keep > 0 {
		n := copy(s.buf, s.buf[s.r-keep:s.w])
		s.bufOff += int64(s.r - keep)
		s.r, s.w = keep, n
	}
	if s.w == len(s.buf) {
		return false
	}
	want := min(int64(len(s.buf)-s.w), s.size-(s.bufOff+int64(s.w)))
	n, err := s.ra.ReadAt(s.buf[s.w:s.w+int(want)], s.bufOff+int64(s.w))
	s.w += n
	if int64(n) < want {
		// The ReaderAt is shorter than the size we were given, or broken.
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		s.err = err
	}
	return n > 0
}

// seek moves the read position forward to off without reading.
func (s *scanner) seek(off int64) {
	if off >= s.bufOff && off <= s.bufOff+int64(s.w) {
		s.r = int(off - s.bufOff)
		return
	}
	s.bufOff, s.r, s.w = off, 0, 0
}

// readLine returns the next line including its line break. A line longer
// than max (or than the buffer) comes back in pieces with complete false.
func (s *scanner) readLine(max int) (line []byte, complete bool) {
	max = min(max, len(s.buf)-2)
	for {
		avail := s.buf[s.r:s.w]
		if i := bytes.IndexByte(avail, '\n'); i >= 0 && i < max {
			s.r += i + 1
			return avail[:i+1], true
		}
		if len(avail) >= max {
			s.r += max
			return avail[:max], false
		}
		if !s.fill() {
			avail = s.buf[s.r:s.w]
			s.r = s.w
			return avail, true
		}
	}
}

// peekLine returns up to n bytes of the line at the read position
// without consuming them.
func (s *scanner) peekLine(n int) []byte {
	if s.w-s.r < n {
		s.fill()
	}
	avail := s.buf[s.r:s.w]
	if len(avail) > n {
		avail = avail[:n]
	}
	if i := bytes.IndexByte(avail, '\n'); i >= 0 {
		return avail[:i+1]
	}
	return avail
}

// delim is where a body ended: at a delimiter line or at the end.
type delim struct {
	found   bool
	line    int64 // offset of the delimiter line ("--boundary")
	eol     int   // length of the line break before it that belongs to it
	idx     int   // which boundary of the stack matched
	closing bool  // "--boundary--"
}

// bodyEnd is where a body that started at start ends given how it ended.
func (d delim) bodyEnd(start, size int64) int64 {
	if !d.found {
		return size
	}
	return max(start, d.line-int64(d.eol))
}

// maxDelimLine bounds the bytes examined for one delimiter line: the
// boundary, "--" twice and trailing white space.
const maxDelimLine = 1024

// scanTo reads body lines until a delimiter line of one of bounds (the
// innermost last) and consumes it. Without bounds it jumps to the end.
func (s *scanner) scanTo(bounds []string) delim {
	if len(bounds) == 0 {
		s.seek(s.size)
		return delim{}
	}
	atStart := s.off() == 0 || s.prevByte() == '\n'
	for {
		if atStart {
			if d, ok := s.matchDelim(bounds); ok {
				return d
			}
		}
		avail := s.buf[s.r:s.w]
		i := bytes.Index(avail, dashLine)
		if i >= 0 {
			s.r += i + 1
			atStart = true
			continue
		}
		// Keep the last two bytes: they may start "\n--".
		if len(avail) > 2 {
			s.r = s.w - 2
		}
		atStart = false
		if !s.fill() {
			s.r = s.w
			return delim{}
		}
	}
}

var dashLine = []byte("\n--")

// prevByte is the byte before the read position, 0 if unknown.
func (s *scanner) prevByte() byte {
	if s.r > 0 {
		return s.buf[s.r-1]
	}
	return 0
}

// matchDelim checks whether the line at the read position (a line start)
// is a delimiter of one of bounds; if so it consumes the line.
func (s *scanner) matchDelim(bounds []string) (delim, bool) {
	if s.w-s.r < 2 {
		s.fill()
	}
	if s.w-s.r < 2 || s.buf[s.r] != '-' || s.buf[s.r+1] != '-' {
		return delim{}, false
	}
	start := s.off()
	line := s.peekLine(maxDelimLine)
	// An exact delimiter line wins; else, as RFC 2046 5.1.1 allows, a
	// line that merely starts with a delimiter (innermost first).
	for pass := 0; pass < 2; pass++ {
		for i := len(bounds) - 1; i >= 0; i-- {
			closing, ok := isDelimiter(line, bounds[i], pass == 1)
			if !ok {
				continue
			}
			d := delim{found: true, line: start, idx: i, closing: closing}
			if s.r >= 1 && s.buf[s.r-1] == '\n' {
				d.eol = 1
				if s.r >= 2 && s.buf[s.r-2] == '\r' {
					d.eol = 2
				}
			}
			s.readLine(maxDelimLine) // consume the delimiter line
			return d, true
		}
	}
	return delim{}, false
}

// isDelimiter reports whether line is "--b" or "--b--" followed only by
// white space (transport padding), or with prefix, followed by anything.
func isDelimiter(line []byte, b string, prefix bool) (closing, ok bool) {
	if len(line) < 2+len(b) || string(line[2:2+len(b)]) != b {
		return false, false
	}
	rest := line[2+len(b):]
	if len(rest) >= 2 && rest[0] == '-' && rest[1] == '-' {
		return true, true
	}
	if prefix {
		return false, true
	}
	for _, c := range rest {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false, false
		}
	}
	return false, true
}
