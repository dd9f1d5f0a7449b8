package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded NNNN_name.sql files in version order.
func migrations() ([]store.Migration, error) { return store.Migrations(migrationFS, "migrations") }

// Migrate brings the schema to this binary's version. It is safe to run
// at every open and from several processes: each step runs in its own
// IMMEDIATE transaction that re-reads the version first. A database newer
// than this binary is refused rather than touched.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return mailerr.Permanent(mailerr.Unknown, "bad embedded migrations", err)
	}
	for _, m := range ms {
		err := s.write(ctx, "migrate to "+m.Name, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx,
				"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
				return err
			}
			var cur int
			if err := tx.QueryRowContext(ctx,
				"SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
				return err
			}
			if cur > len(ms) {
				return mailerr.Permanent(mailerr.Unknown, fmt.Sprintf(
					"database schema version %d is newer than this posthorn's (%d)", cur, len(ms)), nil)
			}
			if cur >= m.Version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM schema_version"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?)", m.Version)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion returns the database's schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.w.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	return v, dbError("schema version", err)
}
