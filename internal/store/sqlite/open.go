package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/notify"
)

// FileName is the database file inside the data directory.
const FileName = "posthorn.db"

// busyTimeout is how long a connection waits for another writer (the
// server's, or an admin command's) before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	w       *sql.DB // exactly one connection: every write goes through it
	r       *sql.DB // query-only pool for reads
	path    string
	log     *slog.Logger
	created bool
	now     func() time.Time // time.Now; tests replace it
	stmts   stmtCache
	hub     *notify.Hub // mailbox change signals, published after commit
	ckpt    *checkpointer
}

// Open opens (creating if needed) dataDir/posthorn.db, applies any
// missing migrations and returns the store. dataDir is created 0700 and
// the database file 0600: it holds password hashes.
func Open(ctx context.Context, dataDir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, dbError("create data directory", err)
	}
	path := filepath.Join(dataDir, FileName)
	s := &Store{path: path, log: log, now: time.Now, hub: notify.New()}
	// Create the file ourselves, so that it is 0600 (SQLite would use
	// 0644) and we know whether this call made it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		s.created = true
		f.Close()
	case !errors.Is(err, fs.ErrExist):
		return nil, dbError("create database", err)
	}

	ms := int(busyTimeout / time.Millisecond)
	common := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", ms),
		"foreign_keys(1)",
	}}
	// wal_autocheckpoint 0: the checkpointer copies the WAL into the file
	// in the background, never inside a commit (commit_checkpoint.go).
	wq := url.Values{"_pragma": append(common["_pragma"],
		"journal_mode(WAL)", "synchronous(FULL)", "wal_autocheckpoint(0)"), "_txlock": {"immediate"}}
	if s.w, err = sql.Open("sqlite", path+"?"+wq.Encode()); err != nil {
		return nil, dbError("open database", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.Migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.prepareWriter(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	s.markDirectory("open") // makes the marker, and moves it: this process may have changed things before

	rq := url.Values{"_pragma": append(common["_pragma"], "query_only(1)")}
	if s.r, err = sql.Open("sqlite", path+"?"+rq.Encode()); err != nil {
		s.w.Close()
		return nil, dbError("open database", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// synchronous(FULL): the checkpoint fsyncs the database file before
	// SQLite may reuse the WAL it copied.
	cq := url.Values{"_pragma": append(common["_pragma"], "synchronous(FULL)")}
	cdb, err := sql.Open("sqlite", path+"?"+cq.Encode())
	if err != nil {
		s.Close()
		return nil, dbError("open database", err)
	}
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	cdb.SetConnMaxLifetime(0)
	cdb.SetConnMaxIdleTime(0)
	s.ckpt = newCheckpointer(cdb, path, log)
	log.Debug("store opened", "path", path, "created", s.created)
	return s, nil
}

// Created reports whether Open created the database file.
func (s *Store) Created() bool { return s.created }

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Ping checks that both the writer and the readers can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&v); err != nil {
		return dbError("ping writer", err)
	}
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM schema_version").Scan(&v); err != nil {
		return dbError("ping readers", err)
	}
	return nil
}

// Close closes every connection; the last one checkpoints the WAL.
func (s *Store) Close() error {
	err := s.ckpt.close()
	s.stmts.close()
	if s.r != nil {
		if rerr := s.r.Close(); rerr != nil && err == nil {
			err = rerr
		}
	}
	if werr := s.w.Close(); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return dbError("close", err)
	}
	return nil
}

// write runs fn in one IMMEDIATE transaction on the writer connection:
// committed if fn returns nil, rolled back whole otherwise.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbError(what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback() // may fail if SQLite already rolled back (SQLITE_FULL)
		return dbError(what, err)
	}
	if err := tx.Commit(); err != nil {
		return dbError(what, err)
	}
	s.markDirectory(what)
	s.ckpt.committed() // the WAL grew
	return nil
}

// notFound turns sql.ErrNoRows into a permanent NoSuchUser error.
func notFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return mailerr.Permanent(mailerr.NoSuchUser, msg, nil)
	}
	return err
}

// nz keeps a nil slice from binding as NULL.
func nz(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
