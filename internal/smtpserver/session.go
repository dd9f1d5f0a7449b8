package smtpserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/smtp"
)

// readBufferSize is each session's read buffer. Small, because an idle
// connection must cost little; long lines are gathered by smtp.LineReader.
const readBufferSize = 4096

// outPool holds reply buffers: a session takes one when it has replies
// to send and gives it back when they are written, so idle sessions hold
// none.
var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// errQuit ends the command loop without an error to log.
var errQuit = errors.New("quit")

// session is one SMTP connection. Only its goroutine touches it, except
// mu-guarded idle and raw.Close from Shutdown.
type session struct {
	srv  *Server
	cfg  *Config
	raw  net.Conn      // the accepted connection; closing it ends everything
	conn net.Conn      // raw, or the TLS connection over it
	br   *bufio.Reader // small, or a large one during and right after DATA (datareader.go)
	lr   smtp.LineReader
	// small is the session's own reader; bigSrc feeds the large one.
	small  *bufio.Reader
	bigSrc *prefixReader
	out    *[]byte // pending replies, nil when there are none
	werr   error
	ctx    context.Context
	log    *slog.Logger
	info   ConnInfo

	mu   sync.Mutex
	idle bool // waiting for a command outside a transaction: Shutdown may interrupt

	inData   bool // reads are message data: each gets the DataBlock deadline
	helo     bool
	tx       *transaction
	errors   int
	commands int
	messages int
	quit     bool
	end      string // why the session ended, for the log
}

// transaction is the state between MAIL and the end of DATA/BDAT.
type transaction struct {
	t        Transaction
	from     string
	opts     MailOptions
	rcpts    []string
	rcptCmds int
	bdat     *bdatState
}

// connReader feeds the session's bufio.Reader. It writes pending replies
// before every read of the connection: bufio only reads when its buffer
// is empty, which is exactly RFC 2920's rule of flushing when no more
// input is waiting, and always before blocking.
type connReader struct{ s *session }

func (r connReader) Read(p []byte) (int, error) {
	s := r.s
	if err := s.flush(); err != nil {
		return 0, err
	}
	if s.inData {
		s.conn.SetReadDeadline(time.Now().Add(s.cfg.Timeouts.DataBlock))
	}
	return s.conn.Read(p)
}

func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// serveConn runs one session to its end.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	ss := &session{srv: s, cfg: &s.cfg, raw: conn, conn: conn, ctx: ctx}
	ss.info = ConnInfo{SessionID: newSessionID(), Remote: conn.RemoteAddr(), Local: conn.LocalAddr(), Listener: s.cfg.ListenerName}
	ss.log = s.log.With("session", ss.info.SessionID)
	ss.small = bufio.NewReaderSize(connReader{ss}, readBufferSize)
	ss.br = ss.small
	ss.lr.R = ss.br
	s.addSession(ss)
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.m.panicked(s.cfg.ListenerName)
			ss.log.Error("smtp session panic", "panic", v, "stack", string(debug.Stack()))
			ss.abortTx()
			ss.replyRaw(smtp.C421ServiceUnavail, smtp.E430SystemOther, s.cfg.Hostname+" Internal error, closing connection")
			ss.flush()
			ss.end = "panic"
		}
		conn.Close()
		s.removeSession(ss)
		tlsVersion := ""
		if ss.info.TLS != nil {
			tlsVersion = tls.VersionName(ss.info.TLS.Version)
		}
		ss.log.Info("smtp session", "remote", ss.info.Remote.String(), "helo", ss.info.Helo,
			"tls", tlsVersion, "auth", ss.info.AuthUser, "messages", ss.messages,
			"duration", time.Since(start).Round(time.Millisecond), "end", ss.end)
	}()
	ss.run()
}

// run is the command loop.
func (s *session) run() {
	defer s.abortTx()
	if s.cfg.ImplicitTLS {
		if err := s.handshake(s.cfg.Timeouts.Greeting); err != nil {
			s.end = "tls handshake: " + err.Error()
			return
		}
	}
	s.replyRaw(smtp.C220ServiceReady, "", s.cfg.Hostname+" ESMTP posthorn")
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeouts.Greeting))
	if err := s.flush(); err != nil {
		s.end = "write: " + err.Error()
		return
	}
	for !s.quit {
		line, err := s.readCommand()
		if err != nil {
			s.readFailed(err)
			if !errors.Is(err, smtp.ErrLineTooLong) {
				break
			}
		} else if err := s.dispatch(line); err != nil {
			if !errors.Is(err, errQuit) {
				s.end = err.Error()
			}
			break
		}
		if s.errors >= s.cfg.MaxErrors && !s.quit {
			s.srv.m.refuse(s.cfg.ListenerName, "too_many_errors")
			s.replyRaw(smtp.C421ServiceUnavail, smtp.E470Security, s.cfg.Hostname+" Too many errors, closing connection")
			s.end = "too many errors"
			s.quit = true
		}
	}
	s.flush()
	if s.end == "" {
		s.end = "quit"
	}
}

