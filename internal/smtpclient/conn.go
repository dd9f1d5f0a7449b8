package smtpclient

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/smtp"
)

// conn is one SMTP connection: buffered reader and writer over a net.Conn
// whose deadlines follow both the per-phase timeouts of RFC 5321
// §4.5.3.2 and the context of the Deliver that holds it.
type conn struct {
	br   *bufio.Reader
	lr   smtp.LineReader
	bw   *bufio.Writer // writes through deadlineWriter with wtimeout
	host string        // the hop's host
	addr string        // the address dialled
	key  string        // pool key
	ext  extensions
	tls  bool
	txns int // transactions started; RSET comes before the next one

	wtimeout time.Duration

	mu          sync.Mutex // guards nc, cancelled, ctxDeadline against the cancel callback
	nc          net.Conn
	cancelled   bool
	ctxDeadline time.Time
	stop        func() bool
}

const connBufSize = 32 << 10

func newConn(nc net.Conn, host, addr, key string) *conn {
	c := &conn{nc: nc, host: host, addr: addr, key: key}
	c.br = bufio.NewReaderSize(nc, 4096)
	c.lr.R = c.br
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, connBufSize)
	return c
}

// bind ties the connection's deadlines to ctx until unbind: cancelling
// ctx makes every blocked read or write fail at once.
func (c *conn) bind(ctx context.Context) {
	c.mu.Lock()
	c.cancelled = false
	c.ctxDeadline, _ = ctx.Deadline()
	c.mu.Unlock()
	c.stop = context.AfterFunc(ctx, c.cancel)
}

// unbind ends bind; it reports whether the context was cancelled
// meanwhile (the connection is then not reusable).
func (c *conn) unbind() (cancelled bool) {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cancelled = c.cancelled
	c.cancelled = false
	c.ctxDeadline = time.Time{}
	return cancelled
}

func (c *conn) cancel() {
	c.mu.Lock()
	c.cancelled = true
	c.nc.SetDeadline(time.Unix(1, 0))
	c.mu.Unlock()
}

// deadline is now+d, or the context's deadline when that is sooner.
func (c *conn) deadline(d time.Duration) time.Time {
	t := time.Now().Add(d)
	if !c.ctxDeadline.IsZero() && c.ctxDeadline.Before(t) {
		t = c.ctxDeadline
	}
	return t
}

func (c *conn) setReadTimeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cancelled {
		c.nc.SetReadDeadline(c.deadline(d))
	}
}

// deadlineWriter writes to the connection with a fresh write deadline per
// block: RFC 5321 §4.5.3.2.5 times each block of data, not the whole.
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	nc := c.nc
	if !c.cancelled {
		nc.SetWriteDeadline(c.deadline(c.wtimeout))
	}
	c.mu.Unlock()
	return nc.Write(p)
}

// send buffers one command line.
func (c *conn) send(line string) {
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
}

// flush writes what is buffered, each block within timeout.
func (c *conn) flush(timeout time.Duration) error {
	c.wtimeout = timeout
	return c.bw.Flush()
}

// read reads one reply within timeout.
func (c *conn) read(timeout time.Duration) (smtp.Reply, error) {
	c.setReadTimeout(timeout)
	return readReply(&c.lr)
}

// roundTrip sends one command and reads its reply.
func (c *conn) roundTrip(timeout time.Duration, line string) (smtp.Reply, error) {
	c.send(line)
	if err := c.flush(timeout); err != nil {
		return smtp.Reply{}, err
	}
	return c.read(timeout)
}

// quitTimeout bounds the polite goodbye of a connection being closed.
const quitTimeout = 10 * time.Second

// quit sends QUIT, waits briefly for the reply and closes.
func (c *conn) quit() {
	c.mu.Lock()
	c.nc.SetDeadline(time.Now().Add(quitTimeout))
	c.mu.Unlock()
	c.send("QUIT")
	if c.bw.Flush() == nil {
		readReply(&c.lr)
	}
	c.close()
}

func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nc.Close()
}

// ioText describes an I/O failure for a DSN, without the addresses and
// syscall noise of a *net.OpError.
func ioText(stage string, err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout " + stage
	case errors.Is(err, errBadReply):
		return "malformed reply " + stage
	case errors.Is(err, context.Canceled):
		return "delivery interrupted " + stage
	}
	return "connection lost " + stage
}

// ioFailure is the temporary failure of an I/O error (RFC 3463 X.4.2 bad
// connection).
func ioFailure(host, stage string, err error) error {
	return localFailure("4.4.2", ioText(stage, err), host, err)
}

// serverName is the TLS server name of a host: without a trailing dot.
func serverName(host string) string { return strings.TrimSuffix(host, ".") }
