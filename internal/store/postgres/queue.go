package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// The relay queue, shared by every node. Rows are claimed with a lease
// (owner, until) under FOR UPDATE SKIP LOCKED, so runners on several
// nodes take disjoint work without waiting on each other, and a row whose
// runner died becomes due again when its lease runs out. As in
// store/sqlite, a claimed row's next_attempt is moved to the end of its
// lease: due work is "next_attempt <= now" on the queue_due index, and
// claiming reads only due rows, never the whole queue.
//
// Times are the callers' (ClaimDue's now) or this node's clock (QueueRetry);
// nodes are expected to keep their clocks in step (NTP): a skew of a few
// seconds only moves an attempt by as much.

// queueCols are the columns of a store.QueueEntry, in scan order; the
// body size comes from bodies.
const queueCols = `q.id, q.msg_id, q.body_id, q.sender, q.rcpt, q.orcpt, q.notify, q.envid, q.ret,
	q.smtputf8, q.body_type, q.attempts, q.next_attempt, q.last_error, q.created,
	q.lease_owner, q.lease_until, b.size`

// maxQueueIDs bounds the ids of one call.
const maxQueueIDs = 10000

// maxLastError bounds the stored text of a failure (a remote's reply).
const maxLastError = 4000

func scanEntry(row pgx.Row, extra ...any) (store.QueueEntry, error) {
	var e store.QueueEntry
	var next, created, until int64
	err := row.Scan(append([]any{&e.ID, &e.MsgID, &e.BodyID, &e.Sender, &e.Rcpt, &e.ORCPT, &e.Notify, &e.EnvID,
		&e.Ret, &e.SMTPUTF8, &e.BodyType, &e.Attempts, &next, &e.LastError, &created,
		&e.LeaseOwner, &until, &e.Size}, extra...)...)
	e.NextAttempt = time.Unix(next, 0)
	e.Created = time.Unix(created, 0)
	if until > 0 {
		e.LeaseUntil = time.Unix(until, 0)
	}
	return e, err
}

