package smtpclient

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if NewMetrics(reg) == nil {
		t.Fatal("registering twice failed")
	}
	srv := newFakeServer(t, &fakeServer{rcptReply: func(a string) string {
		if a == "bad@mx.test" {
			return "550 5.1.1 no"
		}
		return "250 ok"
	}})
	cl := testClient(t, func(c *Config) { c.Metrics = m })
	cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test", "bad@mx.test"), bodyOf(plainMsg))
	cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	got := gather(t, reg)
	for name, want := range map[string]float64{
		`posthorn_smtpclient_recipients_total{result="delivered"}`: 2,
		`posthorn_smtpclient_recipients_total{result="permanent"}`: 1,
		`posthorn_smtpclient_connections_total{result="ok"}`:       1,
		`posthorn_smtpclient_connection_reuses_total`:              1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
	var nilM *Metrics
	nilM.result(&Result{})
	nilM.connect(true)
}

// gather flattens a registry's counters to "name{label="value"}" keys.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range m.GetLabel() {
				k += "{" + l.GetName() + "=\"" + l.GetValue() + "\"}"
			}
			out[k] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestParams(t *testing.T) {
	tests := []struct{ in, want string }{
		{xtext("a+b=c d\x01é"), "a+2Bb+3Dc+20d+01+C3+A9"},
		{orcptParam("rfc822;u@x.test", false), " ORCPT=rfc822;u@x.test"},
		{orcptParam("rfc822;ü@x.test", false), ""},
		{orcptParam("utf-8;ü@x.test", true), " ORCPT=utf-8;ü@x.test"},
		{orcptParam("noseparator", false), ""},
	}
	for _, tc := range tests {
		if tc.in != tc.want {
			t.Errorf("got %q, want %q", tc.in, tc.want)
		}
	}
}

// BenchmarkDeliver measures one message over a pooled, pipelining
// connection: the relay's hot path.
func BenchmarkDeliver(b *testing.B) {
	srv := newFakeServer(b, &fakeServer{ext: []string{"PIPELINING", "8BITMIME", "SIZE"}})
	cl := New(Config{Hostname: "bench.test", Logger: slog.New(slog.DiscardHandler)})
	defer cl.Close()
	body := bodyOf(plainMsg)
	env := envOf("a@mx.test", "b@mx.test")
	hops := []Hop{srv.hop()}
	for b.Loop() {
		res := cl.Deliver(context.Background(), hops, env, body)
		if !res.Rcpts[0].Delivered() {
			b.Fatal(res.Rcpts[0].Err)
		}
	}
}
