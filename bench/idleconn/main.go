// Command idleconn holds many idle SMTP connections open against a server
// and measures what they cost it: the server's resident memory (VmRSS and
// VmHWM from /proc/PID/status) before and while they are held, and how
// long a new client waits for its 220 greeting (RFC 5321 §4.2, §3.1) while
// they are held. It is a benchmark, not a test: it reports, it does not
// assert (bench/idle-connections.sh drives it).
//
// Each held connection is opened, its greeting read, and then left silent,
// as a slow or idle client would. A connection is only counted once the
// server has greeted it: a connection still waiting in the kernel's accept
// queue costs the server nothing and proves nothing. At the end a sample
// of the held connections is sent NOOP and must get 250, so they were live
// sessions all along.
//
// One source address gives at most the ephemeral port range (about 28,000
// on Linux) connections to one server address; -sources spreads the
// connections over several loopback source addresses (127.0.90.1,
// 127.0.90.2, ...: all of 127.0.0.0/8 is local on Linux).
//
// Left out: TLS (an idle session before STARTTLS is what a flood of
// clients costs), and any command before the hold: EHLO would be a
// different measurement.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds on what a flag may ask for, and on what the server may send.
const (
	maxConns      = 200_000
	maxLine       = 2048 // longer than any sane greeting line (RFC 5321 §4.5.3.1.5: 512)
	maxReplyLines = 100
)

// config is what the flags say.
type config struct {
	target   string
	conns    int
	sources  int
	parallel int
	probes   int
	pid      int
	timeout  time.Duration
	settle   time.Duration
	noops    int
}

