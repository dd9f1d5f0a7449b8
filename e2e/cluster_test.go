package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// Several nodes on one PostgreSQL database (issue 7): each node has its
// own loopback address, ports and data directory; users, mail, the queue
// and the POP3 locks are shared. clusterhelpers_test.go starts them.

const clusterPass = "cluster-pw-Kq83"

// TestClusterThreeNodes: SMTP into node 1, IMAP IDLE on node 3 hears of
// it, POP3 from node 2 gets it byte for byte; a POP3 maildrop locked on
// one node is [IN-USE] on another; a submission through node 2 is relayed
// exactly once by whichever node claims the queue entry.
func TestClusterThreeNodes(t *testing.T) {
	t.Parallel()
	dsn := clusterDB(t)
	tag := runTag(t, "cluster")
	peer := startFakePeer(t, []string{"ENHANCEDSTATUSCODES", "8BITMIME"}, "", func(int) peerMode { return peerAccept })
	extra := fmt.Sprintf("%s\n[queue]\nfirst_retry = \"1s\"\nmax_interval = \"2s\"\n\n[[route]]\ndomain = \"far.test\"\nhost = %q\ntls = \"none\"\n",
		deadDNS(t), peer.Addr)
	nodes := startCluster(t, 3, dsn, extra)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	// A user made through one node's config exists on all.
	n1.AddUser(subAlice, clusterPass)
	if out := n3.MustCLI("", "user", "list").Stdout; !strings.Contains(out, subAlice) {
		t.Fatalf("user list on node 3 lacks %s:\n%s", subAlice, out)
	}

	idle := imapLogin(t, n3.IMAP, subAlice, clusterPass)
	idle.Send("idle1 IDLE")
	if l := idle.Line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}

	msg := []byte("From: <someone@elsewhere.test>\r\nTo: <" + subAlice + ">\r\nSubject: " + tag + "\r\n\r\nbody " + tag + "\r\n")
	mustSend(t, n1.SMTP, "someone@elsewhere.test", []string{subAlice}, msg)

	// Node 3 hears of node 1's delivery through NOTIFY (bounded wait:
	// Expect fails after ioTimeout).
	idle.Expect("* 1 EXISTS")
	idle.Send("DONE")
	if _, done := idle.Until("idle1"); !strings.HasPrefix(done, "OK") {
		t.Errorf("IDLE completion %q", done)
	}

	got := mustFetch(t, n2.POP3, subAlice, clusterPass, false)
	if len(got) != 1 {
		t.Fatalf("POP3 on node 2: %d messages, want 1", len(got))
	}
	if _, body := SplitTrace(got[0].Data); !bytes.Equal(body, msg) {
		t.Errorf("POP3 on node 2 got\n%q\nwant\n%q", body, msg)
	}

	// The maildrop lock is the database's: held through node 1, refused
	// on node 2, free again after QUIT.
	// (loginPOP3 waits while the lock of the fetch above is released.)
	p1, err := loginPOP3(n1.POP3, subAlice, clusterPass)
	if err != nil {
		t.Fatalf("POP3 login on node 1: %v", err)
	}
	defer p1.Close()
	p2, err := DialPOP3(n2.POP3)
	if err != nil {
		t.Fatal(err)
	}
	err = p2.Login(subAlice, clusterPass)
	p2.Close()
	if !isInUse(err) {
		t.Errorf("second POP3 login on node 2 while node 1 holds the maildrop: %v, want -ERR [IN-USE]", err)
	}
	if _, err := p1.Cmd("QUIT"); err != nil {
		t.Errorf("QUIT: %v", err)
	}
	if got := mustFetch(t, n2.POP3, subAlice, clusterPass, false); len(got) != 1 {
		t.Errorf("after node 1's QUIT, node 2 sees %d messages, want 1", len(got))
	}

	// Submission through node 2, relayed by whichever node claims it.
	rtag := runTag(t, "cluster-relay")
	rmsg := []byte("From: <" + subAlice + ">\r\nTo: <bob@far.test>\r\nSubject: " + rtag + "\r\n\r\nrelay " + rtag + "\r\n")
	submit(t, n2.Server, subAlice, clusterPass, "", []string{"bob@far.test"}, rmsg)
	waitFor(t, waitTimeout, "the peer accepts the relayed message", func() (bool, string) {
		return countTagged(peer, rtag) >= 1, fmt.Sprintf("%d accepted", len(peer.Accepted()))
	})
	waitQueueEmpty(t, n3.Server)
	if n := countTagged(peer, rtag); n != 1 {
		t.Errorf("the peer got the relayed message %d times, want once", n)
	}
	// Every node is healthy and says which store it uses.
	for i, n := range nodes {
		if code, body := httpGet(t, "http://"+n.HTTP+"/healthz"); code != 200 {
			t.Errorf("node %d /healthz: %d %s", i+1, code, body)
		}
	}
}

// countTagged counts the messages the peer accepted that contain tag.
func countTagged(p *fakePeer, tag string) int {
	n := 0
	for _, m := range p.Accepted() {
		if bytes.Contains(m, []byte(tag)) {
			n++
		}
	}
	return n
}
