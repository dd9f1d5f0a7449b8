// Package pop3test is a fake POP3 server for tests of POP3 clients: it
// serves a maildrop on 127.0.0.1, speaks enough of RFC 1939, 2449, 2595
// and 5034 (PLAIN) to check a client, records the commands it received,
// and removes deleted messages only on a successful QUIT, as RFC 1939 §6
// requires. A Hook can replace any reply to script failures.
//
// It is a test double, not a server: one maildrop, one user, no locks,
// and TOP sends the whole message.
package pop3test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message of the maildrop: its bytes (CRLF line ends, as
// a server stores them) and its unique-id.
type Message struct {
	UID  string
	Data []byte
}

// Options shape the server.
type Options struct {
	User, Password string
	// Capa is the CAPA listing; nil means USER, UIDL and TOP (and STLS
	// when TLS is set without Implicit).
	Capa   []string
	NoCapa bool // CAPA answers -ERR, as an RFC 1939-only server
	NoUIDL bool // UIDL answers -ERR
	// TLS offers STLS, or with Implicit is spoken from the first byte.
	TLS      *tls.Config
	Implicit bool
	// Hook sees every command line; when handled it sends reply (whole
	// lines with CRLF) instead of the normal answer. close ends the
	// session after the reply.
	Hook func(line string) (reply string, handled, close bool)
}

// Server is a running fake POP3 server.
type Server struct {
	Addr string

	o    Options
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	msgs []Message
	cmds []string
}

// Start serves msgs on 127.0.0.1 until the test ends.
func Start(t testing.TB, o Options, msgs []Message) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), o: o, ln: ln, msgs: slices.Clone(msgs)}
	s.wg.Go(s.accept)
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// Messages returns the messages left in the maildrop.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Add puts a message into the maildrop; sessions that log in later see it.
func (s *Server) Add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

// Commands returns every command line received so far, PASS and AUTH
// arguments included.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds)
}

func (s *Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer nc.Close()
			s.serve(nc)
		})
	}
}

type session struct {
	s       *Server
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	isTLS   bool
	user    string
	authed  bool
	msgs    []Message // snapshot at login
	deleted map[int]bool
}

func (ss *session) reply(format string, a ...any) { fmt.Fprintf(ss.bw, format+"\r\n", a...) }

func (ss *session) setConn(nc net.Conn) {
	ss.nc, ss.br, ss.bw = nc, bufio.NewReader(nc), bufio.NewWriter(nc)
}

