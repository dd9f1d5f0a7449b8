package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgDSNEnv gives the tests a PostgreSQL server (.ci/run starts one with
// .ci/pg-start.sh); the cluster tests skip without it, and fail under
// CI=true.
const pgDSNEnv = "POSTHORN_TEST_PG_DSN"

// clusterDB makes a new database on the test server for one test and
// returns its DSN; it is dropped when the test ends.
func clusterDB(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(pgDSNEnv)
	if dsn == "" {
		skipOrFail(t, "no PostgreSQL: set %s (.ci/pg-start.sh starts one)", pgDSNEnv)
	}
	return freshDB(t, dsn)
}

// freshDB creates a database named for the test on the server of dsn.
func freshDB(t testing.TB, dsn string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("posthorn_e2e_%d_%d", os.Getpid(), rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return withDatabase(t, dsn, name)
}

// withDatabase returns dsn naming database db instead.
func withDatabase(t testing.TB, dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn + " dbname=" + db
	}
	u.Path = "/" + db
	return u.String()
}

// ClusterNode is one posthorn node of a cluster: its own loopback
// address (127.0.77+k.N), ports and data directory (TLS files, node id),
// the store shared with the other nodes.
type ClusterNode struct {
	*Server
	IMAP string
}

// addrOn returns ip:PORT with a port free a moment ago.
func addrOn(t testing.TB, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// clusterSeq numbers the clusters of a run, so that clusters of tests
// running in parallel listen on loopback networks of their own
// (127.0.77+k.N): a port one test picked cannot be taken by another's.
var clusterSeq atomic.Int32

// newClusterNode prepares node n (1..) of cluster k on the database dsn;
// extra is TOML appended after the [store] table (a [queue], routes). It
// is not started.
func newClusterNode(t testing.TB, k, n int, dsn, extra string) *ClusterNode {
	t.Helper()
	ip := fmt.Sprintf("127.0.%d.%d", 77+k%100, n)
	s := NewServer(t, Options{Submission: true})
	s.SMTP, s.POP3, s.HTTP = addrOn(t, ip), addrOn(t, ip), addrOn(t, ip)
	s.Submission, s.Submissions = addrOn(t, ip), addrOn(t, ip)
	node := &ClusterNode{Server: s, IMAP: addrOn(t, ip)}
	o := Options{Submission: true, Extra: fmt.Sprintf("imap = [%q]\n\n[store]\ndriver = \"postgres\"\ndsn = %q\n\n%s",
		node.IMAP, dsn, extra)}
	if err := os.WriteFile(s.ConfigPath, []byte(s.config(o)), 0o600); err != nil {
		t.Fatal(err)
	}
	return node
}

// startCluster starts n nodes on dsn, one after the other (the first
// migrates the schema; the others find it done).
func startCluster(t testing.TB, n int, dsn, extra string) []*ClusterNode {
	t.Helper()
	var nodes []*ClusterNode
	k := int(clusterSeq.Add(1))
	for i := 1; i <= n; i++ {
		c := newClusterNode(t, k, i, dsn, extra)
		c.Start()
		nodes = append(nodes, c)
	}
	return nodes
}

// imapLogin dials a node's IMAP listener, logs in and selects INBOX.
func imapLogin(t testing.TB, addr, user, pass string) *IMAPConn {
	t.Helper()
	ic := DialIMAP(t, addr, false)
	ic.MustOK("LOGIN %s %s", user, pass)
	ic.MustOK("SELECT INBOX")
	return ic
}

// privatePG is a PostgreSQL cluster of the test's own (the fault tests
// stop, kill and promote it), made with .ci/pg-start.sh.
type privatePG struct {
	t    testing.TB
	dir  string
	DSN  string
	Port string
	bin  string
}

// startPrivatePG starts a throw-away cluster on 127.0.0.1; it is stopped
// and removed when the test ends. Skips (fails under CI) without the
// PostgreSQL server binaries.
func startPrivatePG(t testing.TB) *privatePG {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		skipOrFail(t, "no PostgreSQL server binaries (apt-get install postgresql, or set PG_BINDIR)")
	}
	// Under /tmp itself: under root the cluster runs as the postgres
	// user, who cannot enter the test's 0700 temporary directories.
	dir, err := os.MkdirTemp("", "posthorn-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dir) // pg-start.sh makes it, owned by the right user
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(binary.root, ".ci", "pg-start.sh"), dir).Output()
	if err != nil {
		t.Fatalf("pg-start.sh: %v", err)
	}
	p := &privatePG{t: t, dir: dir, DSN: strings.TrimSpace(string(out)), bin: bin}
	port, err := os.ReadFile(filepath.Join(dir, "port"))
	if err != nil {
		t.Fatal(err)
	}
	p.Port = strings.TrimSpace(string(port))
	t.Cleanup(func() {
		exec.Command("bash", filepath.Join(binary.root, ".ci", "pg-start.sh"), "--stop", dir).Run()
	})
	return p
}

// pgBinDir finds the server binaries as pg-start.sh does.
func pgBinDir() string {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(ms) == 0 {
		return ""
	}
	return filepath.Dir(ms[len(ms)-1])
}

// asOwner runs a server binary as the cluster's owner (postgres under
// root, as pg-start.sh does), bounded in time.
func (p *privatePG) asOwner(env []string, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	defer cancel()
	path := filepath.Join(p.bin, prog)
	var cmd *exec.Cmd
	if os.Getuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", "env"},
			append(env, append([]string{path}, args...)...)...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pgCtl runs pg_ctl on the cluster in dataDir (relative to p.dir).
func (p *privatePG) pgCtl(data string, args ...string) {
	p.t.Helper()
	if out, err := p.asOwner(nil, "pg_ctl", append([]string{"-D", filepath.Join(p.dir, data)}, args...)...); err != nil {
		p.t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
	}
}

// Stop stops the server (fast: sessions are cut, like a crash to them).
func (p *privatePG) Stop() { p.pgCtl("data", "-m", "fast", "-w", "stop") }

// Start starts it again on the same port.
func (p *privatePG) Start() { p.startData("data", p.Port) }

func (p *privatePG) startData(data, port string) {
	p.pgCtl(data, "-l", filepath.Join(p.dir, data+".log"), "-w", "-t", "60", "start", "-o",
		fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%s -c unix_socket_directories='%s'", port, p.dir))
}

// password is the superuser's, as pg-start.sh made it.
func (p *privatePG) password() string {
	u, err := url.Parse(p.DSN)
	if err != nil {
		p.t.Fatal(err)
	}
	pw, _ := u.User.Password()
	return pw
}

// exec runs SQL on the database of dsn.
func execSQL(t testing.TB, dsn string, sql ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 free a moment ago.
func freePort(t testing.TB) string {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	return port
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// httpGet fetches url (bounded) and returns the status and body.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: ioTimeout}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}

// pgxConnect connects one connection to dsn.
func pgxConnect(ctx context.Context, dsn string) (*pgx.Conn, error) { return pgx.Connect(ctx, dsn) }
