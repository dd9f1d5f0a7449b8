package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

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
	return s.write(ctx, "add alias", func(tx pgx.Tx) error {
		// See AddUser: the same lock keeps a user and an alias from
		// taking one address on two nodes at once.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('posthorn.address.' || $1::text))", key); err != nil {
			return err
		}
		var user bool
		var count int
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE address_key = $1),
			(SELECT count(*) FROM aliases WHERE alias_key = $1)`, key).Scan(&user, &count); err != nil {
			return err
		}
		if user {
			return mailerr.Permanent(mailerr.Exists, "a user has address "+addr, nil)
		}
		if count+len(norm) > maxAliasTargets {
			return mailerr.Permanent(mailerr.BadInput, "an alias has at most 1000 targets", nil)
		}
		_, err := tx.Exec(ctx, `INSERT INTO aliases (alias_key, alias, target)
			SELECT $1, $2, t FROM unnest($3::text[]) AS t ON CONFLICT (alias_key, target) DO NOTHING`,
			key, addr, norm)
		return err
	})
}

// DeleteAlias removes alias and all its targets (mailerr.NoSuchUser when
// there is no such alias).
func (s *Store) DeleteAlias(ctx context.Context, alias string) error {
	n, err := s.exec(ctx, "delete alias", "DELETE FROM aliases WHERE alias_key = $1", store.AddressKey(alias))
	if err != nil {
		return err
	}
	if n == 0 {
		return mailerr.Permanent(mailerr.NoSuchUser, "no such alias "+alias, nil)
	}
	return nil
}

// Aliases lists every alias with its targets, ordered by address.
func (s *Store) Aliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.pool.Query(ctx, `SELECT alias_key, alias, target FROM aliases
		ORDER BY alias_key COLLATE "C", target COLLATE "C"`)
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
	rows, err := s.pool.Query(ctx, `SELECT target FROM aliases WHERE alias_key = $1 ORDER BY target COLLATE "C"`,
		store.AddressKey(alias))
	if err != nil {
		return nil, dbError("alias targets", err)
	}
	ts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbError("alias targets", err)
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return ts, nil
}
