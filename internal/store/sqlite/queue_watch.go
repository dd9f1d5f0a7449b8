package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// Two queue operations beyond the claim/defer/fail cycle of queue.go:
// the earliest due time (so a runner notices at once what another process
// made due, such as `posthorn queue retry`) and the delay notice, which
// rewrites the entries' NOTIFY together with the report. The PostgreSQL
// store needs the same two methods for a cluster's queue to do the same.

// QueueNextDue returns when the earliest queue entry is due (a leased
// entry's next attempt is its lease's end), and false when the queue is
// empty. It reads one end of the queue_due index, whatever the queue's
// length, so a runner may ask every second.
func (s *Store) QueueNextDue(ctx context.Context) (time.Time, bool, error) {
	st, err := s.stmts.stmt(ctx, s.r, "SELECT min(next_attempt) FROM queue")
	if err != nil {
		return time.Time{}, false, dbError("next due", err)
	}
	var next sql.NullInt64
	if err := st.QueryRowContext(ctx).Scan(&next); err != nil {
		return time.Time{}, false, dbError("next due", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(next.Int64, 0), true, nil
}

// QueueNotifyDelay records that a delay notice (RFC 3464 Action:
// delayed) was made for entries: it sets each entry's NOTIFY to the
// value given (the queue marks the notice there) and commits report, in
// one transaction, so the notice is neither lost nor sent twice. The
// entries keep their lease; a QueueDefer follows. When none of the ids
// exists any more (deleted meanwhile) the report is dropped.
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
	return s.write(ctx, "record a delay notice", func(tx *sql.Tx) error {
		upd, err := tx.PrepareContext(ctx, "UPDATE queue SET notify = ? WHERE id = ?")
		if err != nil {
			return err
		}
		defer upd.Close()
		var n int64
		for id, v := range notify {
			res, err := upd.ExecContext(ctx, v, id)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		if n == 0 {
			return nil
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
