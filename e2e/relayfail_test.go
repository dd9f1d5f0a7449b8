package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
)

// Relay failure cases against scripted fake peers (fakepeer_test.go),
// reached through a [[route]] with tls = "none". Each test has its own
// server and peer, so they run in parallel.

const failSender = "sender@example.test"

// startRouteServer starts a server with submission, the user failSender,
// a route for domain to the fake peer, fast retries and extra config.
func startRouteServer(t *testing.T, domain string, p *fakePeer, firstRetry, extra string) *Server {
	t.Helper()
	cfg := fmt.Sprintf("%s\n[queue]\nfirst_retry = %q\nmax_interval = %q\n\n[[route]]\ndomain = %q\nhost = %q\ntls = \"none\"\n%s",
		deadDNS(t), firstRetry, max2s(firstRetry), domain, p.Addr, extra)
	s := StartServer(t, Options{Submission: true, Extra: cfg})
	s.AddUser(failSender, subPass)
	return s
}

func max2s(first string) string {
	if first == "1s" {
		return "2s"
	}
	return first
}

func failMessage(to, tag string) []byte {
	return []byte("From: <" + failSender + ">\r\nTo: <" + to + ">\r\nSubject: " + tag + "\r\n\r\nbody " + tag + "\r\n")
}

// waitAccepted waits until the peer accepted a message containing tag.
func waitAccepted(t *testing.T, p *fakePeer, tag string) []byte {
	t.Helper()
	var got []byte
	waitFor(t, waitTimeout, "fake peer accepts "+tag, func() (bool, string) {
		for _, m := range p.Accepted() {
			if bytes.Contains(m, []byte(tag)) {
				got = m
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d connections, %d transactions, %d accepted", p.Conns(), p.Txns(), len(p.Accepted()))
	})
	return got
}

func TestRelayPeerTempFailThenAccept(t *testing.T) {
	t.Parallel()
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, "451 4.3.2 fake peer busy, try later", func(n int) peerMode {
		if n == 0 {
			return peerRcptReply
		}
		return peerAccept
	})
	s := startRouteServer(t, "peer4xx.test", p, "1s", "")
	tag := runTag(t, "tempfail")
	submit(t, s, failSender, subPass, "", []string{"rcpt@peer4xx.test"}, failMessage("rcpt@peer4xx.test", tag))
	waitAccepted(t, p, tag)
	waitQueueEmpty(t, s)
	if n := p.Txns(); n < 2 {
		t.Errorf("delivered after %d transaction(s), want a retry after the 451", n)
	}
	if n := len(p.Accepted()); n != 1 {
		t.Errorf("peer accepted %d messages, want 1", n)
	}
	if msgs := mustFetch(t, s.POP3, failSender, subPass, false); len(msgs) != 0 {
		t.Errorf("sender got %d messages (a bounce?) for a delivered message:\n%s", len(msgs), head(msgs[0].Data, 1500))
	}
}

func TestRelayPeerPermFailBounces(t *testing.T) {
	t.Parallel()
	tag := runTag(t, "permfail")
	reply := "550 5.1.1 no mailbox here " + tag
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, reply, func(int) peerMode { return peerRcptReply })
	s := startRouteServer(t, "peer5xx.test", p, "1s", "")
	submit(t, s, failSender, subPass, "", []string{"rcpt@peer5xx.test"}, failMessage("rcpt@peer5xx.test", "subject-"+tag))
	var dsn []byte
	waitFor(t, waitTimeout, "a bounce in "+failSender+"'s mailbox", func() (bool, string) {
		msgs, err := FetchAll(s.POP3, failSender, subPass, false)
		if err != nil {
			return false, err.Error()
		}
		if len(msgs) == 0 {
			return false, fmt.Sprintf("no message; peer saw %d connections", p.Conns())
		}
		dsn = msgs[0].Data
		return true, ""
	})
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "Action: failed",
		"Status: 5.1.1", "rcpt@peer5xx.test", "no mailbox here " + tag, "Return-Path: <>"} {
		if !bytes.Contains(bytes.ReplaceAll(dsn, []byte("\r\n\t"), []byte(" ")), []byte(want)) &&
			!strings.Contains(strings.ToLower(string(dsn)), strings.ToLower(want)) {
			t.Errorf("bounce lacks %q:\n%s", want, head(dsn, 4000))
		}
	}
	waitQueueEmpty(t, s)
	if n := p.Txns(); n != 1 {
		t.Errorf("peer saw %d transactions, want 1 (a 5xx is not retried)", n)
	}
}

