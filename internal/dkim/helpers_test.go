package dkim

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// testKeyPEM is one RSA key shared by the tests: making a 2048-bit key
// takes long enough to matter when every test does it.
var testKeyPEM = sync.OnceValue(func() []byte {
	_, data, err := generateKey()
	if err != nil {
		panic(err)
	}
	return data
})

// testKeys returns Keys for the domains, with the shared key placed in a
// fresh data directory under selector "test".
func testKeys(t testing.TB, domains ...string) *Keys {
	t.Helper()
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, subdir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range domains {
		if err := os.WriteFile(filepath.Join(dir, keyFileName(d, "test")), testKeyPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k, err := Load(dataDir, domains, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixedClock returns a clock stopped at the given UTC year and month.
func fixedClock(year int, month time.Month) func() time.Time {
	return func() time.Time { return time.Date(year, month, 15, 12, 0, 0, 0, time.UTC) }
}

// verify checks a signed message with go-msgauth against the records
// of k (a fake DNS), returning the one verification.
func verify(t testing.TB, k *Keys, signed string) *dkim.Verification {
	t.Helper()
	lookup := func(name string) ([]string, error) {
		for _, d := range k.Domains() {
			if n, txt := k.Record(d); strings.EqualFold(n, name) {
				return []string{txt}, nil
			}
		}
		return nil, &fakeNXDomain{name}
	}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(signed), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(vs) != 1 {
		t.Fatalf("got %d verifications, want 1", len(vs))
	}
	return vs[0]
}

type fakeNXDomain struct{ name string }

func (e *fakeNXDomain) Error() string { return "no such domain " + e.name }

// sign signs msg for domain and returns the signed message.
func sign(t testing.TB, k *Keys, domain, msg string) string {
	t.Helper()
	sig, err := k.Sign(context.Background(), domain, strings.NewReader(msg))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return sig + msg
}

// errReader fails after returning its data.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var _ io.Reader = (*errReader)(nil)