func (s *Server) serve(nc net.Conn) {
	ss := &session{s: s, deleted: map[int]bool{}}
	ss.setConn(nc)
	if s.o.Implicit && s.o.TLS != nil {
		tc := tls.Server(nc, s.o.TLS)
		if tc.Handshake() != nil {
			return
		}
		ss.setConn(tc)
		ss.isTLS = true
	}
	ss.reply("+OK pop3test ready")
	for {
		if ss.bw.Flush() != nil {
			return
		}
		ss.nc.SetDeadline(time.Now().Add(time.Minute))
		line, err := ss.br.ReadString('\n')
		if err != nil || len(line) > 4096 {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		s.mu.Unlock()
		if s.o.Hook != nil {
			if r, ok, end := s.o.Hook(line); ok {
				ss.bw.WriteString(r)
				if end {
					ss.bw.Flush()
					return
				}
				continue
			}
		}
		if !ss.command(line) {
			ss.bw.Flush()
			return
		}
	}
}

// command answers one line; false ends the session.
func (ss *session) command(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	o := &ss.s.o
	if !ss.authed {
		switch verb {
		case "CAPA", "USER", "PASS", "AUTH", "STLS", "QUIT":
		default:
			ss.reply("-ERR not logged in")
			return true
		}
	}
	switch verb {
	case "CAPA":
		ss.capa()
	case "STLS":
		if o.TLS == nil || ss.isTLS {
			ss.reply("-ERR STLS not available")
			return true
		}
		ss.reply("+OK begin TLS")
		ss.bw.Flush()
		tc := tls.Server(ss.nc, o.TLS)
		if tc.Handshake() != nil {
			return false
		}
		ss.setConn(tc)
		ss.isTLS = true
	case "USER":
		ss.user = arg
		ss.reply("+OK")
	case "PASS":
		ss.login(ss.user, arg)
	case "AUTH":
		mech, resp, _ := strings.Cut(arg, " ")
		b, err := base64.StdEncoding.DecodeString(resp)
		parts := strings.Split(string(b), "\x00")
		if !strings.EqualFold(mech, "PLAIN") || err != nil || len(parts) != 3 {
			ss.reply("-ERR [AUTH] bad AUTH")
			return true
		}
		ss.login(parts[1], parts[2])
	case "QUIT":
		ss.quit()
		return false
	default:
		ss.transaction(verb, arg)
	}
	return true
}

func (ss *session) capa() {
	o := &ss.s.o
	if o.NoCapa {
		ss.reply("-ERR unknown command")
		return
	}
	caps := o.Capa
	if caps == nil {
		caps = []string{"USER", "UIDL", "TOP"}
		if o.TLS != nil && !o.Implicit && !ss.isTLS {
			caps = append(caps, "STLS")
		}
	}
	ss.reply("+OK capabilities")
	for _, c := range caps {
		ss.reply("%s", c)
	}
	ss.reply(".")
}

func (ss *session) login(user, pass string) {
	o := &ss.s.o
	if user != o.User || pass != o.Password {
		ss.reply("-ERR [AUTH] invalid user name or password")
		return
	}
	ss.authed = true
	ss.s.mu.Lock()
	ss.msgs = slices.Clone(ss.s.msgs)
	ss.s.mu.Unlock()
	ss.reply("+OK %d messages", len(ss.msgs))
}

func (ss *session) quit() {
	if ss.authed && len(ss.deleted) > 0 {
		s := ss.s
		s.mu.Lock()
		s.msgs = slices.DeleteFunc(s.msgs, func(m Message) bool {
			for i := range ss.deleted {
				if ss.msgs[i-1].UID == m.UID {
					return true
				}
			}
			return false
		})
		s.mu.Unlock()
	}
	ss.reply("+OK bye")
}

// msg returns message n (1-based) if it exists and is not deleted.
func (ss *session) msg(arg string) (int, bool) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(ss.msgs) || ss.deleted[n] {
		ss.reply("-ERR no such message")
		return 0, false
	}
	return n, true
}

func (ss *session) transaction(verb, arg string) {
	switch verb {
	case "STAT":
		var n, size int
		for i, m := range ss.msgs {
			if !ss.deleted[i+1] {
				n, size = n+1, size+len(m.Data)
			}
		}
		ss.reply("+OK %d %d", n, size)
	case "LIST", "UIDL":
		if verb == "UIDL" && ss.s.o.NoUIDL {
			ss.reply("-ERR UIDL not supported")
			return
		}
		if arg != "" {
			if n, ok := ss.msg(arg); ok {
				ss.reply("+OK %d %s", n, ss.field(verb, n))
			}
			return
		}
		ss.reply("+OK listing follows")
		for i := range ss.msgs {
			if !ss.deleted[i+1] {
				ss.reply("%d %s", i+1, ss.field(verb, i+1))
			}
		}
		ss.reply(".")
	case "RETR", "TOP":
		num, _, _ := strings.Cut(arg, " ")
		if n, ok := ss.msg(num); ok {
			ss.reply("+OK %d octets", len(ss.msgs[n-1].Data))
			ss.writeStuffed(ss.msgs[n-1].Data)
		}
	case "DELE":
		if n, ok := ss.msg(arg); ok {
			ss.deleted[n] = true
			ss.reply("+OK deleted")
		}
	case "RSET":
		clear(ss.deleted)
		ss.reply("+OK")
	case "NOOP":
		ss.reply("+OK")
	default:
		ss.reply("-ERR unknown command")
	}
}

func (ss *session) field(verb string, n int) string {
	if verb == "LIST" {
		return strconv.Itoa(len(ss.msgs[n-1].Data))
	}
	return ss.msgs[n-1].UID
}

// writeStuffed sends data as a multi-line body (RFC 1939 §3).
func (ss *session) writeStuffed(data []byte) {
	s := string(data)
	for s != "" {
		line, rest, found := strings.Cut(s, "\n")
		if found {
			line += "\n"
		}
		if strings.HasPrefix(line, ".") {
			ss.bw.WriteByte('.')
		}
		ss.bw.WriteString(line)
		s = rest
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ss.bw.WriteString("\r\n")
	}
	ss.reply(".")
}
