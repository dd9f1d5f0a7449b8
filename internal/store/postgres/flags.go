package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// uidArgs turns a UID set (nil: every message) into the condition on
// messages.uid of a query whose next parameter is $n, and its argument.
func uidArgs(uids []uint32, n int) (cond string, args []any) {
	if uids == nil {
		return "", nil
	}
	a := make([]int64, len(uids))
	for i, u := range uids {
		a[i] = int64(u)
	}
	return fmt.Sprintf(" AND uid = ANY($%d::bigint[])", n), []any{a}
}

// SetFlags changes the flags of the messages with these UIDs (IMAP
// STORE). Every changed message gets the mailbox's next mod-sequence (one
// for the whole call, RFC 7162 §3.1). With unchangedSince > 0 a message
// whose mod-sequence is above it is left alone and its UID returned in
// failed (RFC 7162 §3.1.3). UIDs that do not exist are ignored, and so is
// a mailbox that does not.
//
// The mailbox row is locked first, as by every writer of its messages, so
// flag changes on several nodes serialise and MODSEQs stay ordered.
func (s *Store) SetFlags(ctx context.Context, mailboxID int64, uids []uint32, op store.FlagOp, flags []string,
	unchangedSince uint64) (failed []uint32, err error) {
	if err := store.CheckFlags(flags); err != nil {
		return nil, err
	}
	if uids != nil && len(uids) == 0 {
		return nil, nil
	}
	changed := false
	err = s.write(ctx, "store flags", func(tx pgx.Tx) error {
		failed, changed = nil, false
		cond, args := uidArgs(uids, 2)
		b := &pgx.Batch{}
		b.Queue("SELECT highestmodseq FROM mailboxes WHERE id = $1 FOR UPDATE", mailboxID)
		b.Queue("SELECT id, uid, flags, modseq FROM messages WHERE mailbox_id = $1"+cond+" ORDER BY uid",
			append([]any{mailboxID}, args...)...)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		var modseq int64
		if err := br.QueryRow().Scan(&modseq); errors.Is(err, pgx.ErrNoRows) {
			return br.Close() // no such mailbox: nothing to change
		} else if err != nil {
			return err
		}
		modseq++
		rows, _ := br.Query()
		var ids []int64
		var newFlags []string
		var id int64
		var uid uint32
		var old string
		var ms uint64
		_, err := pgx.ForEachRow(rows, []any{&id, &uid, &old, &ms}, func() error {
			if unchangedSince > 0 && ms > unchangedSince {
				failed = append(failed, uid)
				return nil
			}
			of := strings.Fields(old)
			nf := store.ApplyFlags(of, op, flags)
			if slices.Equal(nf, of) {
				return nil
			}
			if len(nf) > store.MaxFlags {
				return mailerr.Permanent(mailerr.BadInput, "too many flags", nil)
			}
			ids, newFlags = append(ids, id), append(newFlags, strings.Join(nf, " "))
			return nil
		})
		if err != nil {
			return err
		}
		if err := br.Close(); err != nil || len(ids) == 0 {
			return err
		}
		changed = true
		w := &pgx.Batch{}
		w.Queue("UPDATE mailboxes SET highestmodseq = $2 WHERE id = $1", mailboxID, modseq)
		w.Queue(`UPDATE messages m SET flags = v.flags, modseq = $3
			FROM unnest($1::bigint[], $2::text[]) AS v(id, flags) WHERE m.id = v.id`, ids, newFlags, modseq)
		w.Queue("SELECT pg_notify($1, $2)", s.channel, changedPayload(mailboxID))
		return tx.SendBatch(ctx, w).Close()
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
	err := s.write(ctx, "expunge", func(tx pgx.Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, "SELECT user_id FROM mailboxes WHERE id = $1 FOR UPDATE", mailboxID).Scan(&userID)
		if err != nil {
			return notFound(err, "no such mailbox")
		}
		if gone, err = deleteMessagesTx(ctx, tx, userID, mailboxID, `\Deleted`, uids); err != nil || len(gone) == 0 {
			return err
		}
		return s.notifyTx(ctx, tx, mailboxID)
	})
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		s.hub.Publish(mailboxID)
	}
	return gone, nil
}

// deleteMessagesTx deletes the messages of a mailbox, which the caller
// has locked, with UIDs in uids (nil: all) that carry flag ("": any),
// releases their bodies, lowers the user's used bytes and raises the
// mailbox's mod-sequence. It returns the UIDs deleted, ascending.
func deleteMessagesTx(ctx context.Context, tx pgx.Tx, userID, mailboxID int64, flag string, uids []uint32) ([]uint32, error) {
	if uids != nil && len(uids) == 0 {
		return nil, nil
	}
	q := "DELETE FROM messages WHERE mailbox_id = $1"
	args := []any{mailboxID}
	if flag != "" {
		q += " AND strpos(' ' || flags || ' ', $2) > 0"
		args = append(args, " "+flag+" ")
	}
	cond, more := uidArgs(uids, len(args)+1)
	rows, err := tx.Query(ctx, q+cond+" RETURNING uid, body_id, size", append(args, more...)...)
	if err != nil {
		return nil, err
	}
	var gone []uint32
	var bodyIDs []int64
	var freed, bodyID, size int64
	var uid uint32
	if _, err := pgx.ForEachRow(rows, []any{&uid, &bodyID, &size}, func() error {
		gone, bodyIDs = append(gone, uid), append(bodyIDs, bodyID)
		freed += size
		return nil
	}); err != nil || len(gone) == 0 {
		return nil, err
	}
	slices.Sort(gone)
	b := &pgx.Batch{}
	b.Queue("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1", mailboxID)
	b.Queue("UPDATE users SET used = greatest(used - $1, 0) WHERE id = $2", freed, userID)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return gone, releaseBodies(ctx, tx, bodyIDs)
}
