package delivery

import (
	"slices"
	"sync"
)

// Versioned is implemented by directories that can tell cheaply whether
// users or aliases may have changed since an earlier call, in this
// process or another (the SQLite store stats a marker file that every
// such change moves). A Router over one keeps resolutions in memory: a
// RCPT then costs a stat(2) instead of a read transaction. ok false
// means no version can be given now, and nothing is cached.
type Versioned interface {
	DirectoryVersion() (v [2]uint64, ok bool)
}

// maxCached bounds the cache; past it the cache starts over.
const maxCached = 10000

// resolveCache holds the resolutions made under one directory version.
// Only successes are kept, and only those whose users have no quota: a
// quota check needs the user's used bytes, which every delivery changes.
type resolveCache struct {
	mu sync.Mutex
	v  [2]uint64 // the version every entry was made under
	m  map[string][]Target
}

// get returns the cached targets of rcpt under version v. A new version
// empties the cache.
func (c *resolveCache) get(rcpt string, v [2]uint64) ([]Target, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.v {
		clear(c.m)
		c.v = v
		return nil, false
	}
	ts, ok := c.m[rcpt]
	if !ok {
		return nil, false
	}
	return slices.Clone(ts), true
}

// put keeps targets resolved under version v (read before resolving), if
// that is still the cache's version.
func (c *resolveCache) put(rcpt string, v [2]uint64, ts []Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.v {
		return // the directory changed meanwhile, or a newer version was seen
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string][]Target)
	}
	c.m[rcpt] = slices.Clone(ts)
}
