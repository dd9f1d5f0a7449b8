package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// CopyMessages copies (or, with move, moves: RFC 6851) the messages with
// these UIDs from mailboxID to destID, ascending, keeping flags, internal
// date, prefix and summary; a copy shares the stored body. UIDs that do
// not exist are skipped. A copy counts against the user's quota
// (mailerr.OverQuota); a move does not change it. Both mailboxes must be
// the same user's (mailerr.NoSuchUser otherwise).
//
// Both mailbox rows are locked in ascending id order, then the user's,
// then the bodies': the lock order of every transaction.
func (s *Store) CopyMessages(ctx context.Context, mailboxID int64, uids []uint32, destID int64, move bool) (store.CopyResult, error) {
	var res store.CopyResult
	err := s.write(ctx, "copy", func(tx pgx.Tx) error {
		res = store.CopyResult{}
		userID, err := lockPairTx(ctx, tx, mailboxID, destID, &res.DestUIDValidity)
		if err != nil {
			return err
		}
		if uids != nil && len(uids) == 0 {
			return nil
		}
		cond, args := uidArgs(uids, 2)
		rows, err := tx.Query(ctx, "SELECT id, uid, size FROM messages WHERE mailbox_id = $1"+cond+" ORDER BY uid",
			append([]any{mailboxID}, args...)...)
		if err != nil {
			return err
		}
		var ids []int64
		var id, size, total int64
		var uid uint32
		if _, err := pgx.ForEachRow(rows, []any{&id, &uid, &size}, func() error {
			ids, res.Source = append(ids, id), append(res.Source, uid)
			total += size
			return nil
		}); err != nil || len(ids) == 0 {
			return err
		}
		if !move {
			if err := checkQuotaTx(ctx, tx, userID, total); err != nil {
				return err
			}
		}
		_, _, first, modseq, err := allocTx(ctx, tx, destID, len(ids))
		if err != nil {
			return err
		}
		newUIDs := make([]int64, len(ids))
		for i := range ids {
			res.Dest = append(res.Dest, first+uint32(i))
			newUIDs[i] = int64(first) + int64(i)
		}
		if move {
			return s.moveTx(ctx, tx, mailboxID, destID, ids, newUIDs, modseq)
		}
		return s.copyTx(ctx, tx, mailboxID, destID, userID, ids, newUIDs, modseq, total)
	})
	if err != nil {
		return store.CopyResult{}, err
	}
	if len(res.Source) > 0 {
		s.hub.Publish(mailboxID, destID)
	}
	return res, nil
}

// lockPairTx locks the source and destination mailboxes in id order and
// returns their user; both must exist and be the same user's.
func lockPairTx(ctx context.Context, tx pgx.Tx, srcID, destID int64, destUIDValidity *uint32) (int64, error) {
	rows, err := tx.Query(ctx, "SELECT id, user_id, uidvalidity FROM mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE",
		[]int64{srcID, destID})
	if err != nil {
		return 0, err
	}
	users := map[int64]int64{}
	var id, user int64
	var uv uint32
	if _, err := pgx.ForEachRow(rows, []any{&id, &user, &uv}, func() error {
		users[id] = user
		if id == destID {
			*destUIDValidity = uv
		}
		return nil
	}); err != nil {
		return 0, err
	}
	src, okSrc := users[srcID]
	dst, okDst := users[destID]
	if !okSrc || !okDst || src != dst {
		return 0, mailerr.Permanent(mailerr.NoSuchUser, "no such mailbox", nil)
	}
	return src, nil
}

// moveTx moves the rows (and so their summaries and body references) to
// the destination with new UIDs and the destination's new mod-sequence;
// the source's mod-sequence goes up for the expunges.
func (s *Store) moveTx(ctx context.Context, tx pgx.Tx, srcID, destID int64, ids, uids []int64, modseq int64) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE messages m SET mailbox_id = $3, uid = v.uid, modseq = $4
		FROM unnest($1::bigint[], $2::bigint[]) AS v(id, uid) WHERE m.id = v.id`, ids, uids, destID, modseq)
	b.Queue("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1", srcID)
	b.Queue("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", s.channel,
		payloads([]int64{srcID, destID}))
	return tx.SendBatch(ctx, b).Close()
}

// copyTx inserts copies of the rows, sharing their bodies (one more
// reference each, the bodies locked in id order) and their summaries, and
// charges the user for them.
func (s *Store) copyTx(ctx context.Context, tx pgx.Tx, srcID, destID, userID int64, ids, uids []int64, modseq, total int64) error {
	b := &pgx.Batch{}
	b.Queue(`WITH v AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS v(old, uid)),
		ins AS (INSERT INTO messages (mailbox_id, uid, body_id, prefix, size, flags, internal_date, modseq)
			SELECT $3, v.uid, m.body_id, m.prefix, m.size, m.flags, m.internal_date, $4
			FROM v JOIN messages m ON m.id = v.old RETURNING id, uid)
		INSERT INTO summaries (message_id, blob)
		SELECT ins.id, s.blob FROM ins JOIN v ON v.uid = ins.uid JOIN summaries s ON s.message_id = v.old`,
		ids, uids, destID, modseq)
	b.Queue("UPDATE users SET used = used + $1 WHERE id = $2", total, userID)
	b.Queue(`SELECT b.id FROM bodies b WHERE b.id IN (SELECT body_id FROM messages WHERE id = ANY($1))
		ORDER BY b.id FOR UPDATE`, ids)
	b.Queue(`UPDATE bodies b SET refs = b.refs + c.n
		FROM (SELECT body_id, count(*) AS n FROM messages WHERE id = ANY($1) GROUP BY body_id) AS c
		WHERE b.id = c.body_id`, ids)
	b.Queue("SELECT pg_notify($1, $2)", s.channel, changedPayload(destID))
	return tx.SendBatch(ctx, b).Close()
}
