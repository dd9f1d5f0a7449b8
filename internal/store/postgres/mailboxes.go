package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

const mailboxColumns = `id, user_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed`

func scanMailbox(row pgx.Row) (store.Mailbox, error) {
	var mb store.Mailbox
	err := row.Scan(&mb.ID, &mb.UserID, &mb.Name, &mb.UIDValidity, &mb.UIDNext, &mb.HighestModSeq,
		&mb.SpecialUse, &mb.Subscribed)
	return mb, err
}

// checkCountTx refuses one more row of table for the user past
// store.MaxMailboxes. Two nodes racing may pass it together; the bound is
// against runaway clients, not exact.
func checkCountTx(ctx context.Context, tx pgx.Tx, table string, userID int64) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE user_id = $1", userID).Scan(&n); err != nil {
		return err
	}
	if n >= store.MaxMailboxes {
		return mailerr.Permanent(mailerr.Policy, fmt.Sprintf("too many %s (limit %d)", table, store.MaxMailboxes), nil)
	}
	return nil
}

// MailboxByID returns a mailbox by its ID (mailerr.NoSuchUser when it was
// deleted). Its UIDNext and HighestModSeq are the mailbox's version: any
// change to the mailbox raises one of them.
func (s *Store) MailboxByID(ctx context.Context, mailboxID int64) (store.Mailbox, error) {
	mb, err := scanMailbox(s.pool.QueryRow(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE id = $1", mailboxID))
	if err != nil {
		return store.Mailbox{}, dbError("mailbox", notFound(err, fmt.Sprintf("no mailbox %d", mailboxID)))
	}
	return mb, nil
}

// Mailboxes lists a user's mailboxes ordered by name (octet order, as
// SQLite's).
func (s *Store) Mailboxes(ctx context.Context, userID int64) ([]store.Mailbox, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+mailboxColumns+
		` FROM mailboxes WHERE user_id = $1 ORDER BY name COLLATE "C"`, userID)
	if err != nil {
		return nil, dbError("list mailboxes", err)
	}
	mbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Mailbox, error) { return scanMailbox(r) })
	return mbs, dbError("list mailboxes", err)
}

// Subscriptions lists the subscribed names that are not mailboxes (an
// existing mailbox carries its own Subscribed), ordered.
func (s *Store) Subscriptions(ctx context.Context, userID int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM subscriptions WHERE user_id = $1 ORDER BY name COLLATE "C"`, userID)
	if err != nil {
		return nil, dbError("list subscriptions", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return names, dbError("list subscriptions", err)
}

// nextUIDValidity returns a UIDVALIDITY for a new mailbox of the user: the
// clock, but always above every value handed out before and above the
// user's existing mailboxes', so a name reused never repeats one. The
// counter row serialises mailbox creations across nodes.
func nextUIDValidity(ctx context.Context, tx pgx.Tx, userID, now int64) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO counters (name, value)
		VALUES ('uidvalidity', greatest($1, (SELECT coalesce(max(uidvalidity), 0) + 1 FROM mailboxes WHERE user_id = $2)))
		ON CONFLICT (name) DO UPDATE SET value = greatest(excluded.value, counters.value + 1)
		RETURNING value`, now, userID).Scan(&v)
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > 1<<32-1 {
		return 0, mailerr.Permanent(mailerr.Policy, "UIDVALIDITY values exhausted", nil)
	}
	return v, nil
}

// CreateMailbox makes a mailbox with a fresh UIDVALIDITY, and its missing
// parents ("a/b/c" makes "a" and "a/b" too, RFC 9051 §6.3.4); specialUse
// is an RFC 6154 attribute or "". A subscription to the name becomes the
// mailbox's. mailerr.Exists if the user has one by that name.
func (s *Store) CreateMailbox(ctx context.Context, userID int64, name, specialUse string) (store.Mailbox, error) {
	name, err := store.CanonicalMailboxName(name)
	if err != nil {
		return store.Mailbox{}, err
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return store.Mailbox{}, mailerr.Permanent(mailerr.BadInput, "empty level in mailbox name", nil)
	}
	var mb store.Mailbox
	err = s.write(ctx, "create mailbox", func(tx pgx.Tx) error {
		if err := checkCountTx(ctx, tx, "mailboxes", userID); err != nil {
			return err
		}
		now := s.now().Unix()
		for i := range len(name) {
			if name[i] == '/' {
				if _, err := createTx(ctx, tx, userID, name[:i], "", now); err != nil && !mailerr.Is(err, mailerr.Exists) {
					return err
				}
			}
		}
		var err error
		mb, err = createTx(ctx, tx, userID, name, specialUse, now)
		return err
	})
	return mb, err
}

