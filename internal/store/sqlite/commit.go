package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// chunkSize is the size of one body_chunks row: small enough that partial
// reads touch little, large enough that a 25 MB body is 400 rows.
const chunkSize = 64 << 10

// chunkBufs holds chunk-sized read buffers for bodies that are spooled to
// files (in-memory bodies are sliced without copying).
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// Single statements of a commit, prepared once per store (see stmtCache)
// on the writer. The INSERTs are multi-row (commit_rows.go).
const (
	sqlMaxBodyID = "SELECT " + sqlBodyIDBase
	// sqlBodyIDBase is the id below every new body's: the highest id in
	// use or ever deleted (migration 0005), so an id is never reused.
	sqlBodyIDBase = `max(coalesce((SELECT max(id) FROM bodies), 0),
		coalesce((SELECT value FROM counters WHERE name = 'body_id'), 0))`
	// sqlTakeUIDs reserves n UIDs and n modseqs of one mailbox: it returns
	// the first of each.
	sqlTakeUIDs = `UPDATE mailboxes SET uidnext = uidnext + ?1, highestmodseq = highestmodseq + ?1
			WHERE user_id = ?2 AND name = ?3 RETURNING id, uidnext - ?1, highestmodseq - ?1 + 1`
	sqlAddUsed = "UPDATE users SET used = used + ? WHERE id = ?"
)

// prepareWriter prepares the commit statements on the writer. It must run
// outside any transaction: the writer has a single connection, which a
// transaction holds.
func (s *Store) prepareWriter(ctx context.Context) error {
	qs := []string{sqlMaxBodyID, sqlTakeUIDs, sqlAddUsed}
	for _, m := range multiRows {
		qs = append(qs, m.sqls[:]...)
	}
	for _, q := range qs {
		if _, err := s.stmts.stmt(ctx, s.w, q); err != nil {
			return dbError("prepare", err)
		}
	}
	return nil
}

// txStmt binds the prepared statement q to tx.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	st, ok := s.stmts.get(s.w, q)
	if !ok {
		return nil, errors.New("commit statements not prepared")
	}
	return tx.StmtContext(ctx, st), nil
}

// CommitBatch stores msgs in one transaction, durable when it returns nil:
// each body once (in 64 KiB chunks), one messages row per local recipient
// (UID from the mailbox's uidnext, a new modseq, the user's used bytes
// raised by prefix + body) and one queue row per remote recipient. Any
// failure rolls everything back.
//
// The work is done per kind of row for the whole batch, not per message:
// one UPDATE per mailbox reserves the UIDs of all its new messages, one
// per user adds the used bytes, and the rows go in with multi-row INSERTs.
// A batch of ten 1 KB messages to one user is about ten statements, not
// fifty.
func (s *Store) CommitBatch(ctx context.Context, msgs []*intake.Message) error {
	for _, m := range msgs {
		if m == nil || m.Body == nil {
			return mailerr.Permanent(mailerr.BadInput, "message without a body", nil)
		}
	}
	b := newCommitBatch(s, s.now().Unix())
	err := s.write(ctx, "commit", func(tx *sql.Tx) error { return b.run(ctx, tx, msgs) })
	if err == nil {
		s.hub.Publish(b.touched...) // IDLE sessions see the new messages
	}
	return err
}

// streamChunks writes head and a body that is not wholly in memory in
// chunkSize rows, read once through a pooled buffer, one INSERT per chunk
// (the buffer is reused, so the rows cannot wait for a multi-row INSERT).
func streamChunks(ctx context.Context, chunk *sql.Stmt, bodyID int64, head []byte, sp *intake.Spool) error {
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	r := io.MultiReader(bytes.NewReader(head), sp.NewReader())
	var total int64
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := chunk.ExecContext(ctx, bodyID, seq, buf[:n]); err != nil {
				return err
			}
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		} else if err != nil {
			return fmt.Errorf("reading spool: %w", err)
		}
	}
	if want := int64(len(head)) + sp.Size(); total != want {
		return fmt.Errorf("spool gave %d bytes, expected %d", total, want)
	}
	return nil
}

// commitStmts stores single messages inside another write transaction
// (QueueFail commits its report with the removal of the entries).
type commitStmts struct {
	s       *Store
	tx      *sql.Tx
	touched []int64 // mailboxes that got a message
}

// prepareCommit returns the message writer for tx.
func (s *Store) prepareCommit(_ context.Context, tx *sql.Tx) (*commitStmts, error) {
	return &commitStmts{s: s, tx: tx}, nil
}

// store writes m as a batch of one.
func (c *commitStmts) store(ctx context.Context, m *intake.Message, now int64) error {
	b := newCommitBatch(c.s, now)
	err := b.run(ctx, c.tx, []*intake.Message{m})
	c.touched = append(c.touched, b.touched...)
	return err
}

// close is there for symmetry with prepareCommit: nothing is held.
func (c *commitStmts) close() {}
