// Package delivery decides where a recipient's mail goes: a local user's
// mailbox, each target of an alias, the postmaster (RFC 5321 §4.5.1), or a
// remote address for the relay queue.
//
// It implements the routing half of local delivery; the write itself is
// the store's, made durable by intake. Remote targets of aliases
// (forwarding) and relay through the queue arrive with the submission and
// relay issue; until then a remote target is refused as not local.
//
// Over a directory that implements Versioned (the SQLite store), the
// Router keeps successful resolutions in memory and drops them all as soon
// as the directory's version moves, which every change of users or
// aliases does, in any process: a RCPT after `posthorn alias del` sees the
// change. Users with a quota are read every time (their used bytes move
// with every delivery), and failures are never kept.
package delivery

import (
	"context"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// maxAliasDepth bounds alias chains (a → b → c ...) and breaks loops.
const maxAliasDepth = 8

// maxTargets bounds what one RCPT may expand to.
const maxTargets = 1000

// Directory is what the router needs of the store.
type Directory interface {
	UserByAddress(ctx context.Context, address string) (store.User, error)
	AliasTargets(ctx context.Context, alias string) ([]string, error)
}

// Target is one final destination of a recipient: a local user, or a
// remote address that an alias forwards to.
type Target struct {
	UserID  int64  // local user; 0 for a remote target
	Address string // the user's address (Delivered-To), or the remote address
	Remote  bool
}

// Router resolves recipient addresses. Over a Versioned directory it
// caches resolutions (cache.go).
type Router struct {
	dir        Directory
	domains    map[string]bool
	postmaster string
	ver        Versioned // nil: no cache
	cache      resolveCache
}

// NewRouter makes a router for the local domains; postmaster is where
// postmaster@ every local domain goes.
func NewRouter(dir Directory, domains []string, postmaster string) *Router {
	d := make(map[string]bool, len(domains))
	for _, x := range domains {
		d[strings.ToLower(x)] = true
	}
	r := &Router{dir: dir, domains: d, postmaster: postmaster}
	r.ver, _ = dir.(Versioned)
	return r
}

// IsLocalDomain reports whether mail for domain is delivered here.
func (r *Router) IsLocalDomain(domain string) bool { return r.domains[strings.ToLower(domain)] }

// Resolve returns the local users that mail to rcpt reaches, without
// duplicates. rcpt is "local@domain", or "postmaster" alone (RFC 5321
// §4.1.1.3). Errors: NotLocal (relay denied), NoSuchUser, OverQuota,
// or the store's temporary errors.
func (r *Router) Resolve(ctx context.Context, rcpt string) ([]Target, error) {
	var v [2]uint64
	cached := false
	if r.ver != nil {
		// The version is read before the lookups: a change during them
		// makes the result too old to keep.
		if v, cached = r.ver.DirectoryVersion(); cached {
			if ts, ok := r.cache.get(rcpt, v); ok {
				return ts, nil
			}
		}
	}
	w := walk{seen: map[string]bool{}}
	err := r.resolve(ctx, rcpt, 0, &w)
	if err == nil && cached && !w.quota {
		r.cache.put(rcpt, v, w.out)
	}
	return w.out, err
}

// walk is the state of one resolution.
type walk struct {
	out []Target
	// seen holds the targets already in out: "#<user id>" for local
	// users, the lower-cased address for remote ones.
	seen  map[string]bool
	quota bool // a target user has a quota: the result may not be cached
}

func (r *Router) resolve(ctx context.Context, rcpt string, depth int, w *walk) error {
	if depth > maxAliasDepth {
		return mailerr.Permanent(mailerr.Policy, "alias nesting too deep", nil)
	}
	local, domain, ok := split(rcpt)
	if !ok {
		if strings.EqualFold(rcpt, "postmaster") {
			return r.resolve(ctx, r.postmaster, depth+1, w)
		}
		return mailerr.Permanent(mailerr.BadInput, "address has no domain", nil)
	}
	if !r.IsLocalDomain(domain) {
		if depth == 0 {
			return mailerr.Permanent(mailerr.NotLocal, "relaying denied", nil)
		}
		// An alias forwards here (the caller already accepted the alias).
		key := strings.ToLower(rcpt)
		if !w.seen[key] {
			w.seen[key] = true
			w.out = append(w.out, Target{Address: rcpt, Remote: true})
		}
		return nil
	}
	addr := local + "@" + strings.ToLower(domain)
	if strings.EqualFold(local, "postmaster") && !strings.EqualFold(addr, r.postmaster) {
		return r.resolve(ctx, r.postmaster, depth+1, w)
	}
	// A user first: most recipients are users, and the store keeps users
	// and aliases apart (one address is never both), so the order only
	// saves the second lookup.
	if err := r.user(ctx, addr, w); !mailerr.Is(err, mailerr.NoSuchUser) {
		return err
	}
	targets, err := r.dir.AliasTargets(ctx, addr)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return mailerr.Permanent(mailerr.NoSuchUser, "no such user "+addr, nil)
	}
	followed := 0
	for _, t := range targets {
		if strings.EqualFold(t, addr) {
			continue // the store refuses these; never loop on one
		}
		followed++
		if err := r.resolve(ctx, t, depth+1, w); err != nil {
			return err
		}
		if len(w.out) > maxTargets {
			return mailerr.Permanent(mailerr.Policy, "alias expands to too many recipients", nil)
		}
	}
	if followed == 0 {
		return mailerr.Permanent(mailerr.NoSuchUser, "no such user "+addr, nil)
	}
	return nil
}

// user adds the local user addr to the walk's targets once.
func (r *Router) user(ctx context.Context, addr string, w *walk) error {
	u, err := r.dir.UserByAddress(ctx, addr)
	if err != nil {
		return err
	}
	if u.Quota > 0 {
		w.quota = true
		if u.Used >= u.Quota {
			return mailerr.Temporary(mailerr.OverQuota, "mailbox full", nil)
		}
	}
	if key := "#" + strconv.FormatInt(u.ID, 10); !w.seen[key] {
		w.seen[key] = true
		w.out = append(w.out, Target{UserID: u.ID, Address: u.Address})
	}
	return nil
}

// split splits an address at its last "@".
func split(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}
