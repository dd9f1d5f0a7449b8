package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Helpers that run the external clients: Python scripts in py/ (smtplib,
// poplib) and swaks. A missing tool skips the test locally and fails it
// under CI=true (.ci/run installs them).

// needTool returns the path of an executable or skips/fails.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, "%s is not installed (apt-get install %s): %v", name, name, err)
	}
	return p
}

// runPython runs py/SCRIPT with in as JSON on stdin and decodes its JSON
// stdout into out.
func runPython(t testing.TB, script string, in, out any) {
	t.Helper()
	py := needTool(t, "python3")
	req, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(binary.root, "e2e", "py", script))
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3 %s: %v\nstderr: %s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("python3 %s: bad JSON output: %v\n%s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
}

// SMTPLibResult is py/smtp_send.py's answer.
type SMTPLibResult struct {
	OK      bool             `json:"ok"`
	Refused map[string][]any `json:"refused"` // rcpt → [code, text]
	Code    int              `json:"code"`
	Error   string           `json:"error"`
}

// smtplibSend sends msg (CRLF) with Python's smtplib.
func smtplibSend(t testing.TB, addr, from string, to []string, msg []byte, starttls bool) SMTPLibResult {
	t.Helper()
	host, port := splitHostPort(t, addr)
	var res SMTPLibResult
	runPython(t, "smtp_send.py", map[string]any{
		"host": host, "port": port, "from": from, "to": to,
		"data_b64": base64.StdEncoding.EncodeToString(msg), "starttls": starttls,
	}, &res)
	return res
}

// POPSession is one session for py/pop3ops.py.
type POPSession struct {
	User       string  `json:"user"`
	Pass       string  `json:"pass"`
	STLS       bool    `json:"stls,omitempty"`
	RetryInUse float64 `json:"retry_in_use"`
	Hold       bool    `json:"hold,omitempty"`
	Ops        [][]any `json:"ops"`
}

// POPResult is the outcome of one login, STLS or operation.
type POPResult struct {
	OK        bool     `json:"ok"`
	Resp      string   `json:"resp"`
	Error     string   `json:"error"`
	Op        []any    `json:"op"`
	Stat      []int64  `json:"stat"`
	Lines     []string `json:"lines"`
	DataB64   string   `json:"data_b64"`
	CertMatch *bool    `json:"cert_match"`
	Messages  []struct {
		N       int    `json:"n"`
		UID     string `json:"uid"`
		DataB64 string `json:"data_b64"`
	} `json:"messages"`
}

// Data decodes the retrieved bytes.
func (r POPResult) Data(t testing.TB) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(r.DataB64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// POPSessionResult is one session's outcome.
type POPSessionResult struct {
	Login   POPResult   `json:"login"`
	STLS    *POPResult  `json:"stls"`
	Results []POPResult `json:"results"`
}

// poplibRun runs sessions in order with Python's poplib.
func poplibRun(t testing.TB, s *Server, sessions ...POPSession) []POPSessionResult {
	t.Helper()
	host, port := splitHostPort(t, s.POP3)
	for i := range sessions {
		if sessions[i].Ops == nil {
			sessions[i].Ops = [][]any{}
		}
	}
	var out struct {
		Sessions []POPSessionResult `json:"sessions"`
	}
	runPython(t, "pop3ops.py", map[string]any{
		"host": host, "port": port, "cert_pem": s.TLSCertPath(), "sessions": sessions,
	}, &out)
	if len(out.Sessions) != len(sessions) {
		t.Fatalf("pop3ops.py returned %d sessions, want %d", len(out.Sessions), len(sessions))
	}
	return out.Sessions
}

// runSwaks runs swaks against the server's SMTP listener.
func runSwaks(t testing.TB, s *Server, args ...string) (string, error) {
	t.Helper()
	sw := needTool(t, "swaks")
	host, port := splitHostPort(t, s.SMTP)
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	all := append([]string{"--server", host, "--port", strconv.Itoa(port), "--helo", "client.example.org",
		"--timeout", "60"}, args...)
	cmd := exec.CommandContext(ctx, sw, all...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return "swaks " + strings.Join(all, " ") + "\n" + string(out), err
}

func splitHostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("bad address %q: %v", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("bad port in %q: %v", addr, err)
	}
	return host, p
}
