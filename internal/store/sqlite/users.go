package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

const userColumns = `id, address, quota, used, hash, scram_salt, scram_iter, stored_key, server_key, created`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
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
	err = s.write(ctx, "add user", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM aliases WHERE alias_key = ?", key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mailerr.Permanent(mailerr.Exists, "an alias has address "+addr, nil)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO users
			(address, address_key, hash, scram_salt, scram_iter, stored_key, server_key, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address_key) DO NOTHING RETURNING id`,
			addr, key, cred.Hash, nz(cred.ScramSalt), cred.ScramIter, nz(cred.StoredKey),
			nz(cred.ServerKey), now.Unix()).Scan(&u.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return mailerr.Permanent(mailerr.Exists, "user "+addr+" exists", nil)
		} else if err != nil {
			return err
		}
		// UIDVALIDITY from the clock (RFC 9051 §2.3.1.1): a user deleted and
		// made again gets new values, so clients drop their caches.
		uidValidity := uint32(now.Unix())
		for _, mb := range store.DefaultMailboxes() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (user_id, name, uidvalidity, special_use)
				VALUES (?, ?, ?, ?)`, u.ID, mb.Name, uidValidity, mb.SpecialUse); err != nil {
				return err
			}
		}
		return nil
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
	return s.write(ctx, "delete user", func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE address_key = ?", key).Scan(&id)
		if err != nil {
			return notFound(err, "no such user "+address)
		}
		const userMessages = `FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?)`
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) "+userMessages, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !purge {
			return mailerr.Permanent(mailerr.Policy, fmt.Sprintf("user has %d messages; use --purge", n), nil)
		}
		if n > 0 {
			refs, err := bodyRefs(ctx, tx, "SELECT body_id, count(*) "+userMessages+" GROUP BY body_id", id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE "+userMessages, id); err != nil {
				return err
			}
			if err := releaseBodies(ctx, tx, refs); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id) // cascades
		return err
	})
}

// bodyRefs runs query, which yields (body_id, count) rows.
func bodyRefs(ctx context.Context, tx *sql.Tx, query string, args ...any) (map[int64]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	refs := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		refs[id] += n
	}
	return refs, rows.Err()
}

// releaseBodies drops refs[id] references from each body and deletes the
// bodies (and, by cascade, their chunks) that no row references any more.
func releaseBodies(ctx context.Context, tx *sql.Tx, refs map[int64]int64) error {
	for id, n := range refs {
		if _, err := tx.ExecContext(ctx, "UPDATE bodies SET refs = refs - ? WHERE id = ?", n, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM bodies WHERE id = ? AND refs <= 0", id); err != nil {
			return err
		}
	}
	return nil
}

// SetCredentials replaces a user's password hash and SCRAM keys.
func (s *Store) SetCredentials(ctx context.Context, address string, cred auth.Credentials) error {
	if cred.Hash == "" {
		return mailerr.Permanent(mailerr.BadInput, "no password hash", nil)
	}
	return s.updateUser(ctx, "set credentials", address, `UPDATE users SET hash = ?, scram_salt = ?,
		scram_iter = ?, stored_key = ?, server_key = ? WHERE address_key = ?`,
		cred.Hash, nz(cred.ScramSalt), cred.ScramIter, nz(cred.StoredKey), nz(cred.ServerKey))
}

// SetQuota sets a user's quota in bytes; 0 means none.
func (s *Store) SetQuota(ctx context.Context, address string, bytes int64) error {
	if bytes < 0 {
		return mailerr.Permanent(mailerr.BadInput, "negative quota", nil)
	}
	return s.updateUser(ctx, "set quota", address, "UPDATE users SET quota = ? WHERE address_key = ?", bytes)
}

// updateUser runs query with args and the address key appended.
func (s *Store) updateUser(ctx context.Context, what, address, query string, args ...any) error {
	return s.write(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, append(args, store.AddressKey(address))...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return notFound(sql.ErrNoRows, "no such user "+address)
		}
		return nil
	})
}

// UserByAddress looks a user up case-insensitively (mailerr.NoSuchUser).
func (s *Store) UserByAddress(ctx context.Context, address string) (store.User, error) {
	st, err := s.stmts.stmt(ctx, s.r, "SELECT "+userColumns+" FROM users WHERE address_key = ?")
	if err != nil {
		return store.User{}, dbError("user by address", err)
	}
	u, err := scanUser(st.QueryRowContext(ctx, store.AddressKey(address)))
	if err != nil {
		return store.User{}, dbError("user by address", notFound(err, "no such user "+address))
	}
	return u, nil
}

// Users lists every user, ordered by address.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY address_key")
	if err != nil {
		return nil, dbError("list users", err)
	}
	defer rows.Close()
	var us []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, dbError("list users", err)
		}
		us = append(us, u)
	}
	return us, dbError("list users", rows.Err())
}
