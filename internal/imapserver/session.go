package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// state is a session's IMAP state (RFC 9051 §3).
type state int

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout
)

// Buffer sizes: small, since an idle session keeps them.
const (
	readBufSize  = 4096
	writeBufSize = 4096
)

// session is one client connection.
type session struct {
	srv    *Server
	log    *slog.Logger
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	rd     *imapwire.Reader
	remote net.Addr
	isTLS  bool
	ctx    context.Context
	cancel context.CancelFunc

	state    state
	user     User
	userName string
	errors   int
	// authFailures counts failed logins in this session.
	authFailures int
	// tag is the tag of the command being executed.
	tag string

	// Extensions the client enabled (RFC 5161) or implied.
	rev2      bool // IMAP4rev2: UTF-8 names, no RECENT
	condstore bool // RFC 7162: MODSEQ in FETCH responses

	sel *selected // nil unless in the selected state

	reading   atomic.Bool // blocked reading a command: interruptible
	closing   atomic.Bool // Shutdown asked the session to end
	writeErr  error
	commands  int
	closeOnce sync.Once
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	s.m.sessionStarted()
	defer s.m.sessionEnded()
	ctx, cancel := context.WithCancel(ctx)
	ss := &session{
		srv:    s,
		conn:   conn,
		remote: conn.RemoteAddr(),
		ctx:    ctx,
		cancel: cancel,
		state:  stateNotAuth,
		log:    s.log.With("remote", conn.RemoteAddr().String()),
	}
	s.track(ss)
	defer s.untrack(ss)
	defer ss.close()
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.m.panicked()
			ss.log.Error("imap session panic", "panic", v, "stack", string(debug.Stack()))
			if s.onPanic != nil {
				s.onPanic(v)
			}
		}
		ss.log.Info("imap session", "commands", ss.commands, // the user is in ss.log after login
			"duration", time.Since(start).Round(time.Millisecond))
	}()
	if s.cfg.ImplicitTLS {
		tc := tls.Server(conn, s.cfg.TLS)
		conn.SetDeadline(time.Now().Add(rejectTimeout * 3))
		if err := tc.HandshakeContext(ctx); err != nil {
			ss.log.Debug("imaps handshake", "err", err)
			return
		}
		conn.SetDeadline(time.Time{})
		ss.conn, ss.isTLS = tc, true
	}
	ss.setConn(ss.conn)
	ss.greet()
	ss.run()
}

// setConn (re)builds the buffered reader and writer over c.
func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.br = bufio.NewReaderSize(c, readBufSize)
	ss.bw = bufio.NewWriterSize(deadlineWriter{c, ss.srv.cfg.WriteTimeout}, writeBufSize)
	cfg := ss.srv.cfg
	ss.rd = imapwire.NewReader(ss.br, imapwire.Limits{
		MaxLine: cfg.MaxLine, MaxLiteral: cfg.MaxLiteral, MaxCommand: cfg.MaxLiteral + int64(4*cfg.MaxLine),
	})
}

func (ss *session) greet() {
	ss.writef("* OK [CAPABILITY %s] %s posthorn IMAP ready\r\n", ss.capabilities(), ss.srv.cfg.Hostname)
	ss.flush()
}

// run reads and executes commands until the session ends.
func (ss *session) run() {
	for ss.state != stateLogout && ss.writeErr == nil {
		if ss.closing.Load() {
			ss.bye("server shutting down")
			return
		}
		line, err := ss.readCommand()
		if err != nil {
			if !ss.readFailed(err) {
				return
			}
			continue
		}
		ss.commands++
		ss.execute(line)
		if ss.br.Buffered() == 0 {
			ss.flush()
		}
		if ss.errors >= ss.srv.cfg.MaxErrors {
			ss.bye("too many errors")
			return
		}
	}
	ss.flush()
}

// readCommand waits for a command under the autologout timer.
func (ss *session) readCommand() (*imapwire.Line, error) {
	ss.flush()
	ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.IdleTimeout))
	ss.reading.Store(true)
	if ss.closing.Load() {
		ss.conn.SetReadDeadline(time.Now())
	}
	line, err := ss.rd.ReadCommand(func() error {
		ss.writef("+ Ready for literal data\r\n")
		return ss.flush()
	})
	ss.reading.Store(false)
	return line, err
}

// readFailed handles a failed read and reports whether the session goes
// on.
func (ss *session) readFailed(err error) bool {
	var le *imapwire.LiteralError
	switch {
	case errors.Is(err, imapwire.ErrLineTooLong):
		ss.errors++
		tag := "*"
		var lt *imapwire.LineTooLongError
		if errors.As(err, &lt) {
			tag = lt.Tag
		}
		ss.writef("%s BAD [TOOBIG] command line too long\r\n", tag)
		return true
	case errors.As(err, &le):
		if le.Sync {
			// The client waits for "+" that never comes (RFC 7888 §4).
			ss.writef("%s NO [TOOBIG] literal too large\r\n", le.Tag)
			return true
		}
		ss.bye("[TOOBIG] literal too large")
		return false
	case errors.Is(err, os.ErrDeadlineExceeded):
		if ss.closing.Load() {
			ss.bye("server shutting down")
		} else {
			ss.bye("autologout: idle for too long")
		}
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return false
	default:
		ss.log.Debug("imap read", "err", err)
		return false
	}
}

func (ss *session) bye(text string) {
	ss.writef("* BYE %s\r\n", text)
	ss.flush()
	ss.state = stateLogout
}

// writef writes a formatted response; errors are sticky in writeErr.
func (ss *session) writef(format string, args ...any) {
	if ss.writeErr != nil {
		return
	}
	_, ss.writeErr = fmt.Fprintf(ss.bw, format, args...)
}

// write writes b as is.
func (ss *session) write(b []byte) {
	if ss.writeErr != nil {
		return
	}
	_, ss.writeErr = ss.bw.Write(b)
}

// flush sends buffered responses under the write timeout.
func (ss *session) flush() error {
	if ss.writeErr != nil || ss.bw.Buffered() == 0 {
		return ss.writeErr
	}
	ss.writeErr = ss.bw.Flush()
	return ss.writeErr
}

// close releases the mailbox and user and closes the connection.
func (ss *session) close() {
	ss.closeOnce.Do(func() {
		ss.unselect()
		if ss.user != nil {
			if err := ss.user.Logout(); err != nil {
				ss.log.Warn("imap logout", "err", err)
			}
			ss.srv.removeUser(ss.userName)
			ss.user = nil
		}
		ss.cancel()
		ss.conn.Close()
	})
}

// interrupt asks the session to end at the next command boundary, at once
// if it is waiting for a command or in IDLE.
func (ss *session) interrupt() {
	ss.closing.Store(true)
	if ss.reading.Load() {
		ss.conn.SetReadDeadline(time.Now())
	}
}

// kill closes the connection and cancels backend calls.
func (ss *session) kill() {
	ss.cancel()
	ss.conn.Close()
}

// deadlineWriter gives each write to the client its own deadline, so that
// a long response to a slow but live client is not cut off, while a client
// that stops reading is.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.c.Write(p)
}
