package postgres

import (
	"context"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Backup is not done by posthorn on PostgreSQL: the database's own tools
// (pg_dump for a logical copy, pg_basebackup with WAL archiving for a
// point-in-time one) are made for a database that many nodes share and
// that may be large. It fails with a permanent error that says so.
func (s *Store) Backup(ctx context.Context, path string) error {
	return mailerr.Permanent(mailerr.Policy,
		"posthorn store backup works on SQLite only; back PostgreSQL up with pg_dump or pg_basebackup", nil)
}
