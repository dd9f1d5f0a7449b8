package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// maxRows is the most rows one multi-row INSERT carries. Statements are
// prepared for every power of two up to it, so a batch of n rows costs at
// most about log2(n) + n/maxRows executions instead of n, each with its
// database/sql and VDBE overhead.
const maxRows = 32

// rowSizes are the prepared sizes of every multi-row INSERT.
var rowSizes = [...]int{1, 2, 4, 8, 16, 32}

// multiRow is an INSERT whose VALUES tuple is repeated.
type multiRow struct {
	cols int                   // columns per tuple
	sqls [len(rowSizes)]string // the statement for rowSizes[i] tuples
}

func newMultiRow(table, columns string) *multiRow {
	m := &multiRow{cols: strings.Count(columns, ",") + 1}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", m.cols), ", ") + ")"
	for i, n := range rowSizes {
		m.sqls[i] = "INSERT INTO " + table + " (" + columns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
	}
	return m
}

// The multi-row INSERTs of a commit. bodies gets explicit ids (see
// commitBatch.bodyBase), so that nothing has to be read back.
var (
	insertBodies   = newMultiRow("bodies", "id, msg_id, size, refs")
	insertChunks   = newMultiRow("body_chunks", "body_id, seq, data")
	insertMessages = newMultiRow("messages", "mailbox_id, uid, body_id, prefix, size, internal_date, modseq")
	insertQueue    = newMultiRow("queue", "msg_id, body_id, sender, rcpt, orcpt, notify, envid, ret, smtputf8, body_type, next_attempt, created")
)

var multiRows = [...]*multiRow{insertBodies, insertChunks, insertMessages, insertQueue}

// rowInserter collects the rows of one multi-row INSERT and writes them
// with as few executions as the prepared sizes allow.
type rowInserter struct {
	m    *multiRow
	args []any // cols values per row
}

func (r *rowInserter) add(vals ...any) { r.args = append(r.args, vals...) }

// flush executes the collected rows in tx and forgets them.
func (r *rowInserter) flush(ctx context.Context, s *Store, tx *sql.Tx) error {
	args := r.args
	for len(args) > 0 {
		n := len(args) / r.m.cols
		i := 0
		for i+1 < len(rowSizes) && rowSizes[i+1] <= n {
			i++
		}
		size := rowSizes[i]
		st, ok := s.stmts.get(s.w, r.m.sqls[i])
		if !ok {
			return errors.New("multi-row statements not prepared")
		}
		k := size * r.m.cols
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args[:k]...); err != nil {
			return err
		}
		args = args[k:]
	}
	clear(r.args) // drop references to message bytes
	r.args = r.args[:0]
	return nil
}
