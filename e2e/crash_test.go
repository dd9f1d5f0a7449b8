package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSeed returns E2E_SEED if set, else a fresh seed; it is logged so a
// failing run can be repeated.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("E2E_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("random seed %d (repeat with E2E_SEED=%d)", seed, seed)
	return seed
}

// taggedMessage is a message whose every byte follows from its tag, so a
// stored copy can be checked whole. Sizes vary so that some messages
// spill from the memory spool to disk.
func taggedMessage(tag string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: sender@remote.test\r\nTo: crash@example.test\r\nSubject: tag %s\r\nMessage-ID: <%s@remote.test>\r\n\r\n", tag, tag)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %06d %s\r\n", tag, i, strings.Repeat("z", 50))
	}
	return b.Bytes()
}

var tagRe = regexp.MustCompile(`(?m)^Subject: tag (\S+)\r$`)

// tally counts stored messages by tag and checks each is whole.
func tally(t *testing.T, msgs []PopMsg, sizeOf func(tag string) int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range msgs {
		sm := tagRe.FindSubmatch(m.Data)
		if sm == nil {
			t.Errorf("a stored message has no tag:\n%s", head(m.Data, 400))
			continue
		}
		tag := string(sm[1])
		got[tag]++
		_, rest := SplitTrace(m.Data)
		if want := taggedMessage(tag, sizeOf(tag)); !bytes.Equal(rest, want) {
			t.Errorf("message %s is stored damaged: %d octets, want %d; first difference at %d", tag, len(rest), len(want), firstDiff(rest, want))
		}
	}
	return got
}

// TestCrashRecovery: concurrent senders, the server killed with SIGKILL at
// random moments and restarted on the same data: every message that got a
// 250 is there exactly once, any other at most once, none damaged.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(testSeed(t), 0x9e3779b97f4a7c15))
	s := StartServer(t, Options{})
	const user = "crash@example.test"
	s.AddUser(user, "pw")

	const senders, rounds = 6, 5
	sizes := []int{600, 20 << 10, 300 << 10} // small, medium, above a spool's memory threshold
	sizeOf := func(tag string) int {
		w, _ := strconv.Atoi(strings.TrimPrefix(strings.Split(tag, "-")[0], "w"))
		return sizes[w%len(sizes)]
	}
	var (
		mu        sync.Mutex
		attempted = map[string]bool{}
		acked     = map[string]bool{}
		other     = map[string]int{} // refusals by stage and code, for the log
	)
	ackCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				tag := fmt.Sprintf("w%d-n%d", w, n)
				mu.Lock()
				attempted[tag] = true
				mu.Unlock()
				sctx, c := context.WithTimeout(ctx, 2*ioTimeout)
				res := SendMail(sctx, s.SMTP, "sender@remote.test", []string{user}, taggedMessage(tag, sizeOf(tag)))
				c()
				mu.Lock()
				if res.Accepted() {
					acked[tag] = true
				} else if res.Err == nil {
					other[fmt.Sprintf("%s %d", res.Stage, res.Reply.Code)]++
				}
				mu.Unlock()
				if res.Err != nil && res.Stage == "CONNECT" {
					time.Sleep(20 * time.Millisecond) // the server is down: restarting
				}
			}
		})
	}
	stopSenders := func() { cancel(); wg.Wait() }
	defer stopSenders()

	for round := range rounds {
		// Let mail flow, then kill at a random moment within it.
		base := ackCount()
		deadline := time.Now().Add(2 * time.Minute)
		for ackCount() < base+5 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no mail accepted for 2 minutes after a restart; log:\n%s", round, s.LogTail(4000))
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		s.Kill()
		t.Logf("round %d: killed after %d acknowledged messages", round, ackCount())
		s.Restart()
	}
	stopSenders()

	msgs := mustFetch(t, s.POP3, user, "pw", false)
	got := tally(t, msgs, sizeOf)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d attempted, %d acknowledged, %d stored; other outcomes: %v", len(attempted), len(acked), len(msgs), other)
	for tag := range acked {
		if got[tag] != 1 {
			t.Errorf("message %s got 250 but is stored %d times", tag, got[tag])
		}
	}
	for tag, n := range got {
		if !attempted[tag] {
			t.Errorf("message %s is stored but was never sent", tag)
		}
		if n > 1 {
			t.Errorf("message %s is stored %d times", tag, n)
		}
	}
}
