package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
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

// commitStmts are the statements of one CommitBatch: prepared once per
// store (see stmtCache) and bound to each transaction.
type commitStmts struct {
	body, chunk, mailbox, message, used, queue *sql.Stmt
	touched                                    []int64 // mailboxes that got a message
}

// commitSQL are the statements of commitStmts, in field order.
var commitSQL = [...]string{
	"INSERT INTO bodies (msg_id, size, refs) VALUES (?, ?, ?) RETURNING id",
	"INSERT INTO body_chunks (body_id, seq, data) VALUES (?, ?, ?)",
	`UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
			WHERE user_id = ? AND name = ? RETURNING id, uidnext - 1, highestmodseq`,
	`INSERT INTO messages (mailbox_id, uid, body_id, prefix, size, internal_date, modseq)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
	"UPDATE users SET used = used + ? WHERE id = ?",
	`INSERT INTO queue (msg_id, body_id, sender, rcpt, orcpt, notify, envid, ret,
			smtputf8, body_type, next_attempt, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
}

// prepareWriter prepares the commit statements on the writer. It must run
// outside any transaction: the writer has a single connection, which a
// transaction holds.
func (s *Store) prepareWriter(ctx context.Context) error {
	for _, q := range commitSQL {
		if _, err := s.stmts.stmt(ctx, s.w, q); err != nil {
			return dbError("prepare", err)
		}
	}
	return nil
}

// prepareCommit binds the prepared commit statements to tx.
func (s *Store) prepareCommit(ctx context.Context, tx *sql.Tx) (*commitStmts, error) {
	var c commitStmts
	for i, dst := range []**sql.Stmt{&c.body, &c.chunk, &c.mailbox, &c.message, &c.used, &c.queue} {
		st, ok := s.stmts.get(s.w, commitSQL[i])
		if !ok {
			c.close()
			return nil, errors.New("commit statements not prepared")
		}
		*dst = tx.StmtContext(ctx, st)
	}
	return &c, nil
}

func (c *commitStmts) close() {
	for _, st := range []*sql.Stmt{c.body, c.chunk, c.mailbox, c.message, c.used, c.queue} {
		if st != nil {
			st.Close()
		}
	}
}

// CommitBatch stores msgs in one transaction, durable when it returns nil:
// each body once (in 64 KiB chunks), one messages row per local recipient
// (UID from the mailbox's uidnext, a new modseq, the user's used bytes
// raised by prefix + body) and one queue row per remote recipient. Any
// failure rolls everything back.
func (s *Store) CommitBatch(ctx context.Context, msgs []*intake.Message) error {
	for _, m := range msgs {
		if m == nil || m.Body == nil {
			return mailerr.Permanent(mailerr.BadInput, "message without a body", nil)
		}
	}
	now := s.now().Unix()
	var touched []int64
	err := s.write(ctx, "commit", func(tx *sql.Tx) error {
		c, err := s.prepareCommit(ctx, tx)
		if err != nil {
			return err
		}
		defer c.close()
		for _, m := range msgs {
			if err := c.store(ctx, m, now); err != nil {
				return fmt.Errorf("message %s: %w", m.ID, err)
			}
		}
		touched = c.touched
		return nil
	})
	if err == nil {
		s.hub.Publish(touched...) // IDLE sessions see the new messages
	}
	return err
}

// store writes one message.
func (c *commitStmts) store(ctx context.Context, m *intake.Message, now int64) error {
	refs := len(m.Local) + len(m.Remote)
	if refs == 0 {
		return nil // nobody to deliver to: nothing to keep
	}
	size := int64(len(m.Head)) + m.Body.Size()
	var bodyID int64
	if err := c.body.QueryRowContext(ctx, m.ID, size, refs).Scan(&bodyID); err != nil {
		return err
	}
	if err := c.storeChunks(ctx, bodyID, m.Head, m.Body); err != nil {
		return err
	}
	date := now
	if !m.Arrived.IsZero() {
		date = m.Arrived.Unix()
	}
	for _, r := range m.Local {
		name := r.Mailbox
		if name == "" || strings.EqualFold(name, "INBOX") {
			name = "INBOX" // RFC 9051 §5.1: INBOX is case-insensitive
		}
		var mbID, uid, modseq int64
		err := c.mailbox.QueryRowContext(ctx, r.UserID, name).Scan(&mbID, &uid, &modseq)
		if errors.Is(err, sql.ErrNoRows) {
			return mailerr.Permanent(mailerr.NoSuchUser,
				fmt.Sprintf("no mailbox %q for %s", name, r.Address), nil)
		} else if err != nil {
			return err
		}
		if uid >= math.MaxUint32 {
			return mailerr.Permanent(mailerr.Policy, "mailbox "+name+" has run out of UIDs", nil)
		}
		c.touched = append(c.touched, mbID)
		rowSize := int64(len(r.Prefix)) + size
		if _, err := c.message.ExecContext(ctx, mbID, uid, bodyID, nz(r.Prefix), rowSize, date, modseq); err != nil {
			return err
		}
		if _, err := c.used.ExecContext(ctx, rowSize, r.UserID); err != nil {
			return err
		}
	}
	smtputf8 := 0
	if m.SMTPUTF8 {
		smtputf8 = 1
	}
	for _, r := range m.Remote {
		if _, err := c.queue.ExecContext(ctx, m.ID, bodyID, m.From, r.Address, r.ORCPT, r.Notify,
			m.EnvID, m.Ret, smtputf8, m.BodyType, now, now); err != nil {
			return err
		}
	}
	return nil
}

// storeChunks writes head and the body in chunkSize rows. An in-memory
// body without a head is sliced as is; otherwise it is read once through
// a pooled buffer.
func (c *commitStmts) storeChunks(ctx context.Context, bodyID int64, head []byte, sp *intake.Spool) error {
	if b := sp.Bytes(); b != nil && len(head) == 0 {
		for seq := 0; len(b) > 0; seq++ {
			n := min(len(b), chunkSize)
			if _, err := c.chunk.ExecContext(ctx, bodyID, seq, b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	}
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	r := io.MultiReader(bytes.NewReader(head), sp.NewReader())
	var total int64
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := c.chunk.ExecContext(ctx, bodyID, seq, buf[:n]); err != nil {
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
