package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/notify"
	"github.com/posthorn/posthorn/internal/store"
)

// checkCountTx refuses one more row of table for the user past store.MaxMailboxes.
func checkCountTx(ctx context.Context, tx *sql.Tx, table string, userID int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE user_id = ?", userID).Scan(&n); err != nil {
		return err
	}
	if n >= store.MaxMailboxes {
		return mailerr.Permanent(mailerr.Policy, fmt.Sprintf("too many %s (limit %d)", table, store.MaxMailboxes), nil)
	}
	return nil
}

const mailboxColumns = `id, user_id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed`

func scanMailbox(row interface{ Scan(...any) error }) (store.Mailbox, error) {
	var mb store.Mailbox
	err := row.Scan(&mb.ID, &mb.UserID, &mb.Name, &mb.UIDValidity, &mb.UIDNext, &mb.HighestModSeq,
		&mb.SpecialUse, &mb.Subscribed)
	return mb, err
}

// Notifier returns the hub on which the store publishes the ID of every
// mailbox a commit changed (delivery, flags, expunge, append, copy, move)
// and closes the subscriptions of deleted mailboxes.
func (s *Store) Notifier() *notify.Hub { return s.hub }

// MailboxByID returns a mailbox by its ID (mailerr.NoSuchUser when it was
// deleted). Its UIDNext and HighestModSeq are the mailbox's version: any
// change to the mailbox raises one of them.
func (s *Store) MailboxByID(ctx context.Context, mailboxID int64) (store.Mailbox, error) {
	st, err := s.stmts.stmt(ctx, s.r, "SELECT "+mailboxColumns+" FROM mailboxes WHERE id = ?")
	if err != nil {
		return store.Mailbox{}, dbError("mailbox", err)
	}
	mb, err := scanMailbox(st.QueryRowContext(ctx, mailboxID))
	if err != nil {
		return store.Mailbox{}, dbError("mailbox", notFound(err, fmt.Sprintf("no mailbox %d", mailboxID)))
	}
	return mb, nil
}

// Mailboxes lists a user's mailboxes ordered by name.
func (s *Store) Mailboxes(ctx context.Context, userID int64) ([]store.Mailbox, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE user_id = ? ORDER BY name", userID)
	if err != nil {
		return nil, dbError("list mailboxes", err)
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		mb, err := scanMailbox(rows)
		if err != nil {
			return nil, dbError("list mailboxes", err)
		}
		out = append(out, mb)
	}
	return out, dbError("list mailboxes", rows.Err())
}

// Subscriptions lists the subscribed names that are not mailboxes (an
// existing mailbox carries its own Subscribed), ordered.
func (s *Store) Subscriptions(ctx context.Context, userID int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name", userID)
	if err != nil {
		return nil, dbError("list subscriptions", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, dbError("list subscriptions", err)
		}
		out = append(out, n)
	}
	return out, dbError("list subscriptions", rows.Err())
}

// nextUIDValidity returns a UIDVALIDITY for a new mailbox of the user: the
// clock, but always above every value handed out before and above the
// user's existing mailboxes', so a name reused never repeats one.
func nextUIDValidity(ctx context.Context, tx *sql.Tx, userID int64, now int64) (uint32, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `INSERT INTO counters (name, value)
		VALUES ('uidvalidity', max(?, (SELECT coalesce(max(uidvalidity), 0) + 1 FROM mailboxes WHERE user_id = ?)))
		ON CONFLICT (name) DO UPDATE SET value = max(excluded.value, counters.value + 1)
		RETURNING value`, now, userID).Scan(&v)
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > 1<<32-1 {
		return 0, mailerr.Permanent(mailerr.Policy, "UIDVALIDITY values exhausted", nil)
	}
	return uint32(v), nil
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
	err = s.write(ctx, "create mailbox", func(tx *sql.Tx) error {
		if err := checkCountTx(ctx, tx, "mailboxes", userID); err != nil {
			return err
		}
		for i := range len(name) {
			if name[i] == '/' {
				if _, err := createTx(ctx, tx, userID, name[:i], "", s.now().Unix()); err != nil && !mailerr.Is(err, mailerr.Exists) {
					return err
				}
			}
		}
		mb, err = createTx(ctx, tx, userID, name, specialUse, s.now().Unix())
		return err
	})
	return mb, err
}

// createTx makes one mailbox (mailerr.Exists if it is there).
func createTx(ctx context.Context, tx *sql.Tx, userID int64, name, specialUse string, now int64) (store.Mailbox, error) {
	uv, err := nextUIDValidity(ctx, tx, userID, now)
	if err != nil {
		return store.Mailbox{}, err
	}
	var sub int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions WHERE user_id = ? AND name = ?",
		userID, name).Scan(&sub); err != nil {
		return store.Mailbox{}, err
	}
	mb, err := scanMailbox(tx.QueryRowContext(ctx, `INSERT INTO mailboxes
		(user_id, name, uidvalidity, special_use, subscribed) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, name) DO NOTHING RETURNING `+mailboxColumns, userID, name, uv, specialUse, sub))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Mailbox{}, mailerr.Permanent(mailerr.Exists, "mailbox "+name+" exists", nil)
	} else if err != nil {
		return store.Mailbox{}, err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE user_id = ? AND name = ?", userID, name)
	return mb, err
}

