package mime

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// Parser parses messages within its Limits; the zero value uses the
// default limits.
type Parser struct {
	Limits Limits
}

// Parse parses the message of size bytes in r with the default limits.
func Parse(ctx context.Context, r io.ReaderAt, size int64) (*Part, error) {
	return Parser{}.Parse(ctx, r, size)
}

// ParseBytes parses a message held in memory with the default limits.
func ParseBytes(ctx context.Context, msg []byte) (*Part, error) {
	return Parser{}.ParseBytes(ctx, msg)
}

// ParseBytes parses a message held in memory. It scans msg in place,
// without copying; msg must not change while the parts are used.
func (ps Parser) ParseBytes(ctx context.Context, msg []byte) (*Part, error) {
	s := &scanner{size: int64(len(msg)), buf: msg, w: len(msg)}
	return ps.parse(ctx, bytes.NewReader(msg), s)
}

// Parse reads the message once and returns its tree. Bodies are not
// kept: the parts read them from r when asked, so r must stay readable
// while the parts are used. It fails only on a read error, a cancelled
// ctx or an exceeded limit; malformed input yields Defects instead.
func (ps Parser) Parse(ctx context.Context, r io.ReaderAt, size int64) (*Part, error) {
	s := newScanner(r, size)
	defer s.release()
	return ps.parse(ctx, r, s)
}

func (ps Parser) parse(ctx context.Context, r io.ReaderAt, s *scanner) (*Part, error) {
	p := &parser{ctx: ctx, s: s, lim: ps.Limits.withDefaults(), ra: r}
	// Header bytes are collected in a pooled buffer (a header longer
	// than it moves to one of its own), copied out as each header ends.
	hp := getBuf()
	defer putBuf(hp)
	p.hbuf = (*hp)[:0]
	root, _, err := p.entity(nil, 0, nil, "text/plain")
	if err != nil {
		return nil, err
	}
	if p.s.err != nil {
		return nil, fmt.Errorf("mime: reading message: %w", p.s.err)
	}
	return root, nil
}

// parser holds the state of one Parse call.
type parser struct {
	ctx    context.Context
	s      *scanner
	ra     io.ReaderAt
	lim    Limits
	nparts int
	hbuf   []byte     // header bytes being collected, reused
	fbuf   []fieldPos // fields being collected, reused
}

// entity parses one entity (header and body) whose body ends at a
// delimiter of bounds or at the end of the input.
func (p *parser) entity(parent *Part, depth int, bounds []string, defType string) (*Part, delim, error) {
	root := parent == nil
	if err := p.ctx.Err(); err != nil {
		return nil, delim{}, err
	}
	p.nparts++
	if p.nparts > p.lim.MaxParts {
		return nil, delim{}, limitErr("parts", p.lim.MaxParts, p.s.off())
	}
	if depth > p.lim.MaxDepth {
		return nil, delim{}, limitErr("depth", p.lim.MaxDepth, p.s.off())
	}
	part := &Part{Offset: p.s.off(), ra: p.ra, parent: parent}
	d, stopped, err := p.header(part, bounds, root)
	if err != nil {
		return nil, delim{}, err
	}
	part.classify(defType)
	if stopped {
		// The header ran into a delimiter: the part has no body.
		part.End = part.BodyOffset
		return part, d, nil
	}
	switch {
	case part.boundary != "":
		d, err = p.multipart(part, depth, bounds)
	case part.isMessage():
		var child *Part
		child, d, err = p.entity(part, depth+1, bounds, "text/plain")
		if child != nil {
			part.Parts = []*Part{child}
		}
	default:
		d = p.s.scanTo(bounds)
	}
	if err != nil {
		return nil, delim{}, err
	}
	part.End = d.bodyEnd(part.BodyOffset, p.s.size)
	if n := len(part.Parts); n > 0 {
		// A last child whose header ran into the delimiter owns the
		// line break that would otherwise end this body.
		part.End = max(part.End, part.Parts[n-1].End)
	}
	part.boundary = ""
	return part, d, nil
}

