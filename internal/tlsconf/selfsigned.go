package tlsconf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validity of a generated certificate, and how long before its end it is
// replaced at start.
const (
	selfSignedValidity = 365 * 24 * time.Hour
	renewBefore        = 30 * 24 * time.Hour
)

// generateSelfSigned writes a new ECDSA P-256 key (mode 0600) and a
// self-signed certificate for hostname, localhost, 127.0.0.1 and ::1.
// The key is written first and each file is replaced atomically, so a
// crash leaves a pair that either loads or fails to load (and is then
// generated again), never a truncated file.
func generateSelfSigned(certFile, keyFile, hostname string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"posthorn self-signed"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clocks a little behind
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	if ip := net.ParseIP(hostname); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if hostname != "" && hostname != "localhost" {
		tmpl.DNSNames = append([]string{hostname}, tmpl.DNSNames...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return err
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	return writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, then syncs the directory.
func writeAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// staleReason says why a generated certificate should be replaced, or ""
// to keep it. Only a certificate that signed itself is ever replaced: a
// real one placed in the directory by hand stays, whatever its state.
func staleReason(cert *tls.Certificate, hostname string, now time.Time) string {
	leaf := cert.Leaf
	if leaf == nil {
		return ""
	}
	// CheckSignatureFrom would refuse a non-CA parent, so check the
	// signature directly.
	if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) ||
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		return ""
	}
	switch {
	case now.Add(renewBefore).After(leaf.NotAfter):
		return "expires " + leaf.NotAfter.Format(time.RFC3339)
	case leaf.VerifyHostname(hostname) != nil:
		return "does not name " + hostname
	}
	return ""
}

// loadOrGenerate loads the pair in dataDir/tls, generating it when it is
// missing, unreadable as a pair, or a self-signed one that is stale.
func (m *Manager) loadOrGenerate(now time.Time) (*tls.Certificate, error) {
	cert, err := loadPair(m.certFile, m.keyFile)
	reason := ""
	switch {
	case err == nil:
		reason = staleReason(cert, m.hostname, now)
		if reason == "" {
			return cert, nil
		}
	case errors.Is(err, os.ErrNotExist):
		reason = "none yet"
	default:
		reason = err.Error()
	}
	m.log.Info("generating a self-signed certificate", "cert_file", m.certFile, "key_file", m.keyFile,
		"hostname", m.hostname, "reason", reason)
	if err := generateSelfSigned(m.certFile, m.keyFile, m.hostname, now); err != nil {
		return nil, fmt.Errorf("tls: self-signed certificate in %s: %w", filepath.Dir(m.certFile), err)
	}
	return loadPair(m.certFile, m.keyFile)
}
