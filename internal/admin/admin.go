// Package admin is posthorn's HTTP listener for operators: health,
// Prometheus metrics and, behind a bearer token, the Go profiler.
//
//	GET /healthz         200 "ok" when the store answers a ping, else 503
//	                     with the error (for load balancers and probes)
//	GET /metrics         the Prometheus text exposition of the registry
//	    /debug/pprof/... net/http/pprof, only with "Authorization: Bearer
//	                     <token>" (RFC 6750 §2.1); no token configured:
//	                     404, as if the endpoints did not exist
//
// The listener binds 127.0.0.1 by default; /healthz and /metrics need no
// token, as probes and scrapers seldom carry one, and tell nothing a
// local operator may not know. Left out for now: the admin API (users,
// queue) that will sit behind the same token check.
package admin

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Pinger is what /healthz asks: the store, reachable and answering.
type Pinger interface {
	Ping(ctx context.Context) error
}

// pingTimeout bounds a health check, so a hung store makes /healthz
// answer 503 rather than hang the probe.
const pingTimeout = 5 * time.Second

// New returns the handler of the admin listener. reg is served on
// /metrics (the caller registers the Go and process collectors there);
// store may be nil, then /healthz only says the process runs. An empty
// token turns the token-protected endpoints off.
func New(reg *prometheus.Registry, store Pinger, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health{store: store, log: log})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg, // counts scrape errors in promhttp_metric_handler_errors_total
	}))
	if token != "" {
		mux.Handle("/debug/pprof/", requireToken(token, log, pprofMux()))
	}
	return mux
}

type health struct {
	store Pinger
	log   *slog.Logger
}

func (h health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.store != nil {
		ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
		defer cancel()
		if err := h.store.Ping(ctx); err != nil {
			h.log.Warn("health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unavailable: " + err.Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

func pprofMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves the named profiles
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// requireToken lets a request through only with the bearer token,
// compared in constant time.
func requireToken(token string, log *slog.Logger, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			log.Warn("admin request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "token_given", ok)
			w.Header().Set("WWW-Authenticate", `Bearer realm="posthorn"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the token of "Bearer <token>"; the scheme is
// case-insensitive (RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
