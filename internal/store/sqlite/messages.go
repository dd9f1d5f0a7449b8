package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// MailboxByName returns a user's mailbox; "INBOX" matches in any case
// (mailerr.NoSuchUser when there is no such mailbox).
func (s *Store) MailboxByName(ctx context.Context, userID int64, name string) (store.Mailbox, error) {
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	var mb store.Mailbox
	err := s.r.QueryRowContext(ctx, `SELECT id, user_id, name, uidvalidity, uidnext, highestmodseq,
		special_use, subscribed FROM mailboxes WHERE user_id = ? AND name = ?`, userID, name).Scan(
		&mb.ID, &mb.UserID, &mb.Name, &mb.UIDValidity, &mb.UIDNext, &mb.HighestModSeq,
		&mb.SpecialUse, &mb.Subscribed)
	if err != nil {
		return store.Mailbox{}, dbError("mailbox", notFound(err, "no such mailbox "+name))
	}
	return mb, nil
}

// Messages lists a mailbox's messages in ascending UID order.
func (s *Store) Messages(ctx context.Context, mailboxID int64) ([]store.MessageInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, uid, size, flags, internal_date, modseq
		FROM messages WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, dbError("list messages", err)
	}
	defer rows.Close()
	var ms []store.MessageInfo
	for rows.Next() {
		var m store.MessageInfo
		var flags string
		var date int64
		if err := rows.Scan(&m.ID, &m.UID, &m.Size, &flags, &date, &m.ModSeq); err != nil {
			return nil, dbError("list messages", err)
		}
		m.Flags = strings.Fields(flags)
		m.InternalDate = time.Unix(date, 0)
		ms = append(ms, m)
	}
	return ms, dbError("list messages", rows.Err())
}

// OpenMessage returns a reader of a message's bytes: its prefix, then its
// body one 64 KiB chunk at a time, each fetched when needed, so a large
// body is never held whole and no read transaction stays open between
// reads. ctx must stay live while reading. If the message is expunged
// while being read, Read fails with io.ErrUnexpectedEOF.
func (s *Store) OpenMessage(ctx context.Context, messageID int64) (io.ReadCloser, error) {
	// One query brings the prefix and the first chunk: most messages are
	// one chunk, read with no second round trip.
	open, err := s.stmts.stmt(ctx, s.r, `SELECT m.prefix, m.body_id, b.size, c.data FROM messages m
		JOIN bodies b ON b.id = m.body_id
		LEFT JOIN body_chunks c ON c.body_id = m.body_id AND c.seq = 0 WHERE m.id = ?`)
	if err != nil {
		return nil, dbError("open message", err)
	}
	chunk, err := s.stmts.stmt(ctx, s.r, "SELECT data FROM body_chunks WHERE body_id = ? AND seq = ?")
	if err != nil {
		return nil, dbError("open message", err)
	}
	r := &messageReader{ctx: ctx, chunk: chunk}
	var first []byte
	err = open.QueryRowContext(ctx, messageID).Scan(&r.cur, &r.bodyID, &r.bodyLeft, &first)
	if err != nil {
		return nil, dbError("open message", notFound(err, fmt.Sprintf("no message %d", messageID)))
	}
	if first != nil {
		r.next = r.take(first) // read after the prefix in cur
	}
	return r, nil
}

