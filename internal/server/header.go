package server

import (
	"bytes"
	"strings"
)

// maxHeaderScan bounds how much of a message is held to look at its
// header section; a longer header is passed on unexamined.
const maxHeaderScan = 256 << 10

// headerScan is what the transaction learns from the header section of
// a message as it streams by.
type headerScan struct {
	received   int      // Received: fields (RFC 5321 §6.3 loop detection)
	from       []string // values of From: fields
	hasDate    bool
	hasMsgID   bool
	end        int  // offset of the end of the field lines in the buffer
	terminated bool // a blank line ended the header section
}

// scanHeader reads the field lines at the start of buf. It stops at the
// blank line, or at the first line that is not a field (a header-less
// message), or at the end of buf when final is set.
func scanHeader(buf []byte, final bool) (headerScan, bool) {
	var h headerScan
	var cur string // current field, unfolded
	flush := func() {
		name, val, ok := strings.Cut(cur, ":")
		if !ok {
			return
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "received":
			h.received++
		case "from":
			h.from = append(h.from, strings.TrimSpace(val))
		case "date":
			h.hasDate = true
		case "message-id":
			h.hasMsgID = true
		}
	}
	off := 0
	for off < len(buf) {
		i := bytes.IndexByte(buf[off:], '\n')
		if i < 0 {
			break
		}
		line := buf[off : off+i+1]
		trimmed := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trimmed) == 0:
			flush()
			h.end, h.terminated = off, true
			return h, true
		case trimmed[0] == ' ' || trimmed[0] == '\t':
			if cur == "" {
				flush()
				h.end = off
				return h, true
			}
			cur += " " + strings.TrimSpace(string(trimmed))
		case !isFieldLine(trimmed):
			flush()
			h.end = off
			return h, true
		default:
			flush()
			cur = string(trimmed)
		}
		off += i + 1
	}
	if !final {
		return h, false
	}
	flush()
	h.end = off
	return h, true
}

// isFieldLine reports whether line starts like "Name:" (RFC 5322 §2.2).
func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range line[:i] {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
