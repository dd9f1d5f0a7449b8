package postgres

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/notify"
)

// maxTxAttempts bounds how often a transaction that met a deadlock or a
// serialization failure is run again.
const maxTxAttempts = 5

// Store is the PostgreSQL store. It is safe for concurrent use, by many
// goroutines of one node and by many nodes.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time // time.Now; tests replace it

	channel string      // NOTIFY channel of mailbox changes (notify.go)
	hub     *notify.Hub // this node's IMAP sessions (Notifier)
	pids    pidSet      // server pids of the pool's connections
	created bool        // Open found an empty database

	listenIdle time.Duration // silence after which the LISTEN connection is pinged
}

// Open connects to the database named by dsn (a libpq URL or key=value
// string; pool settings such as pool_max_conns may be given in it),
// applies any missing migrations and returns the store. Several nodes may
// Open one database at once.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included: keep it out.
		return nil, mailerr.Permanent(mailerr.BadInput, "invalid PostgreSQL DSN", nil)
	}
	return open(ctx, cfg, log)
}

// open is Open with a parsed configuration (tests set a search_path).
func open(ctx context.Context, cfg *pgxpool.Config, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "posthorn"
	}
	// A node that hangs inside a transaction (stopped, partitioned) must
	// not hold a mailbox's row lock for long: the server aborts such a
	// transaction and frees its locks. The DSN may set another value.
	if cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] == "" {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60s"
	}
	// Idle connections are checked in the background, and before use
	// when idle over a second; one that died anyway fails its statement
	// (temporary: the client retries) and the pool dials a new one.
	cfg.HealthCheckPeriod = 15 * time.Second
	s := &Store{log: log, now: time.Now, hub: notify.New(), listenIdle: listenIdle}
	// The pool's server pids tell this node's notifications from other
	// nodes' (WatchOtherWriters skips ours: they were published at commit).
	afterConnect, beforeClose := cfg.AfterConnect, cfg.BeforeClose
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		s.pids.add(c.PgConn().PID())
		if afterConnect != nil {
			return afterConnect(ctx, c)
		}
		return nil
	}
	cfg.BeforeClose = func(c *pgx.Conn) {
		s.pids.remove(c.PgConn().PID())
		if beforeClose != nil {
			beforeClose(c)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbError("connect", err)
	}
	s.pool = pool
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, dbError("current schema", err)
	}
	s.channel = channelFor(schema)
	s.checkDurability(ctx)
	log.Debug("store opened", "driver", "postgres", "host", cfg.ConnConfig.Host,
		"database", cfg.ConnConfig.Database)
	return s, nil
}

// checkDurability warns when the server would acknowledge a commit that a
// crash can lose: the 250 after DATA must mean stored.
func (s *Store) checkDurability(ctx context.Context) {
	var fsync, syncCommit string
	err := s.pool.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").
		Scan(&fsync, &syncCommit)
	if err != nil {
		s.log.Warn("store: cannot read durability settings", "err", err)
		return
	}
	if fsync != "on" || syncCommit == "off" {
		s.log.Warn("store: PostgreSQL may lose acknowledged mail in a crash",
			"fsync", fsync, "synchronous_commit", syncCommit)
	}
}

// Created reports whether Open found an empty database and made the
// schema (a wrong DSN is then noticed).
func (s *Store) Created() bool { return s.created }

// Ping checks that the database answers and holds our schema.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	return dbError("ping", s.pool.QueryRow(ctx, "SELECT count(*) FROM schema_version").Scan(&v))
}

// Close closes every pooled connection, waiting for those in use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// write runs fn in one transaction: committed if fn returns nil, rolled
// back whole otherwise. It runs fn again, in a new transaction, when the
// server aborted the last one for a deadlock or a serialization failure,
// and when BEGIN itself failed (a pooled connection that died while idle,
// as after a database restart: nothing was done, and the pool dials anew).
// fn must therefore be repeatable and keep no state from a failed run.
func (s *Store) write(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		began, err := s.runTx(ctx, fn)
		if err == nil {
			return nil
		}
		if attempt >= maxTxAttempts || (began && !retryable(err)) || ctx.Err() != nil {
			return dbError(what, err)
		}
		s.log.Debug("store: transaction retried", "what", what, "attempt", attempt, "err", err)
		// A little jitter so that the two sides of a deadlock do not meet
		// again at once.
		select {
		case <-ctx.Done():
			return dbError(what, ctx.Err())
		case <-time.After(time.Duration(rand.IntN(10*attempt)+1) * time.Millisecond):
		}
	}
}

// runTx runs fn in a transaction and reports whether BEGIN succeeded.
func (s *Store) runTx(ctx context.Context, fn func(tx pgx.Tx) error) (began bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
	if err := fn(tx); err != nil {
		return true, err
	}
	return true, tx.Commit(ctx)
}

// exec runs one statement outside an explicit transaction and returns
// how many rows it changed.
func (s *Store) exec(ctx context.Context, what, q string, args ...any) (int64, error) {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, dbError(what, err)
	}
	return tag.RowsAffected(), nil
}

// nz keeps a nil slice from binding as NULL.
func nz(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
