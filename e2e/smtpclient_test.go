package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A minimal SMTP client of our own: the raw-dialog tests need to see every
// reply exactly as sent and to write bytes no library would (pipelined
// batches, smuggling attempts, over-long lines). Reads are bounded in
// length, count and time.

const (
	maxReplyLine  = 4096
	maxReplyLines = 200
)

// Reply is one SMTP reply: its code and the text of each line.
type Reply struct {
	Code  int
	Lines []string // text after "NNN-" / "NNN "
}

// Text is the reply's lines joined by newlines.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// Enhanced is the RFC 3463 code at the start of the first line, or "".
func (r Reply) Enhanced() string {
	if len(r.Lines) == 0 {
		return ""
	}
	f, _, _ := strings.Cut(r.Lines[0], " ")
	parts := strings.Split(f, ".")
	if len(parts) != 3 {
		return ""
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return ""
		}
	}
	return f
}

func (r Reply) String() string {
	var b strings.Builder
	for i, l := range r.Lines {
		sep := "-"
		if i == len(r.Lines)-1 {
			sep = " "
		}
		fmt.Fprintf(&b, "%03d%s%s", r.Code, sep, l)
		if i < len(r.Lines)-1 {
			b.WriteString(" | ")
		}
	}
	return b.String()
}

// SMTPConn is a client connection.
type SMTPConn struct {
	c net.Conn
	r *bufio.Reader
}

// DialSMTP connects and reads the greeting.
func DialSMTP(ctx context.Context, addr string) (*SMTPConn, Reply, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, Reply{}, err
	}
	sc := &SMTPConn{c: c, r: bufio.NewReaderSize(c, 8192)}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	g, err := sc.ReadReply()
	if err != nil {
		c.Close()
		return nil, g, fmt.Errorf("greeting: %w", err)
	}
	return sc, g, nil
}

// Close closes the connection without QUIT.
func (c *SMTPConn) Close() error { return c.c.Close() }

// Conn gives the underlying connection (TLS after StartTLS).
func (c *SMTPConn) Conn() net.Conn { return c.c }

// ReadReply reads one (possibly multi-line) reply.
func (c *SMTPConn) ReadReply() (Reply, error) {
	var r Reply
	for i := 0; i < maxReplyLines; i++ {
		_ = c.c.SetReadDeadline(time.Now().Add(ioTimeout))
		line, err := c.readLine()
		if err != nil {
			return r, err
		}
		if len(line) < 3 {
			return r, fmt.Errorf("malformed reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 {
			return r, fmt.Errorf("malformed reply code in %q", line)
		}
		if r.Code != 0 && code != r.Code {
			return r, fmt.Errorf("reply code changed within a multi-line reply: %q", line)
		}
		r.Code = code
		sep, text := byte(' '), ""
		if len(line) > 3 {
			sep, text = line[3], line[4:]
		}
		if sep != ' ' && sep != '-' {
			return r, fmt.Errorf("malformed reply separator in %q", line)
		}
		r.Lines = append(r.Lines, text)
		if sep == ' ' {
			return r, nil
		}
	}
	return r, fmt.Errorf("reply longer than %d lines", maxReplyLines)
}

// readLine reads one CRLF-terminated line (bounded) without its CRLF.
func (c *SMTPConn) readLine() (string, error) {
	var b []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxReplyLine {
			return "", fmt.Errorf("reply line longer than %d octets", maxReplyLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(b) > 0 && errors.Is(err, io.EOF) {
			return "", fmt.Errorf("connection closed inside a reply line %q", b)
		}
		return "", err
	}
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		return "", fmt.Errorf("reply line not ended by CRLF: %q", b)
	}
	return string(b[:len(b)-2]), nil
}

// Write sends raw bytes.
func (c *SMTPConn) Write(s string) error {
	_ = c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := io.WriteString(c.c, s)
	return err
}

// Cmd sends one command line and reads its reply.
func (c *SMTPConn) Cmd(line string) (Reply, error) {
	if err := c.Write(line + "\r\n"); err != nil {
		return Reply{}, err
	}
	return c.ReadReply()
}

// StartTLS upgrades the connection after a 220 to STARTTLS.
func (c *SMTPConn) StartTLS(cfg *tls.Config) (*tls.ConnectionState, error) {
	tc := tls.Client(c.c, cfg)
	_ = tc.SetDeadline(time.Now().Add(ioTimeout))
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	c.c = tc
	c.r = bufio.NewReaderSize(tc, 8192)
	st := tc.ConnectionState()
	return &st, nil
}

// dotStuff turns a CRLF message into DATA payload with the final dot.
func dotStuff(msg []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(msg) + 64)
	start := true
	for i := 0; i < len(msg); i++ {
		if start && msg[i] == '.' {
			b.WriteByte('.')
		}
		b.WriteByte(msg[i])
		start = msg[i] == '\n'
	}
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// SendResult is how one transaction ended: Stage is the command whose
// reply ended it ("DATA-END" for the reply after the final dot), Reply
// that reply. Err is set for I/O failures (no reply seen).
type SendResult struct {
	Stage string
	Reply Reply
	Err   error
}

// Accepted reports a 250 after the final dot.
func (r SendResult) Accepted() bool {
	return r.Err == nil && r.Stage == "DATA-END" && r.Reply.Code == 250
}

func (r SendResult) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%s: error %v", r.Stage, r.Err)
	}
	return fmt.Sprintf("%s: %s", r.Stage, r.Reply)
}