// createTx makes one mailbox (mailerr.Exists if it is there). A mailbox
// that another transaction is creating under the same name waits for it,
// then is Exists.
func createTx(ctx context.Context, tx pgx.Tx, userID int64, name, specialUse string, now int64) (store.Mailbox, error) {
	uv, err := nextUIDValidity(ctx, tx, userID, now)
	if err != nil {
		return store.Mailbox{}, err
	}
	mb, err := scanMailbox(tx.QueryRow(ctx, `INSERT INTO mailboxes (user_id, name, uidvalidity, special_use, subscribed)
		VALUES ($1, $2, $3, $4, EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $1 AND name = $2))
		ON CONFLICT (user_id, name) DO NOTHING RETURNING `+mailboxColumns, userID, name, uv, specialUse))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Mailbox{}, mailerr.Permanent(mailerr.Exists, "mailbox "+name+" exists", nil)
	} else if pgCode(err) == codeForeignKey {
		return store.Mailbox{}, mailerr.Permanent(mailerr.NoSuchUser, fmt.Sprintf("no user %d", userID), nil)
	} else if err != nil {
		return store.Mailbox{}, err
	}
	_, err = tx.Exec(ctx, "DELETE FROM subscriptions WHERE user_id = $1 AND name = $2", userID, name)
	return mb, err
}

// lockMailboxTx locks a user's mailbox by name inside tx and returns it
// (mailerr.NoSuchUser).
func lockMailboxTx(ctx context.Context, tx pgx.Tx, userID int64, name string) (store.Mailbox, error) {
	mb, err := scanMailbox(tx.QueryRow(ctx, "SELECT "+mailboxColumns+
		" FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE", userID, name))
	return mb, notFound(err, "no such mailbox "+name)
}

