package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

const userColumns = `id, address, quota, used, hash, scram_salt, scram_iter, stored_key, server_key, created`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created int64
	c := &u.Credentials
	err := row.Scan(&u.ID, &u.Address, &u.Quota, &u.Used, &c.Hash, &c.ScramSalt, &c.ScramIter,
		&c.StoredKey, &c.ServerKey, &created)
	u.Created = time.Unix(created, 0)
	return u, err
}

// AddUser creates an account and its default mailboxes (INBOX and the
// RFC 6154 special-use ones). An existing user or alias with that address
// gives mailerr.Exists.
func (s *Store) AddUser(ctx context.Context, address string, cred auth.Credentials) (store.User, error) {
	addr, err := store.NormalizeAddress(address)
	if err != nil {
		return store.User{}, err
	}
	if cred.Hash == "" {
		return store.User{}, mailerr.Permanent(mailerr.BadInput, "no password hash", nil)
	}
	key := store.AddressKey(addr)
	now := s.now()
	u := store.User{Address: addr, Credentials: cred, Created: time.Unix(now.Unix(), 0)}
	err = s.write(ctx, "add user", func(tx pgx.Tx) error {
		// The alias check and the insert race with AddAlias on another
		// node; a transaction-scoped advisory lock on the address key
		// serialises the two (AddAlias takes it too).
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('posthorn.address.' || $1::text))", key); err != nil {
			return err
		}
		var alias bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM aliases WHERE alias_key = $1)", key).Scan(&alias); err != nil {
			return err
		}
		if alias {
			return mailerr.Permanent(mailerr.Exists, "an alias has address "+addr, nil)
		}
		err := tx.QueryRow(ctx, `INSERT INTO users
			(address, address_key, hash, scram_salt, scram_iter, stored_key, server_key, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (address_key) DO NOTHING RETURNING id`,
			addr, key, cred.Hash, nz(cred.ScramSalt), cred.ScramIter, nz(cred.StoredKey),
			nz(cred.ServerKey), now.Unix()).Scan(&u.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return mailerr.Permanent(mailerr.Exists, "user "+addr+" exists", nil)
		} else if err != nil {
			return err
		}
		// UIDVALIDITY from the clock (RFC 9051 §2.3.1.1): a user deleted and
		// made again gets new values, so clients drop their caches.
		var names, uses []string
		for _, mb := range store.DefaultMailboxes() {
			names, uses = append(names, mb.Name), append(uses, mb.SpecialUse)
		}
		_, err = tx.Exec(ctx, `INSERT INTO mailboxes (user_id, name, uidvalidity, special_use)
			SELECT $1, n, $2, u FROM unnest($3::text[], $4::text[]) AS t(n, u)`,
			u.ID, int64(uint32(now.Unix())), names, uses)
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// DeleteUser removes an account, its mailboxes and its lock. A user with
// messages is only removed with purge (mailerr.Policy otherwise), which
// deletes the messages and every body no one else references.
func (s *Store) DeleteUser(ctx context.Context, address string, purge bool) error {
	key := store.AddressKey(address)
	var boxes []int64
	err := s.write(ctx, "delete user", func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, "SELECT id FROM users WHERE address_key = $1", key).Scan(&id)
		if err != nil {
			return notFound(err, "no such user "+address)
		}
		// Mailboxes first, then the user: the lock order of CommitBatch.
		rows, err := tx.Query(ctx, "SELECT id FROM mailboxes WHERE user_id = $1 ORDER BY id FOR UPDATE", id)
		if err != nil {
			return err
		}
		if boxes, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT id FROM users WHERE id = $1 FOR UPDATE", id); err != nil {
			return err
		}
		const userMessages = `FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = $1)`
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) "+userMessages, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !purge {
			return mailerr.Permanent(mailerr.Policy, fmt.Sprintf("user has %d messages; use --purge", n), nil)
		}
		if n > 0 {
			rows, err := tx.Query(ctx, "DELETE "+userMessages+" RETURNING body_id", id)
			if err != nil {
				return err
			}
			bodyIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			if err := releaseBodies(ctx, tx, bodyIDs); err != nil {
				return err
			}
		}
		if _, err = tx.Exec(ctx, "DELETE FROM users WHERE id = $1", id); err != nil { // cascades
			return err
		}
		// The user's sessions, on every node, see their mailboxes go.
		gone := make([]int64, len(boxes))
		for i, b := range boxes {
			gone[i] = -b
		}
		return s.notifyTx(ctx, tx, gone...)
	})
	if err == nil {
		s.hub.Deleted(boxes...)
	}
	return err
}

// SetCredentials replaces a user's password hash and SCRAM keys.
func (s *Store) SetCredentials(ctx context.Context, address string, cred auth.Credentials) error {
	if cred.Hash == "" {
		return mailerr.Permanent(mailerr.BadInput, "no password hash", nil)
	}
	return s.updateUser(ctx, "set credentials", address, `UPDATE users SET hash = $1, scram_salt = $2,
		scram_iter = $3, stored_key = $4, server_key = $5 WHERE address_key = $6`,
		cred.Hash, nz(cred.ScramSalt), cred.ScramIter, nz(cred.StoredKey), nz(cred.ServerKey))
}

// SetQuota sets a user's quota in bytes; 0 means none.
func (s *Store) SetQuota(ctx context.Context, address string, bytes int64) error {
	if bytes < 0 {
		return mailerr.Permanent(mailerr.BadInput, "negative quota", nil)
	}
	return s.updateUser(ctx, "set quota", address, "UPDATE users SET quota = $1 WHERE address_key = $2", bytes)
}

// updateUser runs query with args and the address key appended.
func (s *Store) updateUser(ctx context.Context, what, address, query string, args ...any) error {
	n, err := s.exec(ctx, what, query, append(args, store.AddressKey(address))...)
	if err != nil {
		return err
	}
	if n == 0 {
		return mailerr.Permanent(mailerr.NoSuchUser, "no such user "+address, nil)
	}
	return nil
}

// UserByAddress looks a user up case-insensitively (mailerr.NoSuchUser).
func (s *Store) UserByAddress(ctx context.Context, address string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE address_key = $1",
		store.AddressKey(address)))
	if err != nil {
		return store.User{}, dbError("user by address", notFound(err, "no such user "+address))
	}
	return u, nil
}

// Users lists every user, ordered by address.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+` FROM users ORDER BY address_key COLLATE "C"`)
	if err != nil {
		return nil, dbError("list users", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	return us, dbError("list users", err)
}
