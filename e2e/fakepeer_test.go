package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePeer is a small scripted SMTP server on 127.0.0.1 for the relay
// failure cases: what it does is chosen by the transaction's number (0
// for the first MAIL; a new connection asks with the number the next MAIL
// would get, for peerSilent), so "4xx, then accept" is one function. It
// counts transactions rather than connections because posthorn may reuse
// a connection for the retry. It records every MAIL command and every
// accepted message.

// peerMode is what a fake peer does in one transaction.
type peerMode int

const (
	peerAccept     peerMode = iota // accept everything
	peerRcptReply                  // answer RCPT with the peer's reply text
	peerDropInData                 // read the first line of the data, then close the connection
	peerSilent                     // accept the TCP connection and never say anything
)

type fakePeer struct {
	t     testing.TB
	ln    net.Listener
	Addr  string
	ext   []string // EHLO keywords (8BITMIME, SIZE, ...)
	mode  func(txn int) peerMode
	reply string // for peerRcptReply, e.g. "451 4.3.2 busy"

	mu       sync.Mutex
	conns    int
	mails    []string // MAIL FROM lines as received
	accepted [][]byte // message data, dot-unstuffed, CRLF
	hangups  int      // connections the client closed while we were silent
	stopped  chan struct{}
	wg       sync.WaitGroup
}

// startFakePeer listens on 127.0.0.1 at a free port and serves until the
// test ends.
func startFakePeer(t testing.TB, ext []string, reply string, mode func(int) peerMode) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", freeAddr(t))
	if err != nil {
		t.Fatalf("fake peer: %v", err)
	}
	p := &fakePeer{t: t, ln: ln, Addr: ln.Addr().String(), ext: ext, mode: mode, reply: reply, stopped: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		close(p.stopped)
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *fakePeer) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns++
		silent := p.mode(len(p.mails)) == peerSilent
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			p.session(c, silent)
		}()
	}
}

// Conns is the number of connections so far.
func (p *fakePeer) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// Accepted returns the messages accepted so far.
func (p *fakePeer) Accepted() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.accepted...)
}

// Txns is the number of transactions (MAIL commands) so far.
func (p *fakePeer) Txns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mails)
}

// Mails returns the MAIL FROM lines received so far.
func (p *fakePeer) Mails() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.mails...)
}

// Hangups is the number of silent connections the client gave up on.
func (p *fakePeer) Hangups() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hangups
}

// session runs one connection; every read has a deadline, so a client
// that stalls cannot keep the test waiting.
func (p *fakePeer) session(c net.Conn, silent bool) {
	r := bufio.NewReaderSize(c, 4096)
	mode := peerAccept
	if silent {
		// Wait for the client to give up (EOF) or the test to end.
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				select {
				case <-p.stopped:
				default:
					p.mu.Lock()
					p.hangups++
					p.mu.Unlock()
				}
				return
			}
		}
	}
	w := func(s string) bool {
		_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
		_, err := c.Write([]byte(s))
		return err == nil
	}
	if !w("220 fake.peer.test ESMTP fake\r\n") {
		return
	}
	for {
		line, err := readLimited(c, r)
		if err != nil {
			return
		}
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO"):
			w(ehloReply(p.ext))
		case strings.HasPrefix(verb, "HELO"):
			w("250 fake.peer.test\r\n")
		case strings.HasPrefix(verb, "MAIL"):
			p.mu.Lock()
			mode = p.mode(len(p.mails))
			p.mails = append(p.mails, line)
			p.mu.Unlock()
			w("250 2.1.0 ok\r\n")
		case strings.HasPrefix(verb, "RCPT"):
			if mode == peerRcptReply {
				w(p.reply + "\r\n")
			} else {
				w("250 2.1.5 ok\r\n")
			}
		case verb == "DATA":
			w("354 go ahead\r\n")
			if !p.data(c, r, mode) {
				return
			}
			w("250 2.0.0 queued as fake\r\n")
		case verb == "QUIT":
			w("221 2.0.0 bye\r\n")
			return
		case verb == "RSET" || verb == "NOOP":
			w("250 2.0.0 ok\r\n")
		default:
			w("502 5.5.1 not implemented\r\n")
		}
	}
}

// data reads a message up to the final dot; with peerDropInData it reads
// one line and reports false (the caller closes the connection).
func (p *fakePeer) data(c net.Conn, r *bufio.Reader, mode peerMode) bool {
	var msg []byte
	for {
		line, err := readLimited(c, r)
		if err != nil {
			return false
		}
		if mode == peerDropInData {
			return false
		}
		if line == "." {
			break
		}
		line = strings.TrimPrefix(line, ".")
		msg = append(msg, line...)
		msg = append(msg, "\r\n"...)
	}
	p.mu.Lock()
	p.accepted = append(p.accepted, msg)
	p.mu.Unlock()
	return true
}

func ehloReply(ext []string) string {
	lines := append([]string{"fake.peer.test"}, ext...)
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(&b, "250%s%s\r\n", sep, l)
	}
	return b.String()
}

// readLimited reads one line (without its CRLF) of at most 64 KiB within
// ioTimeout.
func readLimited(c net.Conn, r *bufio.Reader) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > 64<<10 {
			return "", fmt.Errorf("line over 64 KiB")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}
