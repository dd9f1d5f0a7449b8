package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// ErrNoKey is returned (wrapped) by Sign for a domain Load was not given.
var ErrNoKey = errors.New("no DKIM key for domain")

// Keys holds one signing key per local domain. It does not change after
// Load, so its methods may be called from any goroutine.
type Keys struct {
	byDomain map[string]*domainKey
}

// domainKey is one domain's key and where it came from.
type domainKey struct {
	domain   string
	selector string
	path     string
	signer   crypto.Signer
}

// Load reads the key of each domain from dataDir/dkim, making the
// directory and any missing key (see the package documentation). Domains
// compare case-insensitively; a trailing dot is ignored. log may be nil.
//
// Errors are mailerr-classified: a key file that cannot be parsed is
// permanent (BadInput, the operator must fix it), a failing file system
// temporary (Unavailable).
func Load(dataDir string, domains []string, log *slog.Logger) (*Keys, error) {
	return load(dataDir, domains, log, time.Now)
}

// load is Load with a clock, so tests can name the selector.
func load(dataDir string, domains []string, log *slog.Logger, now func() time.Time) (*Keys, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(dataDir, subdir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, mailerr.Temporary(mailerr.Unavailable, "cannot make the DKIM key directory", err)
	}
	k := &Keys{byDomain: make(map[string]*domainKey, len(domains))}
	for _, d := range domains {
		d = normalizeDomain(d)
		if _, dup := k.byDomain[d]; dup {
			continue
		}
		if err := checkDomain(d); err != nil {
			return nil, mailerr.Permanent(mailerr.BadInput, "bad DKIM domain", err)
		}
		dk, err := loadDomain(dir, d, log, now)
		if err != nil {
			return nil, err
		}
		k.byDomain[d] = dk
	}
	return k, nil
}

// loadDomain finds the key file of domain in dir, or makes one.
func loadDomain(dir, domain string, log *slog.Logger, now func() time.Time) (*domainKey, error) {
	sel, err := findSelector(dir, domain, log)
	if err != nil {
		return nil, err
	}
	if sel == "" {
		return createKey(dir, domain, newSelector(now()), log)
	}
	return openKey(dir, domain, sel, log)
}

// findSelector returns the greatest selector among domain's key files in
// dir, "" if there is none.
func findSelector(dir, domain string, log *slog.Logger) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", mailerr.Temporary(mailerr.Unavailable, "cannot list DKIM keys", err)
	}
	var sels []string
	for _, e := range entries {
		if s := selectorOf(e.Name(), domain); s != "" && e.Type().IsRegular() {
			sels = append(sels, s)
		}
	}
	if len(sels) == 0 {
		return "", nil
	}
	sort.Strings(sels)
	best := sels[len(sels)-1]
	if len(sels) > 1 {
		log.Warn("several DKIM keys for one domain; using the greatest selector",
			"domain", domain, "selector", best, "ignored", strings.Join(sels[:len(sels)-1], ","))
	}
	return best, nil
}

// openKey reads an existing key file.
func openKey(dir, domain, sel string, log *slog.Logger) (*domainKey, error) {
	path := filepath.Join(dir, keyFileName(domain, sel))
	signer, mode, err := readKeyFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, mailerr.Temporary(mailerr.Unavailable, "cannot read DKIM key", err)
		}
		return nil, mailerr.Permanent(mailerr.BadInput, "bad DKIM key file", err)
	}
	if mode&0o077 != 0 {
		// The key is a credential; say so, but do not refuse to sign.
		log.Warn("DKIM key file is readable by others; chmod 600 it", "path", path, "mode", mode.String())
	}
	return &domainKey{domain: domain, selector: sel, path: path, signer: signer}, nil
}

// createKey makes and stores a new key for domain. If another process
// stored one under the same name meanwhile, that one is used.
func createKey(dir, domain, sel string, log *slog.Logger) (*domainKey, error) {
	signer, data, err := generateKey()
	if err != nil {
		return nil, mailerr.Temporary(mailerr.Unknown, "cannot make DKIM key", err)
	}
	name := keyFileName(domain, sel)
	if err := writeKeyFile(dir, name, data); err != nil {
		if errors.Is(err, errKeyExists) {
			return openKey(dir, domain, sel, log)
		}
		return nil, mailerr.Temporary(mailerr.Unavailable, "cannot store DKIM key", err)
	}
	path := filepath.Join(dir, name)
	log.Info("DKIM key created; publish its record (posthorn dns)",
		"domain", domain, "selector", sel, "path", path)
	return &domainKey{domain: domain, selector: sel, path: path, signer: signer}, nil
}

// normalizeDomain lower-cases d and drops a trailing dot.
func normalizeDomain(d string) string {
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// key returns domain's key or an error wrapping ErrNoKey.
func (k *Keys) key(domain string) (*domainKey, error) {
	if k != nil {
		if dk := k.byDomain[normalizeDomain(domain)]; dk != nil {
			return dk, nil
		}
	}
	return nil, mailerr.Permanent(mailerr.NotLocal, "no DKIM key for "+domain,
		fmt.Errorf("%w %q", ErrNoKey, domain))
}

// Domains returns the domains that have a key, sorted.
func (k *Keys) Domains() []string {
	if k == nil {
		return nil
	}
	ds := make([]string, 0, len(k.byDomain))
	for d := range k.byDomain {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	return ds
}

// Record returns the DNS TXT record that publishes domain's public key
// (RFC 6376 §3.6.1): its name, SELECTOR._domainkey.DOMAIN without a
// trailing dot, and its text, unsplit (a DNS string holds at most 255
// octets; whoever writes the zone splits it). Both are "" for a domain
// without a key.
func (k *Keys) Record(domain string) (name, txt string) {
	dk, err := k.key(domain)
	if err != nil {
		return "", ""
	}
	return dk.selector + "._domainkey." + dk.domain, publicKeyRecord(dk.signer.Public())
}

// publicKeyRecord is the tag list of a DKIM key record. RSA keys are
// published as SubjectPublicKeyInfo, as opendkim-genkey does and every
// verifier accepts (RFC 6376 erratum 3017); Ed25519 keys as the bare 32
// octets (RFC 8463 §4.2).
func publicKeyRecord(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "" // cannot happen for a valid RSA key
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p)
	}
	return ""
}