func TestRelayPeerDropMidData(t *testing.T) {
	t.Parallel()
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, "", func(n int) peerMode {
		if n == 0 {
			return peerDropInData
		}
		return peerAccept
	})
	s := startRouteServer(t, "peerdrop.test", p, "1s", "")
	tag := runTag(t, "drop")
	msg := failMessage("rcpt@peerdrop.test", tag)
	submit(t, s, failSender, subPass, "", []string{"rcpt@peerdrop.test"}, msg)
	got := waitAccepted(t, p, tag)
	waitQueueEmpty(t, s)
	if n := len(p.Accepted()); n != 1 {
		t.Errorf("peer accepted %d copies, want exactly 1", n)
	}
	if c := p.Conns(); c < 2 {
		t.Errorf("peer saw %d connections, want the dropped one and a retry", c)
	}
	if !bytes.HasSuffix(got, []byte("\r\n\r\nbody "+tag+"\r\n")) {
		t.Errorf("retried copy is not intact:\n%s", got)
	}
	if msgs := mustFetch(t, s.POP3, failSender, subPass, false); len(msgs) != 0 {
		t.Errorf("sender got %d messages (a bounce?) for a delivered message", len(msgs))
	}
}

func TestRelayPeerSilentTimesOut(t *testing.T) {
	t.Parallel()
	p := startFakePeer(t, nil, "", func(int) peerMode { return peerSilent })
	s := startRouteServer(t, "peersilent.test", p, "1s", "\n[smtp]\ngreeting_timeout = \"2s\"\n")
	tag := runTag(t, "silent")
	submit(t, s, failSender, subPass, "", []string{"rcpt@peersilent.test"}, failMessage("rcpt@peersilent.test", tag))
	waitFor(t, waitTimeout, "posthorn gives up on the silent peer", func() (bool, string) {
		return p.Hangups() >= 1, fmt.Sprintf("%d connections, %d hangups", p.Conns(), p.Hangups())
	})
	var list string
	waitFor(t, waitTimeout, "the entry stays queued with a timeout error", func() (bool, string) {
		list = queueList(t, s)
		l := strings.ToLower(list)
		return strings.Contains(l, "timeout") || strings.Contains(l, "timed out"), list
	})
	t.Logf("queue list with the silent peer:\n%s", list)
	if !strings.Contains(list, failSender) || !strings.Contains(list, "1 message(s), 1 recipient(s)") {
		t.Errorf("queue list does not show the deferred message:\n%s", list)
	}
	if msgs := mustFetch(t, s.POP3, failSender, subPass, false); len(msgs) != 0 {
		t.Errorf("sender got %d messages: a timeout must defer, not bounce:\n%s", len(msgs), head(msgs[0].Data, 1500))
	}
}

func TestRelayPeerNo8BITMIME(t *testing.T) {
	t.Parallel()
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES", "SIZE 10000000"}, "", func(int) peerMode { return peerAccept })
	s := startRouteServer(t, "peer7bit.test", p, "1s", "")
	tag := runTag(t, "sevenbit")
	text := "Grüße aus Köln, " + tag + "\r\n日本語のテキスト — naïve café\r\n.leading dot line\r\n"
	msg := []byte("From: <" + failSender + ">\r\nTo: <rcpt@peer7bit.test>\r\nSubject: " + tag +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text)
	submit(t, s, failSender, subPass, " BODY=8BITMIME", []string{"rcpt@peer7bit.test"}, msg)
	got := waitAccepted(t, p, tag)
	for i, c := range got {
		if c >= 0x80 {
			t.Fatalf("byte %d of the relayed message is 0x%02x: not converted to 7 bit for a peer without 8BITMIME:\n%s", i, c, head(got, 2000))
		}
	}
	for _, m := range p.Mails() {
		if strings.Contains(strings.ToUpper(m), "BODY=8BITMIME") {
			t.Errorf("MAIL to a peer without 8BITMIME carries BODY=8BITMIME: %q", m)
		}
	}
	t.Run("decodes-to-original", func(t *testing.T) {
		decoded := decodeTextBody(t, got)
		if want := strings.ReplaceAll(text, "\r\n", "\n"); strings.ReplaceAll(decoded, "\r\n", "\n") != want {
			t.Errorf("converted body decodes to\n%q\nwant\n%q", decoded, want)
		}
	})
	t.Run("dkim-survives-conversion", func(t *testing.T) {
		// The peer must be able to verify the DKIM signature of what it
		// got: RFC 6376 section 5.3 has the signer sign the 7-bit form
		// when the message may be converted on the way (or sign again
		// after converting).
		dkimVerify(t, s, "example.test", got)
	})
}

var cteRe = regexp.MustCompile(`(?i)^(quoted-printable|base64)$`)

// decodeTextBody decodes a single-part message's body by its
// Content-Transfer-Encoding, which must be quoted-printable or base64.
func decodeTextBody(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("relayed message does not parse: %v\n%s", err, head(raw, 2000))
	}
	if mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type")); err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type changed: %q", m.Header.Get("Content-Type"))
	}
	cte := strings.TrimSpace(m.Header.Get("Content-Transfer-Encoding"))
	if !cteRe.MatchString(cte) {
		t.Fatalf("Content-Transfer-Encoding %q after conversion, want quoted-printable or base64:\n%s", cte, head(raw, 2000))
	}
	var r io.Reader = quotedprintable.NewReader(m.Body)
	if strings.EqualFold(cte, "base64") {
		r = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: m.Body})
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		t.Fatalf("decode %s body: %v", cte, err)
	}
	return string(b)
}

// newlineStripper drops CR and LF, which base64.NewDecoder only partly
// ignores.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
