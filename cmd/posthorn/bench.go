package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/posthorn/posthorn/internal/loadgen"
)

const benchUsage = `usage: posthorn bench smtp [flags]

Sends --messages messages of --size bytes to --target with --concurrency
workers and prints how many were accepted, the rate and the latency
percentiles (MAIL to the final 250). The AUTH password comes from the
environment variable POSTHORN_PASSWORD. Exit status 1 when any message
failed.

flags:
`

// cmdBench runs the load generator: "posthorn bench smtp ...", in the
// spirit of Postfix's smtp-source.
func cmdBench(ctx context.Context, io *stdio, args []string) int {
	return exitCode(io.err, "bench", runBench(ctx, io, args))
}

// benchFlags declares the flags of "bench smtp" into cfg.
func benchFlags(cfg *loadgen.Config, to *stringList, tlsMode *string, asJSON *bool) *flag.FlagSet {
	fs := newFlags("bench smtp")
	fs.StringVar(&cfg.Target, "target", loadgen.DefaultTarget, "server `HOST:PORT`")
	fs.IntVar(&cfg.Messages, "messages", loadgen.DefaultMessages, "messages to send in all")
	fs.IntVar(&cfg.Size, "size", loadgen.DefaultSize, "`BYTES` per message, header included")
	fs.IntVar(&cfg.Concurrency, "concurrency", loadgen.DefaultConcurrency, "parallel connections")
	fs.BoolVar(&cfg.Pipelining, "pipelining", false, "pipeline commands (RFC 2920) when the server offers it")
	fs.BoolVar(&cfg.Reuse, "reuse", false, "send many messages per connection")
	fs.StringVar(&cfg.From, "from", loadgen.DefaultFrom, "envelope and header sender `ADDR`")
	fs.Var(to, "to", "recipient `ADDR`, repeatable (default "+loadgen.DefaultTo+")")
	fs.StringVar(tlsMode, "tls", "none", "none, starttls or implicit")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "do not verify the server's certificate")
	fs.StringVar(&cfg.User, "user", "", "AUTH PLAIN as `USER` (password from POSTHORN_PASSWORD)")
	fs.StringVar(&cfg.Tag, "tag", loadgen.DefaultTag, "text in each Subject")
	fs.StringVar(&cfg.Helo, "helo", loadgen.DefaultHelo, "EHLO `NAME`")
	fs.DurationVar(&cfg.Timeout, "timeout", loadgen.DefaultTimeout, "per command and reply")
	fs.BoolVar(asJSON, "json", false, "print one JSON line instead of text")
	return fs
}

func runBench(ctx context.Context, io *stdio, args []string) error {
	var (
		cfg     loadgen.Config
		to      stringList
		tlsMode string
		asJSON  bool
	)
	fs := benchFlags(&cfg, &to, &tlsMode, &asJSON)
	if slices.ContainsFunc(args, isHelpFlag) {
		fmt.Fprint(io.out, benchUsage)
		fs.SetOutput(io.out)
		fs.PrintDefaults()
		return nil
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "smtp" {
		return usageError("want: posthorn bench smtp [flags] (try --help)")
	}
	if cfg.TLS, err = loadgen.ParseTLSMode(tlsMode); err != nil {
		return usageError("--tls: %v", err)
	}
	cfg.To = to
	if err := checkBenchConfig(io, &cfg); err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, cfg)
	if res != nil {
		if werr := writeBenchResult(io.out, res, asJSON); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return err
	}
	if n := res.FailedTotal(); n > 0 {
		return fmt.Errorf("%d of %d messages failed; first error: %s", n, res.Sent, res.FirstError)
	}
	return nil
}

// checkBenchConfig refuses what the flags allow but a run cannot use.
// Zero means "default" to loadgen, but a zero from the command line is a
// mistake.
func checkBenchConfig(io *stdio, cfg *loadgen.Config) error {
	switch {
	case cfg.Messages < 1:
		return usageError("--messages must be at least 1")
	case cfg.Size < 1:
		return usageError("--size must be at least 1")
	case cfg.Concurrency < 1:
		return usageError("--concurrency must be at least 1")
	case cfg.Timeout <= 0:
		return usageError("--timeout must be positive")
	}
	if cfg.User != "" {
		cfg.Password = io.getenv("POSTHORN_PASSWORD")
		if cfg.Password == "" {
			return usageError("--user needs the password in POSTHORN_PASSWORD")
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	return nil
}

func writeBenchResult(w io.Writer, res *loadgen.Result, asJSON bool) error {
	if asJSON {
		return res.WriteJSON(w)
	}
	return res.WriteText(w)
}

func isHelpFlag(a string) bool {
	return a == "-h" || a == "--help" || a == "-help"
}
