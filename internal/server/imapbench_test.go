package server

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/store"
)

// benchMessage is a typical message of about 2 KB.
func benchMessage(i int) []byte {
	return fmt.Appendf(nil, "From: \"Sender %d\" <sender%d@example.org>\r\nTo: u@example.com\r\n"+
		"Subject: Message number %d about things\r\nDate: Fri, 01 Mar 2024 09:00:00 +0000\r\n"+
		"Message-ID: <bench%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		i, i, i, i, strings.Repeat("Some body text that goes on for a while.\r\n", 40))
}

// serveIMAP fills INBOX with n messages and serves IMAP on the store.
func serveIMAP(tb testing.TB, f *imapFixture, n int) string {
	mb, err := f.st.MailboxByName(tb.Context(), f.u.ID, "INBOX")
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i += 500 {
		var batch []store.NewMessage
		for j := i; j < min(n, i+500); j++ {
			batch = append(batch, store.NewMessage{Data: benchMessage(j), Date: time.Unix(1700000000, 0)})
		}
		if _, err := f.st.AppendBatch(tb.Context(), mb.ID, batch); err != nil {
			tb.Fatal(err)
		}
	}
	srv := imapserver.New(imapserver.Config{AllowPlaintextAuth: true}, f.be, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(tb.Context(), ln)
	tb.Cleanup(func() { srv.Shutdown(tb.Context()) })
	return ln.Addr().String()
}

// drainTo reads responses up to the tagged one and counts the lines.
func drainTo(tb testing.TB, br *bufio.Reader, tag string) int {
	n := 0
	for {
		l, err := br.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		if err != nil {
			tb.Fatal(err)
		}
		if strings.HasPrefix(string(l), tag+" ") {
			if !strings.HasPrefix(string(l), tag+" OK") {
				tb.Fatalf("%s", l)
			}
			return n
		}
		n++
	}
}

// BenchmarkIMAPSelectFetchEnvelope is the benchmark in one
// session on the SQLite store: SELECT and FETCH 1:* (FLAGS ENVELOPE) of
// 10,000 messages, warm. The first FETCH, which parses every message
// once and stores the summaries, is timed and logged.
func BenchmarkIMAPSelectFetchEnvelope(b *testing.B) {
	f := newIMAPFixture(b)
	addr := serveIMAP(b, f, 10000)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 64<<10)
	br.ReadString('\n')
	fmt.Fprintf(conn, "L LOGIN u@example.com pw\r\n")
	drainTo(b, br, "L")
	start := time.Now()
	fmt.Fprintf(conn, "W SELECT INBOX\r\nX FETCH 1:* (FLAGS ENVELOPE)\r\n")
	if n := drainTo(b, br, "X"); n < 10000 {
		b.Fatalf("first FETCH: %d lines", n)
	}
	b.Logf("cold SELECT + FETCH 1:* (FLAGS ENVELOPE) of 10,000: %v", time.Since(start))
	b.ResetTimer()
	for b.Loop() {
		fmt.Fprintf(conn, "S SELECT INBOX\r\nF FETCH 1:* (FLAGS ENVELOPE)\r\n")
		drainTo(b, br, "F")
	}
}
