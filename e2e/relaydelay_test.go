package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestRelayDelayNotice: a recipient whose RCPT asked NOTIFY=DELAY and
// that a peer keeps deferring gets its sender exactly one delay report
// (RFC 3464 Action: delayed) once [queue] delay_warning has passed, and
// the message stays queued; a recipient without DELAY in NOTIFY gets none.
func TestRelayDelayNotice(t *testing.T) {
	t.Parallel()
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, "451 4.3.2 fake peer busy, try later",
		func(int) peerMode { return peerRcptReply })
	cfg := fmt.Sprintf("%s\n[queue]\nfirst_retry = \"1s\"\nmax_interval = \"2s\"\ndelay_warning = \"2s\"\n\n"+
		"[[route]]\ndomain = \"peerdelay.test\"\nhost = %q\ntls = \"none\"\n", deadDNS(t), p.Addr)
	s := StartServer(t, Options{Submission: true, Extra: cfg})
	s.AddUser(failSender, subPass)

	tag := runTag(t, "delay")
	c := dialAuthed(t, s, false, failSender, subPass)
	mustCmd(t, c, "MAIL FROM:<"+failSender+">", "250")
	mustCmd(t, c, "RCPT TO:<slow@peerdelay.test> NOTIFY=DELAY,FAILURE", "250")
	mustCmd(t, c, "RCPT TO:<quiet@peerdelay.test> NOTIFY=FAILURE", "250")
	mustCmd(t, c, "DATA", "354")
	if err := c.Write(string(dotStuff(failMessage("slow@peerdelay.test", tag)))); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ReadReply(); err != nil || r.Code != 250 {
		t.Fatalf("end of data: want 250, got %v (%v)", r, err)
	}
	_, _ = c.Cmd("QUIT")

	var report []byte
	waitFor(t, waitTimeout, "a delay report in "+failSender+"'s mailbox", func() (bool, string) {
		msgs, err := FetchAll(s.POP3, failSender, subPass, false)
		if err != nil {
			return false, err.Error()
		}
		if len(msgs) == 0 {
			return false, fmt.Sprintf("no message yet; peer saw %d transactions", p.Txns())
		}
		report = msgs[0].Data
		return true, ""
	})
	flat := strings.ToLower(string(bytes.ReplaceAll(report, []byte("\r\n\t"), []byte(" "))))
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "action: delayed",
		"slow@peerdelay.test", "will-retry-until:", "return-path: <>"} {
		if !strings.Contains(flat, want) {
			t.Errorf("delay report lacks %q:\n%s", want, head(report, 4000))
		}
	}
	if strings.Contains(flat, "quiet@peerdelay.test") {
		t.Errorf("delay report names the recipient that did not ask for DELAY:\n%s", head(report, 4000))
	}
	// More retries pass; the report is not sent again and the message
	// is still queued for both recipients.
	seen := p.Txns()
	waitFor(t, waitTimeout, "three more deferrals", func() (bool, string) {
		return p.Txns() >= seen+3, fmt.Sprintf("%d transactions", p.Txns())
	})
	if msgs := mustFetch(t, s.POP3, failSender, subPass, false); len(msgs) != 1 {
		t.Errorf("sender has %d messages, want exactly one delay report", len(msgs))
	}
	if q := queueList(t, s); !strings.Contains(q, "1 message(s), 2 recipient(s)") {
		t.Errorf("queue list: want the message still queued for both recipients:\n%s", q)
	}
}
