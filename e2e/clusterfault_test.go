package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faults of a cluster under load: a node killed, the database restarted,
// the primary database lost and its synchronous standby promoted. The
// invariant each time: a message that got a 250 is stored exactly once
// for each recipient the 250 covered, and no sender sees a 5xx.

const (
	loadAlice = "alice@example.test"
	loadBob   = "bob@example.test"
	// loadFwd is an alias forwarding to the fake peer: every third load
	// message goes there too, so that the queue has relay work.
	loadFwd = "fwd@example.test"
)

// clusterRelayConfig routes far.test to the peer with fast retries.
func clusterRelayConfig(t *testing.T, p *fakePeer) string {
	return fmt.Sprintf("%s\n[queue]\nfirst_retry = \"1s\"\nmax_interval = \"2s\"\n\n[[route]]\ndomain = \"far.test\"\nhost = %q\ntls = \"none\"\n",
		deadDNS(t), p.Addr)
}

// setupLoadUsers makes the load's users and alias through node n.
func setupLoadUsers(n *ClusterNode) {
	n.AddUser(loadAlice, clusterPass)
	n.AddUser(loadBob, clusterPass)
	n.MustCLI("", "alias", "add", loadFwd, "carol@far.test")
}

// nodeSet is the nodes a load spreads over.
type nodeSet struct {
	mu    sync.Mutex
	nodes []*ClusterNode
	down  map[int]bool
}

// smtp returns the SMTP addresses of the nodes not marked down.
func (s *nodeSet) smtp() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i, n := range s.nodes {
		if !s.down[i] {
			out = append(out, n.SMTP)
		}
	}
	return out
}

// waitMoreAccepted waits (bounded) until the load has n more 250s than now.
func waitMoreAccepted(t *testing.T, l *clusterLoad, n int64) {
	t.Helper()
	target := l.accepted.Load() + n
	waitFor(t, waitTimeout, fmt.Sprintf("%d more messages accepted", n), func() (bool, string) {
		return l.accepted.Load() >= target, l.summary()
	})
}

// TestClusterKillNode: kill -9 a node of three, twice, picked at random at
// random moments, while senders deliver through all of them (some
// messages also relayed), and start it again each time; then every
// acknowledged message is in each mailbox exactly once and relayed.
func TestClusterKillNode(t *testing.T) {
	t.Parallel()
	dsn := clusterDB(t)
	peer := startFakePeer(t, []string{"ENHANCEDSTATUSCODES", "8BITMIME"}, "", func(int) peerMode { return peerAccept })
	nodes := startCluster(t, 3, dsn, clusterRelayConfig(t, peer))
	setupLoadUsers(nodes[0])
	set := &nodeSet{nodes: nodes, down: map[int]bool{}}

	l := &clusterLoad{tag: runTag(t, "load-kill"), local: []string{loadAlice, loadBob}, remote: loadFwd}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The killed node stays in the rotation: its senders see
		// connection failures, as clients of a dead MX do.
		l.run(ctx, 6, 50, set.smtp, nil)
	}()
	// Two kills of a node picked at random, at a random moment.
	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, 0))
	t.Logf("random seed %d", seed)
	for range 2 {
		waitMoreAccepted(t, l, int64(10+rnd.IntN(30)))
		k := rnd.IntN(len(nodes))
		nodes[k].Kill()
		t.Logf("node %d killed after %s", k+1, l.summary())
		waitMoreAccepted(t, l, 20)
		nodes[k].Restart()
	}
	<-done

	if n := l.codeCount(5); n > 0 {
		t.Errorf("%d senders got a 5xx (last: %s)", n, l.last5)
	}
	if len(l.acked) < 60 {
		t.Fatalf("only %d messages acknowledged: %s", len(l.acked), l.summary())
	}
	l.checkDelivered(t, nodes[2].POP3, clusterPass)
	waitQueueEmpty(t, nodes[0].Server)
	l.checkRelayed(t, peer)
}

