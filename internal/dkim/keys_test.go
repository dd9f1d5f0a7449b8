package dkim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func TestLoadCreatesThenReuses(t *testing.T) {
	dataDir := t.TempDir()
	k1, err := load(dataDir, []string{"Example.TEST.", "example.test", "other.test"}, nil, fixedClock(2026, time.January))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(k1.Domains(), ","); got != "example.test,other.test" {
		t.Fatalf("Domains() = %q", got)
	}
	dir := filepath.Join(dataDir, "dkim")
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dkim dir mode %v, want 0700", st.Mode().Perm())
	}
	for _, d := range []string{"example.test", "other.test"} {
		path := filepath.Join(dir, d+".ph202601.key")
		st, err := os.Stat(path)
		if err != nil {
			t.Fatalf("key file: %v", err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", path, st.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("dkim dir holds %d entries, want 2 (temporary files left?)", len(entries))
	}
	name, txt := k1.Record("EXAMPLE.test")
	if name != "ph202601._domainkey.example.test" {
		t.Errorf("record name %q", name)
	}
	if !strings.HasPrefix(txt, "v=DKIM1; k=rsa; p=MII") {
		t.Errorf("record text %q", txt)
	}

	// A later start, in another month, keeps the key and its selector.
	k2, err := load(dataDir, []string{"example.test"}, nil, fixedClock(2026, time.March))
	if err != nil {
		t.Fatal(err)
	}
	name2, txt2 := k2.Record("example.test")
	if name2 != name || txt2 != txt {
		t.Errorf("reloaded record %q %q, want the first one", name2, txt2)
	}
	if n, x := k2.Record("other.test"); n != "" || x != "" {
		t.Errorf("Record of a domain not loaded = %q %q, want empty", n, x)
	}
}

func TestLoadConcurrentStartsAgree(t *testing.T) {
	dataDir := t.TempDir()
	const n = 3
	recs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := load(dataDir, []string{"example.test"}, nil, fixedClock(2026, time.May))
			errs[i] = err
			if err == nil {
				_, recs[i] = k.Record("example.test")
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("load %d: %v", i, errs[i])
		}
		if recs[i] != recs[0] {
			t.Errorf("load %d published another key than load 0", i)
		}
	}
}

// pemOf encodes a key as PKCS#8 PEM.
func pemOf(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// smallRSA is a 512-bit key (openssl genrsa 512): too weak to sign with.
const smallRSA = `-----BEGIN RSA PRIVATE KEY-----
MIIBOwIBAAJBAJvmF6LEmDBL0clXiP92Qb2BpbCcG0hkUym2WEuRGi5f0g1Ss40Y
CRZvRb5DbeC+S7NdtKmvKY16wYjGWL5vGb0CAwEAAQJAeRXPidaUNf7NpEpe17wr
91q5LGEzN5jkluNP1PGQmi8P4I9MVjksyQCrhZ2Ik5FGDFeNc4SHVQPrx0igh5sW
QQIhAM57tz2EUqu1OmKCOq1pdi5jHhTJbBExe+rS5rOSxCoFAiEAwUjtqkAlTE85
gw2jjUXBEgeblKzsYuAWiFu/PM1M5lkCIQChItr1HvaFGYDer1KrUcnwmVk4T5gO
MtfJgZyYNsjvIQIgSRCOdxtEfjI8pWPUfaTutSgXEf7EZSQcoHM+OXfKKBECIQCc
5S85KGoQYy+4c64ceVNrcYyKS0jQiWow+shGasJbaA==
-----END RSA PRIVATE KEY-----
`

func TestLoadExistingFiles(t *testing.T) {
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(testKeyPEM())
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := parsed.(*rsa.PrivateKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	spki, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaRecord := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(spki)

	tests := []struct {
		name    string
		files   map[string][]byte // file name in dkim/ → content
		mode    os.FileMode
		wantSel string // "" when an error is wanted
		wantTXT string
		wantErr mailerr.Reason
	}{
		{name: "pkcs8 rsa", files: map[string][]byte{"example.test.sel1.key": testKeyPEM()},
			wantSel: "sel1", wantTXT: rsaRecord},
		{name: "pkcs1 rsa", files: map[string][]byte{"example.test.s2024.key": pkcs1},
			wantSel: "s2024", wantTXT: rsaRecord},
		{name: "ed25519", files: map[string][]byte{"example.test.ed.key": pemOf(t, edKey)},
			wantSel: "ed", wantTXT: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub)},
		{name: "greatest selector wins", files: map[string][]byte{
			"example.test.ph202401.key": []byte("not even read"),
			"example.test.ph202512.key": testKeyPEM(),
			"example.test.ph202406.key": []byte("not even read")},
			wantSel: "ph202512", wantTXT: rsaRecord},
		{name: "files of other domains and odd names ignored", files: map[string][]byte{
			"example.test.ph1.key":         testKeyPEM(),
			"sub.example.test.ph9.key":     []byte("other domain"),
			"example.test.a.b.key":         []byte("selector with a dot"),
			"example.test.UPPER.key":       []byte("selector not lower-case"),
			".new-example.test.ph9.key-12": []byte("temporary file")},
			wantSel: "ph1", wantTXT: rsaRecord},
		{name: "group-readable still loads", files: map[string][]byte{"example.test.k.key": testKeyPEM()},
			mode: 0o640, wantSel: "k", wantTXT: rsaRecord},
		{name: "garbage", files: map[string][]byte{"example.test.bad.key": []byte("hello")},
			wantErr: mailerr.BadInput},
		{name: "512-bit RSA", files: map[string][]byte{"example.test.weak.key": []byte(smallRSA)},
			wantErr: mailerr.BadInput},
		{name: "certificate instead of key", files: map[string][]byte{"example.test.c.key": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})},
			wantErr: mailerr.BadInput},
		{name: "too large", files: map[string][]byte{"example.test.big.key": append(testKeyPEM(), make([]byte, MaxKeyFileSize)...)},
			wantErr: mailerr.BadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			dir := filepath.Join(dataDir, "dkim")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			mode := tt.mode
			if mode == 0 {
				mode = 0o600
			}
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
					t.Fatal(err)
				}
			}
			k, err := load(dataDir, []string{"example.test"}, nil, fixedClock(2030, time.July))
			if tt.wantSel == "" {
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				if !mailerr.IsPermanent(err) || mailerr.ReasonOf(err) != tt.wantErr {
					t.Errorf("error %v: want permanent %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name, txt := k.Record("example.test")
			if want := tt.wantSel + "._domainkey.example.test"; name != want {
				t.Errorf("record name %q, want %q", name, want)
			}
			if txt != tt.wantTXT {
				t.Errorf("record text %q, want %q", txt, tt.wantTXT)
			}
		})
	}
}

