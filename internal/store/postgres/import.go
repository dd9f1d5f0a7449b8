package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Source is a store being copied into this one (posthorn store copy):
// store/sqlite's Snapshot. Rows calls fn with the values of cols for
// each row of table, ordered by the first column, all tables from one
// consistent snapshot; vals may be reused between calls.
type Source interface {
	Rows(ctx context.Context, table string, cols []string, fn func(vals []any) error) error
}

// importTable is one table copied row by row. The two stores share
// table and column names (migrations/*.sql); bools are SQLite integers.
type importTable struct {
	name  string
	cols  []string
	bools []int // indexes of boolean columns
	ident bool  // id is an identity column whose sequence must follow
}

// importTables lists what is copied, parents before children. Left out:
// pop3_locks (a lock belongs to a session of the old server) and
// schema_version (the target has its own, already migrated).
var importTables = []importTable{
	{name: "users", ident: true, cols: []string{"id", "address", "address_key", "hash", "scram_salt", "scram_iter",
		"stored_key", "server_key", "quota", "used", "created"}},
	{name: "aliases", cols: []string{"alias_key", "alias", "target"}},
	{name: "mailboxes", ident: true, bools: []int{7}, cols: []string{"id", "user_id", "name", "uidvalidity", "uidnext",
		"highestmodseq", "special_use", "subscribed"}},
	{name: "subscriptions", cols: []string{"user_id", "name"}},
	{name: "counters", cols: []string{"name", "value"}},
	{name: "bodies", ident: true, cols: []string{"id", "msg_id", "size", "refs"}},
	{name: "body_chunks", cols: []string{"body_id", "seq", "data"}},
	{name: "messages", ident: true, cols: []string{"id", "mailbox_id", "uid", "body_id", "prefix", "size", "flags",
		"internal_date", "modseq"}},
	{name: "summaries", cols: []string{"message_id", "blob"}},
	{name: "queue", ident: true, bools: []int{9}, cols: []string{"id", "msg_id", "body_id", "sender", "rcpt", "orcpt",
		"notify", "envid", "ret", "smtputf8", "body_type", "attempts", "next_attempt", "last_error", "created",
		"lease_owner", "lease_until"}},
}

// TableCount is how many rows of a table Import copied.
type TableCount struct {
	Table string
	Rows  int64
}

// Import copies a whole store into this one, which must be empty (no
// user, alias, body or queue entry): ids, UIDs, UIDVALIDITYs, MODSEQs,
// flags, subscriptions, credential hashes and queue entries keep their
// values, so IMAP clients see the same mailboxes and download nothing
// again. It runs in one transaction holding every table exclusively:
// all or nothing, and no node can write meanwhile. Queue leases are
// cleared (they belonged to the old server).
func (s *Store) Import(ctx context.Context, src Source) ([]TableCount, error) {
	var counts []TableCount
	err := s.write(ctx, "import", func(tx pgx.Tx) error {
		counts = counts[:0]
		for _, t := range importTables {
			if _, err := tx.Exec(ctx, "LOCK TABLE "+t.name+" IN ACCESS EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM aliases)
			OR EXISTS (SELECT 1 FROM bodies) OR EXISTS (SELECT 1 FROM queue)`).Scan(&used); err != nil {
			return err
		}
		if used {
			return mailerr.Permanent(mailerr.Exists,
				"the target store is not empty; copy into a new database (posthorn store migrate makes only the schema)", nil)
		}
		for _, t := range importTables {
			n, err := copyTable(ctx, tx, src, t)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			counts = append(counts, TableCount{t.name, n})
			if t.ident {
				if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'),
					coalesce((SELECT max(id) FROM `+t.name+`), 0) + 1, false)`, t.name); err != nil {
					return fmt.Errorf("identity of %s: %w", t.name, err)
				}
			}
		}
		_, err := tx.Exec(ctx, "UPDATE queue SET lease_owner = '', lease_until = 0 WHERE lease_owner <> ''")
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// copyTable streams one table from src into tx with COPY: rows are
// handed over through a small channel, so a large store is never held
// in memory.
func copyTable(ctx context.Context, tx pgx.Tx, src Source, t importTable) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := &rowStream{rows: make(chan []any, 16), done: make(chan struct{})}
	go func() {
		defer close(rs.done)
		rs.err = src.Rows(ctx, t.name, t.cols, func(vals []any) error {
			row := make([]any, len(vals))
			copy(row, vals)
			for i, v := range row {
				// Every copied column is NOT NULL: a nil is SQLite's
				// empty BLOB (an empty prefix).
				if b, ok := v.([]byte); v == nil || (ok && b == nil) {
					row[i] = []byte{}
				}
			}
			for _, i := range t.bools {
				if v, ok := row[i].(int64); ok {
					row[i] = v != 0
				}
			}
			select {
			case rs.rows <- row:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(rs.rows)
	}()
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, rs)
	cancel()
	<-rs.done
	if err == nil {
		err = rs.err
	}
	return n, err
}

// rowStream is a pgx.CopyFromSource fed by Source.Rows on another
// goroutine.
type rowStream struct {
	rows chan []any
	done chan struct{}
	cur  []any
	err  error // Rows' result, set before done is closed
}

func (r *rowStream) Next() bool {
	row, ok := <-r.rows
	r.cur = row
	return ok
}

func (r *rowStream) Values() ([]any, error) { return r.cur, nil }

func (r *rowStream) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}
