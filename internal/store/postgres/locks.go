package postgres

import (
	"context"
	"fmt"

	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// LockMaildrop takes (or renews) the maildrop lock of a user for owner
// until ttl from now (RFC 1939 §8: one POP3 session per maildrop). It
// fails with mailerr.InUse while another owner holds an unexpired lock.
// The lock is a row in the shared database and its expiry is on the
// database's clock, so it holds across nodes, and a lock left by a dead
// node is free again once it expires.
func (s *Store) LockMaildrop(ctx context.Context, userID int64, owner string, ttl time.Duration) error {
	// One statement: INSERT ... ON CONFLICT takes the row lock, so two
	// nodes racing for one maildrop see each other's result.
	n, err := s.exec(ctx, "lock maildrop", `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
		INSERT INTO pop3_locks (user_id, owner, expires_ms) SELECT $1, $2, ms + $3 FROM now
		ON CONFLICT (user_id) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms
		WHERE pop3_locks.owner = excluded.owner OR pop3_locks.expires_ms <= (SELECT ms FROM now)`,
		userID, owner, ttl.Milliseconds())
	if pgCode(err) == codeForeignKey {
		return mailerr.Permanent(mailerr.NoSuchUser, fmt.Sprintf("no user %d", userID), nil)
	} else if err != nil {
		return err
	}
	if n == 0 {
		return mailerr.Temporary(mailerr.InUse, "maildrop already locked", nil)
	}
	return nil
}

// UnlockMaildrop releases owner's lock; it does nothing if owner does not
// hold it (it may have expired and been taken over).
func (s *Store) UnlockMaildrop(ctx context.Context, userID int64, owner string) error {
	_, err := s.exec(ctx, "unlock maildrop", "DELETE FROM pop3_locks WHERE user_id = $1 AND owner = $2", userID, owner)
	return err
}
