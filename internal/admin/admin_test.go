package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type pinger struct{ err error }

func (p pinger) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return p.err
}

func newServer(t *testing.T, store Pinger, token string) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "posthorn_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(New(reg, store, token, slog.New(slog.NewTextHandler(t.Output(), nil))))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url, auth string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		store  Pinger
		status int
		body   string
	}{
		{"ok", pinger{}, 200, "ok\n"},
		{"no store", nil, 200, "ok\n"},
		{"store down", pinger{errors.New("database is locked")}, 503, "unavailable: database is locked\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.store, "")
			status, body, _ := get(t, srv.URL+"/healthz", "")
			if status != tc.status || body != tc.body {
				t.Errorf("GET /healthz = %d %q, want %d %q", status, body, tc.status, tc.body)
			}
		})
	}
}

func TestHealthzMethod(t *testing.T) {
	srv := newServer(t, pinger{}, "")
	resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	srv := newServer(t, pinger{}, "")
	status, body, hdr := get(t, srv.URL+"/metrics", "")
	if status != 200 {
		t.Fatalf("GET /metrics = %d", status)
	}
	if !strings.Contains(body, "posthorn_test_total 3") {
		t.Errorf("metrics lack the registered counter:\n%s", body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestNilRegistry(t *testing.T) {
	srv := httptest.NewServer(New(nil, nil, "", nil))
	defer srv.Close()
	if status, _, _ := get(t, srv.URL+"/metrics", ""); status != 200 {
		t.Errorf("GET /metrics with nil registry = %d", status)
	}
}

func TestPprofToken(t *testing.T) {
	const token = "s3cret"
	tests := []struct {
		name   string
		token  string // configured
		auth   string // sent
		path   string
		status int
	}{
		{"off without token", "", "Bearer s3cret", "/debug/pprof/", 404},
		{"off without token, profile", "", "", "/debug/pprof/heap", 404},
		{"no header", token, "", "/debug/pprof/", 401},
		{"wrong token", token, "Bearer wrong", "/debug/pprof/", 401},
		{"prefix of token", token, "Bearer s3cre", "/debug/pprof/", 401},
		{"basic scheme", token, "Basic s3cret", "/debug/pprof/", 401},
		{"empty bearer", token, "Bearer ", "/debug/pprof/", 401},
		{"good", token, "Bearer s3cret", "/debug/pprof/", 200},
		{"scheme case", token, "bearer s3cret", "/debug/pprof/", 200},
		{"cmdline", token, "Bearer s3cret", "/debug/pprof/cmdline", 200},
		{"named profile", token, "Bearer s3cret", "/debug/pprof/goroutine?debug=1", 200},
		{"unknown profile", token, "Bearer s3cret", "/debug/pprof/nope", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, pinger{}, tc.token)
			status, body, hdr := get(t, srv.URL+tc.path, tc.auth)
			if status != tc.status {
				t.Fatalf("GET %s = %d %q, want %d", tc.path, status, body, tc.status)
			}
			if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", hdr.Get("WWW-Authenticate"))
			}
			if status == 200 && tc.path == "/debug/pprof/" && !strings.Contains(body, "goroutine") {
				t.Errorf("pprof index lacks profiles:\n%s", body)
			}
		})
	}
}

func TestHealthzDoesNotNeedToken(t *testing.T) {
	srv := newServer(t, pinger{}, "s3cret")
	if status, _, _ := get(t, srv.URL+"/healthz", ""); status != 200 {
		t.Errorf("GET /healthz with a token configured = %d", status)
	}
	if status, _, _ := get(t, srv.URL+"/metrics", ""); status != 200 {
		t.Errorf("GET /metrics with a token configured = %d", status)
	}
}
