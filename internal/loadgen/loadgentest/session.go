package loadgentest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
)

const maxLine = 4096

// session is one connection's state.
type session struct {
	s      *Sink
	id     int
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	isTLS  bool
	authed bool
	from   string
	to     []string
	inMail bool
}

func (ss *session) setConn(nc net.Conn) {
	ss.nc = nc
	ss.br = bufio.NewReaderSize(nc, maxLine)
	ss.bw = bufio.NewWriter(nc)
}

func (ss *session) reply(format string, a ...any) {
	fmt.Fprintf(ss.bw, format+"\r\n", a...)
}

// readLine returns one line without its CRLF; false on error or overflow.
func (ss *session) readLine() (string, bool) {
	line, err := ss.br.ReadSlice('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimRight(string(line), "\r\n"), true
}

func (ss *session) startTLS() bool {
	tc := tls.Server(ss.nc, ss.s.o.TLS)
	if tc.Handshake() != nil {
		return false
	}
	ss.setConn(tc)
	ss.isTLS = true
	ss.s.count(func(st *Stats) { st.TLSConnections++ })
	return true
}

func code(f func(string) int, arg string, ok int) int {
	if f == nil {
		return ok
	}
	if c := f(arg); c != 0 {
		return c
	}
	return ok
}

// command handles one command line; false ends the session.
func (ss *session) command(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	o := &ss.s.o
	switch strings.ToUpper(verb) {
	case "EHLO":
		ss.reset()
		ss.reply("250-loadgentest")
		if o.Pipelining {
			ss.reply("250-PIPELINING")
		}
		if o.TLS != nil && !ss.isTLS {
			ss.reply("250-STARTTLS")
		}
		if o.User != "" {
			ss.reply("250-AUTH PLAIN")
		}
		ss.reply("250 SIZE 1000000000")
	case "STARTTLS":
		ss.reply("220 2.0.0 go ahead")
		ss.bw.Flush()
		ss.reset()
		return ss.startTLS()
	case "AUTH":
		ss.auth(arg)
	case "MAIL":
		ss.mail(arg)
	case "RCPT":
		if !ss.inMail {
			ss.reply("503 5.5.1 MAIL first")
			break
		}
		to := path(arg)
		c := code(o.RcptCode, to, 250)
		if c == 250 {
			ss.to = append(ss.to, to)
		}
		ss.reply("%d recipient %s", c, to)
	case "DATA":
		if len(ss.to) == 0 {
			ss.reply("554 5.5.1 no valid recipients")
			break
		}
		ss.reply("354 go ahead")
		ss.bw.Flush()
		return ss.data()
	case "RSET":
		ss.s.count(func(st *Stats) { st.Rsets++ })
		ss.reset()
		ss.reply("250 2.0.0 reset")
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

func (ss *session) reset() {
	ss.from, ss.to, ss.inMail = "", nil, false
}

func (ss *session) auth(arg string) {
	mech, resp, _ := strings.Cut(arg, " ")
	want := "\x00" + ss.s.o.User + "\x00" + ss.s.o.Password
	got, err := base64.StdEncoding.DecodeString(resp)
	if !strings.EqualFold(mech, "PLAIN") || err != nil || string(got) != want || ss.s.o.User == "" {
		ss.reply("535 5.7.8 authentication failed")
		return
	}
	ss.authed = true
	ss.s.count(func(st *Stats) { st.Auths++ })
	ss.reply("235 2.7.0 ok")
}

func (ss *session) mail(arg string) {
	piped := ss.br.Buffered() > 0
	ss.s.count(func(st *Stats) {
		st.MailCommands++
		if piped {
			st.PipelinedMail++
		}
	})
	switch {
	case ss.s.o.User != "" && !ss.authed:
		ss.reply("530 5.7.0 authentication required")
		return
	case ss.inMail:
		ss.reply("503 5.5.1 nested MAIL")
		return
	}
	from := path(arg)
	c := code(ss.s.o.MailCode, from, 250)
	if c == 250 {
		ss.from, ss.inMail = from, true
	}
	ss.reply("%d sender %s", c, from)
}

// path extracts the address between < and > of "FROM:<a> SIZE=1".
func path(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	p, _, _ := strings.Cut(rest, ">")
	return p
}

// data reads the message up to the lone dot and replies to it.
func (ss *session) data() bool {
	m := Message{Conn: ss.id, From: ss.from, To: ss.to}
	var header bytes.Buffer
	inHeader := true
	for {
		line, err := ss.br.ReadSlice('\n')
		if err != nil {
			return false
		}
		if string(line) == ".\r\n" {
			break
		}
		line = bytes.TrimPrefix(line, []byte(".")) // dot-unstuffing
		m.Size += len(line)
		if inHeader {
			header.Write(line)
			if s, ok := bytes.CutPrefix(line, []byte("Subject: ")); ok {
				m.Subject = strings.TrimRight(string(s), "\r\n")
			}
			inHeader = string(line) != "\r\n"
		}
	}
	m.Header = header.String()
	next, _ := ss.br.Peek(min(4, ss.br.Buffered()))
	var n int
	ss.s.count(func(st *Stats) {
		st.Messages = append(st.Messages, m)
		n = len(st.Messages)
		if strings.EqualFold(string(next), "MAIL") {
			st.MailAfterDot++
		}
	})
	c := code(ss.s.o.FinalCode, m.Subject, 250)
	ss.reply("%d message %d", c, n)
	ss.reset()
	return true
}
