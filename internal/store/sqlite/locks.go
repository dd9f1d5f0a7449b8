package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// LockMaildrop takes (or renews) the maildrop lock of a user for owner
// until ttl from now (RFC 1939 §8: one POP3 session per maildrop). It
// fails with mailerr.InUse while another owner holds an unexpired lock.
// Locks live in the database, so they hold across processes and nodes.
func (s *Store) LockMaildrop(ctx context.Context, userID int64, owner string, ttl time.Duration) error {
	now := s.now().UnixMilli()
	expires := now + ttl.Milliseconds()
	return s.write(ctx, "lock maildrop", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound(sql.ErrNoRows, fmt.Sprintf("no user %d", userID))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO pop3_locks (user_id, owner, expires_ms) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms
			WHERE pop3_locks.owner = excluded.owner OR pop3_locks.expires_ms <= ?`,
			userID, owner, expires, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errInUse()
		}
		return nil
	})
}

// UnlockMaildrop releases owner's lock; it does nothing if owner does not
// hold it (it may have expired and been taken over).
func (s *Store) UnlockMaildrop(ctx context.Context, userID int64, owner string) error {
	return s.write(ctx, "unlock maildrop", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM pop3_locks WHERE user_id = ? AND owner = ?", userID, owner)
		return err
	})
}

// errInUse is the answer to a maildrop locked by someone else.
func errInUse() error {
	return mailerr.Temporary(mailerr.InUse, "maildrop already locked", nil)
}
