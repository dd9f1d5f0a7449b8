package imapserver_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/imapserver/memback"
)

// pipeListener hands out the server ends of net.Pipe connections.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial() net.Conn {
	c, s := net.Pipe()
	l.conns <- s
	return c
}

// FuzzParseCommand feeds arbitrary command streams to a logged-in session
// with a selected mailbox: no input may panic the engine or hang it.
func FuzzParseCommand(f *testing.F) {
	seeds := []string{
		"a FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[1.HEADER.FIELDS (From)]<0.10>)\r\n",
		"a UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM x NOT SEEN) HEADER Subject {3+}\r\nabc\r\n",
		"a STORE 1 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Seen $x)\r\na EXPUNGE\r\n",
		"a APPEND INBOX (\\Seen) \" 1-Jan-2024 00:00:00 +0000\" {5+}\r\nhello\r\n",
		"a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (STATUS (MESSAGES))\r\n",
		"a MOVE 1 Trash\r\na COPY 1:* Archive\r\na IDLE\r\nDONE\r\n",
		"0 IDLE",
		"a CREATE x/y (USE (\\Sent))\r\na RENAME x z\r\na STATUS z (MESSAGES SIZE)\r\n",
		"a FETCH 2 (BINARY[2] BINARY.SIZE[1] BODY[2.MIME] RFC822.TEXT)\r\n",
		"a ENABLE IMAP4rev2 CONDSTORE\r\na SELECT INBOX (CONDSTORE)\r\na UID FETCH 1:* FLAGS (CHANGEDSINCE 1)\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// A fresh backend each time: COPY 1:* into the selected mailbox
		// doubles it, and state must not pile up across inputs.
		be := memback.New()
		be.AddUser("alice", "secret")
		be.SetQuota("alice", 1<<20)
		for _, m := range []string{msg1, msg2} {
			be.Deliver("alice", "INBOX", []byte(m), nil, testDate)
		}
		srv := imapserver.New(imapserver.Config{AllowPlaintextAuth: true, MaxLiteral: 4096, MaxLine: 2048},
			be, nil, nil)
		imapserver.SetOnPanic(srv, func(v any) { t.Errorf("panic: %v", v) })
		ln := newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan struct{})
		go func() { srv.Serve(ctx, ln); close(served) }()
		defer func() {
			sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			cancel()
			<-served
		}()
		c := ln.dial()
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		out := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(c)
			out <- b
		}()
		// Inputs that log out early cannot take the rest: ignore errors.
		io.WriteString(c, "L LOGIN alice secret\r\nS SELECT INBOX\r\n")
		c.Write(in)
		// DONE ends an IDLE the input may have started; elsewhere it is
		// one more BAD command.
		io.WriteString(c, "\r\nDONE\r\nZ LOGOUT\r\n")
		var got []byte
		select {
		case got = <-out:
		case <-time.After(4 * time.Second):
			// The input may legitimately leave the session waiting (a
			// literal still to come): a client that goes away must
			// still end it, or Shutdown above reports the hang.
			c.Close()
			select {
			case got = <-out:
			case <-time.After(4 * time.Second):
				pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
				t.Fatalf("session hung on %q", in)
			}
		}
		if !bytes.HasPrefix(got, []byte("* OK ")) {
			t.Fatalf("no greeting: %q", got)
		}
	})
}
