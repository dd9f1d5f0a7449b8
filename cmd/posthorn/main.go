// Command posthorn is a complete Internet mail system in one binary: the
// SMTP server (MX and submission), the store, POP3 and IMAP retrieval, and
// the user agent commands (send, fetch, mime). See the README and
// docs/architecture.md; the command line is described in
// ../shared/spec/interface.md.
//
// Exit status: 0 on success, 1 on failure with one line on stderr, 2 on bad
// usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// stdio is what a subcommand may touch of the process, so tests can run
// commands in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
}

// A command runs with its arguments (after its name) and returns the exit status.
type command func(ctx context.Context, io *stdio, args []string) int

func commands() map[string]command {
	return map[string]command{
		"serve":   cmdServe,
		"user":    cmdUser,
		"alias":   cmdAlias,
		"bench":   cmdBench,
		"dns":     cmdDNS,
		"fetch":   cmdFetch,
		"import":  cmdImport,
		"send":    cmdSend,
		"store":   cmdStore,
		"mime":    cmdMime,
		"queue":   cmdQueue,
		"version": cmdVersion,
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	io := &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, io, os.Args[1:]))
}

func run(ctx context.Context, io *stdio, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.err, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "posthorn: unknown command %q (try posthorn help)\n", args[0])
		return 2
	}
	return c(ctx, io, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: posthorn COMMAND [ARGS] [--config FILE]")
	fmt.Fprintln(w, "commands:")
	for _, n := range names {
		fmt.Fprintln(w, "  "+n)
	}
}
