package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// checkQuotaTx fails with mailerr.OverQuota when adding more bytes would
// take the user over a non-zero quota. The error is temporary, as SMTP's
// 452 4.2.2: the mailbox may be emptied.
func checkQuotaTx(ctx context.Context, tx *sql.Tx, userID, more int64) error {
	var quota, used int64
	if err := tx.QueryRowContext(ctx, "SELECT quota, used FROM users WHERE id = ?", userID).Scan(&quota, &used); err != nil {
		return notFound(err, fmt.Sprintf("no user %d", userID))
	}
	if quota > 0 && used+more > quota {
		return mailerr.Temporary(mailerr.OverQuota, fmt.Sprintf("over quota (%d of %d bytes used)", used, quota), nil)
	}
	return nil
}

// allocUIDs takes n UIDs from a mailbox and one new mod-sequence for them.
func allocUIDs(ctx context.Context, tx *sql.Tx, mailboxID int64, n int) (first uint32, modseq uint64, err error) {
	var next int64
	err = tx.QueryRowContext(ctx, `UPDATE mailboxes SET uidnext = uidnext + ?, highestmodseq = highestmodseq + 1
		WHERE id = ? RETURNING uidnext - ?, highestmodseq`, n, mailboxID, n).Scan(&next, &modseq)
	if err != nil {
		return 0, 0, notFound(err, "no such mailbox")
	}
	if next+int64(n) > math.MaxUint32 {
		return 0, 0, mailerr.Permanent(mailerr.Policy, "mailbox has run out of UIDs", nil)
	}
	return uint32(next), modseq, nil
}

// AppendMessage stores size octets read from r as a new message of a
// mailbox (IMAP APPEND, posthorn import) with flags and an internal date,
// and returns the mailbox's UIDVALIDITY and the new UID. The user's quota
// holds (mailerr.OverQuota). r is read inside the write transaction, so
// it must be local (memory or a file), never a network stream.
func (s *Store) AppendMessage(ctx context.Context, mailboxID int64, r io.Reader, size int64, flags []string,
	date time.Time) (uidValidity, uid uint32, err error) {
	if err := store.CheckFlags(flags); err != nil {
		return 0, 0, err
	}
	if size <= 0 {
		return 0, 0, mailerr.Permanent(mailerr.BadInput, "empty message", nil)
	}
	err = s.write(ctx, "append", func(tx *sql.Tx) error {
		var userID int64
		if err := tx.QueryRowContext(ctx, "SELECT user_id, uidvalidity FROM mailboxes WHERE id = ?",
			mailboxID).Scan(&userID, &uidValidity); err != nil {
			return notFound(err, "no such mailbox")
		}
		if err := checkQuotaTx(ctx, tx, userID, size); err != nil {
			return err
		}
		var modseq uint64
		if uid, modseq, err = allocUIDs(ctx, tx, mailboxID, 1); err != nil {
			return err
		}
		if err := insertMessageTx(ctx, tx, mailboxID, uid, modseq, r, size, flags, date); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE users SET used = used + ? WHERE id = ?", size, userID)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	s.hub.Publish(mailboxID)
	return uidValidity, uid, nil
}

// AppendBatch stores msgs as new messages of a mailbox in one transaction
// (one fsync for the lot: posthorn import) and returns their UIDs, in
// order. The quota holds for the whole batch.
func (s *Store) AppendBatch(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]uint32, error) {
	var total int64
	for _, m := range msgs {
		if err := store.CheckFlags(m.Flags); err != nil {
			return nil, err
		}
		if len(m.Data) == 0 {
			return nil, mailerr.Permanent(mailerr.BadInput, "empty message", nil)
		}
		total += int64(len(m.Data))
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	var uids []uint32
	err := s.write(ctx, "append", func(tx *sql.Tx) error {
		uids = uids[:0]
		var userID int64
		if err := tx.QueryRowContext(ctx, "SELECT user_id FROM mailboxes WHERE id = ?", mailboxID).Scan(&userID); err != nil {
			return notFound(err, "no such mailbox")
		}
		if err := checkQuotaTx(ctx, tx, userID, total); err != nil {
			return err
		}
		first, modseq, err := allocUIDs(ctx, tx, mailboxID, len(msgs))
		if err != nil {
			return err
		}
		for i, m := range msgs {
			uid := first + uint32(i)
			if err := insertMessageTx(ctx, tx, mailboxID, uid, modseq, bytes.NewReader(m.Data), int64(len(m.Data)),
				m.Flags, m.Date); err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		_, err = tx.ExecContext(ctx, "UPDATE users SET used = used + ? WHERE id = ?", total, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.hub.Publish(mailboxID)
	return uids, nil
}

// insertMessageTx stores one body and its messages row.
func insertMessageTx(ctx context.Context, tx *sql.Tx, mailboxID int64, uid uint32, modseq uint64, r io.Reader,
	size int64, flags []string, date time.Time) error {
	var bodyID int64
	if err := tx.QueryRowContext(ctx, "INSERT INTO bodies (id, msg_id, size, refs) VALUES (("+sqlBodyIDBase+") + 1, ?, ?, 1) RETURNING id",
		intake.NewID(), size).Scan(&bodyID); err != nil {
		return err
	}
	if err := writeChunks(ctx, tx, bodyID, r, size); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO messages
		(mailbox_id, uid, body_id, prefix, size, flags, internal_date, modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		mailboxID, uid, bodyID, []byte{}, size, strings.Join(flags, " "), date.Unix(), modseq)
	return err
}

// writeChunks stores exactly size octets of r as body_chunks rows.
func writeChunks(ctx context.Context, tx *sql.Tx, bodyID int64, r io.Reader, size int64) error {
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	left := size
	for seq := 0; left > 0; seq++ {
		n := int(min(left, int64(len(buf))))
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return mailerr.Permanent(mailerr.BadInput, "message shorter than its size", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO body_chunks (body_id, seq, data) VALUES (?, ?, ?)",
			bodyID, seq, buf[:n]); err != nil {
			return err
		}
		left -= int64(n)
	}
	return nil
}
