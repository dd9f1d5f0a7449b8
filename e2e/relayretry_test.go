package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// retryPromptly bounds the time from `posthorn queue retry` to the
// attempt. The server asks the store for due work every second (the due
// watch); without it, the retry would wait for the queue's scan, every
// 30 s with first_retry = 1h. Not a performance figure: a generous bound
// that only a missing watch (or a stalled machine) exceeds.
const retryPromptly = 15 * time.Second

// TestRelayQueueRetryAtOnce: a message deferred by a 451 with
// first_retry = 1h is delivered right after `posthorn queue retry`, run
// as another process while the server runs, without waiting for the
// server's next scan.
func TestRelayQueueRetryAtOnce(t *testing.T) {
	t.Parallel()
	tag := runTag(t, "retrynow")
	p := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, "451 4.2.0 not yet "+tag, func(n int) peerMode {
		if n == 0 {
			return peerRcptReply
		}
		return peerAccept
	})
	s := startRouteServer(t, "peerretry.test", p, "1h", "")
	submit(t, s, failSender, subPass, "", []string{"rcpt@peerretry.test"}, failMessage("rcpt@peerretry.test", tag))
	var id string
	waitFor(t, waitTimeout, "queue list shows the deferred message", func() (bool, string) {
		out := queueList(t, s)
		id = queueIDOf(out, failSender)
		return id != "" && strings.Contains(out, "not yet"), out
	})
	if n := len(p.Accepted()); n != 0 {
		t.Fatalf("peer accepted %d messages before the retry", n)
	}
	start := time.Now()
	if out := s.MustCLI("", "queue", "retry", id).Stdout; !strings.Contains(out, "1 recipient(s) due now") {
		t.Fatalf("queue retry %s: %q", id, out)
	}
	waitFor(t, retryPromptly, "delivery after queue retry", func() (bool, string) {
		return len(p.Accepted()) == 1, fmt.Sprintf("%d transactions, %d accepted", p.Txns(), len(p.Accepted()))
	})
	t.Logf("delivered %v after queue retry", time.Since(start).Round(time.Millisecond))
	waitQueueEmpty(t, s)
	if msgs := mustFetch(t, s.POP3, failSender, subPass, false); len(msgs) != 0 {
		t.Errorf("sender got %d messages for a delivered message:\n%s", len(msgs), head(msgs[0].Data, 1500))
	}
}
