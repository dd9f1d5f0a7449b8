package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Snapshot is a consistent read-only view of the whole store, for
// copying it elsewhere (posthorn store copy): every table read through
// one Snapshot shows the same committed state, whatever the server
// writes meanwhile (WAL readers keep their snapshot).
type Snapshot struct {
	tx *sql.Tx
}

// Export calls fn with a Snapshot valid until fn returns.
func (s *Store) Export(ctx context.Context, fn func(*Snapshot) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbError("export", err)
	}
	defer tx.Rollback()
	// A deferred transaction takes its snapshot at the first read: read
	// something now, so that every table comes from this moment.
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_version").Scan(&n); err != nil {
		return dbError("export", err)
	}
	return fn(&Snapshot{tx: tx})
}

// Rows calls fn with the values of cols for each row of table, ordered
// by the first column (the key). Values are int64, string, []byte or nil
// as SQLite stores them; vals is reused between calls. Table and column
// names must be plain identifiers.
func (p *Snapshot) Rows(ctx context.Context, table string, cols []string, fn func(vals []any) error) error {
	if !ident(table) || len(cols) == 0 {
		return mailerr.Permanent(mailerr.BadInput, fmt.Sprintf("export: bad table %q", table), nil)
	}
	for _, c := range cols {
		if !ident(c) {
			return mailerr.Permanent(mailerr.BadInput, fmt.Sprintf("export: bad column %q", c), nil)
		}
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + table + " ORDER BY " + cols[0]
	rows, err := p.tx.QueryContext(ctx, q)
	if err != nil {
		return dbError("export "+table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return dbError("export "+table, err)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return dbError("export "+table, rows.Err())
}

// ident reports whether s is a plain lower-case SQL identifier.
func ident(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
