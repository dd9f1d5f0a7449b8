package tlsconf

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func TestGenerateSelfSigned(t *testing.T) {
	dir := t.TempDir()
	m, err := New("", "", dir, "mx.example.test", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "tls", "cert.pem"); m.CertFile() != want {
		t.Errorf("CertFile = %q, want %q", m.CertFile(), want)
	}
	fi, err := os.Stat(filepath.Join(dir, "tls", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, want 0600", fi.Mode().Perm())
	}
	leaf := m.Certificate().Leaf
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key = %T, want ECDSA P-256", leaf.PublicKey)
	}
	addr := serve(t, m.Config())
	for _, name := range []string{"mx.example.test", "localhost", "127.0.0.1", "::1"} {
		if got := handshake(t, addr, name, m.CertFile()); !bytes.Equal(got.Raw, leaf.Raw) {
			t.Errorf("handshake for %s saw another certificate", name)
		}
	}

	// A second start reuses the pair.
	m2, err := New("", "", dir, "mx.example.test", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m2.Certificate().Leaf.Raw, leaf.Raw) {
		t.Error("second start generated a new certificate")
	}
	// A new hostname makes a new one that names it.
	m3, err := New("", "", dir, "other.example.test", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := m3.Certificate().Leaf.VerifyHostname("other.example.test"); err != nil {
		t.Errorf("after a hostname change: %v", err)
	}
}

func TestGenerateReplacesBrokenPair(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "cert.pem"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := New("", "", dir, "localhost", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Certificate().Leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
}

func TestStaleReason(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	now := time.Now()
	if err := generateSelfSigned(cf, kf, "mx.test", now); err != nil {
		t.Fatal(err)
	}
	cert, err := loadPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host  string
		at    time.Time
		stale bool
	}{
		{"mx.test", now, false},
		{"localhost", now, false},
		{"other.test", now, true},
		{"mx.test", now.Add(selfSignedValidity - renewBefore/2), true},
	} {
		if got := staleReason(cert, tc.host, tc.at); (got != "") != tc.stale {
			t.Errorf("staleReason(%s, %v) = %q, want stale=%v", tc.host, tc.at, got, tc.stale)
		}
	}
}

func TestExplicitFiles(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := generateSelfSigned(cf, kf, "files.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	m, err := New(cf, kf, "", "ignored.test", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.CertFile() != cf || m.Certificate().Leaf.VerifyHostname("files.test") != nil {
		t.Errorf("explicit files not used: %s", m.CertFile())
	}
	for _, tc := range []struct{ name, cert, key string }{
		{"cert only", cf, ""},
		{"key only", "", kf},
		{"missing", filepath.Join(dir, "none.pem"), kf},
		{"swapped", kf, cf},
	} {
		if _, err := New(tc.cert, tc.key, dir, "x.test", testLog(t)); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}

// Reload while a tls.Config serves: an open session keeps working, new
// handshakes see the new certificate, and a bad file keeps the old one.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := generateSelfSigned(cf, kf, "one.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	m, err := New(cf, kf, "", "one.test", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, m.Config())
	first := m.Certificate().Leaf

	open := dialTLS(t, addr, "one.test", cf)
	defer open.Close()
	echo(t, open, "before")

	if err := generateSelfSigned(cf, kf, "two.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	second := handshake(t, addr, "two.test", cf)
	if bytes.Equal(second.Raw, first.Raw) || second.VerifyHostname("two.test") != nil {
		t.Fatal("new handshake after Reload saw the old certificate")
	}
	echo(t, open, "after") // the session from before the reload is intact

	if err := os.WriteFile(cf, []byte("-----BEGIN CERTIFICATE-----\nbad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err == nil {
		t.Fatal("Reload of a bad file succeeded")
	}
	if !bytes.Equal(m.Certificate().Leaf.Raw, second.Raw) {
		t.Fatal("a failed Reload replaced the certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(second)
	if got := handshakePool(t, addr, "two.test", pool); !bytes.Equal(got.Raw, second.Raw) {
		t.Fatal("handshake after a failed Reload did not see the kept certificate")
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := generateSelfSigned(cf, kf, "one.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	m, err := New(cf, kf, "", "", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { m.Watch(ctx, 5*time.Millisecond); close(done) }()

	if err := generateSelfSigned(cf, kf, "two.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	// Move the mtime on, in case the file system's clock is coarse.
	later := time.Now().Add(time.Hour)
	for _, f := range []string{cf, kf} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; m.Certificate().Leaf.VerifyHostname("two.test") != nil; i++ {
		if i > 10000 { // a bound on the wait, not a timing assertion
			t.Fatal("Watch did not reload the changed files")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

// serve runs a TLS echo server on 127.0.0.1 until the test ends.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dialTLS(t *testing.T, addr, name, certFile string) *tls.Conn {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in", certFile)
	}
	return dialPool(t, addr, name, pool)
}

func dialPool(t *testing.T, addr, name string, pool *x509.CertPool) *tls.Conn {
	t.Helper()
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: name}}
	c, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", addr, name, err)
	}
	return c.(*tls.Conn)
}

func handshake(t *testing.T, addr, name, certFile string) *x509.Certificate {
	t.Helper()
	c := dialTLS(t, addr, name, certFile)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func handshakePool(t *testing.T, addr, name string, pool *x509.CertPool) *x509.Certificate {
	t.Helper()
	c := dialPool(t, addr, name, pool)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo %q = %q, %v", msg, buf, err)
	}
}
