package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// The relay queue. Rows are claimed with a lease (owner, until) so that
// several runners, or a runner restarted after a crash, never deliver one
// row at the same time. A claimed row's next_attempt is moved to the end
// of its lease: due work is then simply "next_attempt <= now" on the
// queue_due index, rows in flight are out of that range, and a row whose
// lease expires (its runner died) becomes due again by itself. Claiming
// therefore reads only due rows, never the whole queue.

// queueCols are the columns of a store.QueueEntry, in scan order; the
// body size comes from bodies.
const queueCols = `q.id, q.msg_id, q.body_id, q.sender, q.rcpt, q.orcpt, q.notify, q.envid, q.ret,
	q.smtputf8, q.body_type, q.attempts, q.next_attempt, q.last_error, q.created,
	q.lease_owner, q.lease_until, b.size`

// maxQueueIDs bounds the ids of one call, so that a statement's variables
// stay under SQLite's limit.
const maxQueueIDs = 10000

func scanEntry(rows interface{ Scan(...any) error }) (store.QueueEntry, error) {
	var e store.QueueEntry
	var next, created, until int64
	err := rows.Scan(&e.ID, &e.MsgID, &e.BodyID, &e.Sender, &e.Rcpt, &e.ORCPT, &e.Notify, &e.EnvID,
		&e.Ret, &e.SMTPUTF8, &e.BodyType, &e.Attempts, &next, &e.LastError, &created,
		&e.LeaseOwner, &until, &e.Size)
	e.NextAttempt = time.Unix(next, 0)
	e.Created = time.Unix(created, 0)
	if until > 0 {
		e.LeaseUntil = time.Unix(until, 0)
	}
	return e, err
}

