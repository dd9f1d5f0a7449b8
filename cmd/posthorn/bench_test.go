package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/loadgen/loadgentest"
)

// runBenchCmd runs "posthorn bench ARGS" in-process.
func runBenchCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(k string) string { return env[k] }}
	code = cmdBench(context.Background(), io, args)
	return code, out.String(), errb.String()
}

func TestBenchJSON(t *testing.T) {
	sink := loadgentest.Start(t, loadgentest.Options{Pipelining: true})
	code, out, errs := runBenchCmd(t, nil, "smtp", "--target", sink.Addr, "--messages", "12",
		"--size", "2000", "--concurrency", "3", "--pipelining", "--reuse",
		"--to", "a@x.test", "--to", "b@x.test", "--tag", "cli", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var got struct {
		Sent, OK, Failed, Size, Connections int
		Pipelined                           int                        `json:"pipelined_connections"`
		LatencyMS                           struct{ P50, Max float64 } `json:"latency_ms"`
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("--json must print one line, got %q", out)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if got.Sent != 12 || got.OK != 12 || got.Failed != 0 || got.Size != 2000 || got.Pipelined != got.Connections || got.LatencyMS.Max <= 0 {
		t.Errorf("result %+v", got)
	}
	st := sink.Stats()
	if len(st.Messages) != 12 || st.Connections > 3 || st.PipelinedMail != 12 {
		t.Errorf("sink: %d messages, %d connections, %d pipelined MAIL", len(st.Messages), st.Connections, st.PipelinedMail)
	}
	if m := st.Messages[0]; m.Size != 2000 || len(m.To) != 2 || !strings.HasPrefix(m.Subject, "cli ") {
		t.Errorf("message %+v", m)
	}
}

func TestBenchText(t *testing.T) {
	sink := loadgentest.Start(t, loadgentest.Options{})
	// Flags may follow or precede the positional "smtp".
	code, out, errs := runBenchCmd(t, nil, "--messages", "5", "smtp", "--target", sink.Addr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"messages     5 sent, 5 ok, 0 failed", "rate ", "latency      p50 "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchFailuresExit1(t *testing.T) {
	sink := loadgentest.Start(t, loadgentest.Options{FinalCode: func(string) int { return 451 }})
	code, out, errs := runBenchCmd(t, nil, "smtp", "--target", sink.Addr, "--messages", "4")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "4 failed (451: 4)") {
		t.Errorf("report lacks the failures by code:\n%s", out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "4 of 4 messages failed") {
		t.Errorf("stderr %q", errs)
	}
}

func TestBenchAuth(t *testing.T) {
	sink := loadgentest.Start(t, loadgentest.Options{User: "u@x.test", Password: "s3cret"})
	env := map[string]string{"POSTHORN_PASSWORD": "s3cret"}
	code, _, errs := runBenchCmd(t, env, "smtp", "--target", sink.Addr, "--messages", "3", "--user", "u@x.test")
	if code != 0 || sink.Stats().Auths == 0 {
		t.Fatalf("exit %d, %d logins, stderr %q", code, sink.Stats().Auths, errs)
	}
}

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"nothing", nil, nil},
		{"unknown kind", nil, []string{"http"}},
		{"two kinds", nil, []string{"smtp", "smtp"}},
		{"unknown flag", nil, []string{"smtp", "--bogus"}},
		{"bad tls", nil, []string{"smtp", "--tls", "ssl"}},
		{"zero messages", nil, []string{"smtp", "--messages", "0"}},
		{"negative size", nil, []string{"smtp", "--size", "-5"}},
		{"zero concurrency", nil, []string{"smtp", "--concurrency", "0"}},
		{"zero timeout", nil, []string{"smtp", "--timeout", "0s"}},
		{"bad target", nil, []string{"smtp", "--target", "nohostport"}},
		{"bad recipient", nil, []string{"smtp", "--to", "not an address"}},
		{"user without password", nil, []string{"smtp", "--user", "u@x.test"}},
		{"too many messages", nil, []string{"smtp", "--messages", "999999999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runBenchCmd(t, tt.env, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stdout %q)", code, out)
			}
			if strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr must be one line: %q", errs)
			}
		})
	}
}

func TestBenchHelp(t *testing.T) {
	code, out, _ := runBenchCmd(t, nil, "smtp", "--help")
	if code != 0 || !strings.Contains(out, "-pipelining") || !strings.Contains(out, "POSTHORN_PASSWORD") {
		t.Errorf("exit %d, help %q", code, out)
	}
}
