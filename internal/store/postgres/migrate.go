package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded NNNN_name.sql files in version order.
func migrations() ([]store.Migration, error) { return store.Migrations(migrationFS, "migrations") }

// migrateLock is the advisory lock key space of migrations: the key is
// hashed with the current schema, so that installations in different
// schemas of one database (the tests do this) do not wait on each other.
const migrateLock = "posthorn.migrate."

// Migrate brings the schema to this binary's version, in one transaction
// that first takes a transaction-scoped advisory lock: nodes starting at
// once queue behind the first, which migrates, and then find nothing left
// to do. PostgreSQL's DDL is transactional, so a failed migration leaves
// the previous version whole. A database newer than this binary is
// refused rather than touched.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return mailerr.Permanent(mailerr.Unknown, "bad embedded migrations", err)
	}
	var from int
	err = s.write(ctx, "migrate", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1 || current_schema()))", migrateLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&from); err != nil {
			return err
		}
		if from > len(ms) {
			return mailerr.Permanent(mailerr.Unknown, fmt.Sprintf(
				"database schema version %d is newer than this posthorn's (%d)", from, len(ms)), nil)
		}
		for _, m := range ms[from:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if from == len(ms) {
			return nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM schema_version"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", len(ms))
		return err
	})
	if err != nil {
		return err
	}
	if from == 0 {
		s.created = true
	}
	if from < len(ms) {
		s.log.Info("store: schema migrated", "from", from, "to", len(ms))
	}
	return nil
}

// SchemaVersion returns the database's schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	return v, dbError("schema version", err)
}
