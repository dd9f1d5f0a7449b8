package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/server"
)

func cmdServe(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("serve")
	cfgPath := fs.String("config", "", "config file (default ./posthorn.toml if it exists, else embedded defaults)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	pos, err := parseFlags(fs, args)
	if err == nil && len(pos) > 0 {
		err = usageError("serve takes no arguments")
	}
	if err != nil {
		return exitCode(io.err, "serve", err)
	}
	cfg, err := config.Find(*cfgPath)
	if err != nil {
		return exitCode(io.err, "serve", err)
	}
	var h slog.Handler
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if *logFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	} else {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	return exitCode(io.err, "serve", server.Run(ctx, cfg, slog.New(h), io.out))
}
