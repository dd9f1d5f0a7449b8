package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// Bounds on what the server may send.
const (
	maxLine     = 1 << 20  // one response line without its literals
	maxLiteral  = 16 << 20 // one literal inside a response
	maxResponse = 64 << 20 // one response with its literals
)

var errTooBig = errors.New("imapload: response over the client's limits")

// client is one IMAP connection.
type client struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	buf  []byte
}

func newClient(c net.Conn) *client {
	return &client{conn: c, br: bufio.NewReaderSize(c, 64<<10), bw: bufio.NewWriter(c)}
}

func (c *client) close() { c.conn.Close() }

// greeting reads the server's first response, which must be OK.
func (c *client) greeting() error {
	l, err := readResponse(c.br, c.buf[:0])
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(l, []byte("* OK")) {
		return fmt.Errorf("greeting: %q", l)
	}
	return nil
}

// command sends "tag cmd", calls each (if not nil) with every untagged
// response (literals included), and returns the tagged response, which
// must be OK.
func (c *client) command(tag, cmd string, each func([]byte)) ([]byte, error) {
	fmt.Fprintf(c.bw, "%s %s\r\n", tag, cmd)
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	return c.until(tag, each)
}

// until reads responses up to the one tagged tag.
func (c *client) until(tag string, each func([]byte)) ([]byte, error) {
	for {
		l, err := readResponse(c.br, c.buf[:0])
		c.buf = l[:0]
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tag, err)
		}
		if t, rest, _ := bytes.Cut(l, []byte(" ")); string(t) == tag {
			if !bytes.HasPrefix(rest, []byte("OK")) {
				return nil, fmt.Errorf("%s: %q", tag, l)
			}
			return l, nil
		}
		if each != nil {
			each(l)
		}
	}
}

// idle starts IDLE and waits for the continuation.
func (c *client) idle() error {
	if _, err := c.bw.WriteString("a4 IDLE\r\n"); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	for {
		l, err := readResponse(c.br, c.buf[:0])
		if err != nil {
			return fmt.Errorf("IDLE: %w", err)
		}
		switch {
		case bytes.HasPrefix(l, []byte("+")):
			return nil
		case bytes.HasPrefix(l, []byte("a4 ")):
			return fmt.Errorf("IDLE: %q", l)
		}
	}
}

// finish ends IDLE and logs out.
func (c *client) finish() error {
	if _, err := c.bw.WriteString("DONE\r\n"); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if _, err := c.until("a4", nil); err != nil {
		return err
	}
	_, err := c.command("a5", "LOGOUT", nil)
	return err
}

// readResponse reads one response into buf: a line, and when it ends with
// a literal announcement {n} (RFC 9051 §4.3), the n octets and the rest of
// the response, as many times as announced. The CRLF of the last line is
// dropped.
func readResponse(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return buf, err
		}
		buf = append(buf, line...)
		n, ok := literalSize(line)
		if !ok {
			return buf, nil
		}
		if n > maxLiteral || int64(len(buf))+n > maxResponse {
			return buf, errTooBig
		}
		buf = append(buf, "\r\n"...)
		k := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(br, buf[k:]); err != nil {
			return buf, err
		}
	}
}

// readLine reads a line up to CRLF (or LF), without it, within maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		l, err := br.ReadSlice('\n')
		if len(out)+len(l) > maxLine {
			return nil, errTooBig
		}
		if err == bufio.ErrBufferFull {
			out = append(out, l...)
			continue
		}
		if err != nil {
			return nil, err
		}
		if out != nil {
			l = append(out, l...)
		}
		l = bytes.TrimSuffix(l, []byte("\n"))
		return bytes.TrimSuffix(l, []byte("\r")), nil
	}
}

// literalSize parses a trailing "{n}" or "{n+}".
func literalSize(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	digits := bytes.TrimSuffix(line[i+1:len(line)-1], []byte("+"))
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil || n < 0 || len(digits) == 0 {
		return 0, false
	}
	return n, true
}

// untaggedNumber parses "* n NAME..." and returns n.
func untaggedNumber(l []byte, name string) (int, bool) {
	rest, ok := bytes.CutPrefix(l, []byte("* "))
	if !ok {
		return 0, false
	}
	num, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok || !bytes.HasPrefix(rest, []byte(name)) {
		return 0, false
	}
	n, err := strconv.Atoi(string(num))
	return n, err == nil
}
