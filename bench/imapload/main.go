// Command imapload drives many IMAP sessions at once against one server
// and reports how long they took, for bench/imap-compare.sh and
// bench/imap-idle-memory.sh. It is a benchmark, not a test: it reports,
// it does not assert, except that every session must complete.
//
// Each session: connect (optionally implicit TLS, RFC 8314), LOGIN, SELECT
// INBOX, FETCH 1:* ITEMS (RFC 9051 §6.4.5; skipped with -items ""), IDLE
// (RFC 2177) until every session is idling, then DONE and LOGOUT. Sessions
// take the users of -users in turn, so that a server's sessions-per-user
// limit can be respected by giving several users the same mailbox.
//
// With -pid, the server's VmRSS is read from /proc/PID/status before the
// sessions start and while all of them idle (after -settle), and the
// difference per session is reported: the memory cost of an idle IDLE
// session on a selected mailbox. With -baseline K the first reading is
// taken with K sessions already held, and the difference is divided by
// the others. With -admin and -token (a posthorn admin
// endpoint), the same is done with the Go heap and stacks in use after a
// garbage collection (gomem.go).
//
// With -login-only, each session only logs in and out: what a login
// costs, to subtract when servers hash passwords differently.
//
// Left out: STARTTLS (implicit TLS costs the same per session once
// established), and any check of the FETCH data beyond counting responses.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxSessions bounds what -sessions may ask for.
const maxSessions = 100_000

// config is what the flags say.
type config struct {
	addr     string
	tls      bool
	users    []credential
	sessions int
	parallel int
	items    string
	login    bool
	pid      int
	baseline int
	admin    string
	token    string
	settle   time.Duration
	timeout  time.Duration
}

type credential struct{ user, pass string }

// result is what one run measured. Times are seconds.
type result struct {
	Sessions      int     `json:"sessions"`
	Messages      int     `json:"messages"`       // EXISTS of the first session
	FetchLines    int     `json:"fetch_lines"`    // FETCH responses over all sessions
	FetchBytes    int64   `json:"fetch_bytes"`    // bytes of the FETCH responses
	WallSeconds   float64 `json:"wall_s"`         // start to the last session idling
	LoginMedian   float64 `json:"login_median_s"` // connect + greeting + LOGIN
	SelectMedian  float64 `json:"select_median_s"`
	FetchMedian   float64 `json:"fetch_median_s"`
	SessionMedian float64 `json:"session_median_s"` // connect to idling, per session
	SessionMax    float64 `json:"session_max_s"`
	RSSBeforeKiB  int64   `json:"rss_before_kib,omitempty"`
	RSSHeldKiB    int64   `json:"rss_held_kib,omitempty"`
	PerSessionB   float64 `json:"per_session_bytes,omitempty"`
	GoBefore      int64   `json:"go_inuse_before,omitempty"` // heap+stack in use after a GC
	GoHeld        int64   `json:"go_inuse_held,omitempty"`
	GoPerSession  float64 `json:"go_per_session_bytes,omitempty"`
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapload:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapload:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("imapload", flag.ContinueOnError)
	cfg := &config{}
	users := fs.String("users", "", "USER:PASS[,USER:PASS...]; sessions take them in turn")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:143", "server host:port")
	fs.BoolVar(&cfg.tls, "tls", false, "implicit TLS (imaps); the certificate is not verified")
	fs.IntVar(&cfg.sessions, "sessions", 1, "sessions at once")
	fs.IntVar(&cfg.parallel, "parallel", 0, "at most this many sessions between connect and IDLE at once (0: all)")
	fs.StringVar(&cfg.items, "items", "(FLAGS ENVELOPE)", `FETCH 1:* items; "" for no FETCH`)
	fs.BoolVar(&cfg.login, "login-only", false, "only connect, LOGIN and LOGOUT (what a login costs)")
	fs.IntVar(&cfg.pid, "pid", 0, "server PID whose VmRSS to read (0: none)")
	fs.IntVar(&cfg.baseline, "baseline", 0, "with -pid: open and hold this many sessions before the first reading")
	fs.StringVar(&cfg.admin, "admin", "", "posthorn admin base URL: also read Go heap+stack in use after a GC (with -token)")
	fs.StringVar(&cfg.token, "token", "", "the admin bearer token")
	fs.DurationVar(&cfg.settle, "settle", 2*time.Second, "wait with every session idling before reading VmRSS")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "the whole run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, u := range strings.Split(*users, ",") {
		name, pass, ok := strings.Cut(u, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("-users: want USER:PASS, got %q", u)
		}
		cfg.users = append(cfg.users, credential{name, pass})
	}
	if cfg.sessions < 1 || cfg.sessions > maxSessions {
		return nil, fmt.Errorf("-sessions must be 1 to %d", maxSessions)
	}
	if cfg.baseline < 0 || cfg.baseline >= cfg.sessions {
		return nil, fmt.Errorf("-baseline must be 0 to %d", cfg.sessions-1)
	}
	if cfg.parallel <= 0 || cfg.parallel > cfg.sessions {
		cfg.parallel = cfg.sessions
	}
	return cfg, nil
}

// timing is one session's phases.
type timing struct {
	login, sel, fetch, total time.Duration
	exists, lines            int
	bytes                    int64
}

