package smtpserver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestDataBuffer sends messages larger than the session's and the DATA
// buffer, whole transactions in one write (what follows the end of the
// data must reach the next commands), and commands already buffered when
// DATA starts: every message must arrive intact, every reply in order.
func TestDataBuffer(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	be := &fakeBackend{}
	cfg := testConfig()
	cfg.MaxMessageSize = 1 << 20
	addr, _ := startServer(t, cfg, be)
	c := dialGreeted(t, addr)
	c.expect("EHLO client.test", "250")
	var want []string
	var script strings.Builder
	for i := range 6 {
		var body bytes.Buffer
		fmt.Fprintf(&body, "Subject: %d\r\n\r\n", i)
		size := []int{10, 4000, 5000, 70 << 10, 200 << 10, 3}[i]
		for body.Len() < size {
			line := strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(200))
			if rng.IntN(10) == 0 {
				line = "." + line // stuffed below
			}
			body.WriteString(line + "\r\n")
		}
		want = append(want, body.String())
		stuffed := strings.ReplaceAll("\r\n"+body.String(), "\r\n.", "\r\n..")[2:]
		fmt.Fprintf(&script, "MAIL FROM:<a@b.test>\r\nRCPT TO:<r%d@x.test>\r\nDATA\r\n%s.\r\n", i, stuffed)
	}
	script.WriteString("QUIT\r\n")
	c.send(script.String()) // all of it at once: the server must keep its place
	for i := range want {
		for _, code := range []string{"250", "250", "354", "250"} {
			if r := c.reply(); !strings.HasPrefix(r, code) {
				t.Fatalf("message %d: reply %q, want %s", i, r, code)
			}
		}
	}
	if r := c.reply(); !strings.HasPrefix(r, "221") {
		t.Fatalf("QUIT: %q", r)
	}
	if n, _ := be.counts(); n != len(want) {
		t.Fatalf("%d messages committed, want %d", n, len(want))
	}
	for i, w := range want {
		if got := be.body(t, i); got != w {
			t.Errorf("message %d: %d bytes, want %d", i, len(got), len(w))
		}
	}
}

// TestStartTLSInjectionAfterData: commands pipelined behind a message's
// data sit in the large DATA buffer; clear-text octets behind STARTTLS
// must still be thrown away there.
func TestStartTLSInjectionAfterData(t *testing.T) {
	be := &fakeBackend{}
	cfg := testConfig()
	cfg.TLS = testTLSConfig(t)
	addr, _ := startServer(t, cfg, be)
	c := dialGreeted(t, addr)
	c.expect("EHLO client.test", "250")
	c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@mx.test>\r\nDATA\r\nhello\r\n.\r\n" +
		"STARTTLS\r\nMAIL FROM:<evil@client.test>\r\n")
	for _, want := range []string{"250", "250", "354", "250", "220"} {
		if r := c.reply(); !strings.HasPrefix(r, want) {
			t.Fatalf("reply %q, want %s", r, want)
		}
	}
	c.startTLS()
	c.expect("MAIL FROM:<s@client.test>", "503 Send HELO")
	for _, f := range be.begun {
		if f == "evil@client.test" {
			t.Fatal("injected MAIL was executed")
		}
	}
}
