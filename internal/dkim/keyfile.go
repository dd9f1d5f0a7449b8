package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// KeyBits is the size of the RSA keys Load makes.
	KeyBits = 2048
	// MaxKeyFileSize bounds a key file: a 4096-bit RSA key in PEM is
	// about 3.3 KiB.
	MaxKeyFileSize = 64 << 10
	// minRSABits and maxRSABits are RFC 8301 §3.2's range: signers MUST
	// NOT use less than 1024 bits, verifiers need only check up to 4096.
	minRSABits = 1024
	maxRSABits = 4096

	keySuffix = ".key"
	subdir    = "dkim"
)

// errKeyExists reports that another process wrote the key file first.
var errKeyExists = errors.New("key file already exists")

// keyFileName is DOMAIN.SELECTOR.key.
func keyFileName(domain, selector string) string {
	return domain + "." + selector + keySuffix
}

// selectorOf returns the selector of file name for domain, or "" when
// name is not a key file of that domain. The selector must be one DNS
// label, which keeps "example.test.ph1.key" from counting as a key of
// the domain "example" with a selector "test.ph1".
func selectorOf(name, domain string) string {
	rest, ok := strings.CutPrefix(name, domain+".")
	if !ok {
		return ""
	}
	sel, ok := strings.CutSuffix(rest, keySuffix)
	if !ok || checkLabel(sel) != nil {
		return ""
	}
	return sel
}

// newSelector names a key made at t: "ph" and the UTC year and month.
func newSelector(t time.Time) string {
	return "ph" + t.UTC().Format("200601")
}

// checkLabel accepts one lower-case LDH label (RFC 1123 §2.1) of 1..63
// octets: selectors and the labels of domains.
func checkLabel(l string) error {
	if l == "" || len(l) > 63 {
		return fmt.Errorf("label %q: want 1 to 63 octets", l)
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("label %q: character %q not allowed", l, c)
		}
	}
	return nil
}

// checkDomain accepts a lower-case host name of LDH labels; it also keeps
// path separators and ".." out of key file names.
func checkDomain(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("domain %q: want 1 to 253 octets", d)
	}
	for _, l := range strings.Split(d, ".") {
		if err := checkLabel(l); err != nil {
			return fmt.Errorf("domain %q: %w", d, err)
		}
	}
	return nil
}

// generateKey makes a new RSA key and its PEM (PKCS#8) encoding.
func generateKey() (crypto.Signer, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key: %w", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseKey decodes a PEM private key: PKCS#8 (RSA or Ed25519) or PKCS#1
// RSA. RSA keys must be 1024 to 4096 bits (RFC 8301 §3.2).
func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q: want PRIVATE KEY or RSA PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return nil, fmt.Errorf("RSA key of %d bits: want %d to %d", bits, minRSABits, maxRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported key type %T: want RSA or Ed25519", key)
	}
}

// readKeyFile reads and parses a key file of at most MaxKeyFileSize.
func readKeyFile(path string) (crypto.Signer, fs.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > MaxKeyFileSize {
		return nil, 0, fmt.Errorf("%s: larger than %d bytes", path, MaxKeyFileSize)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return key, st.Mode().Perm(), nil
}

// writeKeyFile writes data to dir/name durably and exclusively: a
// temporary file is written, synced and hard-linked to name, which fails
// with errKeyExists if another process got there first; then the
// directory is synced. On a file system without hard links it falls back
// to rename, which is atomic but not exclusive.
func writeKeyFile(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".new-"+name+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		f.Close()
		if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = rerr
		}
	}()
	if err = f.Chmod(0o600); err != nil {
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
	final := filepath.Join(dir, name)
	if err = os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errKeyExists
		}
		if err = os.Rename(tmp, final); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// syncDir makes a directory's entries durable (a new file's name).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
