package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/store"
)

const queueUsage = "usage: posthorn queue list | show ID | retry ID|--all | delete ID"

// queueStore is what the queue command needs of the store.
type queueStore interface {
	QueueList(ctx context.Context) ([]store.QueueEntry, error)
	QueueGet(ctx context.Context, msgID string) ([]store.QueueEntry, error)
	QueueRetry(ctx context.Context, msgID string) (int, error)
	QueueDelete(ctx context.Context, msgID string) (int, error)
}

// cmdQueue inspects and manages the relay queue; it works while the
// server runs (the store takes concurrent writers, and entries in flight
// are never made due twice).
func cmdQueue(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("queue")
	cfgPath := fs.String("config", "", "config file")
	retryAll := fs.Bool("all", false, "retry: every message")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "queue", err)
	}
	if len(pos) == 0 {
		return exitCode(io.err, "queue", usageError(queueUsage))
	}
	sub, rest := pos[0], pos[1:]
	switch {
	case sub == "list" && len(rest) == 0 && !*retryAll,
		sub == "show" && len(rest) == 1 && !*retryAll,
		sub == "delete" && len(rest) == 1 && !*retryAll,
		sub == "retry" && (len(rest) == 1) != *retryAll && len(rest) <= 1:
	default:
		return exitCode(io.err, "queue", usageError(queueUsage))
	}
	st, _, err := openStore(ctx, io, *cfgPath)
	if err != nil {
		return exitCode(io.err, "queue "+sub, err)
	}
	defer st.Close()
	return exitCode(io.err, "queue "+sub, runQueue(ctx, io.out, st, sub, rest, time.Now()))
}

func runQueue(ctx context.Context, w io.Writer, st queueStore, sub string, rest []string, now time.Time) error {
	switch sub {
	case "list":
		es, err := st.QueueList(ctx)
		if err != nil {
			return err
		}
		queueList(w, es, now)
	case "show":
		es, err := st.QueueGet(ctx, rest[0])
		if err != nil {
			return err
		}
		queueShow(w, es, now)
	case "retry":
		id := ""
		if len(rest) == 1 {
			id = rest[0]
		}
		n, err := st.QueueRetry(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%d recipient(s) due now\n", n)
	case "delete":
		n, err := st.QueueDelete(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "deleted %s: %d recipient(s), no bounce sent\n", rest[0], n)
	}
	return nil
}

// queueMsg is one message of the queue as listed: its entries summed up.
type queueMsg struct {
	first    store.QueueEntry
	rcpts    int
	attempts int
	next     string
	lastErr  string
}

// queueList prints one line per message (entries come grouped by message).
func queueList(w io.Writer, es []store.QueueEntry, now time.Time) {
	if len(es) == 0 {
		fmt.Fprintln(w, "queue is empty")
		return
	}
	var msgs []*queueMsg
	byID := map[string]*queueMsg{}
	for _, e := range es {
		m := byID[e.MsgID]
		if m == nil {
			m = &queueMsg{first: e, next: nextText(e, now)}
			byID[e.MsgID] = m
			msgs = append(msgs, m)
		}
		m.rcpts++
		if e.Attempts > m.attempts {
			m.attempts = e.Attempts
		}
		if e.NextAttempt.Before(m.first.NextAttempt) && e.LeaseOwner == "" {
			m.first.NextAttempt, m.next = e.NextAttempt, nextText(e, now)
		}
		if m.lastErr == "" {
			m.lastErr = e.LastError
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSENDER\tRCPTS\tSIZE\tAGE\tATTEMPTS\tNEXT\tLAST ERROR")
	for _, m := range msgs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s\n", m.first.MsgID, senderText(m.first.Sender), m.rcpts,
			m.first.Size, ago(now.Sub(m.first.Created)), m.attempts, m.next, oneLine(m.lastErr, 60))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s), %d recipient(s)\n", len(msgs), len(es))
}

// queueShow prints one message: its envelope, then each recipient.
func queueShow(w io.Writer, es []store.QueueEntry, now time.Time) {
	e := es[0]
	fmt.Fprintf(w, "id:        %s\nsender:    %s\nsize:      %d\nqueued:    %s (%s ago)\n",
		e.MsgID, senderText(e.Sender), e.Size, e.Created.UTC().Format(time.RFC3339), ago(now.Sub(e.Created)))
	fmt.Fprintf(w, "body:      %s", orDash(e.BodyType))
	if e.SMTPUTF8 {
		fmt.Fprint(w, ", SMTPUTF8")
	}
	fmt.Fprintf(w, "\nret:       %s\nenvid:     %s\n", orDash(e.Ret), orDash(e.EnvID))
	for _, e := range es {
		fmt.Fprintf(w, "\nrecipient: %s\n  orcpt:    %s\n  notify:   %s\n  attempts: %d\n  next:     %s\n",
			e.Rcpt, orDash(e.ORCPT), notifyText(e.Notify), e.Attempts, nextText(e, now))
		if e.LastError != "" {
			fmt.Fprintf(w, "  error:    %s\n", oneLine(e.LastError, 500))
		}
	}
}

// notifyText is the recipient's NOTIFY as the sender gave it, and whether
// the delay notice it asked for was sent.
func notifyText(n string) string {
	if queue.DelayNoticeSent(n) {
		return queue.WireNotify(n) + " (delay notice sent)"
	}
	return orDash(n)
}

func nextText(e store.QueueEntry, now time.Time) string {
	switch {
	case e.LeaseOwner != "" && e.LeaseUntil.After(now):
		return "in flight (" + e.LeaseOwner + ")"
	case !e.NextAttempt.After(now):
		return "now"
	}
	return "in " + ago(e.NextAttempt.Sub(now))
}

func senderText(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago formats a duration for people: 45s, 12m, 3h5m, 2d4h.
func ago(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// oneLine keeps s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	if s == "" {
		return "-"
	}
	return s
}
