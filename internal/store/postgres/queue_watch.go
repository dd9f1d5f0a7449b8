package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// Two queue operations beyond the claim/defer/fail cycle of queue.go, as
// in store/sqlite: the earliest due time (so every node's runner notices
// at once what another process made due, such as `posthorn queue retry`
// or another node's deferral) and the delay notice, which rewrites the
// entries' NOTIFY together with the report.

// QueueNextDue returns when the earliest queue entry is due (a leased
// entry's next attempt is its lease's end), and false when the queue is
// empty. It reads one end of the queue_due index.
func (s *Store) QueueNextDue(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	if err := s.pool.QueryRow(ctx, "SELECT min(next_attempt) FROM queue").Scan(&next); err != nil {
		return time.Time{}, false, dbError("next due", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return time.Unix(*next, 0), true, nil
}

// QueueNotifyDelay records that a delay notice (RFC 3464 Action:
// delayed) was made for entries: it sets each entry's NOTIFY to the value
// given (the queue marks the notice there) and commits report, in one
// transaction, so the notice is neither lost nor sent twice. When none of
// the ids exists any more (deleted meanwhile) the report is dropped.
func (s *Store) QueueNotifyDelay(ctx context.Context, notify map[int64]string, report *intake.Message) error {
	if len(notify) == 0 {
		return nil
	}
	if len(notify) > maxQueueIDs {
		return mailerr.Permanent(mailerr.BadInput, fmt.Sprintf("too many queue ids (%d, at most %d)", len(notify), maxQueueIDs), nil)
	}
	if report == nil || report.Body == nil {
		return mailerr.Permanent(mailerr.BadInput, "delay notice without a report", nil)
	}
	ids := make([]int64, 0, len(notify))
	vals := make([]string, 0, len(notify))
	for id, v := range notify {
		ids, vals = append(ids, id), append(vals, v)
	}
	now := s.now().Unix()
	var touched []int64
	err := s.write(ctx, "record a delay notice", func(tx pgx.Tx) error {
		touched = nil
		tag, err := tx.Exec(ctx, `UPDATE queue q SET notify = v.notify
			FROM unnest($1::bigint[], $2::text[]) AS v(id, notify) WHERE q.id = v.id`, ids, vals)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if touched, err = s.commitTx(ctx, tx, []*intake.Message{report}, now); err != nil {
			return fmt.Errorf("report %s: %w", report.ID, err)
		}
		return nil
	})
	if err == nil {
		s.hub.Publish(touched...)
	}
	return err
}
