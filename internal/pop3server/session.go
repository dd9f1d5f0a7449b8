package pop3server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"time"
)

const (
	// maxCommandLine bounds a command line with its CRLF: RFC 2449 §4
	// allows 255 octets; the slack is for clients that send long
	// passwords or trailing blanks.
	maxCommandLine = 512
	// maxAuthLine bounds a SASL response line (RFC 5034 §4 sets none).
	// A PLAIN response of three 255-octet fields is 1,020 octets in
	// base64.
	maxAuthLine = 4096
	// maxDiscard is how much of an over-long line is skipped to stay in
	// step with the client before the session is ended instead.
	maxDiscard = 1 << 20
	// maxErrors client-caused -ERR replies end the session.
	maxErrors = 10
	// handshakeTimeout bounds a TLS handshake (also by IdleTimeout).
	handshakeTimeout = 30 * time.Second

	readBufSize  = 4096
	writeBufSize = 32 << 10
	copyBufSize  = 16 << 10
)

var (
	errLineTooLong = errors.New("line too long")
	errFlood       = errors.New("line too long, closing")
	errShutdown    = errors.New("server shutting down")
	errTooMany     = errors.New("too many errors")
)

// state is a POP3 session state (RFC 1939 §3), a bit so that a command
// can name the set of states it is valid in.
type state uint8

const (
	stateAuthorization state = 1 << iota
	stateTransaction
	stateUpdate
)

// session is one POP3 connection. Only its own goroutine touches it,
// except raw and cancel, which Shutdown uses (both are safe for that).
type session struct {
	srv    *Server
	raw    net.Conn // the accepted connection: deadlines and close
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time

	conn net.Conn // raw, or the TLS connection over it
	br   *bufio.Reader
	bw   *bufio.Writer
	wd   *deadlineWriter // under bw
	tls  bool

	state    state
	user     string // name given by USER, waiting for PASS
	loggedIn string // the name last tried or logged in, for the log
	md       Maildrop
	msgs     []MessageInfo
	deleted  []bool
	ndeleted int
	live     int   // messages not marked deleted
	liveSize int64 // their octets

	errors    int
	quit      bool
	end       string // why the session ended, for the log
	cause     error  // the last failure worth logging
	retrieved int
	committed int
	bytes     int64

	line    []byte // reused by readLine
	scratch []byte // reused for formatting list lines
	copyBuf []byte // reused by RETR and TOP
}

// serveConn runs one session on conn and closes it.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	ss := &session{srv: s, raw: conn, ctx: ctx, cancel: cancel, start: time.Now(),
		state: stateAuthorization}
	// Cancelling Serve's ctx is a hard stop: unblock any read or write.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	s.track(ss)
	s.m.sessionStarted()
	defer func() {
		if v := recover(); v != nil {
			ss.end = "panic"
			ss.cause = fmt.Errorf("panic: %v", v)
			s.m.panicked()
			s.log.Error("pop3 session panic", "remote", conn.RemoteAddr().String(),
				"panic", v, "stack", string(debug.Stack()))
			if s.onPanic != nil {
				s.onPanic(v)
			}
		}
		stop()
		conn.Close()
		ss.finish()
		cancel()
		s.untrack(ss)
		s.m.sessionEnded()
	}()
	ss.run()
}

// run is the session: greeting, then one command at a time.
func (ss *session) run() {
	if ss.srv.cfg.ImplicitTLS {
		if err := ss.startTLS(); err != nil {
			ss.stop(err)
			return
		}
	} else {
		ss.setConn(ss.raw)
	}
	ss.reply("+OK posthorn POP3 server ready")
	for !ss.quit {
		line, err := ss.readLine(maxCommandLine)
		if errors.Is(err, errLineTooLong) {
			ss.fail("line too long")
		} else if err != nil {
			ss.stop(err)
			return
		} else if err := ss.dispatch(line); err != nil {
			ss.stop(err)
			return
		}
		if ss.errors >= maxErrors {
			ss.stop(errTooMany)
			return
		}
	}
	if err := ss.bw.Flush(); err != nil {
		ss.stop(err)
		return
	}
	ss.end = "quit"
}

// dispatch parses and runs one command line. A non-nil error ends the
// session; protocol errors are replies, not errors.
func (ss *session) dispatch(line []byte) error {
	verb, arg := parseCommand(line)
	cmd, ok := lookupCommand(verb)
	switch {
	case !ok:
		ss.fail("unknown command")
	case cmd.states&ss.state == 0:
		ss.fail("command not valid in this state")
	default:
		return cmd.fn(ss, arg)
	}
	return nil
}

// stop records why the session ends and says goodbye where that helps.
func (ss *session) stop(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, errShutdown),
		errors.As(err, &ne) && ne.Timeout() && ss.srv.closing.Load():
		ss.end = "shutdown"
		ss.goodbye("-ERR [SYS/TEMP] server shutting down, try again later")
	case errors.As(err, &ne) && ne.Timeout():
		ss.end = "idle timeout"
		ss.goodbye("-ERR autologout, idle for too long")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		ss.end = "dropped"
	case errors.Is(err, errFlood):
		ss.end = "line flood"
		ss.goodbye("-ERR line too long, closing")
	case errors.Is(err, errTooMany):
		ss.end = "too many errors"
		ss.goodbye("") // the last -ERR is already buffered
	default:
		ss.end = "error"
		ss.cause = err
		ss.goodbye("") // what was buffered; never a "." after a failed message
	}
}

