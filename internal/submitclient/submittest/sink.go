// Package submittest is an SMTP submission sink for tests of mail user
// agents: it listens on 127.0.0.1, requires AUTH when told to, and keeps
// every message whole (envelope and dot-unstuffed data), so a test can
// parse what was submitted. Reply can script a refusal of any command.
//
// It is a test double, not a server: RFC 5321 enough to check a client,
// RFC 3207 STARTTLS or RFC 8314 implicit TLS, RFC 4954 PLAIN and LOGIN.
package submittest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape the sink.
type Options struct {
	TLS      *tls.Config // offer STARTTLS, or with Implicit speak TLS at once
	Implicit bool
	// User and Password, when User is set, are required (AUTH PLAIN or
	// LOGIN) before MAIL.
	User, Password string
	Mechanisms     string // the AUTH keyword's list; "" means "PLAIN LOGIN"
	Size           int64  // announced SIZE limit; 0: none
	// Reply, when it returns a non-empty reply line (code and text), sends
	// it instead of the normal answer to the command line.
	Reply func(line string) string
}

// Message is one message the sink accepted.
type Message struct {
	From     string
	To       []string
	MailArgs string // MAIL FROM parameters after the path
	Data     []byte // dot-unstuffed, CRLF line ends, without the final dot
}

// Sink is a running SMTP sink.
type Sink struct {
	Addr string

	o    Options
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	msgs []Message
	cmds []string
}

// Start listens on 127.0.0.1 until the test ends.
func Start(t testing.TB, o Options) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: ln.Addr().String(), o: o, ln: ln}
	s.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { defer nc.Close(); s.serve(nc) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// Messages returns the accepted messages.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Commands returns every command line received.
func (s *Sink) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds)
}

type session struct {
	s      *Sink
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	isTLS  bool
	authed bool
	m      *Message
}

func (ss *session) reply(format string, a ...any) {
	fmt.Fprintf(ss.bw, format+"\r\n", a...)
}

func (ss *session) set(nc net.Conn) {
	ss.nc, ss.br, ss.bw = nc, bufio.NewReader(nc), bufio.NewWriter(nc)
}

func (ss *session) readLine() (string, bool) {
	ss.nc.SetDeadline(time.Now().Add(time.Minute))
	line, err := ss.br.ReadString('\n')
	if err != nil || len(line) > 1<<16 {
		return "", false
	}
	return strings.TrimRight(line, "\r\n"), true
}

func (s *Sink) serve(nc net.Conn) {
	ss := &session{s: s}
	ss.set(nc)
	if s.o.Implicit {
		tc := tls.Server(nc, s.o.TLS)
		if tc.Handshake() != nil {
			return
		}
		ss.set(tc)
		ss.isTLS = true
	}
	ss.reply("220 submittest ESMTP")
	for {
		if ss.bw.Flush() != nil {
			return
		}
		line, ok := ss.readLine()
		if !ok {
			return
		}
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		s.mu.Unlock()
		if s.o.Reply != nil {
			if r := s.o.Reply(line); r != "" {
				ss.reply("%s", r)
				continue
			}
		}
		if !ss.command(line) {
			ss.bw.Flush()
			return
		}
	}
}

func (ss *session) command(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	o := &ss.s.o
	switch strings.ToUpper(verb) {
	case "EHLO":
		ss.m = nil
		ss.reply("250-submittest")
		if o.TLS != nil && !o.Implicit && !ss.isTLS {
			ss.reply("250-STARTTLS")
		}
		if o.User != "" {
			mechs := o.Mechanisms
			if mechs == "" {
				mechs = "PLAIN LOGIN"
			}
			ss.reply("250-AUTH %s", mechs)
		}
		if o.Size > 0 {
			ss.reply("250-SIZE %d", o.Size)
		}
		ss.reply("250 8BITMIME")
	case "STARTTLS":
		ss.reply("220 2.0.0 go ahead")
		ss.bw.Flush()
		tc := tls.Server(ss.nc, o.TLS)
		if tc.Handshake() != nil {
			return false
		}
		ss.set(tc)
		ss.isTLS = true
	case "AUTH":
		ss.auth(arg)
	case "MAIL":
		if o.User != "" && !ss.authed {
			ss.reply("530 5.7.0 authentication required")
			break
		}
		from, rest := path(arg)
		ss.m = &Message{From: from, MailArgs: rest}
		ss.reply("250 2.1.0 ok")
	case "RCPT":
		if ss.m == nil {
			ss.reply("503 5.5.1 MAIL first")
			break
		}
		to, _ := path(arg)
		ss.m.To = append(ss.m.To, to)
		ss.reply("250 2.1.5 ok")
	case "DATA":
		if ss.m == nil || len(ss.m.To) == 0 {
			ss.reply("503 5.5.1 RCPT first")
			break
		}
		ss.reply("354 go ahead")
		ss.bw.Flush()
		return ss.data()
	case "RSET":
		ss.m = nil
		ss.reply("250 2.0.0 ok")
	case "NOOP":
		ss.reply("250 2.0.0 ok")
	case "QUIT":
		ss.reply("221 2.0.0 bye")
		return false
	default:
		ss.reply("500 5.5.2 unknown command")
	}
	return true
}

func (ss *session) auth(arg string) {
	o := &ss.s.o
	mech, resp, _ := strings.Cut(arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		b, _ := base64.StdEncoding.DecodeString(resp)
		if p := strings.Split(string(b), "\x00"); len(p) == 3 {
			user, pass = p[1], p[2]
		}
	case "LOGIN":
		var got []string
		for _, prompt := range []string{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"} {
			ss.reply("334 %s", prompt)
			ss.bw.Flush()
			l, ok := ss.readLine()
			b, _ := base64.StdEncoding.DecodeString(l)
			if !ok {
				return
			}
			got = append(got, string(b))
		}
		user, pass = got[0], got[1]
	}
	if o.User == "" || user != o.User || pass != o.Password {
		ss.reply("535 5.7.8 authentication credentials invalid")
		return
	}
	ss.authed = true
	ss.reply("235 2.7.0 ok")
}

// path splits "FROM:<a> SIZE=1" into the address and the parameters.
func path(arg string) (string, string) {
	_, rest, _ := strings.Cut(arg, "<")
	p, params, _ := strings.Cut(rest, ">")
	return p, strings.TrimSpace(params)
}

func (ss *session) data() bool {
	var buf bytes.Buffer
	for {
		ss.nc.SetDeadline(time.Now().Add(time.Minute))
		line, err := ss.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return false
		}
		if string(line) == ".\r\n" {
			break
		}
		if len(line) > 0 && line[0] == '.' && buf.Len() == 0 || bytes.HasSuffix(buf.Bytes(), []byte("\n")) && len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		buf.Write(line)
	}
	ss.m.Data = buf.Bytes()
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, *ss.m)
	ss.s.mu.Unlock()
	ss.m = nil
	ss.reply("250 2.0.0 queued")
	return true
}
