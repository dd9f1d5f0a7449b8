// Package loadgentest is an SMTP sink for tests of the load generator: it
// accepts what it is sent on 127.0.0.1, counts it, and records how the
// commands arrived (pipelined or not, on how many connections).
//
// It is a test double, not a server: it speaks enough of RFC 5321, 2920
// (it batches replies and flushes only when no input is waiting, as
// Postfix does), 3207 and 4954 (PLAIN) to check a client, and nothing
// more. Lines are bounded; each read has a deadline.
package loadgentest

import (
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"
)

// Options shape the sink's behaviour.
type Options struct {
	Pipelining bool        // announce PIPELINING
	TLS        *tls.Config // offer STARTTLS (or, with Implicit, require TLS)
	Implicit   bool        // TLS from the first byte
	User       string      // require AUTH PLAIN with User and Password before MAIL
	Password   string
	// Codes for replies other than success; 0 means success. Subject is
	// the Subject header's value of the message just received.
	MailCode  func(from string) int
	RcptCode  func(to string) int
	FinalCode func(subject string) int
}

// Message is one message the sink received.
type Message struct {
	Conn    int // which connection (1-based, in accept order)
	From    string
	To      []string
	Size    int // bytes after dot-unstuffing, without the final dot
	Subject string
	Header  string // the header section, CRLFs included
}

// Stats is what the sink saw.
type Stats struct {
	Connections    int
	TLSConnections int
	Auths          int // successful AUTH PLAIN
	Messages       []Message
	MailCommands   int
	PipelinedMail  int // MAIL commands with more input already buffered behind them
	MailAfterDot   int // end-of-data dots with the next MAIL already buffered behind them
	Rsets          int
}

// Sink is a running SMTP sink.
type Sink struct {
	Addr string // host:port to connect to

	o     Options
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	st    Stats
	conns map[net.Conn]bool
}

// Start listens on 127.0.0.1 and serves until the test ends.
func Start(t testing.TB, o Options) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: ln.Addr().String(), o: o, ln: ln, conns: make(map[net.Conn]bool)}
	s.wg.Go(s.accept)
	t.Cleanup(s.Close)
	return s
}

func (s *Sink) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.st.Connections++
		id := s.st.Connections
		s.conns[nc] = true
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
				nc.Close()
			}()
			s.serve(nc, id)
		})
	}
}

// Close stops the sink and waits for its connections to end.
func (s *Sink) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Stats returns a copy of what the sink has seen so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Messages = append([]Message(nil), s.st.Messages...)
	return st
}

func (s *Sink) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.st)
	s.mu.Unlock()
}

func (s *Sink) serve(nc net.Conn, id int) {
	ss := &session{s: s, id: id}
	ss.setConn(nc)
	if s.o.Implicit {
		if !ss.startTLS() {
			return
		}
	}
	ss.reply("220 loadgentest ESMTP sink")
	ss.bw.Flush()
	for {
		ss.nc.SetDeadline(time.Now().Add(time.Minute))
		line, ok := ss.readLine()
		if !ok || !ss.command(line) {
			ss.bw.Flush()
			return
		}
		// Reply batching (RFC 2920 §3.2): flush only when the client has
		// nothing more queued.
		if ss.br.Buffered() == 0 {
			if ss.bw.Flush() != nil {
				return
			}
		}
	}
}
