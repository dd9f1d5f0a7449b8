package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// rejectTimeout bounds the time spent telling a connection over the limit
// that it is refused (including a pop3s handshake).
const rejectTimeout = 10 * time.Second

// Server accepts POP3 connections and runs one session per connection.
type Server struct {
	cfg Config
	be  Backend
	log *slog.Logger
	m   *Metrics

	closing atomic.Bool
	active  atomic.Int64
	wg      sync.WaitGroup

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}

	// perUser counts logged-in sessions per user name.
	perUser map[string]int

	// onPanic, when set (tests, fuzzing), sees every recovered panic.
	onPanic func(v any)

	// outBufs holds *[]byte response buffers of outBufSize for long
	// responses (FETCH of many messages): taken per command, so an idle
	// session keeps none.
	outBufs sync.Pool
}

// New makes a Server. log may be nil (nothing logged); m may be nil.
func New(cfg Config, be Backend, log *slog.Logger, m *Metrics) *Server {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:       cfg,
		be:        be,
		log:       log,
		m:         m,
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*session]struct{}),
		perUser:   make(map[string]int),
	}
}

// errClosed is returned by Serve on a Server that was shut down.
var errClosed = errors.New("imapserver: server closed")

// Serve accepts connections on ln until Shutdown is called or ctx is
// done, and then returns nil; it returns the listener's error if Accept
// fails for good. Serve closes ln. Cancelling ctx is a hard stop: it also
// closes every session's connection started by this call. Shutdown is the
// graceful stop, and the one that waits for sessions to end.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.ImplicitTLS && s.cfg.TLS == nil {
		ln.Close()
		return errors.New("imapserver: ImplicitTLS needs a TLS config")
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return errClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait, as
				// net/http does, rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("imap accept", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("imapserver: accept: %w", err)
		}
		backoff = 0
		s.accept(ctx, conn)
	}
}

// accept starts a session for conn, or refuses it over MaxConnections.
func (s *Server) accept(ctx context.Context, conn net.Conn) {
	if n := s.active.Add(1); s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections) {
		s.active.Add(-1)
		s.m.connectionRejected()
		go s.reject(conn)
		return
	}
	// Add under mu, which Shutdown holds while it sets closing, so that
	// no Add races with its Wait.
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		s.active.Add(-1)
		conn.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.active.Add(-1)
		s.serveConn(ctx, conn)
	}()
}

// reject tells a connection over the limit to come back later and closes
// it (RFC 9051 §7.1.5 BYE as the greeting).
func (s *Server) reject(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(rejectTimeout))
	var c net.Conn = conn
	if s.cfg.ImplicitTLS {
		c = tls.Server(conn, s.cfg.TLS)
	}
	c.Write([]byte("* BYE [UNAVAILABLE] too many connections, try again later\r\n"))
	s.log.Info("imap connection refused", "remote", conn.RemoteAddr().String(),
		"reason", "max_connections")
}

// Shutdown stops accepting, ends idle sessions (and IDLE commands) at
// once with "* BYE" and busy ones after their current command, and waits
// for them. When ctx is done first, it closes the remaining
// connections, cancels their backend calls and returns ctx.Err() without
// waiting further.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for ss := range s.sessions {
		ss.interrupt()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for ss := range s.sessions {
			ss.kill()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *Server) track(ss *session) {
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) untrack(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// addUser counts a logged-in session of user and reports whether it is
// within MaxSessionsPerUser.
func (s *Server) addUser(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[user] >= s.cfg.MaxSessionsPerUser {
		return false
	}
	s.perUser[user]++
	return true
}

func (s *Server) removeUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[user]--; s.perUser[user] <= 0 {
		delete(s.perUser, user)
	}
}
