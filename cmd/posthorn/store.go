package main

import (
	"context"
	"fmt"
)

func cmdStore(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("store")
	cfgPath := fs.String("config", "", "config file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "store", err)
	}
	if len(pos) != 2 || pos[0] != "backup" {
		return exitCode(io.err, "store", usageError("usage: posthorn store backup FILE"))
	}
	st, _, err := openStore(ctx, io, *cfgPath)
	if err != nil {
		return exitCode(io.err, "store backup", err)
	}
	defer st.Close()
	if err := st.Backup(ctx, pos[1]); err != nil {
		return exitCode(io.err, "store backup", err)
	}
	fmt.Fprintf(io.out, "backup written to %s\n", pos[1])
	return 0
}
