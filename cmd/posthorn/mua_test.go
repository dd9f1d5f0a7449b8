package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/loadgen/loadgentest"
)

// runMUA runs "posthorn send|fetch ARGS" in-process with stdin and
// environment.
func runMUA(t *testing.T, cmd command, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	sio := &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: func(k string) string { return env[k] }}
	code = cmd(context.Background(), sio, args)
	return code, out.String(), errb.String()
}

// testCA returns a server TLS config for 127.0.0.1/localhost and the path
// of a PEM file trusting it.
func testCA(t *testing.T) (*tls.Config, string) {
	t.Helper()
	cfg, _ := loadgentest.SelfSigned(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	der := cfg.Certificates[0].Certificate[0]
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

func TestResolveTLS(t *testing.T) {
	tests := []struct {
		server, tls string
		want        tlsMode
		bad         bool
	}{
		{server: "mail.example:995", want: tlsMode{mode: "implicit"}},
		{server: "127.0.0.1:2995", want: tlsMode{mode: "implicit"}},
		{server: "mail.example:110", want: tlsMode{mode: "starttls"}},
		{server: "[::1]:2110", want: tlsMode{mode: "starttls"}},
		{server: "mail.example:995", tls: "none", want: tlsMode{mode: "none", explicit: true}},
		{server: "mail.example:110", tls: "implicit", want: tlsMode{mode: "implicit", explicit: true}},
		{server: "mail.example:110", tls: "ssl", bad: true},
		{server: "mail.example", bad: true},
		{server: "", bad: true},
		{server: ":110", bad: true},
	}
	for _, tt := range tests {
		m := muaFlags{server: tt.server, tls: tt.tls}
		got, err := m.resolveTLS("995", "2995")
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("resolveTLS(%q, %q) = %+v, %v", tt.server, tt.tls, got, err)
		}
	}
}

func TestMUAPassword(t *testing.T) {
	tests := []struct {
		name, stdin string
		fromStdin   bool
		env         string
		want        string
		bad         bool
	}{
		{name: "stdin", stdin: "s3cret\nrest", fromStdin: true, want: "s3cret"},
		{name: "stdin CRLF", stdin: "s3cret\r\n", fromStdin: true, want: "s3cret"},
		{name: "stdin no newline", stdin: "s3cret", fromStdin: true, want: "s3cret"},
		{name: "stdin empty", stdin: "\n", fromStdin: true, bad: true},
		{name: "stdin too long", stdin: strings.Repeat("x", 5000), fromStdin: true, bad: true},
		{name: "env", env: "fromenv", want: "fromenv"},
		{name: "stdin wins over env", stdin: "a\n", fromStdin: true, env: "b", want: "a"},
		{name: "nothing and no terminal", bad: true},
	}
	for _, tt := range tests {
		sio := &stdio{in: strings.NewReader(tt.stdin), out: &bytes.Buffer{}, err: &bytes.Buffer{},
			getenv: func(k string) string {
				if k == "POSTHORN_PASSWORD" {
					return tt.env
				}
				return ""
			}}
		got, err := muaPassword(sio, tt.fromStdin, "u", "s")
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("%s: got %q, %v", tt.name, got, err)
		}
	}
}

func TestTLSConfigFlags(t *testing.T) {
	_, ca := testCA(t)
	var errb bytes.Buffer
	sio := &stdio{err: &errb}
	m := muaFlags{server: "mail.example:995", cafile: ca, insecure: true}
	cfg, err := m.tlsConfig(sio)
	if err != nil || cfg.RootCAs == nil || !cfg.InsecureSkipVerify || cfg.ServerName != "mail.example" {
		t.Fatalf("tlsConfig = %+v, %v", cfg, err)
	}
	if !strings.Contains(errb.String(), "warning") {
		t.Errorf("--insecure gave no warning: %q", errb.String())
	}
	m = muaFlags{server: "mail.example:995", cafile: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := m.tlsConfig(sio); err == nil {
		t.Error("a missing --cafile was accepted")
	}
}
