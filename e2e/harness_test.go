package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Waits are bounded: nothing in this package may hang a test run.
const (
	buildTimeout = 10 * time.Minute
	startTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
	cliTimeout   = 60 * time.Second
	ioTimeout    = 60 * time.Second
)

// Hostname and Domain are what every test config uses.
const (
	Hostname = "mx.example.test"
	Domain   = "example.test"
)

// binary is the posthorn executable TestMain built (or why it could not).
// Package state is unavoidable here: TestMain is the only place to build
// once for all tests.
var binary struct {
	path string
	err  error
	root string // repository root (absolute)
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binary.root = root
	dir, err := os.MkdirTemp("", "posthorn-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary.path = filepath.Join(dir, "posthorn")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", binary.path, "./cmd/posthorn")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		binary.err = fmt.Errorf("go build ./cmd/posthorn: %v\n%s", err, out)
	}
	return m.Run()
}

// needBinary fails the test when the binary did not build: an e2e test
// without the product has nothing to test, and that is a failure, not a skip.
func needBinary(t testing.TB) {
	t.Helper()
	if binary.err != nil {
		t.Fatal(binary.err)
	}
}

// inCI reports whether we run under .ci/run, where missing tools and
// missing test data are failures instead of skips.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips a test for a missing prerequisite, or fails it in CI.
func skipOrFail(t testing.TB, format string, a ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true: "+format, a...)
	}
	t.Skipf(format, a...)
}

// sharedTestdata returns ../shared/testdata/SUB (read in place, never copied).
func sharedTestdata(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join(binary.root, "..", "shared", "testdata", sub)
	if _, err := os.Stat(dir); err != nil {
		skipOrFail(t, "shared test data %s is absent (%v); it lives beside the repository in ../shared/testdata", dir, err)
	}
	return dir
}

// portRegistry hands out loopback ports, never the same one twice in a
// run, so that parallel tests do not collide.
var portRegistry struct {
	sync.Mutex
	used map[int]bool
}

// freeAddr returns 127.0.0.1:PORT with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	portRegistry.Lock()
	defer portRegistry.Unlock()
	if portRegistry.used == nil {
		portRegistry.used = map[int]bool{}
	}
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !portRegistry.used[port] {
			portRegistry.used[port] = true
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
	}
	t.Fatal("no free port after 100 tries")
	return ""
}

// Options shape a test server's config. Zero values leave the product's
// defaults in force.
type Options struct {
	DataDir        string // "" = a fresh t.TempDir()
	MaxMessageSize int64
	MaxRecipients  int
	MaxConnections int
	NoHTTP         bool   // leave the http listener off
	Submission     bool   // also listen for submission (STARTTLS) and submissions (implicit TLS)
	Extra          string // raw TOML appended to the file
}

// Server is one posthorn process (and its restarts) under test.
type Server struct {
	t          testing.TB
	Dir        string // config and logs
	DataDir    string
	ConfigPath string
	SMTP       string // host:port
	POP3       string
	HTTP       string // "" when off
	// Submission (STARTTLS, then AUTH) and Submissions (implicit TLS)
	// are "" unless Options.Submission.
	Submission  string
	Submissions string
	logPath     string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process exited
	waitErr error
	starts  int
}

// NewServer writes a config and prepares a server without starting it.
func NewServer(t testing.TB, o Options) *Server {
	t.Helper()
	needBinary(t)
	s := &Server{t: t, Dir: t.TempDir(), DataDir: o.DataDir}
	if s.DataDir == "" {
		s.DataDir = filepath.Join(s.Dir, "data")
	}
	s.SMTP = freeAddr(t)
	s.POP3 = freeAddr(t)
	if !o.NoHTTP {
		s.HTTP = freeAddr(t)
	}
	if o.Submission {
		s.Submission, s.Submissions = freeAddr(t), freeAddr(t)
	}
	s.ConfigPath = filepath.Join(s.Dir, "posthorn.toml")
	s.logPath = filepath.Join(s.Dir, "server.log")
	if err := os.WriteFile(s.ConfigPath, []byte(s.config(o)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cleanup)
	return s
}

// StartServer is NewServer followed by Start.
func StartServer(t testing.TB, o Options) *Server {
	t.Helper()
	s := NewServer(t, o)
	s.Start()
	return s
}

func (s *Server) config(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = %q\n", Hostname)
	fmt.Fprintf(&b, "data_dir = %q\n", s.DataDir)
	fmt.Fprintf(&b, "domains = [%q]\n", Domain)
	b.WriteString("allow_plaintext_auth = true\n\n[listen]\n")
	fmt.Fprintf(&b, "smtp = [%q]\n", s.SMTP)
	fmt.Fprintf(&b, "pop3 = [%q]\n", s.POP3)
	if s.HTTP != "" {
		fmt.Fprintf(&b, "http = [%q]\n", s.HTTP)
	}
	if s.Submission != "" {
		fmt.Fprintf(&b, "submission = [%q]\nsubmissions = [%q]\n", s.Submission, s.Submissions)
	}
	if o.MaxMessageSize != 0 || o.MaxRecipients != 0 || o.MaxConnections != 0 {
		b.WriteString("\n[limits]\n")
		if o.MaxMessageSize != 0 {
			fmt.Fprintf(&b, "max_message_size = %d\n", o.MaxMessageSize)
		}
		if o.MaxRecipients != 0 {
			fmt.Fprintf(&b, "max_recipients = %d\n", o.MaxRecipients)
		}
		if o.MaxConnections != 0 {
			fmt.Fprintf(&b, "max_connections = %d\n", o.MaxConnections)
		}
	}
	if o.Extra != "" {
		b.WriteString("\n" + o.Extra + "\n")
	}
	return b.String()
}

// listeners are the addresses a started server must accept on.
func (s *Server) listeners() []string {
	l := []string{s.SMTP, s.POP3}
	for _, a := range []string{s.HTTP, s.Submission, s.Submissions} {
		if a != "" {
			l = append(l, a)
		}
	}
	return l
}

// Start runs `posthorn serve` and waits until every listener accepts.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil && !s.exited() {
		s.mu.Unlock()
		s.t.Fatal("Start: server already running")
	}
	s.starts++
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.mu.Unlock()
		s.t.Fatal(err)
	}
	fmt.Fprintf(logf, "=== e2e: start #%d at %s\n", s.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(binary.path, "serve", "--config", s.ConfigPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.Dir
	cmd.SysProcAttr = serverProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		s.t.Fatalf("start posthorn serve: %v", err)
	}
	done := make(chan struct{})
	s.cmd, s.done, s.waitErr = cmd, done, nil
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(done)
	}()
	s.mu.Unlock()
	s.waitListening()
}

