package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/store/postgres"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

const storeUsage = "usage: posthorn store backup FILE | migrate | copy --to DSN"

// cmdStore is `posthorn store backup FILE | migrate | copy --to DSN`.
func cmdStore(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("store")
	cfgPath := fs.String("config", "", "config file")
	to := fs.String("to", "", "copy: the PostgreSQL DSN to copy the SQLite store into")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "store", err)
	}
	switch {
	case len(pos) == 2 && pos[0] == "backup" && *to == "":
	case len(pos) == 1 && pos[0] == "migrate" && *to == "":
	case len(pos) == 1 && pos[0] == "copy":
		if *to == "" {
			return exitCode(io.err, "store copy", usageError("copy needs --to DSN"))
		}
	default:
		return exitCode(io.err, "store", usageError(storeUsage))
	}
	name := "store " + pos[0]
	if pos[0] == "copy" {
		return exitCode(io.err, name, storeCopy(ctx, io, *cfgPath, *to))
	}
	// migrate: opening a store applies its missing migrations (on
	// PostgreSQL under an advisory lock, so it is safe while nodes start).
	st, _, err := openStore(ctx, io, *cfgPath)
	if err != nil {
		return exitCode(io.err, name, err)
	}
	defer st.Close()
	if pos[0] == "backup" {
		if err := st.Backup(ctx, pos[1]); err != nil {
			return exitCode(io.err, name, err)
		}
		fmt.Fprintf(io.out, "backup written to %s\n", pos[1])
		return 0
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return exitCode(io.err, name, err)
	}
	fmt.Fprintf(io.out, "store schema at version %d\n", v)
	return 0
}

// storeCopy copies the SQLite store of the config into the empty
// PostgreSQL database dsn, from one snapshot: stop the server first (or
// copy a backup's data_dir), or mail that arrives meanwhile stays behind.
func storeCopy(ctx context.Context, io *stdio, cfgPath, dsn string) error {
	cfg, err := config.Find(cfgPath)
	if err != nil {
		return err
	}
	if cfg.Store.Driver != config.DriverSQLite {
		return errors.New("store copy reads a SQLite store: run it with the config of the SQLite installation")
	}
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := os.Stat(filepath.Join(cfg.DataDir, sqlite.FileName)); err != nil {
		return fmt.Errorf("no SQLite store to copy: %w", err)
	}
	src, err := sqlite.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, dsn, log)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	var counts []postgres.TableCount
	err = src.Export(ctx, func(snap *sqlite.Snapshot) error {
		var err error
		counts, err = dst.Import(ctx, snap)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range counts {
		fmt.Fprintf(io.out, "%-14s %d\n", c.Table, c.Rows)
	}
	fmt.Fprintln(io.out, "copied; point [store] at the new database (driver = \"postgres\", dsn = ...)")
	return nil
}
