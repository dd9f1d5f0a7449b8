package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/posthorn/posthorn/internal/notify"
)

// channelBase is the NOTIFY channel of mailbox changes. Installations in
// other schemas of one database (tests, staging) get their own channel,
// the schema name appended, so they do not wake each other.
const channelBase = "posthorn_mailbox"

// listenIdle is how long the listening connection may stay silent before
// it is checked with a ping (and how long the ping may take); tests
// shorten Store.listenIdle.
const listenIdle = 30 * time.Second

// codeFeatureNotSupported is what an engine without LISTEN answers
// (PostgreSQL-compatible distributed databases, some proxies).
const codeFeatureNotSupported = "0A000"

// channelFor returns the channel of an installation in schema.
func channelFor(schema string) string {
	c := channelBase
	if schema != "" && schema != "public" {
		c += "." + schema
	}
	if len(c) > 63 { // NAMEDATALEN-1: PostgreSQL would truncate it anyway
		c = c[:63]
	}
	return c
}

// Payloads: "<id>" for a changed mailbox, "-<id>" for a deleted one. A
// transaction queues them with pg_notify; PostgreSQL delivers them only
// if and after it commits, and drops duplicates within one transaction.
func changedPayload(id int64) string { return strconv.FormatInt(id, 10) }
func deletedPayload(id int64) string { return "-" + strconv.FormatInt(id, 10) }

// notifyTx queues the change notifications of the mailboxes in tx (see
// the payloads above); negative ids mean deleted.
func (s *Store) notifyTx(ctx context.Context, tx pgx.Tx, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", s.channel, payloads(ids))
	return err
}

func payloads(ids []int64) []string {
	ps := make([]string, len(ids))
	for i, id := range ids {
		if id < 0 {
			ps[i] = deletedPayload(-id)
		} else {
			ps[i] = changedPayload(id)
		}
	}
	return ps
}

// Notifier returns the hub on which the store publishes the ID of every
// mailbox a commit changed (delivery, flags, expunge, append, copy, move,
// rename of INBOX) and closes the subscriptions of deleted mailboxes.
// This node's own commits are published as they return; other nodes'
// reach the hub only while WatchOtherWriters runs.
func (s *Store) Notifier() *notify.Hub { return s.hub }

// WatchOtherWriters feeds the Notifier with the changes other nodes (and
// admin commands) commit, until ctx ends; it then returns nil. It LISTENs
// on its own connection, and reconnects by itself when the connection is
// lost; since notifications sent meanwhile are lost, every (re)connection
// signals every subscribed mailbox, whose sessions then re-read it. This
// node's own notifications are skipped: they were published at commit.
//
// On an engine without LISTEN/NOTIFY it falls back to signalling every
// subscribed mailbox each interval every (a session re-reads one indexed
// row per signal); with LISTEN, every is unused.
func (s *Store) WatchOtherWriters(ctx context.Context, every time.Duration) error {
	err := s.listen(ctx, s.dispatch)
	if pgCode(err) == codeFeatureNotSupported && ctx.Err() == nil {
		s.log.Warn("store: the database has no LISTEN; polling for other nodes' changes", "every", every)
		return s.pollAll(ctx, every)
	}
	return nil
}

// dispatch publishes a notification on the hub, unless it is this
// node's own: that was published when its commit returned.
func (s *Store) dispatch(n change) {
	switch {
	case n.all:
		s.hub.PublishAll()
	case s.pids.has(n.pid):
	case n.deleted:
		s.hub.Deleted(n.id)
	default:
		s.hub.Publish(n.id)
	}
}

// pollAll signals every subscribed mailbox each interval until ctx ends.
func (s *Store) pollAll(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.hub.PublishAll()
		}
	}
}

// Listen calls fn with the id of each mailbox that a transaction on any
// node changed or deleted (new messages, flags, expunges, copies), this
// node's own included, after that transaction committed, until ctx ends;
// it then returns ctx's error.
//
// fn(0) means "any mailbox may have changed": Listen calls it each time
// it starts listening, first and after every reconnection, because
// notifications are not stored and those sent while the connection was
// down (the database restarted, failed over) are lost. From a fn(0) on,
// no change is missed until the next fn(0); a subscriber rereads what it
// shows. fn runs on Listen's goroutine and should not block.
func (s *Store) Listen(ctx context.Context, fn func(mailboxID int64)) error {
	return s.listen(ctx, func(n change) { fn(n.id) })
}

// change is one notification: a mailbox changed or was deleted, or (all)
// any may have changed. pid is the backend that sent it.
type change struct {
	id      int64
	deleted bool
	all     bool
	pid     uint32
}

// listen connects, dispatches and reconnects (with a backoff up to 5s)
// until ctx ends, and returns ctx's error; or an engine's refusal of
// LISTEN itself, which no retry will cure.
func (s *Store) listen(ctx context.Context, fn func(change)) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pgCode(err) == codeFeatureNotSupported {
			return err
		}
		s.log.Warn("store: change notifications interrupted; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listenOnce connects, listens and dispatches until the connection fails.
// LISTEN ties a session to one connection for as long as it listens, so
// it uses a connection of its own, outside the pool.
func (s *Store) listenOnce(ctx context.Context, fn func(change)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	fn(change{all: true})
	for {
		wctx, cancel := context.WithTimeout(ctx, s.listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && wctx.Err() != nil {
			// Quiet for a while: make sure the connection still works (a
			// database host that died without a word would otherwise
			// leave us waiting until TCP gives up, IMAP IDLE deaf).
			pctx, cancel := context.WithTimeout(ctx, listenIdle)
			err = conn.Ping(pctx)
			cancel()
			if err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		c, ok := parsePayload(n)
		if !ok {
			s.log.Warn("store: bad change notification", "channel", n.Channel, "payload", n.Payload)
			continue
		}
		fn(c)
	}
}

// parsePayload reads a notification's payload (see changedPayload).
func parsePayload(n *pgconn.Notification) (change, bool) {
	p, deleted := strings.CutPrefix(n.Payload, "-")
	if p == "" || p[0] < '1' || p[0] > '9' { // only what payloads() writes: no sign, no leading 0
		return change{}, false
	}
	id, err := strconv.ParseInt(p, 10, 64)
	if err != nil || id <= 0 {
		return change{}, false
	}
	return change{id: id, deleted: deleted, pid: n.PID}, true
}

// pidSet holds the server process ids of this node's pooled connections:
// notifications they sent are this node's own.
type pidSet struct {
	mu sync.Mutex
	m  map[uint32]struct{}
}

func (p *pidSet) add(pid uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[uint32]struct{})
	}
	p.m[pid] = struct{}{}
}

func (p *pidSet) remove(pid uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, pid)
}

func (p *pidSet) has(pid uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.m[pid]
	return ok
}