// multipart parses the body of a multipart entity: preamble, parts,
// epilogue. It returns the delimiter of an enclosing multipart (or the
// end of input) at which the whole entity ends.
func (p *parser) multipart(part *Part, depth int, bounds []string) (delim, error) {
	own := len(bounds)
	inner := append(bounds[:own:own], part.boundary)
	childType := "text/plain"
	if part.ContentType == "multipart/digest" {
		childType = "message/rfc822" // RFC 2046 5.1.5
	}
	d := p.s.scanTo(inner) // the preamble
	if !d.found || d.idx != own {
		part.defect(DefectNoFirstDelimiter, part.BodyOffset, part.boundary)
		return d, nil
	}
	for d.found && d.idx == own && !d.closing {
		child, cd, err := p.entity(part, depth+1, inner, childType)
		if err != nil {
			return delim{}, err
		}
		part.Parts = append(part.Parts, child)
		d = cd
	}
	if d.found && d.idx == own {
		if len(part.Parts) == 0 {
			part.defect(DefectNoFirstDelimiter, part.BodyOffset, "only a close delimiter")
		}
		return p.s.scanTo(bounds), nil // the epilogue
	}
	part.defect(DefectNoCloseDelimiter, p.s.off(), part.boundary)
	return d, nil
}

// header reads a header block into part. It reports stopped when the
// block ran into a delimiter line of bounds, which it consumed.
func (p *parser) header(part *Part, bounds []string, root bool) (delim, bool, error) {
	s := p.s
	raw, fields := p.hbuf[:0], p.fbuf[:0]
	finish := func(bodyStart int64) {
		part.BodyOffset = bodyStart
		part.Header.raw = string(raw)
		part.Header.fields = append([]fieldPos(nil), fields...)
		p.hbuf, p.fbuf = raw, fields
	}
	for first := true; ; first = false {
		lineStart := s.off()
		if s.eof() {
			if len(fields) > 0 || !root {
				part.defect(DefectNoHeaderEnd, lineStart, "")
			}
			finish(lineStart)
			return delim{}, false, nil
		}
		if len(bounds) > 0 {
			if d, ok := s.matchDelim(bounds); ok {
				part.defect(DefectNoHeaderEnd, lineStart, "")
				finish(lineStart)
				return d, true, nil
			}
		}
		line, err := p.headerLine(len(raw))
		if err != nil {
			return delim{}, false, err
		}
		content := trimEOL(line)
		switch {
		case len(content) == 0:
			finish(s.off())
			return delim{}, false, nil
		case first && root && bytes.HasPrefix(line, []byte("From ")):
			part.defect(DefectMboxFrom, lineStart, "")
			continue
		case (line[0] == ' ' || line[0] == '\t') && len(fields) > 0:
			raw = append(raw, line...)
			fields[len(fields)-1].end = int32(len(raw))
			continue
		case line[0] == ' ' || line[0] == '\t':
			part.defect(DefectFirstLineFolded, lineStart, "")
			line = bytes.TrimLeft(line, " \t")
		}
		colon := bytes.IndexByte(line, ':')
		name := bytes.TrimRight(line[:max(colon, 0)], " \t")
		if colon < 0 || len(name) == 0 {
			// Not a field: the header ended without its blank line
			// and this line starts the body (as Python's email does).
			part.defect(DefectBadHeaderLine, lineStart, "")
			s.seek(lineStart)
			finish(lineStart)
			return delim{}, false, nil
		}
		if len(fields) >= p.lim.MaxHeaderFields {
			return delim{}, false, limitErr("header fields", p.lim.MaxHeaderFields, lineStart)
		}
		start := int32(len(raw))
		raw = append(raw, line...)
		fields = append(fields, fieldPos{start: start, nameEnd: start + int32(len(name)),
			value: start + int32(colon) + 1, end: int32(len(raw))})
	}
}

// headerLine reads one whole header line, however long, within the
// header size limit (have bytes are already used).
func (p *parser) headerLine(have int) ([]byte, error) {
	maxLen := p.lim.MaxHeaderBytes - have
	line, complete := p.s.readLine(maxLen + 1)
	if complete && len(line) <= maxLen {
		return line, nil
	}
	// A long line: gather its pieces.
	long := append([]byte(nil), line...)
	for !complete && len(long) <= maxLen {
		line, complete = p.s.readLine(maxLen + 1)
		long = append(long, line...)
	}
	if len(long) > maxLen {
		return nil, limitErr("header bytes", p.lim.MaxHeaderBytes, p.s.off())
	}
	return long, nil
}

// trimEOL removes the line break (CRLF, LF or a lone CR) from line.
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}