// SendMail runs one whole transaction on a new connection, without
// pipelining: EHLO, MAIL, RCPT..., DATA, message, QUIT. msg must have CRLF
// line endings. A RCPT refusal ends the transaction when no recipient was
// accepted.
func SendMail(ctx context.Context, addr, from string, to []string, msg []byte) SendResult {
	c, g, err := DialSMTP(ctx, addr)
	if err != nil {
		return SendResult{Stage: "CONNECT", Err: err}
	}
	defer c.Close()
	if g.Code != 220 {
		return SendResult{Stage: "CONNECT", Reply: g}
	}
	return c.Transaction(from, to, msg, true)
}

// Transaction runs EHLO (when ehlo), MAIL, RCPT, DATA on an open connection
// and QUITs after a final reply to DATA.
func (c *SMTPConn) Transaction(from string, to []string, msg []byte, ehlo bool) SendResult {
	step := func(stage, line string, want int) (SendResult, bool) {
		r, err := c.Cmd(line)
		if err != nil {
			return SendResult{Stage: stage, Err: err}, false
		}
		return SendResult{Stage: stage, Reply: r}, r.Code == want
	}
	if ehlo {
		if res, ok := step("EHLO", "EHLO client.example.org", 250); !ok {
			return res
		}
	}
	if res, ok := step("MAIL", "MAIL FROM:<"+from+">", 250); !ok {
		return res
	}
	var last SendResult
	accepted := 0
	for _, rcpt := range to {
		res, ok := step("RCPT", "RCPT TO:<"+rcpt+">", 250)
		if res.Err != nil {
			return res
		}
		if ok {
			accepted++
		} else {
			last = res
		}
	}
	if accepted == 0 {
		return last
	}
	if res, ok := step("DATA", "DATA", 354); !ok {
		return res
	}
	if err := c.Write(string(dotStuff(msg))); err != nil {
		return SendResult{Stage: "DATA-END", Err: err}
	}
	r, err := c.ReadReply()
	if err != nil {
		return SendResult{Stage: "DATA-END", Err: err}
	}
	_, _ = c.Cmd("QUIT")
	return SendResult{Stage: "DATA-END", Reply: r}
}

// mustSend sends a message that must be accepted.
func mustSend(t testing.TB, addr, from string, to []string, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*ioTimeout)
	defer cancel()
	res := SendMail(ctx, addr, from, to, msg)
	if !res.Accepted() {
		t.Fatalf("send from %s to %v: want 250 after DATA, got %v", from, to, res)
	}
}

// dialT dials for a test goroutine and asserts the 220 greeting.
func dialT(t testing.TB, addr string) *SMTPConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, g, err := DialSMTP(ctx, addr)
	if err != nil {
		t.Fatalf("dial SMTP %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if g.Code != 220 {
		t.Fatalf("greeting: want 220, got %v", g)
	}
	return c
}
