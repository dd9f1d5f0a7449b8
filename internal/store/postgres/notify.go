package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// channelBase is the NOTIFY channel of mailbox changes. Installations in
// other schemas of one database (tests, staging) get their own channel,
// the schema name appended, so they do not wake each other.
const channelBase = "posthorn_mailbox"

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

// Listen calls fn with the id of each mailbox that a transaction on any
// node changed (new messages, expunges), after that transaction
// committed, until ctx ends; it then returns ctx's error.
//
// fn(0) means "any mailbox may have changed": Listen calls it each time
// it starts listening, first and after every reconnection, because
// notifications are not stored and those sent while the connection was
// down (the database restarted, failed over) are lost. From a fn(0) on,
// no change is missed until the next fn(0); a subscriber rereads what it
// shows. fn runs on Listen's goroutine and should not block.
//
// Listen uses a connection of its own, outside the pool: LISTEN ties a
// session to one connection for as long as it listens.
func (s *Store) Listen(ctx context.Context, fn func(mailboxID int64)) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return ctx.Err()
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
func (s *Store) listenOnce(ctx context.Context, fn func(int64)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	fn(0)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil || id <= 0 {
			s.log.Warn("store: bad change notification", "channel", n.Channel, "payload", n.Payload)
			continue
		}
		fn(id)
	}
}
