package delivery

import (
	"context"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// versionedDir counts lookups and has a version the test moves by hand.
type versionedDir struct {
	fakeDir
	v       [2]uint64
	noVer   bool
	lookups int
}

func (d *versionedDir) UserByAddress(ctx context.Context, a string) (store.User, error) {
	d.lookups++
	return d.fakeDir.UserByAddress(ctx, a)
}

func (d *versionedDir) AliasTargets(ctx context.Context, a string) ([]string, error) {
	d.lookups++
	return d.fakeDir.AliasTargets(ctx, a)
}

func (d *versionedDir) DirectoryVersion() ([2]uint64, bool) { return d.v, !d.noVer }

func TestResolveCache(t *testing.T) {
	d := &versionedDir{fakeDir: fakeDir{
		users: map[string]store.User{
			"alice@example.test": {ID: 1, Address: "alice@example.test"},
			"q@example.test":     {ID: 2, Address: "q@example.test", Quota: 100, Used: 1},
		},
		aliases: map[string][]string{"team@example.test": {"alice@example.test", "far@remote.test"}},
	}}
	r := NewRouter(d, []string{"example.test"}, "alice@example.test")
	ctx := context.Background()
	resolve := func(rcpt string) ([]Target, error) {
		t.Helper()
		before := d.lookups
		ts, err := r.Resolve(ctx, rcpt)
		t.Logf("%s: %v %v (%d lookups)", rcpt, ts, err, d.lookups-before)
		return ts, err
	}
	lookups := func(rcpt string) int {
		t.Helper()
		before := d.lookups
		resolve(rcpt)
		return d.lookups - before
	}

	if n := lookups("team@example.test"); n == 0 {
		t.Fatal("first resolution made no lookup")
	}
	if n := lookups("team@example.test"); n != 0 {
		t.Errorf("second resolution under the same version: %d lookups", n)
	}
	ts, _ := resolve("team@example.test")
	if len(ts) != 2 || ts[0].UserID != 1 || !ts[1].Remote {
		t.Errorf("cached targets %v", ts)
	}
	ts[0].UserID = 99 // the caller's copy: the cache must not change
	if ts, _ := resolve("team@example.test"); ts[0].UserID != 1 {
		t.Error("caller changed the cached targets")
	}

	// A change the version reports is seen at once.
	delete(d.aliases, "team@example.test")
	d.v[1]++
	if _, err := resolve("team@example.test"); !mailerr.Is(err, mailerr.NoSuchUser) {
		t.Errorf("deleted alias after a version change: %v", err)
	}
	// Failures and users with a quota are looked up every time.
	for _, rcpt := range []string{"team@example.test", "q@example.test"} {
		lookups(rcpt)
		if n := lookups(rcpt); n == 0 {
			t.Errorf("%s: answered from the cache", rcpt)
		}
	}
	// No version: no cache.
	d.noVer = true
	lookups("alice@example.test")
	if n := lookups("alice@example.test"); n == 0 {
		t.Error("cached without a version")
	}
}

// TestResolveCacheStalePut: a resolution made under an older version is
// not kept.
func TestResolveCacheStalePut(t *testing.T) {
	var c resolveCache
	c.get("x", [2]uint64{0, 2}) // the cache is at version 2
	c.put("x", [2]uint64{0, 1}, []Target{{UserID: 1}})
	if _, ok := c.get("x", [2]uint64{0, 2}); ok {
		t.Error("a resolution of version 1 was kept under version 2")
	}
	c.put("x", [2]uint64{0, 2}, []Target{{UserID: 1}})
	if ts, ok := c.get("x", [2]uint64{0, 2}); !ok || ts[0].UserID != 1 {
		t.Errorf("get = %v, %v", ts, ok)
	}
	for i := range maxCached + 1 {
		c.put(string(rune(i)), [2]uint64{0, 2}, nil)
	}
	if len(c.m) > maxCached {
		t.Errorf("cache holds %d entries, bound %d", len(c.m), maxCached)
	}
}
