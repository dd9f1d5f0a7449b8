package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/store"
)

func cmdAlias(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("alias")
	cfgPath := fs.String("config", "", "config file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "alias", err)
	}
	if len(pos) == 0 {
		return exitCode(io.err, "alias", usageError("usage: posthorn alias add ALIAS TARGET... | del ALIAS | list"))
	}
	sub, rest := pos[0], pos[1:]
	switch {
	case sub == "add" && len(rest) >= 2, sub == "del" && len(rest) == 1, sub == "list" && len(rest) == 0:
	default:
		return exitCode(io.err, "alias", usageError("usage: posthorn alias add ALIAS TARGET... | del ALIAS | list"))
	}
	st, cfg, err := openStore(ctx, io, *cfgPath)
	if err != nil {
		return exitCode(io.err, "alias "+sub, err)
	}
	defer st.Close()
	switch sub {
	case "add":
		err = checkAlias(cfg, rest[0], rest[1:])
		if err == nil {
			err = st.AddAlias(ctx, rest[0], rest[1:])
		}
	case "del":
		err = st.DeleteAlias(ctx, rest[0])
	case "list":
		var as []store.Alias
		as, err = st.Aliases(ctx)
		for _, a := range as {
			fmt.Fprintf(io.out, "%s: %s\n", a.Address, strings.Join(a.Targets, ", "))
		}
	}
	return exitCode(io.err, "alias "+sub, err)
}

// checkAlias refuses aliases outside the local domains and malformed
// targets. A remote target forwards through the relay queue.
func checkAlias(cfg *config.Config, alias string, targets []string) error {
	local := func(a string) bool {
		n, err := store.NormalizeAddress(a)
		if err != nil {
			return false
		}
		d := n[strings.LastIndexByte(n, '@')+1:]
		for _, x := range cfg.Domains {
			if strings.EqualFold(x, d) {
				return true
			}
		}
		return false
	}
	if _, err := store.NormalizeAddress(alias); err != nil {
		return usageError("alias %q: %v", alias, err)
	}
	if !local(alias) {
		return fmt.Errorf("alias %s is not in a local domain (%s)", alias, strings.Join(cfg.Domains, ", "))
	}
	for _, t := range targets {
		if _, err := store.NormalizeAddress(t); err != nil {
			return usageError("target %q: %v", t, err)
		}
	}
	return nil
}
