package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestRelayQueueCLI drives `posthorn queue list/show/retry/delete` on a
// message deferred by a peer that always answers 451: first_retry is an
// hour, so only `queue retry` brings the second attempt.
func TestRelayQueueCLI(t *testing.T) {
	t.Parallel()
	tag := runTag(t, "queuecli")
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, "451 4.2.0 deferred by fake "+tag, func(int) peerMode { return peerRcptReply })
	s := startRouteServer(t, "peerq.test", p, "1h", "")
	submit(t, s, failSender, subPass, "", []string{"rcpt@peerq.test"}, failMessage("rcpt@peerq.test", tag))

	var id string
	waitFor(t, waitTimeout, "queue list shows the deferred message", func() (bool, string) {
		out := queueList(t, s)
		id = queueIDOf(out, failSender)
		return id != "" && strings.Contains(out, "deferred by fake"), out
	})
	if !strings.Contains(queueList(t, s), "1 message(s), 1 recipient(s)") {
		t.Errorf("queue list summary:\n%s", queueList(t, s))
	}

	show := s.MustCLI("", "queue", "show", id).Stdout
	for _, want := range []string{"id:        " + id, "sender:    " + failSender, "recipient: rcpt@peerq.test",
		"attempts: 1", "deferred by fake " + tag} {
		if !strings.Contains(show, want) {
			t.Errorf("queue show %s lacks %q:\n%s", id, want, show)
		}
	}
	if r := s.CLI("", "queue", "show", "no-such-id"); r.Code == 0 {
		t.Errorf("queue show of an unknown id succeeded:\n%v", r)
	}

	if out := s.MustCLI("", "queue", "retry", id).Stdout; !strings.Contains(out, "1 recipient(s) due now") {
		t.Errorf("queue retry %s: %q", id, out)
	}
	waitFor(t, waitTimeout, "the retried entry is attempted again", func() (bool, string) {
		show := s.MustCLI("", "queue", "show", id).Stdout
		return p.Txns() >= 2 && strings.Contains(show, "attempts: 2"), fmt.Sprintf("%d transactions\n%s", p.Txns(), show)
	})
	if out := s.MustCLI("", "queue", "retry", "--all").Stdout; !strings.Contains(out, "recipient(s) due now") {
		t.Errorf("queue retry --all: %q", out)
	}

	if out := s.MustCLI("", "queue", "delete", id).Stdout; !strings.Contains(out, "deleted "+id+": 1 recipient(s)") {
		t.Errorf("queue delete %s: %q", id, out)
	}
	if out := queueList(t, s); !strings.Contains(out, "queue is empty") {
		t.Errorf("queue list after delete:\n%s", out)
	}
	if r := s.CLI("", "queue", "delete", id); r.Code == 0 {
		t.Errorf("deleting %s twice succeeded:\n%v", id, r)
	}
	if msgs := mustFetch(t, s.POP3, failSender, subPass, false); len(msgs) != 0 {
		t.Errorf("delete must not bounce; sender holds %d messages:\n%s", len(msgs), head(msgs[0].Data, 1500))
	}
}

// queueIDOf returns the ID column of the queue list line with sender.
func queueIDOf(list, sender string) string {
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[1] == sender {
			return f[0]
		}
	}
	return ""
}
