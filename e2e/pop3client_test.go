package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A minimal POP3 client for checking mailboxes from Go (the poplib tests
// use Python's poplib through py/pop3ops.py). Bounded like the SMTP one.

const (
	maxPOPLine    = 64 * 1024
	maxPOPMessage = 256 << 20
)

// POPError is a -ERR response.
type POPError struct{ Line string }

func (e *POPError) Error() string { return e.Line }

// POPConn is a POP3 client connection.
type POPConn struct {
	c net.Conn
	r *bufio.Reader
}

// DialPOP3 connects and reads the +OK greeting.
func DialPOP3(addr string) (*POPConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	p := &POPConn{c: c, r: bufio.NewReaderSize(c, 16384)}
	if _, err := p.status(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return p, nil
}

// Close drops the connection without QUIT.
func (p *POPConn) Close() error { return p.c.Close() }

func (p *POPConn) line() (string, error) {
	_ = p.c.SetReadDeadline(time.Now().Add(ioTimeout))
	var b []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxPOPLine {
			return "", fmt.Errorf("POP3 line longer than %d octets", maxPOPLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return "", err
	}
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		return "", fmt.Errorf("POP3 line not ended by CRLF: %q", b)
	}
	return string(b[:len(b)-2]), nil
}

func (p *POPConn) status() (string, error) {
	l, err := p.line()
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(l, "+OK"):
		return l, nil
	case strings.HasPrefix(l, "-ERR"):
		return l, &POPError{Line: l}
	}
	return l, fmt.Errorf("malformed POP3 status %q", l)
}

// Cmd sends a command and reads its status line.
func (p *POPConn) Cmd(format string, a ...any) (string, error) {
	_ = p.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := fmt.Fprintf(p.c, format+"\r\n", a...); err != nil {
		return "", err
	}
	return p.status()
}

// Multi reads a multi-line body up to the terminating dot, unstuffed,
// with CRLF line endings.
func (p *POPConn) Multi() ([]byte, error) {
	var b bytes.Buffer
	for {
		l, err := p.line()
		if err != nil {
			return nil, err
		}
		if l == "." {
			return b.Bytes(), nil
		}
		l = strings.TrimPrefix(l, ".")
		b.WriteString(l)
		b.WriteString("\r\n")
		if b.Len() > maxPOPMessage {
			return nil, fmt.Errorf("POP3 response over %d octets", maxPOPMessage)
		}
	}
}

// Login runs USER and PASS.
func (p *POPConn) Login(user, pass string) error {
	if _, err := p.Cmd("USER %s", user); err != nil {
		return err
	}
	_, err := p.Cmd("PASS %s", pass)
	return err
}

// PopMsg is a retrieved message.
type PopMsg struct {
	N    int
	UID  string
	Size int64 // from LIST
	Data []byte
}

// isInUse reports a -ERR [IN-USE] login refusal.
func isInUse(err error) bool {
	var pe *POPError
	return errors.As(err, &pe) && strings.Contains(pe.Line, "[IN-USE]")
}

// loginPOP3 logs in, retrying while a previous session of ours still
// holds the maildrop lock (the server may release it a moment after our
// QUIT or close); bounded.
func loginPOP3(addr, user, pass string) (*POPConn, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := DialPOP3(addr)
		if err != nil {
			return nil, err
		}
		err = p.Login(user, pass)
		if err == nil {
			return p, nil
		}
		p.Close()
		if !isInUse(err) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FetchAll retrieves every message of a maildrop (UIDL, LIST, RETR) and
// QUITs without deleting anything; with del it deletes them all.
func FetchAll(addr, user, pass string, del bool) ([]PopMsg, error) {
	p, err := loginPOP3(addr, user, pass)
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	defer p.Close()
	if _, err := p.Cmd("UIDL"); err != nil {
		return nil, fmt.Errorf("UIDL: %w", err)
	}
	body, err := p.Multi()
	if err != nil {
		return nil, err
	}
	var msgs []PopMsg
	for _, l := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("bad UIDL line %q", l)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("bad UIDL line %q", l)
		}
		msgs = append(msgs, PopMsg{N: n, UID: f[1]})
	}
	for i := range msgs {
		st, err := p.Cmd("LIST %d", msgs[i].N)
		if err != nil {
			return nil, fmt.Errorf("LIST %d: %w", msgs[i].N, err)
		}
		f := strings.Fields(st)
		if len(f) < 3 {
			return nil, fmt.Errorf("bad LIST reply %q", st)
		}
		msgs[i].Size, _ = strconv.ParseInt(f[2], 10, 64)
		if _, err := p.Cmd("RETR %d", msgs[i].N); err != nil {
			return nil, fmt.Errorf("RETR %d: %w", msgs[i].N, err)
		}
		if msgs[i].Data, err = p.Multi(); err != nil {
			return nil, fmt.Errorf("RETR %d: %w", msgs[i].N, err)
		}
		if del {
			if _, err := p.Cmd("DELE %d", msgs[i].N); err != nil {
				return nil, fmt.Errorf("DELE %d: %w", msgs[i].N, err)
			}
		}
	}
	if _, err := p.Cmd("QUIT"); err != nil {
		return nil, fmt.Errorf("QUIT: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(p.r, 4096))
	return msgs, nil
}

// mustFetch is FetchAll for the test goroutine.
func mustFetch(t testing.TB, addr, user, pass string, del bool) []PopMsg {
	t.Helper()
	msgs, err := FetchAll(addr, user, pass, del)
	if err != nil {
		t.Fatalf("POP3 fetch for %s: %v", user, err)
	}
	return msgs
}

// TraceField is one leading trace header field as stored (unfolded
// lines kept with their CRLFs).
type TraceField struct {
	Name string // as written
	Raw  string
}

// SplitTrace removes the leading Return-Path, Delivered-To and Received
// fields (with continuation lines) that delivery put in front of the
// message and returns them and the rest.
func SplitTrace(msg []byte) ([]TraceField, []byte) {
	var fields []TraceField
	rest := msg
	for {
		i := bytes.IndexByte(rest, ':')
		nl := bytes.Index(rest, []byte("\r\n"))
		if i <= 0 || nl < 0 || i > nl {
			return fields, rest
		}
		name := string(rest[:i])
		switch strings.ToLower(name) {
		case "return-path", "delivered-to", "received":
		default:
			return fields, rest
		}
		end := nl + 2
		for end < len(rest) && (rest[end] == ' ' || rest[end] == '\t') {
			n := bytes.Index(rest[end:], []byte("\r\n"))
			if n < 0 {
				end = len(rest)
				break
			}
			end += n + 2
		}
		fields = append(fields, TraceField{Name: name, Raw: string(rest[:end])})
		rest = rest[end:]
	}
}

// lfToCRLF converts LF line endings to CRLF (input must have none).
func lfToCRLF(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}
