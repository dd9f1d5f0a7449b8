package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/postgres"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

// adminStore is what the admin commands (user, alias, queue, import,
// store) need of a store; store/sqlite and store/postgres both have it.
type adminStore interface {
	userStore
	queueStore
	importStore
	SetQuota(ctx context.Context, address string, bytes int64) error
	DeleteUser(ctx context.Context, address string, purge bool) error
	AddAlias(ctx context.Context, alias string, targets []string) error
	DeleteAlias(ctx context.Context, alias string) error
	Aliases(ctx context.Context) ([]store.Alias, error)
	Backup(ctx context.Context, path string) error
	SchemaVersion(ctx context.Context) (int, error)
	Close() error
}

var (
	_ adminStore = (*sqlite.Store)(nil)
	_ adminStore = (*postgres.Store)(nil)
)

// openStore opens the store of the config given by --config (or the
// default), the one its [store] driver names, saying so on stderr when
// it had to create a new SQLite store, so that a wrong directory is
// noticed. Either store is migrated to this binary's schema at open.
func openStore(ctx context.Context, io *stdio, cfgPath string) (adminStore, *config.Config, error) {
	cfg, err := config.Find(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if cfg.Store.Driver == config.DriverPostgres {
		st, err := postgres.Open(ctx, cfg.Store.DSN, log)
		if err != nil {
			return nil, nil, fmt.Errorf("store (postgres): %w", err)
		}
		return st, cfg, nil
	}
	st, err := openSQLite(ctx, io, cfg, log)
	return st, cfg, err
}

// openSQLite opens (or creates) the SQLite store in cfg's data_dir.
func openSQLite(ctx context.Context, io *stdio, cfg *config.Config, log *slog.Logger) (*sqlite.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	if st.Created() {
		fmt.Fprintf(io.err, "created a new store in %s\n", cfg.DataDir)
	}
	return st, nil
}

// readPassword reads a password from stdin (--password-stdin: the first
// line), or prompts twice on a terminal.
func readPassword(io *stdio, fromStdin bool) (string, error) {
	if fromStdin {
		var sb strings.Builder
		buf := make([]byte, 1)
		for sb.Len() < 4096 {
			n, err := io.in.Read(buf)
			if n == 1 {
				if buf[0] == '\n' {
					break
				}
				sb.WriteByte(buf[0])
			}
			if err != nil {
				break
			}
		}
		p := strings.TrimRight(sb.String(), "\r")
		if p == "" {
			return "", errors.New("empty password on stdin")
		}
		return p, nil
	}
	f, ok := io.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError("no terminal to prompt for a password: use --password-stdin")
	}
	fmt.Fprint(io.err, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(io.err)
	if err != nil {
		return "", err
	}
	fmt.Fprint(io.err, "Again: ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(io.err)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("passwords do not match")
	}
	if len(p1) == 0 {
		return "", errors.New("empty password")
	}
	return string(p1), nil
}