// goodbye sends a last line, best effort, without waiting long.
func (ss *session) goodbye(line string) {
	if ss.bw == nil {
		return
	}
	ss.wd.d = time.Second
	if line != "" {
		ss.reply(line)
	}
	ss.bw.Flush()
}

// finish releases the maildrop and writes the session's log line.
func (ss *session) finish() {
	if ss.md != nil {
		if err := ss.md.Close(); err != nil {
			ss.srv.log.Warn("pop3 maildrop close", "user", ss.loggedIn, "err", err)
		}
	}
	attrs := []any{
		"remote", ss.raw.RemoteAddr().String(),
		"user", ss.loggedIn,
		"tls", ss.tls,
		"retrieved", ss.retrieved,
		"deleted", ss.committed,
		"bytes", ss.bytes,
		"duration", time.Since(ss.start).Round(time.Millisecond),
		"end", ss.end,
	}
	if ss.cause != nil {
		attrs = append(attrs, "err", ss.cause.Error())
	}
	ss.srv.log.Info("pop3 session", attrs...)
}

// interrupt wakes a session waiting for input so it sees Shutdown.
func (ss *session) interrupt() { ss.raw.SetReadDeadline(time.Now()) }

// kill ends a session now: its connection and its backend calls.
func (ss *session) kill() {
	ss.cancel()
	ss.raw.Close()
}

// setConn switches the session to c. Resetting the reader drops
// anything buffered from the previous connection layer (RFC 2595 §4:
// commands sent before the TLS handshake must not be acted on).
func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.wd = &deadlineWriter{c: c, raw: ss.raw, d: ss.srv.cfg.IdleTimeout}
	if ss.br == nil {
		ss.br = bufio.NewReaderSize(c, readBufSize)
		ss.bw = bufio.NewWriterSize(ss.wd, writeBufSize)
		return
	}
	ss.br.Reset(c)
	ss.bw.Reset(ss.wd)
}

// startTLS runs the server side of a TLS handshake on the raw connection.
func (ss *session) startTLS() error {
	tc := tls.Server(ss.raw, ss.srv.cfg.TLS)
	d := min(handshakeTimeout, ss.srv.cfg.IdleTimeout)
	ss.raw.SetDeadline(time.Now().Add(d))
	ctx, cancel := context.WithTimeout(ss.ctx, d)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	ss.raw.SetDeadline(time.Time{})
	ss.setConn(tc)
	ss.tls = true
	return nil
}

// deadlineWriter gives every write to the client IdleTimeout to finish,
// so a client that stops reading cannot hold a session forever.
type deadlineWriter struct {
	c   net.Conn
	raw net.Conn
	d   time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.raw.SetWriteDeadline(time.Now().Add(w.d))
	return w.c.Write(p)
}

// readLine reads one line of at most max octets (CRLF included) and
// returns it without its line ending; the slice is valid until the next
// call. An over-long line is skipped to its end and reported as
// errLineTooLong. Replies are flushed first unless a complete line is
// already buffered (RFC 2449 §6.6: pipelined replies may be batched).
func (ss *session) readLine(max int) ([]byte, error) {
	if !ss.lineBuffered() {
		if err := ss.bw.Flush(); err != nil {
			return nil, err
		}
	}
	ss.raw.SetReadDeadline(time.Now().Add(ss.srv.cfg.IdleTimeout))
	// Checked after the deadline is set: Shutdown sets closing before it
	// moves deadlines to now, so one of the two always stops this read.
	if ss.srv.closing.Load() {
		return nil, errShutdown
	}
	buf := ss.line[:0]
	total, tooLong := 0, false
	for {
		frag, err := ss.br.ReadSlice('\n')
		total += len(frag)
		if !tooLong && len(buf)+len(frag) <= max {
			buf = append(buf, frag...)
		} else {
			tooLong = true
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if total > maxDiscard {
			return nil, errFlood
		}
	}
	ss.line = buf
	if tooLong {
		return nil, errLineTooLong
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	return bytes.TrimSuffix(buf, []byte("\r")), nil
}

// lineBuffered reports whether a whole command waits in the reader.
func (ss *session) lineBuffered() bool {
	n := ss.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := ss.br.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// reply buffers one line and its CRLF.
func (ss *session) reply(line string) {
	ss.bw.WriteString(line)
	ss.bw.WriteString("\r\n")
}

// fail sends -ERR for a client mistake, which counts toward maxErrors.
func (ss *session) fail(text string) {
	ss.errors++
	ss.reply("-ERR " + text)
}

// failSys sends -ERR for a server-side failure, which does not count.
func (ss *session) failSys(text string, err error) {
	ss.cause = err
	ss.reply("-ERR " + text)
}

// listLine buffers "n size" (LIST) without allocating.
func (ss *session) listLine(n int, size int64) {
	b := strconv.AppendInt(ss.scratch[:0], int64(n), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, size, 10)
	ss.scratch = append(b, '\r', '\n')
	ss.bw.Write(ss.scratch)
}

// uidLine buffers "n uid" (UIDL) without allocating.
func (ss *session) uidLine(n int, uid string) {
	b := strconv.AppendInt(ss.scratch[:0], int64(n), 10)
	b = append(b, ' ')
	b = append(b, uid...)
	ss.scratch = append(b, '\r', '\n')
	ss.bw.Write(ss.scratch)
}