// ReadMessages reads, in one query, the messages of a mailbox with UIDs
// from first to last (inclusive) whose bodies are one chunk (at most 64
// KiB), in UID order, and calls fn with each one's id, per-recipient
// prefix and body. The slices are valid only during the call. Larger
// messages are left out: OpenMessage streams those. It serves clients
// that download a mailbox in order (POP3 RETR 1, 2, ...): one read
// transaction for many messages costs little more than one for each, so
// the caller reads ahead in batches it bounds itself (by UID range and
// the sizes it already has).
func (s *Store) ReadMessages(ctx context.Context, mailboxID int64, first, last uint32,
	fn func(id int64, prefix, body []byte) error) error {
	q, err := s.stmts.stmt(ctx, s.r, `SELECT m.id, m.prefix, b.size, c.data FROM messages m
		JOIN bodies b ON b.id = m.body_id
		LEFT JOIN body_chunks c ON c.body_id = m.body_id AND c.seq = 0
		WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? AND b.size <= ? ORDER BY m.uid`)
	if err != nil {
		return dbError("read messages", err)
	}
	rows, err := q.QueryContext(ctx, mailboxID, first, last, chunkSize)
	if err != nil {
		return dbError("read messages", err)
	}
	defer rows.Close()
	var id, size int64
	// RawBytes: the driver's copy of each blob, without database/sql
	// cloning it again; fn copies what it keeps.
	var prefix, data sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &prefix, &size, &data); err != nil {
			return dbError("read messages", err)
		}
		if int64(len(data)) < size {
			continue // damaged: left to OpenMessage, which reports it
		}
		if err := fn(id, prefix, data[:size]); err != nil {
			return err
		}
	}
	return dbError("read messages", rows.Err())
}

type messageReader struct {
	ctx      context.Context
	chunk    *sql.Stmt // reads one chunk
	bodyID   int64
	cur      []byte // unread part of the prefix, then of the current chunk
	next     []byte // the first chunk while the prefix is being read
	seq      int    // next chunk to fetch
	bodyLeft int64  // body bytes not yet fetched
	err      error  // sticky
}

func (r *messageReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next != nil {
			r.cur, r.next = r.next, nil
			continue
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.bodyLeft <= 0 {
			r.err = io.EOF
			return 0, io.EOF
		}
		r.err = r.fetch()
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// fetch loads the next chunk into cur.
func (r *messageReader) fetch() error {
	var data []byte
	err := r.chunk.QueryRowContext(r.ctx, r.bodyID, r.seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: message body %d gone while reading: %w", r.bodyID, io.ErrUnexpectedEOF)
	} else if err != nil {
		return dbError("read message", err)
	}
	r.cur = r.take(data)
	return nil
}

// take accounts for the next chunk, cut to what the body still lacks.
func (r *messageReader) take(data []byte) []byte {
	if int64(len(data)) > r.bodyLeft {
		data = data[:r.bodyLeft]
	}
	r.seq++
	r.bodyLeft -= int64(len(data))
	return data
}

// Close releases nothing but marks the reader finished.
func (r *messageReader) Close() error {
	r.cur = nil
	if r.err == nil {
		r.err = errors.New("store: read of a closed message")
	}
	return nil
}

// Expunge deletes messages (by message ID) from a mailbox, drops their
// body references (deleting bodies no one references), lowers the user's
// used bytes and raises the mailbox's highest modseq. IDs not in the
// mailbox are ignored, so a repeated expunge is harmless.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, messageIDs []int64) error {
	if len(messageIDs) == 0 {
		return nil
	}
	defer s.hub.Publish(mailboxID) // after commit (or a harmless spurious signal)
	return s.write(ctx, "expunge", func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, "SELECT user_id FROM mailboxes WHERE id = ?", mailboxID).Scan(&userID)
		if err != nil {
			return notFound(err, fmt.Sprintf("no mailbox %d", mailboxID))
		}
		del, err := tx.PrepareContext(ctx, "DELETE FROM messages WHERE id = ? AND mailbox_id = ? RETURNING body_id, size")
		if err != nil {
			return err
		}
		defer del.Close()
		refs := map[int64]int64{}
		var freed int64
		for _, id := range messageIDs {
			var bodyID, size int64
			err := del.QueryRowContext(ctx, id, mailboxID).Scan(&bodyID, &size)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			refs[bodyID]++
			freed += size
		}
		if len(refs) == 0 {
			return nil
		}
		if err := releaseBodies(ctx, tx, refs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET used = CASE WHEN used > ? THEN used - ? ELSE 0 END
			WHERE id = ?`, freed, freed, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?", mailboxID)
		return err
	})
}