// readCommand reads one command line. Outside a transaction it lets
// Shutdown interrupt the wait; the first check sends 421 at once when
// Shutdown has already begun.
func (s *session) readCommand() ([]byte, error) {
	s.mu.Lock()
	if s.srv.stop.Load() && s.tx == nil {
		s.mu.Unlock()
		return nil, errShutdown
	}
	s.idle = s.tx == nil
	s.conn.SetReadDeadline(time.Now().Add(s.cfg.Timeouts.Command))
	s.mu.Unlock()
	limit := smtp.MaxCommandLine + smtp.RcptExtra
	if s.cfg.Auth != nil {
		limit = smtp.MaxAuthLine
	}
	s.shrinkReader()
	line, err := s.lr.ReadLine(limit)
	s.mu.Lock()
	s.idle = false
	s.mu.Unlock()
	if err != nil && s.srv.stop.Load() && isTimeout(err) {
		return nil, errShutdown
	}
	return line, err
}

var errShutdown = errors.New("server shutting down")

// interruptIfIdle wakes a session waiting for a command outside a
// transaction, so that it answers 421 and closes.
func (s *session) interruptIfIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle {
		s.conn.SetReadDeadline(time.Unix(1, 0))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// readFailed answers a failed command read, where an answer is possible.
func (s *session) readFailed(err error) {
	switch {
	case errors.Is(err, smtp.ErrLineTooLong):
		s.reply(smtp.C500SyntaxError, smtp.E552SyntaxError, "Line too long")
	case errors.Is(err, errShutdown):
		s.replyRaw(smtp.C421ServiceUnavail, s.enh(smtp.E432NotAccepting), s.cfg.Hostname+" Service shutting down, closing connection")
		s.end = "shutdown"
	case isTimeout(err):
		s.srv.m.refuse(s.cfg.ListenerName, "timeout")
		s.replyRaw(smtp.C421ServiceUnavail, s.enh(smtp.E442BadConnection), s.cfg.Hostname+" Timeout exceeded, closing connection")
		s.end = "timeout"
	case errors.Is(err, io.EOF):
		s.end = "client closed"
	default:
		s.end = "read: " + err.Error()
	}
	if !errors.Is(err, smtp.ErrLineTooLong) {
		// A short deadline: the client may be gone or not reading.
		s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	}
}

// enh returns the enhanced code when the client said EHLO (RFC 2034 §3).
func (s *session) enh(e string) string {
	if !s.info.ESMTP {
		return ""
	}
	return e
}

// reply queues a reply; the enhanced code is dropped unless the client
// said EHLO. 5xx replies count towards MaxErrors.
func (s *session) reply(code int, enhanced string, lines ...string) {
	if code >= 500 {
		s.errors++
	}
	s.replyRaw(code, s.enh(enhanced), lines...)
}

// replyErr queues the reply of an *smtp.Error.
func (s *session) replyErr(e *smtp.Error) { s.reply(e.Code, e.Enhanced, e.Msg) }

// replyRaw queues a reply as given.
func (s *session) replyRaw(code int, enhanced string, lines ...string) {
	s.srv.m.reply(s.cfg.ListenerName, code)
	if s.out == nil {
		s.out = outPool.Get().(*[]byte)
	}
	*s.out = smtp.Reply{Code: code, Enhanced: enhanced, Lines: lines}.AppendTo(*s.out)
}

// flush writes pending replies and gives the buffer back to the pool.
func (s *session) flush() error {
	if s.werr != nil {
		return s.werr
	}
	if s.out == nil {
		return nil
	}
	b := s.out
	s.out = nil
	if len(*b) > 0 {
		s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeouts.Command))
		_, s.werr = s.conn.Write(*b)
	}
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		outPool.Put(b)
	}
	if s.werr != nil {
		return fmt.Errorf("smtpserver: write reply: %w", s.werr)
	}
	return nil
}

// abortTx drops the current transaction, if any.
func (s *session) abortTx() {
	if s.tx != nil {
		if s.tx.t != nil {
			s.tx.t.Abort()
		}
		s.tx = nil
	}
}