// ClaimDue leases up to limit entries that are due at now (and not leased
// by anyone, or whose lease has expired) to owner until now+lease, oldest
// due first, and returns them. Claiming is one transaction, so two
// runners never get the same entry.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueEntry, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, mailerr.Permanent(mailerr.BadInput, "claim needs an owner, a lease and a limit", nil)
	}
	until := now.Add(lease).Unix()
	var out []store.QueueEntry
	err := s.write(ctx, "claim queue", func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT `+queueCols+` FROM queue q JOIN bodies b ON b.id = q.body_id
			WHERE q.next_attempt <= ? ORDER BY q.next_attempt, q.id LIMIT ?`, now.Unix(), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE queue SET lease_owner = ?, lease_until = ?, next_attempt = ?
			WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for i := range out {
			if _, err := upd.ExecContext(ctx, owner, until, until, out[i].ID); err != nil {
				return err
			}
			out[i].LeaseOwner = owner
			out[i].LeaseUntil = time.Unix(until, 0)
			out[i].NextAttempt = out[i].LeaseUntil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// QueueRenew extends every lease owner holds to until (a runner calls it
// while deliveries are in flight), returning how many rows it holds.
func (s *Store) QueueRenew(ctx context.Context, owner string, until time.Time) (int, error) {
	if owner == "" {
		return 0, mailerr.Permanent(mailerr.BadInput, "renew needs an owner", nil)
	}
	return s.queueExec(ctx, "renew leases", `UPDATE queue SET lease_until = ?, next_attempt = ?
		WHERE lease_owner = ? AND lease_owner <> ''`, until.Unix(), until.Unix(), owner)
}

// QueueRelease ends owner's leases ("" = every lease): the rows become due
// at now. A runner calls it when it starts (its leases from before a
// crash) and when it stops (what it claimed but did not try).
func (s *Store) QueueRelease(ctx context.Context, owner string, now time.Time) (int, error) {
	q := `UPDATE queue SET lease_owner = '', lease_until = 0, next_attempt = ? WHERE lease_owner <> ''`
	args := []any{now.Unix()}
	if owner != "" {
		q += " AND lease_owner = ?"
		args = append(args, owner)
	}
	return s.queueExec(ctx, "release leases", q, args...)
}

func (s *Store) queueExec(ctx context.Context, what, q string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
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
	return s.write(ctx, "defer queue entries", func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE queue SET attempts = attempts + 1, next_attempt = ?,
			last_error = ?, lease_owner = '', lease_until = 0 WHERE id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, next.Unix(), lastErr, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// QueueFail removes entries (delivered, failed or given up) and, in the
// same transaction, commits report (a DSN, may be nil) like CommitBatch
// does: the report cannot be lost nor sent twice. When none of the ids
// exists any more (deleted by an operator meanwhile) the report is
// dropped too.
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
	return s.write(ctx, "remove queue entries", func(tx *sql.Tx) error {
		n, err := deleteEntries(ctx, tx, ids)
		if err != nil || n == 0 || report == nil {
			return err
		}
		c, err := s.prepareCommit(ctx, tx)
		if err != nil {
			return err
		}
		defer c.close()
		if err := c.store(ctx, report, s.now().Unix()); err != nil {
			return fmt.Errorf("report %s: %w", report.ID, err)
		}
		return nil
	})
}

// deleteEntries deletes queue rows and drops their body references,
// returning how many rows existed.
func deleteEntries(ctx context.Context, tx *sql.Tx, ids []int64) (int, error) {
	del, err := tx.PrepareContext(ctx, "DELETE FROM queue WHERE id = ? RETURNING body_id")
	if err != nil {
		return 0, err
	}
	defer del.Close()
	refs := map[int64]int64{}
	n := 0
	for _, id := range ids {
		var bodyID int64
		err := del.QueryRowContext(ctx, id).Scan(&bodyID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return 0, err
		}
		refs[bodyID]++
		n++
	}
	return n, releaseBodies(ctx, tx, refs)
}

// QueueList returns every queue entry, by message (oldest first) and
// recipient.
func (s *Store) QueueList(ctx context.Context) ([]store.QueueEntry, error) {
	return s.queueQuery(ctx, "list queue", `SELECT `+queueCols+` FROM queue q JOIN bodies b ON b.id = q.body_id
		ORDER BY q.created, q.msg_id, q.id`)
}

// QueueGet returns the entries of one message by its queue id; none is a
// permanent mailerr.NoSuchUser error.
func (s *Store) QueueGet(ctx context.Context, msgID string) ([]store.QueueEntry, error) {
	es, err := s.queueQuery(ctx, "queue entry", `SELECT `+queueCols+` FROM queue q JOIN bodies b ON b.id = q.body_id
		WHERE q.msg_id = ? ORDER BY q.id`, msgID)
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
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError(what, err)
	}
	defer rows.Close()
	var out []store.QueueEntry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, dbError(what, err)
		}
		out = append(out, e)
	}
	return out, dbError(what, rows.Err())
}

// QueueLen returns the number of queue entries (recipients) and of
// distinct messages.
func (s *Store) QueueLen(ctx context.Context) (entries, messages int64, err error) {
	err = s.r.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT msg_id) FROM queue").Scan(&entries, &messages)
	return entries, messages, dbError("queue length", err)
}

// QueueRetry makes the entries of a message ("" = every message) due now,
// returning how many entries changed. Entries leased by a runner (in
// flight) are left alone: making them due would let another runner
// deliver them a second time.
func (s *Store) QueueRetry(ctx context.Context, msgID string) (int, error) {
	now := s.now().Unix()
	q := "UPDATE queue SET next_attempt = ? WHERE lease_until <= ? AND next_attempt > ?"
	args := []any{now, now, now}
	if msgID != "" {
		q += " AND msg_id = ?"
		args = append(args, msgID)
	}
	n, err := s.queueExec(ctx, "retry queue", q, args...)
	if err == nil && n == 0 && msgID != "" {
		if _, gerr := s.QueueGet(ctx, msgID); gerr != nil {
			return 0, gerr
		}
	}
	return n, err
}

// QueueDelete removes a message's entries without a bounce, returning how
// many there were (none is a permanent mailerr.NoSuchUser error). An entry
// in flight is removed too; its delivery may still complete.
func (s *Store) QueueDelete(ctx context.Context, msgID string) (int, error) {
	var n int
	err := s.write(ctx, "delete queue entries", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id FROM queue WHERE msg_id = ?", msgID)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n, err = deleteEntries(ctx, tx, ids)
		return err
	})
	if err == nil && n == 0 {
		return 0, noQueued(msgID)
	}
	return n, err
}

// OpenBody streams a stored body one 64 KiB chunk at a time (see
// OpenMessage); ctx must stay live while reading.
func (s *Store) OpenBody(ctx context.Context, bodyID int64) (io.ReadCloser, error) {
	chunk, err := s.stmts.stmt(ctx, s.r, "SELECT data FROM body_chunks WHERE body_id = ? AND seq = ?")
	if err != nil {
		return nil, dbError("open body", err)
	}
	r := &messageReader{ctx: ctx, chunk: chunk, bodyID: bodyID}
	err = s.r.QueryRowContext(ctx, "SELECT size FROM bodies WHERE id = ?", bodyID).Scan(&r.bodyLeft)
	if err != nil {
		return nil, dbError("open body", notFound(err, fmt.Sprintf("no body %d", bodyID)))
	}
	return r, nil
}
