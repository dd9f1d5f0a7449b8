package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/store"
)

func cmdUser(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("user")
	cfgPath := fs.String("config", "", "config file")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	purge := fs.Bool("purge", false, "user del: delete the user's mail too")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "user", err)
	}
	if len(pos) == 0 {
		return exitCode(io.err, "user", usageError("usage: posthorn user add|del|list|passwd|quota ..."))
	}
	sub, rest := pos[0], pos[1:]
	want := map[string]int{"add": 1, "del": 1, "list": 0, "passwd": 1, "quota": 2}
	n, ok := want[sub]
	if !ok {
		return exitCode(io.err, "user", usageError("unknown subcommand %q (add, del, list, passwd, quota)", sub))
	}
	if len(rest) != n {
		return exitCode(io.err, "user "+sub, usageError("takes %d argument(s), got %d", n, len(rest)))
	}
	st, cfg, err := openStore(ctx, io, *cfgPath)
	if err != nil {
		return exitCode(io.err, "user "+sub, err)
	}
	defer st.Close()
	switch sub {
	case "add", "passwd":
		err = userPassword(ctx, io, st, sub, rest[0], *pwStdin)
		if err == nil && sub == "add" && cfg.Limits.DefaultQuota > 0 {
			err = st.SetQuota(ctx, rest[0], cfg.Limits.DefaultQuota) // [limits] default_quota
		}
	case "del":
		err = st.DeleteUser(ctx, rest[0], *purge)
		if err == nil {
			fmt.Fprintf(io.out, "deleted %s\n", rest[0])
		}
	case "list":
		err = userList(ctx, io, st)
	case "quota":
		var q int64
		q, err = strconv.ParseInt(rest[1], 10, 64)
		if err != nil || q < 0 {
			return exitCode(io.err, "user quota", usageError("BYTES must be a number >= 0 (0 = no quota)"))
		}
		err = st.SetQuota(ctx, rest[0], q)
	}
	return exitCode(io.err, "user "+sub, err)
}

type userStore interface {
	AddUser(ctx context.Context, address string, cred auth.Credentials) (store.User, error)
	SetCredentials(ctx context.Context, address string, cred auth.Credentials) error
	Users(ctx context.Context) ([]store.User, error)
}

func userPassword(ctx context.Context, io *stdio, st userStore, sub, addr string, fromStdin bool) error {
	if _, err := store.NormalizeAddress(addr); err != nil {
		return usageError("%v", err)
	}
	pw, err := readPassword(io, fromStdin)
	if err != nil {
		return err
	}
	cred, err := auth.NewCredentials(pw)
	if err != nil {
		return err
	}
	if sub == "passwd" {
		return st.SetCredentials(ctx, addr, cred)
	}
	u, err := st.AddUser(ctx, addr, cred)
	if err == nil {
		fmt.Fprintf(io.out, "added %s\n", u.Address)
	}
	return err
}

func userList(ctx context.Context, io *stdio, st userStore) error {
	users, err := st.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tUSED\tQUOTA")
	for _, u := range users {
		q := "-"
		if u.Quota > 0 {
			q = strconv.FormatInt(u.Quota, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", u.Address, u.Used, q)
	}
	return tw.Flush()
}