// run starts the sessions, waits until all idle, measures, and ends them.
// With -baseline K, the first K sessions are opened and held before the
// "before" reading, so that the figure per session is the marginal cost
// of the others, after whatever the server keeps from logging in (an
// argon2id login takes 19 MiB for a moment, and the runtime keeps freed
// heap for a while).
func run(ctx context.Context, cfg *config) (*result, error) {
	res := &result{Sessions: cfg.sessions}
	r := &runner{cfg: cfg, ctx: ctx, slots: make(chan struct{}, cfg.parallel), release: make(chan struct{}),
		times: make([]timing, cfg.sessions), errs: make([]error, cfg.sessions), ended: make([]error, cfg.sessions)}
	defer r.stop()
	start := time.Now()
	if cfg.baseline > 0 {
		if err := r.open(0, cfg.baseline); err != nil {
			return nil, err
		}
		time.Sleep(cfg.settle)
	}
	if err := r.measure(&res.RSSBeforeKiB, &res.GoBefore); err != nil {
		return nil, err
	}
	if err := r.open(cfg.baseline, cfg.sessions); err != nil {
		return nil, err
	}
	res.WallSeconds = time.Since(start).Seconds()
	if cfg.pid > 0 || cfg.admin != "" {
		time.Sleep(cfg.settle)
	}
	if err := r.measure(&res.RSSHeldKiB, &res.GoHeld); err != nil {
		return nil, err
	}
	n := float64(cfg.sessions - cfg.baseline)
	if cfg.pid > 0 {
		res.PerSessionB = float64(res.RSSHeldKiB-res.RSSBeforeKiB) * 1024 / n
	}
	if cfg.admin != "" {
		res.GoPerSession = float64(res.GoHeld-res.GoBefore) / n
	}
	if err := r.stop(); err != nil {
		return nil, err
	}
	summarise(res, r.times)
	return res, nil
}

// runner holds the sessions of a run.
type runner struct {
	cfg     *config
	ctx     context.Context
	wg      sync.WaitGroup
	slots   chan struct{}
	release chan struct{}
	stopped bool
	times   []timing
	errs    []error // of setup
	ended   []error // of DONE and LOGOUT
}

// open starts sessions [from, to) and waits until they all idle.
func (r *runner) open(from, to int) error {
	var idling sync.WaitGroup
	idling.Add(to - from)
	for i := from; i < to; i++ {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.slots <- struct{}{}
			c, t, err := setup(r.ctx, r.cfg, r.cfg.users[i%len(r.cfg.users)])
			<-r.slots
			r.times[i], r.errs[i] = t, err
			idling.Done()
			if err != nil || c == nil {
				return
			}
			defer c.close()
			select {
			case <-r.release:
			case <-r.ctx.Done():
			}
			r.ended[i] = c.finish()
		}()
	}
	idling.Wait()
	return errors.Join(r.errs[from:to]...)
}

// measure reads the server's VmRSS and Go memory, as configured.
func (r *runner) measure(rss, goMem *int64) error {
	var err error
	if r.cfg.pid > 0 {
		if *rss, err = vmRSS(r.cfg.pid); err != nil {
			return err
		}
	}
	if r.cfg.admin != "" {
		*goMem, err = goMemory(r.ctx, r.cfg.admin, r.cfg.token)
	}
	return err
}

// stop ends every session (DONE, LOGOUT) and returns their errors.
func (r *runner) stop() error {
	if !r.stopped {
		r.stopped = true
		close(r.release)
		r.wg.Wait()
	}
	return errors.Join(r.ended...)
}

// summarise fills the medians and counts from the sessions' timings.
func summarise(res *result, times []timing) {
	med := func(get func(timing) time.Duration) float64 {
		v := make([]float64, len(times))
		for i, t := range times {
			v[i] = get(t).Seconds()
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	res.Messages = times[0].exists
	for _, t := range times {
		res.FetchLines += t.lines
		res.FetchBytes += t.bytes
		res.SessionMax = max(res.SessionMax, t.total.Seconds())
	}
	res.LoginMedian = med(func(t timing) time.Duration { return t.login })
	res.SelectMedian = med(func(t timing) time.Duration { return t.sel })
	res.FetchMedian = med(func(t timing) time.Duration { return t.fetch })
	res.SessionMedian = med(func(t timing) time.Duration { return t.total })
}

// setup runs one session up to IDLE.
func setup(ctx context.Context, cfg *config, cred credential) (*client, timing, error) {
	var t timing
	t0 := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, t, err
	}
	if cfg.tls {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, t, fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c := newClient(conn)
	if err := c.greeting(); err != nil {
		c.close()
		return nil, t, err
	}
	if _, err := c.command("a1", "LOGIN "+quote(cred.user)+" "+quote(cred.pass), nil); err != nil {
		c.close()
		return nil, t, err
	}
	t1 := time.Now()
	if cfg.login {
		_, err := c.command("a5", "LOGOUT", nil)
		c.close()
		t.login, t.total = t1.Sub(t0), time.Since(t0)
		return nil, t, err
	}
	_, err = c.command("a2", "SELECT INBOX", func(l []byte) {
		if n, ok := untaggedNumber(l, "EXISTS"); ok {
			t.exists = n
		}
	})
	if err != nil {
		c.close()
		return nil, t, err
	}
	t2 := time.Now()
	if cfg.items != "" {
		_, err = c.command("a3", "FETCH 1:* "+cfg.items, func(l []byte) {
			if _, ok := untaggedNumber(l, "FETCH"); ok {
				t.lines++
			}
			t.bytes += int64(len(l))
		})
		if err != nil {
			c.close()
			return nil, t, err
		}
	}
	t3 := time.Now()
	if err := c.idle(); err != nil {
		c.close()
		return nil, t, err
	}
	t.login, t.sel, t.fetch, t.total = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), time.Since(t0)
	return c, t, nil
}

// quote makes an IMAP quoted string (RFC 9051 §4.3).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// vmRSS reads a process's resident set in KiB from /proc/PID/status.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("server memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int64
			if _, err := fmt.Sscan(v, &kib); err != nil {
				return 0, fmt.Errorf("server memory: VmRSS: %w", err)
			}
			return kib, nil
		}
	}
	return 0, errors.New("server memory: no VmRSS")
}