// ClaimDue leases up to limit entries that are due at now (and not leased
// by anyone, or whose lease has expired) to owner until now+lease, oldest
// due first, and returns them. One statement: the due rows are locked
// with SKIP LOCKED (rows another node is claiming at this instant are
// passed over, not waited for) and updated in place.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueEntry, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, mailerr.Permanent(mailerr.BadInput, "claim needs an owner, a lease and a limit", nil)
	}
	until := now.Add(lease).Unix()
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id, next_attempt FROM queue WHERE next_attempt <= $1
			ORDER BY next_attempt, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE queue q SET lease_owner = $3, lease_until = $4, next_attempt = $4
		FROM due, bodies b WHERE q.id = due.id AND b.id = q.body_id
		RETURNING `+queueCols+`, due.next_attempt`, now.Unix(), limit, owner, until)
	if err != nil {
		return nil, dbError("claim queue", err)
	}
	type claimed struct {
		e   store.QueueEntry
		due int64
	}
	var out []claimed
	for rows.Next() {
		var c claimed
		if c.e, err = scanEntry(rows, &c.due); err != nil {
			rows.Close()
			return nil, dbError("claim queue", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("claim queue", err)
	}
	slices.SortFunc(out, func(a, b claimed) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.e.ID, b.e.ID)) })
	es := make([]store.QueueEntry, len(out))
	for i, c := range out {
		es[i] = c.e
	}
	return es, nil
}

// QueueRenew extends every lease owner holds to until (a runner calls it
// while deliveries are in flight), returning how many rows it holds.
func (s *Store) QueueRenew(ctx context.Context, owner string, until time.Time) (int, error) {
	if owner == "" {
		return 0, mailerr.Permanent(mailerr.BadInput, "renew needs an owner", nil)
	}
	n, err := s.exec(ctx, "renew leases", `UPDATE queue SET lease_until = $1, next_attempt = $1
		WHERE lease_owner = $2 AND lease_owner <> ''`, until.Unix(), owner)
	return int(n), err
}

// QueueRelease ends owner's leases ("" = every lease): the rows become due
// at now. A runner calls it when it starts (its leases from before a
// crash) and when it stops (what it claimed but did not try).
func (s *Store) QueueRelease(ctx context.Context, owner string, now time.Time) (int, error) {
	n, err := s.exec(ctx, "release leases", `UPDATE queue SET lease_owner = '', lease_until = 0, next_attempt = $1
		WHERE lease_owner <> '' AND ($2 = '' OR lease_owner = $2)`, now.Unix(), owner)
	return int(n), err
}

func checkIDs(ids []int64) error {
	if len(ids) > maxQueueIDs {
		return mailerr.Permanent(mailerr.BadInput, fmt.Sprintf("too many queue ids (%d, at most %d)", len(ids), maxQueueIDs), nil)
	}
	return nil
}

// QueueDelivered removes entries that were delivered and releases their
// bodies. Ids that no longer exist are ignored.
func (s *Store) QueueDelivered(ctx context.Context, ids []int64) error {
	return s.QueueFail(ctx, ids, nil)
}

// QueueDefer records a temporary failure of entries: one more attempt,
// the error, the next attempt at next, and no lease.
func (s *Store) QueueDefer(ctx context.Context, ids []int64, next time.Time, lastErr string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := checkIDs(ids); err != nil {
		return err
	}
	_, err := s.exec(ctx, "defer queue entries", `UPDATE queue SET attempts = attempts + 1, next_attempt = $1,
		last_error = $2, lease_owner = '', lease_until = 0 WHERE id = ANY($3)`, next.Unix(), cleanText(lastErr), ids)
	return err
}

// cleanText makes a remote's text storable: PostgreSQL's text holds
// neither NUL bytes nor invalid UTF-8, and the column is for humans.
func cleanText(s string) string {
	if len(s) > maxLastError {
		s = s[:maxLastError]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
}

// QueueFail removes entries (delivered, failed or given up) and, in the
// same transaction, commits report (a DSN, may be nil) like CommitBatch
// does: the report cannot be lost nor sent twice. When none of the ids
// exists any more (deleted by an operator, or finished by another node
// meanwhile) the report is dropped too.
func (s *Store) QueueFail(ctx context.Context, ids []int64, report *intake.Message) error {
	if len(ids) == 0 {
		return nil
	}
	if err := checkIDs(ids); err != nil {
		return err
	}
	if report != nil && report.Body == nil {
		return mailerr.Permanent(mailerr.BadInput, "report without a body", nil)
	}
	now := s.now().Unix()
	var touched []int64
	err := s.write(ctx, "remove queue entries", func(tx pgx.Tx) error {
		touched = nil
		rows, err := tx.Query(ctx, "DELETE FROM queue WHERE id = ANY($1) RETURNING body_id", ids)
		if err != nil {
			return err
		}
		bodyIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(bodyIDs) == 0 {
			return err
		}
		// The report before the bodies: mailboxes, users, then bodies is
		// the lock order of every transaction (see the package doc).
		if report != nil {
			if touched, err = s.commitTx(ctx, tx, []*intake.Message{report}, now); err != nil {
				return fmt.Errorf("report %s: %w", report.ID, err)
			}
		}
		return releaseBodies(ctx, tx, bodyIDs)
	})
	if err == nil {
		s.hub.Publish(touched...) // the sender's IDLE sessions see the bounce
	}
	return err
}

// QueueList returns every queue entry, by message (oldest first) and
// recipient.
func (s *Store) QueueList(ctx context.Context) ([]store.QueueEntry, error) {
	return s.queueQuery(ctx, "list queue", `SELECT `+queueCols+` FROM queue q JOIN bodies b ON b.id = q.body_id
		ORDER BY q.created, q.msg_id COLLATE "C", q.id`)
}

// QueueGet returns the entries of one message by its queue id; none is a
// permanent mailerr.NoSuchUser error.
func (s *Store) QueueGet(ctx context.Context, msgID string) ([]store.QueueEntry, error) {
	es, err := s.queueQuery(ctx, "queue entry", `SELECT `+queueCols+` FROM queue q JOIN bodies b ON b.id = q.body_id
		WHERE q.msg_id = $1 ORDER BY q.id`, msgID)
	if err == nil && len(es) == 0 {
		return nil, noQueued(msgID)
	}
	return es, err
}

func noQueued(msgID string) error {
	return mailerr.Permanent(mailerr.NoSuchUser, "no queued message "+quoteID(msgID), nil)
}

func quoteID(id string) string {
	if len(id) > 40 {
		id = id[:40] + "..."
	}
	return `"` + strings.ToValidUTF8(id, "?") + `"`
}

func (s *Store) queueQuery(ctx context.Context, what, q string, args ...any) ([]store.QueueEntry, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbError(what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.QueueEntry, error) { return scanEntry(r) })
	return out, dbError(what, err)
}

// QueueLen returns the number of queue entries (recipients) and of
// distinct messages.
func (s *Store) QueueLen(ctx context.Context) (entries, messages int64, err error) {
	err = s.pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT msg_id) FROM queue").Scan(&entries, &messages)
	return entries, messages, dbError("queue length", err)
}

// QueueRetry makes the entries of a message ("" = every message) due now,
// returning how many entries changed. Entries leased by a runner (in
// flight) are left alone: making them due would let another runner
// deliver them a second time.
func (s *Store) QueueRetry(ctx context.Context, msgID string) (int, error) {
	now := s.now().Unix()
	n, err := s.exec(ctx, "retry queue", `UPDATE queue SET next_attempt = $1
		WHERE lease_until <= $1 AND next_attempt > $1 AND ($2 = '' OR msg_id = $2)`, now, msgID)
	if err == nil && n == 0 && msgID != "" {
		if _, gerr := s.QueueGet(ctx, msgID); gerr != nil {
			return 0, gerr
		}
	}
	return int(n), err
}

// QueueDelete removes a message's entries without a bounce, returning how
// many there were (none is a permanent mailerr.NoSuchUser error). An entry
// in flight is removed too; its delivery may still complete.
func (s *Store) QueueDelete(ctx context.Context, msgID string) (int, error) {
	var n int
	err := s.write(ctx, "delete queue entries", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "DELETE FROM queue WHERE msg_id = $1 RETURNING body_id", msgID)
		if err != nil {
			return err
		}
		bodyIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		n = len(bodyIDs)
		return releaseBodies(ctx, tx, bodyIDs)
	})
	if err == nil && n == 0 {
		return 0, noQueued(msgID)
	}
	return n, err
}
