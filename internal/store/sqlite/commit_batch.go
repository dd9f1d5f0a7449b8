package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// commitBatch is the work of one CommitBatch transaction.
type commitBatch struct {
	s   *Store
	now int64

	bodies, chunks, messages, queue rowInserter
	touched                         []int64 // mailboxes that got a message, once each
}

// mailboxKey names a user's mailbox.
type mailboxKey struct {
	user int64
	name string
}

func newCommitBatch(s *Store, now int64) *commitBatch {
	return &commitBatch{s: s, now: now,
		bodies: rowInserter{m: insertBodies}, chunks: rowInserter{m: insertChunks},
		messages: rowInserter{m: insertMessages}, queue: rowInserter{m: insertQueue}}
}

// run writes msgs in tx: bodies (with ids of our own: the writer is alone
// in its IMMEDIATE transaction, so max(id)+1... are free, exactly the ids
// SQLite would pick), then their chunks, then the mailbox copies and
// queue rows that reference them.
func (b *commitBatch) run(ctx context.Context, tx *sql.Tx, msgs []*intake.Message) error {
	st, err := b.s.txStmt(ctx, tx, sqlMaxBodyID)
	if err != nil {
		return err
	}
	var next int64
	if err := st.QueryRowContext(ctx).Scan(&next); err != nil {
		return err
	}
	ids := make([]int64, len(msgs))
	var streamed []int // messages whose chunks are read from a file or need a head
	for i, m := range msgs {
		refs := len(m.Local) + len(m.Remote)
		if refs == 0 {
			continue // nobody to deliver to: nothing to keep
		}
		next++
		ids[i] = next
		b.bodies.add(next, m.ID, int64(len(m.Head))+m.Body.Size(), refs)
		if data := m.Body.Bytes(); data != nil && len(m.Head) == 0 {
			for seq := 0; len(data) > 0; seq++ {
				n := min(len(data), chunkSize)
				b.chunks.add(next, seq, data[:n])
				data = data[n:]
			}
		} else {
			streamed = append(streamed, i)
		}
	}
	if err := b.bodies.flush(ctx, b.s, tx); err != nil {
		return err
	}
	if err := b.chunks.flush(ctx, b.s, tx); err != nil {
		return err
	}
	if len(streamed) > 0 {
		st, err := b.s.txStmt(ctx, tx, insertChunks.sqls[0])
		if err != nil {
			return err
		}
		for _, i := range streamed {
			if err := streamChunks(ctx, st, ids[i], msgs[i].Head, msgs[i].Body); err != nil {
				return fmt.Errorf("message %s: %w", msgs[i].ID, err)
			}
		}
	}
	if err := b.local(ctx, tx, msgs, ids); err != nil {
		return err
	}
	b.remote(msgs, ids)
	return b.queue.flush(ctx, b.s, tx)
}

// local adds the mailbox copies: one UPDATE per mailbox reserves the UIDs
// and modseqs of all its new messages, and one per user adds the used
// bytes. UIDs follow batch order within each mailbox.
func (b *commitBatch) local(ctx context.Context, tx *sql.Tx, msgs []*intake.Message, ids []int64) error {
	type slot struct{ mailbox, uid, modseq int64 }
	var (
		order []mailboxKey // mailboxes in order of first appearance
		count = map[mailboxKey]int64{}
		first = map[mailboxKey][2]int{} // message and recipient that named it first, for errors
		users []int64                   // users in order of first appearance
		used  = map[int64]int64{}
	)
	for i, m := range msgs {
		for j := range m.Local {
			r := &m.Local[j]
			k := boxKey(r)
			if _, ok := count[k]; !ok {
				order = append(order, k)
				first[k] = [2]int{i, j}
			}
			count[k]++
			if _, ok := used[r.UserID]; !ok {
				users = append(users, r.UserID)
			}
			used[r.UserID] += int64(len(r.Prefix)) + int64(len(m.Head)) + m.Body.Size()
		}
	}
	if len(order) == 0 {
		return nil
	}
	take, err := b.s.txStmt(ctx, tx, sqlTakeUIDs)
	if err != nil {
		return err
	}
	next := make(map[mailboxKey]slot, len(order))
	for _, k := range order {
		n := count[k]
		var sl slot
		err := take.QueryRowContext(ctx, n, k.user, k.name).Scan(&sl.mailbox, &sl.uid, &sl.modseq)
		f := first[k]
		m := msgs[f[0]]
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("message %s: %w", m.ID, mailerr.Permanent(mailerr.NoSuchUser,
				fmt.Sprintf("no mailbox %q for %s", k.name, m.Local[f[1]].Address), nil))
		} else if err != nil {
			return err
		}
		if sl.uid+n-1 >= math.MaxUint32 {
			return fmt.Errorf("message %s: %w", m.ID,
				mailerr.Permanent(mailerr.Policy, "mailbox "+k.name+" has run out of UIDs", nil))
		}
		b.touched = append(b.touched, sl.mailbox)
		next[k] = sl
	}
	for i, m := range msgs {
		size := int64(len(m.Head)) + m.Body.Size()
		for j := range m.Local {
			r := &m.Local[j]
			k := boxKey(r)
			sl := next[k]
			next[k] = slot{sl.mailbox, sl.uid + 1, sl.modseq + 1}
			b.messages.add(sl.mailbox, sl.uid, ids[i], nz(r.Prefix), int64(len(r.Prefix))+size, dateOf(m, b.now), sl.modseq)
		}
	}
	if err := b.messages.flush(ctx, b.s, tx); err != nil {
		return err
	}
	add, err := b.s.txStmt(ctx, tx, sqlAddUsed)
	if err != nil {
		return err
	}
	for _, u := range users {
		if _, err := add.ExecContext(ctx, used[u], u); err != nil {
			return err
		}
	}
	return nil
}

// boxKey is the mailbox a copy goes to.
func boxKey(r *intake.LocalRecipient) mailboxKey {
	k := mailboxKey{r.UserID, r.Mailbox}
	if k.name == "" || strings.EqualFold(k.name, "INBOX") {
		k.name = "INBOX" // RFC 9051 §5.1: INBOX is case-insensitive
	}
	return k
}

// dateOf is a message's internal date: its arrival, or now.
func dateOf(m *intake.Message, now int64) int64 {
	if m.Arrived.IsZero() {
		return now
	}
	return m.Arrived.Unix()
}

// remote adds the queue rows, one per remote recipient.
func (b *commitBatch) remote(msgs []*intake.Message, ids []int64) {
	for i, m := range msgs {
		smtputf8 := 0
		if m.SMTPUTF8 {
			smtputf8 = 1
		}
		for _, r := range m.Remote {
			b.queue.add(m.ID, ids[i], m.From, r.Address, r.ORCPT, r.Notify,
				m.EnvID, m.Ret, smtputf8, m.BodyType, b.now, b.now)
		}
	}
}
