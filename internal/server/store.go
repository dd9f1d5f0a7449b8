package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/delivery"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/postgres"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

// Store is everything the server needs of a store: the union of the
// small interfaces each engine and adapter owns. store/sqlite (one node)
// and store/postgres (several nodes on one database) both satisfy it;
// nothing past openStore knows which one runs.
type Store interface {
	intake.Committer
	queue.Store
	mailStore
	imapStore
	AddUser(ctx context.Context, address string, cred auth.Credentials) (store.User, error)
	AliasTargets(ctx context.Context, alias string) ([]string, error)
	// Ping is /healthz: the database answers and holds the schema.
	Ping(ctx context.Context) error
	// WatchOtherWriters feeds Notifier with changes this process did not
	// make (admin commands on SQLite; other nodes on PostgreSQL) until
	// ctx ends.
	WatchOtherWriters(ctx context.Context, every time.Duration) error
	Close() error
}

// Both stores serve.
var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)

// openedStore is a Store with what Run needs to know about how it was
// opened.
type openedStore struct {
	Store
	// created: a new SQLite file was made (Run says so, so that a
	// wrong data_dir is noticed).
	created bool
	// shared: other nodes may use the same store (PostgreSQL), so the
	// queue's lease owner must name this node, not the host name that
	// every node may share.
	shared bool
}

// openStore opens the store [store] driver selects. PostgreSQL is
// migrated at open (under an advisory lock, so nodes starting at once
// migrate exactly once).
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*openedStore, error) {
	switch cfg.Store.Driver {
	case config.DriverSQLite, "":
		st, err := sqlite.Open(ctx, cfg.DataDir, log)
		if err != nil {
			return nil, err
		}
		return &openedStore{Store: st, created: st.Created()}, nil
	case config.DriverPostgres:
		st, err := postgres.Open(ctx, cfg.Store.DSN, log)
		if err != nil {
			return nil, fmt.Errorf("store (postgres): %w", err)
		}
		return &openedStore{Store: st, shared: true}, nil
	}
	return nil, fmt.Errorf("store.driver %q: must be %q or %q", cfg.Store.Driver, config.DriverSQLite, config.DriverPostgres)
}

// newQueue makes the relay queue's runner for the store. One node names
// itself by the host name: stable across restarts, so that a runner
// restarted after kill -9 releases what it held at once. Nodes sharing a
// store usually share the host name too (one MX name), and a node that
// starts releases every lease of its name: each names itself by host name
// and a node id kept in data_dir, and holds leases for sharedLease only,
// since another node can take over the work of one that died.
func (o *openedStore) newQueue(cfg *config.Config, in *intake.Service, d queue.Deliverer, r queue.Resolver,
	log *slog.Logger, reg prometheus.Registerer) (*queue.Runner, error) {
	if !o.shared {
		return newQueue(cfg, o.Store, cfg.Hostname, 0, in, d, r, log, reg)
	}
	id, err := nodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return newQueue(cfg, o.Store, cfg.Hostname+"/"+id, sharedLease, in, d, r, log, reg)
}

// DirectoryVersion makes the opened store a delivery.Versioned when the
// store under it is one (SQLite, one node), so that the SMTP router keeps
// its RCPT lookups in memory. A shared store gives none: other nodes
// change users and aliases without touching this node's marker.
func (o *openedStore) DirectoryVersion() ([2]uint64, bool) {
	if v, ok := o.Store.(delivery.Versioned); ok && !o.shared {
		return v.DirectoryVersion()
	}
	return [2]uint64{}, false
}
