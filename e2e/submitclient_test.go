package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers for the submission listeners (RFC 6409 on STARTTLS, RFC 8314
// implicit TLS) with AUTH (RFC 4954): our raw client brought to a given
// phase, Python's smtplib with login, swaks and msmtp. Every TLS client
// here verifies the server's self-signed certificate (data_dir/tls/cert.pem
// as the only trusted CA, the IP address as the name), so a broken
// certificate fails the tests instead of hiding behind "insecure".

// serverTLS trusts exactly the server's self-signed certificate.
func serverTLS(t testing.TB, s *Server) *tls.Config {
	t.Helper()
	b, err := os.ReadFile(s.TLSCertPath())
	if err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no PEM certificate", s.TLSCertPath())
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// mustCmd sends a command whose reply must match want (matchReply syntax).
func mustCmd(t testing.TB, c *SMTPConn, line, want string) Reply {
	t.Helper()
	r, err := c.Cmd(line)
	if err != nil {
		t.Fatalf("%s: want %s, got error %v", short(line), want, err)
	}
	if !matchReply(r, want) {
		t.Fatalf("%s: want %s, got %v", short(line), want, r)
	}
	return r
}

// dialSubmission connects to the STARTTLS listener and returns the
// connection after EHLO (no TLS yet) with the EHLO reply.
func dialSubmission(t testing.TB, s *Server) (*SMTPConn, Reply) {
	t.Helper()
	c := dialT(t, s.Submission)
	return c, mustCmd(t, c, "EHLO client.example.org", "250")
}

// startTLS runs STARTTLS and the second EHLO, verifying the certificate.
func startTLS(t testing.TB, s *Server, c *SMTPConn) Reply {
	t.Helper()
	mustCmd(t, c, "STARTTLS", "220")
	if _, err := c.StartTLS(serverTLS(t, s)); err != nil {
		t.Fatalf("STARTTLS handshake (verifying %s): %v", s.TLSCertPath(), err)
	}
	return mustCmd(t, c, "EHLO client.example.org", "250")
}

// dialSubmissions connects to the implicit-TLS listener, verifies the
// certificate, reads the greeting and says EHLO.
func dialSubmissions(t testing.TB, s *Server) (*SMTPConn, Reply) {
	t.Helper()
	c, err := openSubmissions(s, serverTLS(t, s))
	if err != nil {
		t.Fatalf("submissions %s (verifying %s): %v", s.Submissions, s.TLSCertPath(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c, mustCmd(t, c, "EHLO client.example.org", "250")
}

// openSubmissions dials the implicit-TLS listener and reads the 220
// greeting; it does not fail the test, so goroutines may use it.
func openSubmissions(s *Server, cfg *tls.Config) (*SMTPConn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", s.Submissions)
	if err != nil {
		return nil, err
	}
	c := &SMTPConn{c: nc, r: bufio.NewReaderSize(nc, 8192)}
	g, err := c.ReadReply()
	if err == nil && g.Code != 220 {
		err = fmt.Errorf("greeting: want 220, got %v", g)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialAuthed returns a connection on the STARTTLS listener (implicit
// false) or the implicit-TLS one, logged in as user with AUTH PLAIN.
func dialAuthed(t testing.TB, s *Server, implicit bool, user, pass string) *SMTPConn {
	t.Helper()
	var c *SMTPConn
	if implicit {
		c, _ = dialSubmissions(t, s)
	} else {
		c, _ = dialSubmission(t, s)
		startTLS(t, s, c)
	}
	mustCmd(t, c, "AUTH PLAIN "+plainResp("", user, pass), "235 2.7.0")
	return c
}

// plainResp is the RFC 4616 PLAIN initial response.
func plainResp(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

// authMechs returns the mechanisms of the EHLO AUTH keyword, or nil.
func authMechs(r Reply) []string {
	for _, l := range r.Lines[1:] {
		f := strings.Fields(strings.ToUpper(l))
		if len(f) > 0 && f[0] == "AUTH" {
			return f[1:]
		}
	}
	return nil
}

// SubmitResult is py/submit.py's answer.
type SubmitResult struct {
	OK            bool             `json:"ok"`
	Stage         string           `json:"stage"`
	Code          int              `json:"code"`
	Error         string           `json:"error"`
	Refused       map[string][]any `json:"refused"`
	AuthBeforeTLS *bool            `json:"auth_before_tls"`
	AuthMechs     string           `json:"auth_mechs"`
}

// smtplibSubmit submits msg with Python's smtplib: STARTTLS on the
// submission listener, or implicit TLS on submissions; then login.
func smtplibSubmit(t testing.TB, s *Server, implicit bool, user, pass, from string, to []string, msg []byte) SubmitResult {
	t.Helper()
	addr, mode := s.Submission, "starttls"
	if implicit {
		addr, mode = s.Submissions, "implicit"
	}
	host, port := splitHostPort(t, addr)
	var res SubmitResult
	runPython(t, "submit.py", map[string]any{
		"host": host, "port": port, "tls": mode, "cafile": s.TLSCertPath(),
		"user": user, "pass": pass, "from": from, "to": to,
		"data_b64": base64.StdEncoding.EncodeToString(msg),
	}, &res)
	return res
}

// runSwaksAt runs swaks against addr (runSwaks is bound to the MX port).
func runSwaksAt(t testing.TB, addr string, args ...string) (string, error) {
	t.Helper()
	sw := needTool(t, "swaks")
	host, port := splitHostPort(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	all := append([]string{"--server", host, "--port", strconv.Itoa(port), "--helo", "client.example.org",
		"--timeout", "60"}, args...)
	out, err := exec.CommandContext(ctx, sw, all...).CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return "swaks " + strings.Join(all, " ") + "\n" + string(out), err
}

// runMsmtp sends msg (a message with LF or CRLF line ends) with msmtp
// (Debian's msmtp) through an account written to a fresh config file:
// tls_trust_file is the server's certificate, so msmtp verifies it.
func runMsmtp(t testing.TB, s *Server, implicit bool, user, pass, from string, to []string, msg []byte) (string, error) {
	t.Helper()
	bin := needTool(t, "msmtp")
	host, port := splitHostPort(t, s.Submission)
	starttls := "on"
	if implicit {
		host, port = splitHostPort(t, s.Submissions)
		starttls = "off"
	}
	var cfg strings.Builder
	for _, l := range []string{
		"account e2e", "host " + host, "port " + strconv.Itoa(port), "domain client.example.org",
		"tls on", "tls_starttls " + starttls, "tls_trust_file " + s.TLSCertPath(),
		"auth on", "user " + user, "password " + pass, "from " + from, "timeout 60",
	} {
		cfg.WriteString(l + "\n")
	}
	path := filepath.Join(t.TempDir(), "msmtprc")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	args := append([]string{"-C", path, "-a", "e2e", "-f", from, "--"}, to...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return "msmtp " + strings.Join(args, " ") + "\n" + string(out), err
}
