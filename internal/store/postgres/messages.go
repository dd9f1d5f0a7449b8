package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/store"
)

// MailboxByName returns a user's mailbox; "INBOX" matches in any case
// (mailerr.NoSuchUser when there is no such mailbox).
func (s *Store) MailboxByName(ctx context.Context, userID int64, name string) (store.Mailbox, error) {
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	var mb store.Mailbox
	err := s.pool.QueryRow(ctx, `SELECT id, user_id, name, uidvalidity, uidnext, highestmodseq,
		special_use, subscribed FROM mailboxes WHERE user_id = $1 AND name = $2`, userID, name).Scan(
		&mb.ID, &mb.UserID, &mb.Name, &mb.UIDValidity, &mb.UIDNext, &mb.HighestModSeq,
		&mb.SpecialUse, &mb.Subscribed)
	if err != nil {
		return store.Mailbox{}, dbError("mailbox", notFound(err, "no such mailbox "+name))
	}
	return mb, nil
}

// Messages lists a mailbox's messages in ascending UID order.
func (s *Store) Messages(ctx context.Context, mailboxID int64) ([]store.MessageInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, uid, size, flags, internal_date, modseq
		FROM messages WHERE mailbox_id = $1 ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, dbError("list messages", err)
	}
	var ms []store.MessageInfo
	var m store.MessageInfo
	var flags string
	var date int64
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &m.UID, &m.Size, &flags, &date, &m.ModSeq}, func() error {
		m.Flags = strings.Fields(flags)
		m.InternalDate = time.Unix(date, 0)
		ms = append(ms, m)
		return nil
	})
	return ms, dbError("list messages", err)
}

// Expunge deletes messages (by message ID) from a mailbox, drops their
// body references (deleting bodies no one references), lowers the user's
// used bytes and raises the mailbox's highest modseq. IDs not in the
// mailbox are ignored, so a repeated expunge is harmless.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, messageIDs []int64) error {
	if len(messageIDs) == 0 {
		return nil
	}
	err := s.write(ctx, "expunge", func(tx pgx.Tx) error {
		// The mailbox row first (the lock order of CommitBatch): expunges
		// and deliveries to one mailbox serialise, so MODSEQs stay ordered.
		var userID int64
		err := tx.QueryRow(ctx, "SELECT user_id FROM mailboxes WHERE id = $1 FOR UPDATE", mailboxID).Scan(&userID)
		if err != nil {
			return notFound(err, fmt.Sprintf("no mailbox %d", mailboxID))
		}
		rows, err := tx.Query(ctx, "DELETE FROM messages WHERE id = ANY($1) AND mailbox_id = $2 RETURNING body_id, size",
			messageIDs, mailboxID)
		if err != nil {
			return err
		}
		var bodyIDs []int64
		var freed, bodyID, size int64
		if _, err := pgx.ForEachRow(rows, []any{&bodyID, &size}, func() error {
			bodyIDs = append(bodyIDs, bodyID)
			freed += size
			return nil
		}); err != nil {
			return err
		}
		if len(bodyIDs) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		b.Queue("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1", mailboxID)
		b.Queue("UPDATE users SET used = greatest(used - $1, 0) WHERE id = $2", freed, userID)
		b.Queue("SELECT pg_notify($1, $2)", s.channel, changedPayload(mailboxID))
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return releaseBodies(ctx, tx, bodyIDs)
	})
	if err == nil {
		s.hub.Publish(mailboxID) // this node's IDLE sessions; others hear the NOTIFY
	}
	return err
}