// DeleteMailbox removes a mailbox and its messages (freeing their bytes
// from the user's quota and their bodies when no one else has them); its
// children stay, and a subscription stays as a name (RFC 9051 §6.3.4,
// §6.3.7). INBOX cannot be deleted (mailerr.Policy). Sessions that have
// it selected, on any node, see their subscription closed.
func (s *Store) DeleteMailbox(ctx context.Context, userID int64, name string) error {
	name, err := store.CanonicalMailboxName(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return mailerr.Permanent(mailerr.Policy, "INBOX cannot be deleted", nil)
	}
	var id int64
	err = s.write(ctx, "delete mailbox", func(tx pgx.Tx) error {
		mb, err := lockMailboxTx(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		id = mb.ID
		if _, err := deleteMessagesTx(ctx, tx, userID, mb.ID, "", nil); err != nil {
			return err
		}
		if mb.Subscribed {
			if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (user_id, name) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, userID, name); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM mailboxes WHERE id = $1", mb.ID); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, -mb.ID)
	})
	if err == nil {
		s.hub.Deleted(id)
	}
	return err
}

// RenameMailbox renames a mailbox and its children (old/x becomes new/x),
// keeping their UIDVALIDITY. Renaming INBOX (RFC 9051 §6.3.6) moves its
// messages, with their UIDs, into a new mailbox and leaves INBOX empty.
// mailerr.Exists when the new name (or a child's) is taken.
func (s *Store) RenameMailbox(ctx context.Context, userID int64, oldName, newName string) error {
	oldName, err := store.CanonicalMailboxName(oldName)
	if err != nil {
		return err
	}
	if newName, err = store.CanonicalMailboxName(newName); err != nil {
		return err
	}
	if newName == "INBOX" {
		return mailerr.Permanent(mailerr.Exists, "INBOX exists", nil)
	}
	var changed []int64
	err = s.write(ctx, "rename mailbox", func(tx pgx.Tx) error {
		if oldName == "INBOX" {
			mb, err := lockMailboxTx(ctx, tx, userID, oldName)
			if err != nil {
				return err
			}
			changed = []int64{mb.ID}
			if err := renameInboxTx(ctx, tx, mb, newName, s.now().Unix()); err != nil {
				return err
			}
		} else {
			var err error
			if changed, err = renameTreeTx(ctx, tx, userID, oldName, newName); err != nil {
				return err
			}
		}
		return s.notifyTx(ctx, tx, changed...)
	})
	if err == nil {
		s.hub.Publish(changed...)
	}
	return err
}

// renameInboxTx moves INBOX's messages, with their UIDs, into a new
// mailbox that continues INBOX's UIDNEXT; INBOX, locked by the caller,
// stays with its UIDVALIDITY and UIDNEXT (so UIDs are never reused there).
func renameInboxTx(ctx context.Context, tx pgx.Tx, inbox store.Mailbox, newName string, now int64) error {
	uv, err := nextUIDValidity(ctx, tx, inbox.UserID, now)
	if err != nil {
		return err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO mailboxes (user_id, name, uidvalidity, uidnext, highestmodseq)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, name) DO NOTHING RETURNING id`,
		inbox.UserID, newName, uv, inbox.UIDNext, inbox.HighestModSeq+1).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return mailerr.Permanent(mailerr.Exists, "mailbox "+newName+" exists", nil)
	} else if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("UPDATE messages SET mailbox_id = $1 WHERE mailbox_id = $2", id, inbox.ID)
	b.Queue("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1", inbox.ID)
	return tx.SendBatch(ctx, b).Close()
}

// renameTreeTx renames oldName and its children, locked in id order, and
// returns their ids.
func renameTreeTx(ctx context.Context, tx pgx.Tx, userID int64, oldName, newName string) ([]int64, error) {
	if newName == oldName || strings.HasPrefix(newName, oldName+"/") {
		return nil, mailerr.Permanent(mailerr.BadInput, "cannot rename a mailbox into itself", nil)
	}
	rows, err := tx.Query(ctx, `SELECT id, name FROM mailboxes WHERE user_id = $1
		AND (name = $2 OR starts_with(name, $2 || '/')) ORDER BY id FOR UPDATE`, userID, oldName)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var newNames []string
	var id int64
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		ids, newNames = append(ids, id), append(newNames, newName+name[len(oldName):])
		return nil
	}); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, mailerr.Permanent(mailerr.NoSuchUser, "no such mailbox "+oldName, nil)
	}
	var taken string
	err = tx.QueryRow(ctx, "SELECT name FROM mailboxes WHERE user_id = $1 AND name = ANY($2) LIMIT 1",
		userID, newNames).Scan(&taken)
	if err == nil {
		return nil, mailerr.Permanent(mailerr.Exists, "mailbox "+taken+" exists", nil)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	// No new name is taken (checked above), so no row collides.
	_, err = tx.Exec(ctx, `UPDATE mailboxes m SET name = v.name FROM unnest($1::bigint[], $2::text[]) AS v(id, name)
		WHERE m.id = v.id`, ids, newNames)
	return ids, err
}

// SetSubscribed adds or removes a name from the user's subscriptions; the
// name need not be a mailbox.
func (s *Store) SetSubscribed(ctx context.Context, userID int64, name string, on bool) error {
	name, err := store.CanonicalMailboxName(name)
	if err != nil {
		return err
	}
	return s.write(ctx, "subscribe", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE mailboxes SET subscribed = $1 WHERE user_id = $2 AND name = $3", on, userID, name)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		if !on {
			_, err = tx.Exec(ctx, "DELETE FROM subscriptions WHERE user_id = $1 AND name = $2", userID, name)
			return err
		}
		if err := checkCountTx(ctx, tx, "subscriptions", userID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			userID, name)
		if pgCode(err) == codeForeignKey {
			return mailerr.Permanent(mailerr.NoSuchUser, fmt.Sprintf("no user %d", userID), nil)
		}
		return err
	})
}

// MailboxStatus counts a mailbox's messages, unseen and deleted ones and
// their size, with its UIDNEXT, UIDVALIDITY and HIGHESTMODSEQ, in one
// statement (one snapshot).
func (s *Store) MailboxStatus(ctx context.Context, mailboxID int64) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := s.pool.QueryRow(ctx, `SELECT b.uidnext, b.uidvalidity, b.highestmodseq, count(m.id),
		coalesce(sum(m.size), 0)::bigint,
		count(m.id) FILTER (WHERE strpos(' ' || m.flags || ' ', $2) = 0),
		count(m.id) FILTER (WHERE strpos(' ' || m.flags || ' ', $3) > 0)
		FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id WHERE b.id = $1
		GROUP BY b.id`, mailboxID, ` \Seen `, ` \Deleted `).Scan(
		&st.UIDNext, &st.UIDValidity, &st.HighestModSeq, &st.Messages, &st.Size, &st.Unseen, &st.Deleted)
	if err != nil {
		return store.MailboxStatus{}, dbError("status", notFound(err, fmt.Sprintf("no mailbox %d", mailboxID)))
	}
	return st, nil
}
