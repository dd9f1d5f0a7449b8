package smtpserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("smtpserver: server closed")

// Server runs SMTP sessions for one listener configuration.
type Server struct {
	cfg  Config
	be   Backend
	log  *slog.Logger
	m    *Metrics
	wg   sync.WaitGroup
	stop atomic.Bool // Shutdown has begun

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
}

// New makes a server. log may be nil (slog.Default); m may be nil.
func New(cfg Config, be Backend, log *slog.Logger, m *Metrics) *Server {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	return &Server{
		cfg: cfg, be: be, m: m,
		log:       log.With("listener", cfg.ListenerName),
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
	}
}

// Serve accepts connections on ln and runs a session for each until
// Shutdown (then it returns ErrServerClosed) or until ctx is cancelled,
// which closes ln and every connection at once. MaxConnections is
// counted per Serve call, that is, per listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.stop.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	stopAfter := context.AfterFunc(ctx, func() {
		ln.Close()
		s.closeSessions()
	})
	defer stopAfter()

	var active atomic.Int64
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.stop.Load() {
				return ErrServerClosed
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait a little, as
			// net/http does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("smtp accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		backoff = 0
		if max := s.cfg.MaxConnections; max > 0 && active.Load() >= int64(max) {
			s.refuse(conn)
			continue
		}
		s.mu.Lock()
		if s.stop.Load() {
			s.mu.Unlock()
			conn.Close()
			return ErrServerClosed
		}
		active.Add(1)
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer active.Add(-1)
			s.serveConn(ctx, conn)
		}()
	}
}

// refuse answers a connection over MaxConnections with 421 and closes it.
// The enhanced code is sent although no EHLO was seen, as Postfix does:
// there is no session, and the text helps whoever reads the log. With
// implicit TLS nothing can be said in clear text, so it just closes.
func (s *Server) refuse(conn net.Conn) {
	s.m.refuse(s.cfg.ListenerName, "max_connections")
	if !s.cfg.ImplicitTLS {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte("421 4.7.0 " + s.cfg.Hostname + " Too many connections, try again later\r\n"))
	}
	conn.Close()
}

// Shutdown stops accepting, lets sessions finish their current
// transaction and then answers 421 4.3.2 to their next command; idle
// sessions get the 421 at once. At ctx's deadline every remaining
// connection is closed and ctx.Err() returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stop.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.interruptIfIdle()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeSessions()
		<-done
		return ctx.Err()
	}
}

// closeSessions closes every session's connection.
func (s *Server) closeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		ss.raw.Close()
	}
}

func (s *Server) addSession(ss *session) {
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	s.m.sessionDelta(s.cfg.ListenerName, 1)
}

func (s *Server) removeSession(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
	s.m.sessionDelta(s.cfg.ListenerName, -1)
}
