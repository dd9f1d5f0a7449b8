package sqlite

import (
	"context"
	"database/sql"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// maxAliasTargets bounds one alias's expansion.
const maxAliasTargets = 1000

// AddAlias adds targets (local or remote addresses) to alias, creating it
// if needed. An alias cannot have a user's address (mailerr.Exists).
func (s *Store) AddAlias(ctx context.Context, alias string, targets []string) error {
	addr, err := store.NormalizeAddress(alias)
	if err != nil {
		return err
	}
	if len(targets) == 0 || len(targets) > maxAliasTargets {
		return mailerr.Permanent(mailerr.BadInput, "an alias needs 1 to 1000 targets", nil)
	}
	key := store.AddressKey(addr)
	norm := make([]string, len(targets))
	for i, t := range targets {
		if norm[i], err = store.NormalizeAddress(t); err != nil {
			return err
		}
		if store.AddressKey(norm[i]) == key {
			return mailerr.Permanent(mailerr.BadInput, "an alias cannot target itself", nil)
		}
	}
	return s.write(ctx, "add alias", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE address_key = ?", key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mailerr.Permanent(mailerr.Exists, "a user has address "+addr, nil)
		}
		var count int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM aliases WHERE alias_key = ?", key).Scan(&count); err != nil {
			return err
		}
		if count+len(norm) > maxAliasTargets {
			return mailerr.Permanent(mailerr.BadInput, "an alias has at most 1000 targets", nil)
		}
		for _, t := range norm {
			if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (alias_key, alias, target) VALUES (?, ?, ?)
				ON CONFLICT (alias_key, target) DO NOTHING`, key, addr, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteAlias removes alias and all its targets (mailerr.NoSuchUser when
// there is no such alias).
func (s *Store) DeleteAlias(ctx context.Context, alias string) error {
	return s.write(ctx, "delete alias", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM aliases WHERE alias_key = ?", store.AddressKey(alias))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return notFound(sql.ErrNoRows, "no such alias "+alias)
		}
		return nil
	})
}

// Aliases lists every alias with its targets, ordered by address.
func (s *Store) Aliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT alias_key, alias, target FROM aliases ORDER BY alias_key, target")
	if err != nil {
		return nil, dbError("list aliases", err)
	}
	defer rows.Close()
	var as []store.Alias
	lastKey := ""
	for rows.Next() {
		var key, alias, target string
		if err := rows.Scan(&key, &alias, &target); err != nil {
			return nil, dbError("list aliases", err)
		}
		if len(as) == 0 || key != lastKey {
			as = append(as, store.Alias{Address: alias})
			lastKey = key
		}
		as[len(as)-1].Targets = append(as[len(as)-1].Targets, target)
	}
	return as, dbError("list aliases", rows.Err())
}

// AliasTargets returns alias's targets, or nil, nil if it is not an alias.
func (s *Store) AliasTargets(ctx context.Context, alias string) ([]string, error) {
	st, err := s.stmts.stmt(ctx, s.r, "SELECT target FROM aliases WHERE alias_key = ? ORDER BY target")
	if err != nil {
		return nil, dbError("alias targets", err)
	}
	rows, err := st.QueryContext(ctx, store.AddressKey(alias))
	if err != nil {
		return nil, dbError("alias targets", err)
	}
	defer rows.Close()
	var ts []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, dbError("alias targets", err)
		}
		ts = append(ts, t)
	}
	return ts, dbError("alias targets", rows.Err())
}
