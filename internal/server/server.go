// Package server wires posthorn together: the config, the store, TLS, the
// intake committer, and a protocol server per listener; it owns the
// process's lifecycle (SIGTERM drains, SIGHUP reloads certificates, root
// binds the low ports and then drops to the configured user).
//
// The store is the one [store] driver names (store.go): the embedded
// SQLite store of one node, or PostgreSQL shared by several nodes
// (docs/cluster.md). Past openStore nothing knows which; a node on
// PostgreSQL names itself in queue leases by a node id kept in data_dir.
//
// It holds no protocol logic: adapters here translate between the small
// interfaces each engine owns and the store.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/posthorn/posthorn/internal/admin"
	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/delivery"
	"github.com/posthorn/posthorn/internal/dkim"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/relay"
	"github.com/posthorn/posthorn/internal/smtpclient"
	"github.com/posthorn/posthorn/internal/smtpserver"
	"github.com/posthorn/posthorn/internal/tlsconf"
)

// drainGrace is how long sessions may finish after SIGTERM.
const drainGrace = 30 * time.Second

// engine is a protocol server bound to listeners.
type engine interface {
	Serve(ctx context.Context, ln net.Listener) error
	Shutdown(ctx context.Context) error
}

type binding struct {
	name string
	addr string
	eng  engine
	ln   net.Listener
}

// Run serves until ctx is cancelled (SIGTERM/SIGINT), then drains.
// Where it listens is printed on out.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.created {
		fmt.Fprintf(out, "created a new store in %s\n", cfg.DataDir)
	}
	tm, err := tlsconf.New(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.DataDir, cfg.Hostname, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	spoolDir := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	in := intake.New(st, spoolDir, log, intake.NewMetrics(reg))
	defer in.Close()

	router := delivery.NewRouter(st, cfg.Domains, cfg.PostmasterAddress())
	pm := cfg.PostmasterAddress()
	if err := ensurePostmaster(ctx, st, pm, func(a string) bool {
		return router.IsLocalDomain(a[strings.LastIndexByte(a, '@')+1:])
	}, log); err != nil {
		return fmt.Errorf("postmaster %s: %w", pm, err)
	}
	lg := &logins{store: st, throttle: auth.NewThrottle(10, 15*time.Minute)}
	keys, err := dkim.Load(cfg.DataDir, cfg.Domains, log)
	if err != nil {
		return err
	}
	sub := &submission{
		dir:      st,
		limits:   newSendLimits(cfg.Limits.SendPerHour, cfg.Limits.RcptsPerHour),
		newSpool: in.NewSpool,
		dkim: func(ctx context.Context, domain string, m *intake.Message) (string, error) {
			if !router.IsLocalDomain(domain) {
				return "", nil
			}
			return keys.Sign(ctx, domain, m.Body.NewReader())
		},
	}
	rr, err := relay.New(relay.FromConfig(cfg))
	if err != nil {
		return err
	}
	cc := smtpclient.FromConfig(cfg)
	cc.Logger, cc.Metrics = log, smtpclient.NewMetrics(reg)
	client := smtpclient.New(cc)
	defer client.Close()
	runner, err := st.newQueue(cfg, in, relayDeliverer{router: rr, client: client}, routerResolver{router}, log, reg)
	if err != nil {
		return err
	}
	sb := &smtpBackend{router: router, intake: in, hostname: cfg.Hostname, log: log, kick: runner.Kick}
	bindings := engines(cfg, tm, reg, log, sb, sub, authenticator{lg},
		&pop3Backend{logins: lg, seq: newOwnerSeq()}, newIMAPBackend(st, lg))

	for i := range bindings {
		b := &bindings[i]
		var lc net.ListenConfig
		b.ln, err = lc.Listen(ctx, "tcp", b.addr)
		if err != nil {
			closeAll(bindings)
			return fmt.Errorf("listen %s %s: %w", b.name, b.addr, err)
		}
	}
	var httpSrv *http.Server
	var httpLns []net.Listener
	for _, a := range cfg.Listen.HTTP {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			closeAll(bindings)
			return fmt.Errorf("listen http %s: %w", a, err)
		}
		httpLns = append(httpLns, ln)
	}
	if err := dropPrivileges(cfg, log); err != nil {
		closeAll(bindings)
		return err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	for _, b := range bindings {
		fmt.Fprintf(out, "posthorn: %s listening on %s\n", b.name, b.ln.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.eng.Serve(runCtx, b.ln)
			if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtpserver.ErrServerClosed) {
				log.Error("listener stopped", "listener", b.name, "addr", b.addr, "err", err)
			}
		}()
	}
	if len(httpLns) > 0 {
		httpSrv = &http.Server{Handler: admin.New(reg, st, cfg.Admin.Token, log), ReadHeaderTimeout: 10 * time.Second}
		for _, ln := range httpLns {
			fmt.Fprintf(out, "posthorn: http listening on %s\n", ln.Addr())
			go httpSrv.Serve(ln)
		}
	}
	go tm.Watch(runCtx, 30*time.Second)
	// Admin commands and imports in other processes, and other nodes on
	// a shared store, write the same store: notice them so IDLE sessions
	// hear of their changes.
	go st.WatchOtherWriters(runCtx, 2*time.Second)
	queueDone := make(chan struct{})
	go func() {
		defer close(queueDone)
		if err := runner.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("queue stopped", "err", err)
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	log.Info("posthorn started", "hostname", cfg.Hostname, "data_dir", cfg.DataDir, "domains", cfg.Domains)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			if err := tm.Reload(); err != nil {
				log.Error("tls reload failed", "err", err)
			} else {
				log.Info("tls certificate reloaded")
			}
		}
	}
	log.Info("stopping: draining sessions", "grace", drainGrace)
	sctx, scancel := context.WithTimeout(context.Background(), drainGrace)
	defer scancel()
	var sw sync.WaitGroup
	for _, b := range bindings {
		sw.Add(1)
		go func() { defer sw.Done(); b.eng.Shutdown(sctx) }()
	}
	if httpSrv != nil {
		httpSrv.Shutdown(sctx)
	}
	sw.Wait()
	cancel()
	wg.Wait()
	<-queueDone
	log.Info("posthorn stopped")
	return nil
}

func closeAll(bs []binding) {
	for _, b := range bs {
		if b.ln != nil {
			b.ln.Close()
		}
	}
}

// newOwnerSeq makes unique lock owner ids for this process.
func newOwnerSeq() func() string {
	var b [6]byte
	rand.Read(b[:])
	prefix := hex.EncodeToString(b[:])
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%s-%d", prefix, n)
	}
}