// result is what a run measured.
type result struct {
	Held          int       `json:"held"`
	OpenSeconds   float64   `json:"open_seconds"`
	RSSBeforeKiB  int64     `json:"rss_before_kib"`
	RSSHeldKiB    int64     `json:"rss_held_kib"`
	HWMKiB        int64     `json:"hwm_kib"`
	PerConnBytes  float64   `json:"per_conn_bytes"`
	BannerMs      []float64 `json:"banner_ms"`
	BannerMedian  float64   `json:"banner_median_ms"`
	BannerP90     float64   `json:"banner_p90_ms"`
	BannerMax     float64   `json:"banner_max_ms"`
	NoopOK        int       `json:"noop_ok"`
	NoopTried     int       `json:"noop_tried"`
	ServerThreads int64     `json:"server_threads"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleconn:", err)
		os.Exit(2)
	}
	res, err := run(ctx, cfg, log)
	if res != nil {
		res.write(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleconn:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("idleconn", flag.ContinueOnError)
	fs.StringVar(&c.target, "target", "127.0.0.1:2525", "SMTP server `HOST:PORT`")
	fs.IntVar(&c.conns, "conns", 10_000, "idle connections to hold")
	fs.IntVar(&c.sources, "sources", 4, "loopback source addresses 127.0.90.1... (0: let the kernel choose)")
	fs.IntVar(&c.parallel, "parallel", 100, "connections being opened at once")
	fs.IntVar(&c.probes, "probes", 50, "new clients timed to their greeting while the others are held")
	fs.IntVar(&c.pid, "pid", 0, "server `PID` whose memory to read (0: do not)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "per connection: dial plus greeting")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "wait after opening, before reading memory")
	fs.IntVar(&c.noops, "noops", 100, "held connections sent NOOP at the end")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() != 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.conns < 0 || c.conns > maxConns:
		return c, fmt.Errorf("-conns must be 0 to %d", maxConns)
	case c.sources < 0 || c.sources > 250:
		return c, errors.New("-sources must be 0 to 250")
	case c.parallel < 1 || c.probes < 0 || c.noops < 0 || c.timeout <= 0:
		return c, errors.New("-parallel must be positive; -probes, -noops not negative; -timeout positive")
	}
	return c, nil
}

func run(ctx context.Context, cfg config, log *slog.Logger) (*result, error) {
	res := &result{}
	var err error
	if cfg.pid > 0 {
		if res.RSSBeforeKiB, _, _, err = procMemory(cfg.pid); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	held, err := openAll(ctx, cfg, log)
	defer closeAll(held)
	res.Held = len(held)
	res.OpenSeconds = time.Since(start).Seconds()
	if err != nil {
		return res, err
	}
	log.Info("holding", "conns", len(held), "seconds_to_open", res.OpenSeconds)
	select {
	case <-time.After(cfg.settle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if cfg.pid > 0 {
		if res.RSSHeldKiB, res.HWMKiB, res.ServerThreads, err = procMemory(cfg.pid); err != nil {
			return res, err
		}
		if len(held) > 0 {
			res.PerConnBytes = float64(res.RSSHeldKiB-res.RSSBeforeKiB) * 1024 / float64(len(held))
		}
	}
	if err := probe(ctx, cfg, res); err != nil {
		return res, err
	}
	res.NoopTried, res.NoopOK = noop(held, cfg.noops, cfg.timeout)
	return res, nil
}

// openAll opens cfg.conns connections, cfg.parallel at a time, each
// counted once its greeting has been read. The first failure stops it.
func openAll(ctx context.Context, cfg config, log *slog.Logger) ([]*held, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		conns    = make([]*held, 0, cfg.conns)
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range cfg.parallel {
		wg.Go(func() {
			for i := range next {
				h, err := dialGreeted(ctx, cfg, i)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
						cancel()
					}
				} else {
					conns = append(conns, h)
				}
				mu.Unlock()
			}
		})
	}
	for i := 0; i < cfg.conns && ctx.Err() == nil; i++ {
		if i > 0 && i%2000 == 0 {
			log.Info("opening", "done", i)
		}
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return conns, firstErr
}

// held is one idle connection, with the reader that read its greeting.
type held struct {
	conn net.Conn
	r    *bufio.Reader
}

func closeAll(hs []*held) {
	for _, h := range hs {
		h.conn.Close()
	}
}

// dialGreeted connects (from source address number i % cfg.sources) and
// reads the 220 greeting.
func dialGreeted(ctx context.Context, cfg config, i int) (*held, error) {
	d := net.Dialer{Timeout: cfg.timeout}
	if cfg.sources > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 90, byte(1+i%cfg.sources))}
		d.Control = bindNoPort
	}
	c, err := d.DialContext(ctx, "tcp", cfg.target)
	if err != nil {
		return nil, err
	}
	h := &held{conn: c, r: bufio.NewReaderSize(c, 512)}
	if err := c.SetDeadline(time.Now().Add(cfg.timeout)); err != nil {
		c.Close()
		return nil, err
	}
	code, text, err := readReply(h.r)
	if err == nil && code != 220 {
		err = fmt.Errorf("greeting %d %s", code, text)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return h, c.SetDeadline(time.Time{})
}

// probe times cfg.probes new clients, one after another, from connect to
// the end of their greeting, and says QUIT.
func probe(ctx context.Context, cfg config, res *result) error {
	for i := range cfg.probes {
		t0 := time.Now()
		h, err := dialGreeted(ctx, config{target: cfg.target, timeout: cfg.timeout}, i)
		if err != nil {
			return fmt.Errorf("probe %d: %w", i, err)
		}
		res.BannerMs = append(res.BannerMs, float64(time.Since(t0).Microseconds())/1000)
		fmt.Fprintf(h.conn, "QUIT\r\n")
		h.conn.Close()
	}
	if len(res.BannerMs) > 0 {
		s := slices.Sorted(slices.Values(res.BannerMs))
		res.BannerMedian, res.BannerP90, res.BannerMax = s[len(s)/2], s[len(s)*9/10], s[len(s)-1]
	}
	return nil
}

// noop sends NOOP on n held connections spread over all of them and
// counts the 250 replies.
func noop(hs []*held, n int, timeout time.Duration) (tried, ok int) {
	if n > len(hs) {
		n = len(hs)
	}
	for k := range n {
		h := hs[k*len(hs)/n]
		tried++
		h.conn.SetDeadline(time.Now().Add(timeout))
		if _, err := io.WriteString(h.conn, "NOOP\r\n"); err != nil {
			continue
		}
		if code, _, err := readReply(h.r); err == nil && code == 250 {
			ok++
		}
	}
	return tried, ok
}

// readReply reads one SMTP reply, multi-line or not (RFC 5321 §4.2.1),
// bounded in line length and line count.
func readReply(r *bufio.Reader) (int, string, error) {
	var text []string
	for range maxReplyLines {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLine {
			return 0, "", errors.New("reply line too long")
		}
		if err != nil {
			return 0, "", err
		}
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 {
			return 0, "", fmt.Errorf("malformed reply %q", s)
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil || code < 200 || code > 599 {
			return 0, "", fmt.Errorf("malformed reply %q", s)
		}
		if len(s) > 3 {
			text = append(text, s[4:])
		}
		if len(s) == 3 || s[3] == ' ' {
			return code, strings.Join(text, " "), nil
		}
		if s[3] != '-' {
			return 0, "", fmt.Errorf("malformed reply %q", s)
		}
	}
	return 0, "", errors.New("reply has too many lines")
}

func (r *result) write(w io.Writer) {
	fmt.Fprintf(w, "held=%d open_s=%.2f rss_before_kib=%d rss_held_kib=%d hwm_kib=%d per_conn_bytes=%.0f threads=%d\n",
		r.Held, r.OpenSeconds, r.RSSBeforeKiB, r.RSSHeldKiB, r.HWMKiB, r.PerConnBytes, r.ServerThreads)
	fmt.Fprintf(w, "banner_ms median=%.2f p90=%.2f max=%.2f probes=%d noop_ok=%d/%d\n",
		r.BannerMedian, r.BannerP90, r.BannerMax, len(r.BannerMs), r.NoopOK, r.NoopTried)
}
