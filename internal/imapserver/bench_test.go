package imapserver_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
)

// benchMessage is a typical message of about 2 KB.
func benchMessage(i int) string {
	return fmt.Sprintf("Return-Path: <sender%d@example.org>\r\n"+
		"From: \"Sender %d\" <sender%d@example.org>\r\nTo: alice@example.test\r\n"+
		"Cc: \"Carol\" <carol@example.test>, dave@example.test\r\n"+
		"Subject: Message number %d about things\r\nDate: Fri, 01 Mar 2024 09:00:00 +0000\r\n"+
		"Message-ID: <bench%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		i, i, i, i, i, strings.Repeat("Some body text that goes on for a while.\r\n", 40))
}

// fillINBOX delivers n messages.
func fillINBOX(tb testing.TB, e *testEnv, n int) {
	for i := range n {
		if _, err := e.be.Deliver("alice", "INBOX", []byte(benchMessage(i)), nil, testDate); err != nil {
			tb.Fatal(err)
		}
	}
}

// drain reads responses up to the tagged one without keeping them.
func drain(tb testing.TB, br *bufio.Reader, tag string) {
	for {
		l, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if strings.HasPrefix(string(l), tag+" ") {
			if !strings.HasPrefix(string(l), tag+" OK") {
				tb.Fatalf("%s", l)
			}
			return
		}
	}
}

// BenchmarkSelectFetchEnvelope is the benchmark in one session:
// SELECT and FETCH 1:* (FLAGS ENVELOPE) of 10,000 messages, warm (the
// summaries are built by a first FETCH).
func BenchmarkSelectFetchEnvelope(b *testing.B) {
	e := newEnv(b, nil)
	fillINBOX(b, e, 10000)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 64<<10)
	br.ReadString('\n')
	fmt.Fprintf(conn, "L LOGIN alice secret\r\nW SELECT INBOX\r\nX FETCH 1:* (FLAGS ENVELOPE)\r\n")
	drain(b, br, "X")
	b.ResetTimer()
	for b.Loop() {
		fmt.Fprintf(conn, "S SELECT INBOX\r\nF FETCH 1:* (FLAGS ENVELOPE)\r\n")
		drain(b, br, "F")
	}
}

// TestIdleSessionMemory measures what a session idling on a selected
// 10,000-message mailbox costs the server. The figure is logged, and
// checked against the 64 KiB budget with room for the
// measurement's noise (the client's side of each connection is counted
// too).
func TestIdleSessionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	e := newEnv(t, func(c *imapserver.Config) { c.MaxSessionsPerUser = 200 })
	fillINBOX(t, e, 10000)
	warm := e.login()
	warm.mustOK("W SELECT INBOX")
	const n = 100
	conns := make([]net.Conn, 0, n)
	measure := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	before := measure()
	for range n {
		conn, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReaderSize(conn, 512)
		br.ReadString('\n')
		io.WriteString(conn, "L LOGIN alice secret\r\nS SELECT INBOX\r\nI IDLE\r\n")
		drain(t, br, "S")
		if l, _ := br.ReadString('\n'); l != "+ idling\r\n" {
			t.Fatalf("IDLE: %q", l)
		}
		conns = append(conns, conn)
	}
	after := measure()
	per := int64(after-before) / n
	t.Logf("memory per idle session on a 10,000-message mailbox: %d bytes (%d sessions)", per, n)
	if per > 96<<10 {
		t.Errorf("idle session costs %d bytes, over budget", per)
	}
	for _, c := range conns {
		io.WriteString(c, "DONE\r\nZ LOGOUT\r\n")
	}
}

// BenchmarkSelectFetchEnvelope100 runs the same with 100 sessions at once,
// each op being one SELECT and FETCH 1:* (FLAGS ENVELOPE) in every session.
func BenchmarkSelectFetchEnvelope100(b *testing.B) {
	e := newEnv(b, func(c *imapserver.Config) { c.MaxSessionsPerUser = 200 })
	fillINBOX(b, e, 10000)
	const n = 100
	type sess struct {
		conn net.Conn
		br   *bufio.Reader
	}
	ss := make([]sess, n)
	for i := range ss {
		conn, err := net.Dial("tcp", e.addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 64<<10)
		br.ReadString('\n')
		fmt.Fprintf(conn, "L LOGIN alice secret\r\nX SELECT INBOX\r\nW FETCH 1:* (FLAGS ENVELOPE)\r\n")
		drain(b, br, "W")
		ss[i] = sess{conn, br}
	}
	b.ResetTimer()
	for b.Loop() {
		errs := make(chan error, n)
		for _, s := range ss {
			go func() {
				fmt.Fprintf(s.conn, "S SELECT INBOX\r\nF FETCH 1:* (FLAGS ENVELOPE)\r\n")
				for {
					l, err := s.br.ReadSlice('\n')
					if err == bufio.ErrBufferFull {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					if strings.HasPrefix(string(l), "F ") {
						errs <- nil
						return
					}
				}
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}
