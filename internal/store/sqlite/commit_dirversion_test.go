package sqlite

import (
	"os"
	"testing"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/delivery"
	"github.com/posthorn/posthorn/internal/intake"
)

// TestDirectoryVersion: every change of users or aliases, by this Store
// or another one on the same file (another process), moves the version;
// mail deliveries do not.
func TestDirectoryVersion(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	other := openTest(t, dir) // an admin command's Store
	ver := func() [2]uint64 {
		t.Helper()
		v, ok := s.DirectoryVersion()
		if !ok {
			t.Fatal("no directory version")
		}
		return v
	}
	v0 := ver()
	u, err := other.AddUser(t.Context(), "dv@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	v1 := ver()
	if v1 == v0 {
		t.Error("AddUser in another Store did not move the version")
	}
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	if err := deliver(t, s, in, u, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if ver() != v1 {
		t.Error("a delivery moved the version")
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"AddAlias", func() error { return other.AddAlias(t.Context(), "al@example.com", []string{"dv@example.com"}) }},
		{"DeleteAlias", func() error { return other.DeleteAlias(t.Context(), "al@example.com") }},
		{"SetQuota", func() error { return s.SetQuota(t.Context(), "dv@example.com", 100) }},
		{"DeleteUser", func() error { return other.DeleteUser(t.Context(), "dv@example.com", true) }},
	}
	last := v1
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if v := ver(); v == last {
			t.Errorf("%s did not move the version", st.what)
		} else {
			last = v
		}
	}
	// A marker that cannot be written is removed: no version, no cache.
	os.Remove(s.path + markerSuffix)
	if err := os.Mkdir(s.path+markerSuffix, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.DirectoryVersion(); ok {
		t.Error("a directory as the marker gave a version")
	}
	if _, err := s.AddUser(t.Context(), "dv2@example.com", testCred(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.DirectoryVersion(); ok {
		t.Error("version after a failed mark")
	}
}

// BenchmarkRCPTLookup compares a RCPT's user lookup in the store with a
// resolution the router answers from its cache (one stat of the marker).
func BenchmarkRCPTLookup(b *testing.B) {
	s := openTest(b, b.TempDir())
	cred, err := auth.NewCredentials("pw")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddUser(b.Context(), "rcpt@example.com", cred); err != nil {
		b.Fatal(err)
	}
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.UserByAddress(b.Context(), "rcpt@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("router-cached", func(b *testing.B) {
		r := delivery.NewRouter(s, []string{"example.com"}, "rcpt@example.com")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(b.Context(), "rcpt@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
