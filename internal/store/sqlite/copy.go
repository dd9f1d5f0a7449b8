package sqlite

import (
	"context"
	"database/sql"

	"github.com/posthorn/posthorn/internal/store"
)

// CopyMessages copies (or, with move, moves: RFC 6851) the messages with
// these UIDs from mailboxID to destID, ascending, keeping flags, internal
// date, prefix and summary; a copy shares the stored body. UIDs that do
// not exist are skipped. A copy counts against the user's quota
// (mailerr.OverQuota); a move does not change it. Both mailboxes must be
// the same user's (mailerr.NoSuchUser otherwise).
func (s *Store) CopyMessages(ctx context.Context, mailboxID int64, uids []uint32, destID int64, move bool) (store.CopyResult, error) {
	var res store.CopyResult
	err := s.write(ctx, "copy", func(tx *sql.Tx) error {
		res = store.CopyResult{}
		var srcUser, dstUser int64
		if err := tx.QueryRowContext(ctx, "SELECT user_id FROM mailboxes WHERE id = ?", mailboxID).Scan(&srcUser); err != nil {
			return notFound(err, "no such mailbox")
		}
		if err := tx.QueryRowContext(ctx, "SELECT user_id, uidvalidity FROM mailboxes WHERE id = ?", destID).Scan(
			&dstUser, &res.DestUIDValidity); err != nil || dstUser != srcUser {
			return notFound(sql.ErrNoRows, "no such mailbox")
		}
		var ms []msgRow
		var total int64
		if err := scanUIDs(ctx, tx, mailboxID, uids, func(m msgRow) error {
			ms = append(ms, m)
			total += m.size
			return nil
		}); err != nil || len(ms) == 0 {
			return err
		}
		if !move {
			if err := checkQuotaTx(ctx, tx, srcUser, total); err != nil {
				return err
			}
		}
		first, modseq, err := allocUIDs(ctx, tx, destID, len(ms))
		if err != nil {
			return err
		}
		for i, m := range ms {
			uid := first + uint32(i)
			if err := copyOneTx(ctx, tx, m.id, destID, uid, modseq, move); err != nil {
				return err
			}
			res.Source = append(res.Source, m.uid)
			res.Dest = append(res.Dest, uid)
		}
		if move {
			_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?", mailboxID)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE users SET used = used + ? WHERE id = ?", total, srcUser)
		}
		return err
	})
	if err != nil {
		return store.CopyResult{}, err
	}
	if len(res.Source) > 0 {
		s.hub.Publish(mailboxID, destID)
	}
	return res, nil
}

// copyOneTx copies or moves one message row. A move keeps the row (and so
// its summary and body reference) and changes its mailbox and UID.
func copyOneTx(ctx context.Context, tx *sql.Tx, id, destID int64, uid uint32, modseq uint64, move bool) error {
	if move {
		_, err := tx.ExecContext(ctx, "UPDATE messages SET mailbox_id = ?, uid = ?, modseq = ? WHERE id = ?",
			destID, uid, modseq, id)
		return err
	}
	var newID, bodyID int64
	err := tx.QueryRowContext(ctx, `INSERT INTO messages
		(mailbox_id, uid, body_id, prefix, size, flags, internal_date, modseq)
		SELECT ?, ?, body_id, prefix, size, flags, internal_date, ? FROM messages WHERE id = ?
		RETURNING id, body_id`, destID, uid, modseq, id).Scan(&newID, &bodyID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE bodies SET refs = refs + 1 WHERE id = ?", bodyID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO summaries (message_id, blob) SELECT ?, blob FROM summaries WHERE message_id = ?",
		newID, id)
	return err
}
