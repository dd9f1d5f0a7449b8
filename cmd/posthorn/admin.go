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
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

// openStore opens the store of the config given by --config (or the
// default), saying so on stderr when it had to create a new one, so that a
// wrong directory is noticed.
func openStore(ctx context.Context, io *stdio, cfgPath string) (*sqlite.Store, *config.Config, error) {
	cfg, err := config.Find(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Store.Driver != config.DriverSQLite {
		return nil, nil, fmt.Errorf("store.driver %q: administering a PostgreSQL store is not available yet", cfg.Store.Driver)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data_dir: %w", err)
	}
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlite.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return nil, nil, err
	}
	if st.Created() {
		fmt.Fprintf(io.err, "created a new store in %s\n", cfg.DataDir)
	}
	return st, cfg, nil
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
