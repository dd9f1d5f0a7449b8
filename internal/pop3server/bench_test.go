package pop3server

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// discardConn is a scriptConn that counts output instead of keeping it.
type discardConn struct {
	scriptConn
	n int64
}

func (c *discardConn) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkRetr1000 is one session that retrieves 1,000 messages of
// about 1.4 KB (the size of bench/'s POP3 baseline) and quits.
func BenchmarkRetr1000(b *testing.B) {
	const count = 1000
	be := newFakeBackend()
	body := "From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n" +
		strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\r\n.dot\r\n", 20)
	msgs := make([]fakeMsg, count)
	var total int64
	for i := range msgs {
		msgs[i] = fakeMsg{fmt.Sprintf("uid-%d", i), body}
		total += int64(len(body))
	}
	be.msgs["alice"] = msgs
	var in strings.Builder
	in.WriteString("USER alice\r\nPASS secret\r\nSTAT\r\n")
	for i := 1; i <= count; i++ {
		fmt.Fprintf(&in, "RETR %d\r\n", i)
	}
	in.WriteString("QUIT\r\n")
	script := in.String()
	s := New(plainCfg, be, nil, nil)

	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		c := &discardConn{scriptConn: scriptConn{r: strings.NewReader(script)}}
		s.serveConn(context.Background(), c)
		if c.n < total {
			b.Fatalf("sent %d octets, want at least %d", c.n, total)
		}
	}
}
