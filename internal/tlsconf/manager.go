// Package tlsconf provides the server's TLS certificate: files named in
// the configuration, or a self-signed one generated in the data
// directory, and reloads it without dropping sessions.
//
// Every listener (STARTTLS of RFC 3207, STLS of RFC 2595, implicit TLS of
// RFC 8314) takes its *tls.Config from Manager.Config. The certificate is
// served through GetCertificate from an atomic pointer, so Reload swaps
// it for new handshakes while established sessions keep theirs.
//
// The self-signed pair lives in <data_dir>/tls/cert.pem and key.pem. That
// directory is posthorn's own: a pair there that is missing, does not
// load, or is a self-signed certificate that expires within 30 days or
// does not name the hostname is generated again at start (ECDSA P-256,
// valid one year, names hostname, localhost, 127.0.0.1 and ::1, key mode
// 0600).
//
// TLS 1.2 is the minimum (RFC 8996 deprecates 1.0 and 1.1; RFC 8314 §4.1
// asks for 1.2 or later). Left out: ACME, several certificates chosen by
// SNI, client certificates, OCSP stapling.
package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Manager holds the current certificate and reloads it from its files.
type Manager struct {
	certFile, keyFile string
	selfSigned        bool
	hostname          string
	log               *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu     sync.Mutex // serializes Reload and guards loaded
	loaded stamp      // the files as they were at the last load attempt
}

// New loads certFile and keyFile, or, when both are empty, the pair in
// dataDir/tls, generating a self-signed certificate for hostname on first
// start. Giving only one of the files is an error.
func New(certFile, keyFile, dataDir, hostname string, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{certFile: certFile, keyFile: keyFile, hostname: hostname, log: log}
	if (certFile == "") != (keyFile == "") {
		return nil, mailerr.Permanent(mailerr.BadInput, "tls: cert_file and key_file go together", nil)
	}
	var (
		cert *tls.Certificate
		err  error
	)
	if certFile == "" {
		if dataDir == "" {
			return nil, mailerr.Permanent(mailerr.BadInput, "tls: no certificate files and no data directory", nil)
		}
		m.selfSigned = true
		m.certFile = filepath.Join(dataDir, "tls", "cert.pem")
		m.keyFile = filepath.Join(dataDir, "tls", "key.pem")
		cert, err = m.loadOrGenerate(time.Now())
	} else {
		cert, err = loadPair(certFile, keyFile)
	}
	m.loaded = statPair(m.certFile, m.keyFile)
	if err != nil {
		return nil, err
	}
	m.cert.Store(cert)
	m.log.Info("tls certificate loaded", "cert_file", m.certFile, "self_signed", m.selfSigned,
		"subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	return m, nil
}

// Config returns a new *tls.Config serving the current certificate (and
// any later one Reload installs). Each call returns a fresh value, so a
// listener may set fields such as NextProtos without affecting others.
func (m *Manager) Config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: m.getCertificate,
	}
}

func (m *Manager) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.cert.Load(), nil
}

// Reload reads the files again. On error the old certificate stays in
// use; the error is logged and returned.
func (m *Manager) Reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloadLocked(statPair(m.certFile, m.keyFile))
}

func (m *Manager) reloadLocked(st stamp) error {
	m.loaded = st
	cert, err := loadPair(m.certFile, m.keyFile)
	if err != nil {
		m.log.Error("tls reload failed; keeping the previous certificate",
			"cert_file", m.certFile, "key_file", m.keyFile, "err", err)
		return err
	}
	m.cert.Store(cert)
	m.log.Info("tls certificate reloaded", "cert_file", m.certFile,
		"subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	return nil
}

// Watch checks the files every interval (a minute if every <= 0) and
// reloads when the modification time or size of either has changed. It
// blocks until ctx is done; run it in its own goroutine. A change that
// fails to load is tried again only after the files change once more.
func (m *Manager) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := statPair(m.certFile, m.keyFile)
		m.mu.Lock()
		if st != m.loaded {
			_ = m.reloadLocked(st) // logged inside
		}
		m.mu.Unlock()
	}
}

// CertFile is the certificate's path, for clients and tests that need to
// trust a self-signed certificate.
func (m *Manager) CertFile() string { return m.certFile }

// Certificate returns the certificate new handshakes receive.
func (m *Manager) Certificate() *tls.Certificate { return m.cert.Load() }

// loadPair loads a PEM certificate chain and key. tls.X509KeyPair fills
// Leaf, which staleReason and the logs use.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := readBounded(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readBounded(keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, mailerr.Permanent(mailerr.BadInput,
			fmt.Sprintf("tls: %s and %s", certFile, keyFile), err)
	}
	if cert.Leaf == nil {
		return nil, mailerr.Permanent(mailerr.BadInput, "tls: "+certFile, errors.New("no leaf certificate"))
	}
	return &cert, nil
}

// maxPEM bounds a certificate or key file; a long chain is a few KiB.
const maxPEM = 1 << 20

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("tls: read %s: %w", path, err)
	}
	if len(data) > maxPEM {
		return nil, mailerr.Permanent(mailerr.BadInput, fmt.Sprintf("tls: %s is larger than %d bytes", path, maxPEM), nil)
	}
	return data, nil
}

// stamp identifies a version of the pair of files for Watch.
type stamp struct {
	certMod, keyMod   int64 // UnixNano
	certSize, keySize int64
}

func statPair(certFile, keyFile string) stamp {
	var s stamp
	if fi, err := os.Stat(certFile); err == nil {
		s.certMod, s.certSize = fi.ModTime().UnixNano(), fi.Size()
	}
	if fi, err := os.Stat(keyFile); err == nil {
		s.keyMod, s.keySize = fi.ModTime().UnixNano(), fi.Size()
	}
	return s
}