// TestClusterDatabaseRestart: stop PostgreSQL under load; senders get
// 4xx, never a 250 for a message that is then lost; start it again and
// the nodes, not restarted, accept mail again by themselves.
func TestClusterDatabaseRestart(t *testing.T) {
	t.Parallel()
	pg := startPrivatePG(t)
	dsn := freshDB(t, pg.DSN)
	peer := startFakePeer(t, []string{"ENHANCEDSTATUSCODES"}, "", func(int) peerMode { return peerAccept })
	nodes := startCluster(t, 2, dsn, clusterRelayConfig(t, peer))
	setupLoadUsers(nodes[0])
	set := &nodeSet{nodes: nodes, down: map[int]bool{}}

	l := &clusterLoad{tag: runTag(t, "load-pgrestart"), local: []string{loadAlice, loadBob}, remote: loadFwd}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx, 4, 2000, set.smtp, stop) }()

	waitMoreAccepted(t, l, 20)
	pg.Stop()
	t.Logf("PostgreSQL stopped after %s", l.summary())
	before4 := l.codeCount(4)
	waitFor(t, waitTimeout, "senders get 4xx while the database is down", func() (bool, string) {
		return l.codeCount(4) >= before4+5, l.summary()
	})
	for i, n := range nodes {
		if code, _ := httpGet(t, "http://"+n.HTTP+"/healthz"); code == 200 {
			t.Errorf("node %d /healthz says 200 with the database down", i+1)
		}
	}
	pg.Start()
	t.Log("PostgreSQL started again")
	waitMoreAccepted(t, l, 40)
	close(stop)
	<-done
	for i, n := range nodes {
		waitFor(t, waitTimeout, fmt.Sprintf("node %d healthy again", i+1), func() (bool, string) {
			code, body := httpGet(t, "http://"+n.HTTP+"/healthz")
			return code == 200, body
		})
	}
	if n := l.codeCount(5); n > 0 {
		t.Errorf("%d senders got a 5xx (last: %s)", n, l.last5)
	}
	l.checkDelivered(t, nodes[1].POP3, clusterPass)
	// A delivery whose removal from the queue failed with the database
	// comes back when its lease (2 minutes) ends, and is relayed again.
	waitFor(t, sharedLeaseWait, "empty queue", func() (bool, string) {
		out := queueList(t, nodes[0].Server)
		return strings.Contains(out, "queue is empty"), out
	})
	l.checkRelayed(t, peer)
}

// sharedLeaseWait bounds waiting for queue entries whose lease must
// expire first (internal/server's sharedLease is 2 minutes).
const sharedLeaseWait = 3*time.Minute + waitTimeout

// TestClusterStandbyFailover: a primary with a synchronous streaming
// standby; nodes on a multi-host DSN with target_session_attrs=read-write.
// Kill the primary under load and promote the standby: the nodes find the
// new primary by themselves, and every acknowledged message is there,
// because each commit waited for the standby.
func TestClusterStandbyFailover(t *testing.T) {
	t.Parallel()
	pg := startPrivatePG(t)
	execSQL(t, pg.DSN, "CREATE DATABASE posthorn")
	sbPort := freePort(t)
	pw := pg.password()
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%s user=postgres password=%s application_name=posthorn_standby", pg.Port, pw)
	if out, err := pg.asOwner(nil, "pg_basebackup", "-D", filepath.Join(pg.dir, "standby"), "-d", conninfo,
		"-R", "-X", "stream", "-c", "fast"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	pg.startData("standby", sbPort)
	t.Cleanup(func() { pg.asOwner(nil, "pg_ctl", "-D", filepath.Join(pg.dir, "standby"), "-m", "immediate", "stop") })
	// Synchronous only once the standby streams: set after the base
	// backup, so the standby's own copy of the settings does not carry it
	// (a promoted standby waiting for a standby of its own would hang).
	execSQL(t, pg.DSN, "ALTER SYSTEM SET synchronous_standby_names = 'posthorn_standby'", "SELECT pg_reload_conf()")
	waitFor(t, waitTimeout, "the standby is synchronous", func() (bool, string) {
		st := querySQL(t, pg.DSN, "SELECT coalesce(string_agg(sync_state, ','), '') FROM pg_stat_replication")
		return st == "sync", "sync_state " + st
	})

	u, _ := url.Parse(pg.DSN)
	u.Host = "127.0.0.1:" + pg.Port + ",127.0.0.1:" + sbPort
	u.Path = "/posthorn"
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	dsn := u.String()

	nodes := startCluster(t, 2, dsn, deadDNS(t))
	nodes[0].AddUser(loadAlice, clusterPass)
	nodes[0].AddUser(loadBob, clusterPass)
	set := &nodeSet{nodes: nodes, down: map[int]bool{}}
	l := &clusterLoad{tag: runTag(t, "load-failover"), local: []string{loadAlice, loadBob}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx, 4, 2000, set.smtp, stop) }()

	waitMoreAccepted(t, l, 30)
	pg.pgCtl("data", "-m", "immediate", "stop") // the primary dies
	acceptedAtKill := l.accepted.Load()
	t.Logf("primary killed after %s", l.summary())
	pg.pgCtl("standby", "-w", "promote")
	t.Log("standby promoted")
	waitMoreAccepted(t, l, 40)
	close(stop)
	<-done
	if n := l.codeCount(5); n > 0 {
		t.Errorf("%d senders got a 5xx (last: %s)", n, l.last5)
	}
	t.Logf("%d acknowledged before the kill, %s in all", acceptedAtKill, l.summary())
	l.checkDelivered(t, nodes[1].POP3, clusterPass)
	if !strings.Contains(querySQL(t, strings.Replace(dsn, "target_session_attrs=read-write", "target_session_attrs=any", 1),
		"SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END"), "primary") {
		t.Error("the promoted standby is not a primary")
	}
}

// querySQL returns the first column of the first row as text.
func querySQL(t testing.TB, dsn, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	conn, err := pgxConnect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}
