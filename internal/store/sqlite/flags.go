package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// msgRow is a message of a uid scan.
type msgRow struct {
	id     int64
	uid    uint32
	flags  string
	modseq uint64
	size   int64
}

// scanUIDs calls fn for the messages of mailboxID whose UID is in uids
// (ascending; nil: all), reading one range from the smallest to the
// largest UID: one index range scan, whatever the number of UIDs.
func scanUIDs(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, mailboxID int64, uids []uint32, fn func(msgRow) error) error {
	lo, hi := uint32(0), uint32(1<<32-1)
	if uids != nil {
		if len(uids) == 0 {
			return nil
		}
		uids = slices.Clone(uids)
		slices.Sort(uids)
		lo, hi = uids[0], uids[len(uids)-1]
	}
	rows, err := q.QueryContext(ctx, `SELECT id, uid, flags, modseq, size FROM messages
		WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxID, lo, hi)
	if err != nil {
		return err
	}
	var ms []msgRow
	for rows.Next() {
		var m msgRow
		if err := rows.Scan(&m.id, &m.uid, &m.flags, &m.modseq, &m.size); err != nil {
			rows.Close()
			return err
		}
		if uids != nil {
			if _, ok := slices.BinarySearch(uids, m.uid); !ok {
				continue
			}
		}
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// fn runs after the rows are closed: it may write in the same tx.
	for _, m := range ms {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// SetFlags changes the flags of the messages with these UIDs (IMAP
// STORE). Every changed message gets the mailbox's next mod-sequence (one
// for the whole call, RFC 7162 §3.1). With unchangedSince > 0 a message
// whose mod-sequence is above it is left alone and its UID returned in
// failed (RFC 7162 §3.1.3). UIDs that do not exist are ignored.
func (s *Store) SetFlags(ctx context.Context, mailboxID int64, uids []uint32, op store.FlagOp, flags []string,
	unchangedSince uint64) (failed []uint32, err error) {
	if err := store.CheckFlags(flags); err != nil {
		return nil, err
	}
	changed := false
	err = s.write(ctx, "store flags", func(tx *sql.Tx) error {
		failed, changed = nil, false
		var modseq uint64
		// Prepared once: STORE 1:* on a large mailbox updates every row.
		upd, err := tx.PrepareContext(ctx, "UPDATE messages SET flags = ?, modseq = ? WHERE id = ?")
		if err != nil {
			return err
		}
		defer upd.Close()
		err = scanUIDs(ctx, tx, mailboxID, uids, func(m msgRow) error {
			if unchangedSince > 0 && m.modseq > unchangedSince {
				failed = append(failed, m.uid)
				return nil
			}
			old := strings.Fields(m.flags)
			nf := store.ApplyFlags(old, op, flags)
			if slices.Equal(nf, old) {
				return nil
			}
			if len(nf) > store.MaxFlags {
				return mailerr.Permanent(mailerr.BadInput, "too many flags", nil)
			}
			if modseq == 0 {
				if err := tx.QueryRowContext(ctx, `UPDATE mailboxes SET highestmodseq = highestmodseq + 1
					WHERE id = ? RETURNING highestmodseq`, mailboxID).Scan(&modseq); err != nil {
					return err
				}
			}
			changed = true
			_, err := upd.ExecContext(ctx, strings.Join(nf, " "), modseq, m.id)
			return err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.hub.Publish(mailboxID)
	}
	return failed, nil
}

// ExpungeUIDs removes the messages flagged \Deleted among uids (nil: all
// of the mailbox's) and returns their UIDs, ascending (IMAP EXPUNGE, UID
// EXPUNGE).
func (s *Store) ExpungeUIDs(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error) {
	var gone []uint32
	err := s.write(ctx, "expunge", func(tx *sql.Tx) error {
		var userID int64
		if err := tx.QueryRowContext(ctx, "SELECT user_id FROM mailboxes WHERE id = ?", mailboxID).Scan(&userID); err != nil {
			return notFound(err, "no such mailbox")
		}
		var err error
		gone, err = deleteMessagesTx(ctx, tx, userID, mailboxID, `\Deleted`, uids)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		s.hub.Publish(mailboxID)
	}
	return gone, nil
}

// deleteMessagesTx deletes the messages of a mailbox with UIDs in uids
// (nil: all) that carry flag (""; any), releases their bodies, lowers the
// user's used bytes and raises the mailbox's mod-sequence. It returns the
// UIDs deleted, ascending.
func deleteMessagesTx(ctx context.Context, tx *sql.Tx, userID, mailboxID int64, flag string, uids []uint32) ([]uint32, error) {
	var gone []uint32
	refs := map[int64]int64{}
	var freed int64
	del, err := tx.PrepareContext(ctx, "DELETE FROM messages WHERE id = ? RETURNING body_id")
	if err != nil {
		return nil, err
	}
	defer del.Close()
	err = scanUIDs(ctx, tx, mailboxID, uids, func(m msgRow) error {
		if flag != "" && !slices.Contains(strings.Fields(m.flags), flag) {
			return nil
		}
		var bodyID int64
		if err := del.QueryRowContext(ctx, m.id).Scan(&bodyID); err != nil {
			return err
		}
		refs[bodyID]++
		freed += m.size
		gone = append(gone, m.uid)
		return nil
	})
	if err != nil || len(gone) == 0 {
		return nil, err
	}
	if err := releaseBodies(ctx, tx, refs); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET used = CASE WHEN used > ? THEN used - ? ELSE 0 END
		WHERE id = ?`, freed, freed, userID); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?", mailboxID)
	return gone, err
}