func TestLoadBadDomain(t *testing.T) {
	for _, d := range []string{"", "../etc", "a/b", "exa mple.test", "-x.test", "ünï.test", "a..b"} {
		_, err := load(t.TempDir(), []string{d}, nil, fixedClock(2026, time.January))
		if err == nil || mailerr.ReasonOf(err) != mailerr.BadInput {
			t.Errorf("domain %q: error %v, want BadInput", d, err)
		}
	}
}

func TestLoadUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dataDir := t.TempDir()
	if err := os.Chmod(dataDir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dataDir, 0o700) })
	_, err := load(dataDir, []string{"example.test"}, nil, fixedClock(2026, time.January))
	if err == nil || mailerr.IsPermanent(err) || mailerr.ReasonOf(err) != mailerr.Unavailable {
		t.Errorf("error %v, want temporary Unavailable", err)
	}
}

func TestSelectorOf(t *testing.T) {
	tests := []struct{ file, domain, want string }{
		{"example.test.ph202601.key", "example.test", "ph202601"},
		{"example.test.ph202601.key", "test", ""}, // "example..." is no prefix of "test."
		{"example.test.ph202601.key", "example", ""},
		{"example.test.ph202601.pem", "example.test", ""},
		{"example.test..key", "example.test", ""},
		{"example.test.-x.key", "example.test", ""},
		{"localhost.s1.key", "localhost", "s1"},
	}
	for _, tt := range tests {
		if got := selectorOf(tt.file, tt.domain); got != tt.want {
			t.Errorf("selectorOf(%q, %q) = %q, want %q", tt.file, tt.domain, got, tt.want)
		}
	}
	if got := newSelector(time.Date(2026, 12, 31, 23, 0, 0, 0, time.FixedZone("x", -3*3600))); got != "ph202701" {
		t.Errorf("newSelector uses UTC: got %q, want ph202701", got)
	}
}

func TestWriteKeyFileIsExclusive(t *testing.T) {
	dir := t.TempDir()
	if err := writeKeyFile(dir, "a.test.s.key", []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := writeKeyFile(dir, "a.test.s.key", []byte("second"))
	if !errors.Is(err, errKeyExists) {
		t.Fatalf("second write: %v, want errKeyExists", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "a.test.s.key"))
	if string(data) != "first" {
		t.Errorf("file holds %q, want the first write", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries left, want 1", len(entries))
	}
}