// exited reports whether the current process has ended (s.mu held or not:
// it only reads the channel).
func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) waitListening() {
	s.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for _, addr := range s.listeners() {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if s.exited() {
				s.t.Fatalf("posthorn serve exited before listening on %s (%v); log:\n%s", addr, s.exitErr(), s.LogTail(8192))
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("posthorn serve does not listen on %s after %v; log:\n%s", addr, startTimeout, s.LogTail(8192))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// Signal sends sig to the running server.
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || s.exited() {
		s.t.Fatalf("Signal %v: server not running", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits (bounded) for the process to exit and returns its exit code.
func (s *Server) Wait(timeout time.Duration) (int, error) {
	s.mu.Lock()
	done, cmd := s.done, s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return 0, errors.New("server never started")
	}
	select {
	case <-done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("server did not exit within %v", timeout)
	}
	return cmd.ProcessState.ExitCode(), nil
}

// Stop sends SIGTERM and waits for a clean exit (status 0).
func (s *Server) Stop() {
	s.t.Helper()
	s.Signal(syscall.SIGTERM)
	code, err := s.Wait(stopTimeout)
	if err != nil {
		s.Kill()
		s.t.Fatalf("SIGTERM: %v; log:\n%s", err, s.LogTail(8192))
	}
	if code != 0 {
		s.t.Errorf("after SIGTERM posthorn serve exited %d, want 0; log:\n%s", code, s.LogTail(4096))
	}
}

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || s.exited() {
		return
	}
	_ = cmd.Process.Kill()
	if _, err := s.Wait(stopTimeout); err != nil {
		s.t.Fatalf("SIGKILL: %v", err)
	}
}

// Restart kills nothing: it starts the server again on the same config
// and data directory after a Stop or Kill.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil && !s.exited() {
		s.t.Fatal("Restart: server still running; Stop or Kill first")
	}
	s.Start()
}

func (s *Server) cleanup() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil && !s.exited() {
		_ = cmd.Process.Kill()
		_, _ = s.Wait(stopTimeout)
	}
	if s.t.Failed() && s.starts > 0 {
		s.t.Logf("server log (%s), tail:\n%s", s.logPath, s.LogTail(6000))
	}
}

// LogTail returns the last n bytes of the server's output.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// CLIResult is what a posthorn command did.
type CLIResult struct {
	Args   []string
	Code   int
	Stdout string
	Stderr string
}

func (r CLIResult) String() string {
	return fmt.Sprintf("posthorn %s: exit %d\nstdout: %q\nstderr: %q", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// RunPosthorn runs the binary with args exactly as given and stdin.
func RunPosthorn(t testing.TB, dir, stdin string, args ...string) CLIResult {
	t.Helper()
	needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary.path, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := CLIResult{Args: args, Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("run posthorn %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("posthorn %v did not finish within %v", args, cliTimeout)
	}
	return res
}

// CLI runs an administrative command against this server's config
// (--config is appended: flags may follow positionals).
func (s *Server) CLI(stdin string, args ...string) CLIResult {
	s.t.Helper()
	return RunPosthorn(s.t, s.Dir, stdin, append(args, "--config", s.ConfigPath)...)
}

// MustCLI runs a command that must succeed.
func (s *Server) MustCLI(stdin string, args ...string) CLIResult {
	s.t.Helper()
	r := s.CLI(stdin, args...)
	if r.Code != 0 {
		s.t.Fatalf("want exit 0:\n%v", r)
	}
	return r
}

// AddUser creates a user with the password on stdin.
func (s *Server) AddUser(addr, pass string) {
	s.t.Helper()
	s.MustCLI(pass+"\n", "user", "add", addr, "--password-stdin")
}

// TLSCertPath is the self-signed certificate the server generates.
func (s *Server) TLSCertPath() string { return filepath.Join(s.DataDir, "tls", "cert.pem") }