// mailboxIDTx looks a user's mailbox up inside tx (mailerr.NoSuchUser).
func mailboxIDTx(ctx context.Context, tx *sql.Tx, userID int64, name string) (store.Mailbox, error) {
	mb, err := scanMailbox(tx.QueryRowContext(ctx, "SELECT "+mailboxColumns+
		" FROM mailboxes WHERE user_id = ? AND name = ?", userID, name))
	return mb, notFound(err, "no such mailbox "+name)
}

// DeleteMailbox removes a mailbox and its messages (freeing their bytes
// from the user's quota and their bodies when no one else has them); its
// children stay, and a subscription stays as a name (RFC 9051 §6.3.4,
// §6.3.7). INBOX cannot be deleted (mailerr.Policy).
func (s *Store) DeleteMailbox(ctx context.Context, userID int64, name string) error {
	name, err := store.CanonicalMailboxName(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return mailerr.Permanent(mailerr.Policy, "INBOX cannot be deleted", nil)
	}
	var id int64
	err = s.write(ctx, "delete mailbox", func(tx *sql.Tx) error {
		mb, err := mailboxIDTx(ctx, tx, userID, name)
		if err != nil {
			return err
		}
		id = mb.ID
		if _, err := deleteMessagesTx(ctx, tx, userID, mb.ID, "", nil); err != nil {
			return err
		}
		if mb.Subscribed {
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (user_id, name) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, userID, name); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM mailboxes WHERE id = ?", mb.ID)
		return err
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
	var inboxID int64
	err = s.write(ctx, "rename mailbox", func(tx *sql.Tx) error {
		mb, err := mailboxIDTx(ctx, tx, userID, oldName)
		if err != nil {
			return err
		}
		if oldName == "INBOX" {
			inboxID = mb.ID
			return renameInboxTx(ctx, tx, mb, newName, s.now().Unix())
		}
		return renameTreeTx(ctx, tx, userID, oldName, newName)
	})
	if err == nil && inboxID != 0 {
		s.hub.Publish(inboxID)
	}
	return err
}

func renameInboxTx(ctx context.Context, tx *sql.Tx, inbox store.Mailbox, newName string, now int64) error {
	uv, err := nextUIDValidity(ctx, tx, inbox.UserID, now)
	if err != nil {
		return err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO mailboxes (user_id, name, uidvalidity, uidnext, highestmodseq)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, name) DO NOTHING RETURNING id`,
		inbox.UserID, newName, uv, inbox.UIDNext, inbox.HighestModSeq+1).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return mailerr.Permanent(mailerr.Exists, "mailbox "+newName+" exists", nil)
	} else if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?", id, inbox.ID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?", inbox.ID)
	return err
}

func renameTreeTx(ctx context.Context, tx *sql.Tx, userID int64, oldName, newName string) error {
	if newName == oldName || strings.HasPrefix(newName, oldName+"/") {
		return mailerr.Permanent(mailerr.BadInput, "cannot rename a mailbox into itself", nil)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM mailboxes WHERE user_id = ?
		AND (name = ? OR substr(name, 1, ?) = ?)`, userID, oldName, len(oldName)+1, oldName+"/")
	if err != nil {
		return err
	}
	type ren struct {
		id   int64
		name string
	}
	var rs []ren
	for rows.Next() {
		var r ren
		if err := rows.Scan(&r.id, &r.name); err != nil {
			rows.Close()
			return err
		}
		r.name = newName + r.name[len(oldName):]
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range rs {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM mailboxes WHERE user_id = ? AND name = ?",
			userID, r.name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mailerr.Permanent(mailerr.Exists, "mailbox "+r.name+" exists", nil)
		}
	}
	for _, r := range rs {
		if _, err := tx.ExecContext(ctx, "UPDATE mailboxes SET name = ? WHERE id = ?", r.name, r.id); err != nil {
			return err
		}
	}
	return nil
}

// SetSubscribed adds or removes a name from the user's subscriptions; the
// name need not be a mailbox.
func (s *Store) SetSubscribed(ctx context.Context, userID int64, name string, on bool) error {
	name, err := store.CanonicalMailboxName(name)
	if err != nil {
		return err
	}
	return s.write(ctx, "subscribe", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE mailboxes SET subscribed = ? WHERE user_id = ? AND name = ?",
			on, userID, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		if on {
			var users int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", userID).Scan(&users); err != nil {
				return err
			}
			if users == 0 {
				return notFound(sql.ErrNoRows, fmt.Sprintf("no user %d", userID))
			}
			if err := checkCountTx(ctx, tx, "subscriptions", userID); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO subscriptions (user_id, name) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, userID, name)
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE user_id = ? AND name = ?", userID, name)
		return err
	})
}

// MailboxStatus counts a mailbox's messages, unseen and deleted ones and
// their size, with its UIDNEXT, UIDVALIDITY and HIGHESTMODSEQ, in one read
// transaction.
func (s *Store) MailboxStatus(ctx context.Context, mailboxID int64) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, dbError("status", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, "SELECT uidnext, uidvalidity, highestmodseq FROM mailboxes WHERE id = ?",
		mailboxID).Scan(&st.UIDNext, &st.UIDValidity, &st.HighestModSeq)
	if err != nil {
		return st, dbError("status", notFound(err, fmt.Sprintf("no mailbox %d", mailboxID)))
	}
	err = tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0),
		coalesce(sum(instr(' ' || flags || ' ', ' \Seen ') = 0), 0),
		coalesce(sum(instr(' ' || flags || ' ', ' \Deleted ') > 0), 0)
		FROM messages WHERE mailbox_id = ?`, mailboxID).Scan(&st.Messages, &st.Size, &st.Unseen, &st.Deleted)
	return st, dbError("status", err)
}
