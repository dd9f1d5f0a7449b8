package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded NNNN_name.sql files in version order.
func migrations() ([]migration, error) {
	ents, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration file %q is not NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, 3... without gaps", m.name)
		}
	}
	return ms, nil
}

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
		err := s.write(ctx, "migrate to "+m.name, func(tx *sql.Tx) error {
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
			if cur >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM schema_version"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?)", m.version)
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
