package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// CommitBatch stores msgs in one transaction, durable when it returns nil:
// each body once (in 64 KiB chunks), one messages row per local recipient
// (UID from the mailbox's uidnext, a new modseq, the user's used bytes
// raised by prefix + body) and one queue row per remote recipient. Any
// failure rolls everything back.
//
// Round trips per batch, whatever its size: BEGIN; one pipelined batch
// that reserves body ids and locks the mailboxes and users; one that
// writes every row (small bodies inline); a COPY for large bodies; COMMIT.
func (s *Store) CommitBatch(ctx context.Context, msgs []*intake.Message) error {
	for _, m := range msgs {
		if m == nil || m.Body == nil {
			return mailerr.Permanent(mailerr.BadInput, "message without a body", nil)
		}
	}
	now := s.now().Unix()
	var touched []int64
	err := s.write(ctx, "commit", func(tx pgx.Tx) error {
		var err error
		touched, err = s.commitTx(ctx, tx, msgs, now)
		return err
	})
	if err == nil {
		s.hub.Publish(touched...) // this node's IDLE sessions; others hear the NOTIFY
	}
	return err
}

// commitTx writes msgs inside tx and returns the mailboxes that got
// messages; QueueFail shares it for its report.
func (s *Store) commitTx(ctx context.Context, tx pgx.Tx, msgs []*intake.Message, now int64) ([]int64, error) {
	p := newPlan(msgs)
	if len(p.msgs) == 0 {
		return nil, nil // nobody to deliver to: nothing to keep
	}
	if err := p.lock(ctx, tx); err != nil {
		return nil, err
	}
	if err := p.assign(now); err != nil {
		return nil, err
	}
	inline := p.inlineChunks()
	if err := tx.SendBatch(ctx, p.rows(inline, s.channel)).Close(); err != nil {
		return nil, err
	}
	if !inline {
		src := newChunkSource(p.msgs, p.bodyIDs)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"body_chunks"}, []string{"body_id", "seq", "data"}, src); err != nil {
			return nil, err
		}
		if err := src.check(); err != nil {
			return nil, err
		}
	}
	return p.touched(), nil
}

// touched returns the ids of the mailboxes that got messages.
func (p *plan) touched() []int64 {
	var ids []int64
	for _, k := range p.keys {
		if st := p.boxes[k]; st != nil && st.touched {
			ids = append(ids, st.id)
		}
	}
	return ids
}

// boxKey names a mailbox as a recipient does.
type boxKey struct {
	user int64
	name string
}

// boxState is a locked mailbox while its new UIDs are handed out.
type boxState struct {
	id      int64
	uidnext int64
	modseq  int64
	touched bool
}

// plan is one batch on its way into the database, in columns.
type plan struct {
	msgs    []*intake.Message // those with at least one recipient
	bodyIDs []int64           // reserved ids, one per msgs entry
	keys    []boxKey          // distinct mailboxes, in order of first use
	boxes   map[boxKey]*boxState
	users   []int64 // distinct recipients' user ids, ascending

	// column arrays of the rows to insert
	bodies struct {
		id, size, refs []int64
		msgID          []string
	}
	messages struct {
		box, uid, body, size, date, modseq []int64
		prefix                             [][]byte
	}
	used  map[int64]int64
	queue struct {
		msgID, sender, rcpt, orcpt, notify, envid, ret, bodyType []string
		body, next                                               []int64
		smtputf8                                                 []bool
	}
	chunks struct {
		body []int64
		seq  []int32
		data [][]byte
	}
}

// mailboxName is the stored name of a recipient's mailbox: INBOX is
// case-insensitive (RFC 9051 §5.1).
func mailboxName(name string) string {
	if name == "" || strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

func newPlan(msgs []*intake.Message) *plan {
	p := &plan{boxes: map[boxKey]*boxState{}, used: map[int64]int64{}}
	for _, m := range msgs {
		if len(m.Local)+len(m.Remote) == 0 {
			continue
		}
		p.msgs = append(p.msgs, m)
		for _, r := range m.Local {
			k := boxKey{r.UserID, mailboxName(r.Mailbox)}
			if _, ok := p.boxes[k]; !ok {
				p.boxes[k] = nil
				p.keys = append(p.keys, k)
			}
			if _, ok := p.used[r.UserID]; !ok {
				p.used[r.UserID] = 0
				p.users = append(p.users, r.UserID)
			}
		}
	}
	slices.Sort(p.users)
	return p
}

// lock reserves the body ids and locks the mailboxes, then the users, in
// ascending id order (see the package doc), in one round trip.
func (p *plan) lock(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	b.Queue("SELECT nextval(pg_get_serial_sequence('bodies', 'id')) FROM generate_series(1, $1)", len(p.msgs))
	if len(p.keys) > 0 {
		kUsers, kNames := make([]int64, len(p.keys)), make([]string, len(p.keys))
		for i, k := range p.keys {
			kUsers[i], kNames[i] = k.user, k.name
		}
		b.Queue(`SELECT m.id, m.user_id, m.name, m.uidnext, m.highestmodseq FROM mailboxes m
			JOIN unnest($1::bigint[], $2::text[]) AS k(user_id, name) ON m.user_id = k.user_id AND m.name = k.name
			ORDER BY m.id FOR UPDATE OF m`, kUsers, kNames)
		b.Queue("SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE", p.users)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	rows, _ := br.Query()
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	if len(ids) != len(p.msgs) {
		return fmt.Errorf("reserved %d body ids for %d messages", len(ids), len(p.msgs))
	}
	p.bodyIDs = ids
	if len(p.keys) == 0 {
		return br.Close()
	}
	rows, _ = br.Query()
	var st boxState
	var k boxKey
	_, err = pgx.ForEachRow(rows, []any{&st.id, &k.user, &k.name, &st.uidnext, &st.modseq}, func() error {
		c := st
		p.boxes[k] = &c
		return nil
	})
	if err != nil {
		return err
	}
	return br.Close()
}

// assign hands out UIDs and modseqs and fills the column arrays.
func (p *plan) assign(now int64) error {
	for i, m := range p.msgs {
		size := int64(len(m.Head)) + m.Body.Size()
		bodyID := p.bodyIDs[i]
		p.bodies.id = append(p.bodies.id, bodyID)
		p.bodies.msgID = append(p.bodies.msgID, m.ID)
		p.bodies.size = append(p.bodies.size, size)
		p.bodies.refs = append(p.bodies.refs, int64(len(m.Local)+len(m.Remote)))
		date := now
		if !m.Arrived.IsZero() {
			date = m.Arrived.Unix()
		}
		for _, r := range m.Local {
			name := mailboxName(r.Mailbox)
			st := p.boxes[boxKey{r.UserID, name}]
			if st == nil {
				return fmt.Errorf("message %s: %w", m.ID, mailerr.Permanent(mailerr.NoSuchUser,
					fmt.Sprintf("no mailbox %q for %s", name, r.Address), nil))
			}
			if st.uidnext >= math.MaxUint32 {
				return fmt.Errorf("message %s: %w", m.ID, mailerr.Permanent(mailerr.Policy,
					"mailbox "+name+" has run out of UIDs", nil))
			}
			st.modseq++
			rowSize := int64(len(r.Prefix)) + size
			pm := &p.messages
			pm.box, pm.uid, pm.body = append(pm.box, st.id), append(pm.uid, st.uidnext), append(pm.body, bodyID)
			pm.prefix, pm.size = append(pm.prefix, nz(r.Prefix)), append(pm.size, rowSize)
			pm.date, pm.modseq = append(pm.date, date), append(pm.modseq, st.modseq)
			st.uidnext++
			st.touched = true
			p.used[r.UserID] += rowSize
		}
		q := &p.queue
		for _, r := range m.Remote {
			q.msgID, q.body, q.sender = append(q.msgID, m.ID), append(q.body, bodyID), append(q.sender, m.From)
			q.rcpt, q.orcpt, q.notify = append(q.rcpt, r.Address), append(q.orcpt, r.ORCPT), append(q.notify, r.Notify)
			q.envid, q.ret, q.bodyType = append(q.envid, m.EnvID), append(q.ret, m.Ret), append(q.bodyType, m.BodyType)
			q.smtputf8, q.next = append(q.smtputf8, m.SMTPUTF8), append(q.next, now)
		}
	}
	return nil
}

// rows queues every insert and update of the batch, and the change
// notification that PostgreSQL sends when (and only if) it commits.
func (p *plan) rows(withChunks bool, channel string) *pgx.Batch {
	b := &pgx.Batch{}
	pb := &p.bodies
	b.Queue(`INSERT INTO bodies (id, msg_id, size, refs)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[])`, pb.id, pb.msgID, pb.size, pb.refs)
	if withChunks {
		c := &p.chunks
		b.Queue(`INSERT INTO body_chunks (body_id, seq, data)
			SELECT * FROM unnest($1::bigint[], $2::int[], $3::bytea[])`, c.body, c.seq, c.data)
	}
	if pm := &p.messages; len(pm.box) > 0 {
		b.Queue(`INSERT INTO messages (mailbox_id, uid, body_id, prefix, size, internal_date, modseq)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bigint[], $7::bigint[])`,
			pm.box, pm.uid, pm.body, pm.prefix, pm.size, pm.date, pm.modseq)
		var ids, next, modseq []int64
		for _, k := range p.keys {
			if st := p.boxes[k]; st != nil && st.touched {
				ids, next, modseq = append(ids, st.id), append(next, st.uidnext), append(modseq, st.modseq)
			}
		}
		b.Queue(`UPDATE mailboxes m SET uidnext = v.uidnext, highestmodseq = v.modseq
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, uidnext, modseq) WHERE m.id = v.id`,
			ids, next, modseq)
		used := make([]int64, len(p.users))
		for i, u := range p.users {
			used[i] = p.used[u]
		}
		b.Queue(`UPDATE users u SET used = u.used + v.n FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n)
			WHERE u.id = v.id`, p.users, used)
		b.Queue("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", channel, payloads(ids))
	}
	if q := &p.queue; len(q.msgID) > 0 {
		b.Queue(`INSERT INTO queue (msg_id, body_id, sender, rcpt, orcpt, notify, envid, ret, smtputf8,
			body_type, next_attempt, created)
			SELECT m, b, s, r, o, n, e, t, u, y, x, x FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[],
				$5::text[], $6::text[], $7::text[], $8::text[], $9::bool[], $10::text[], $11::bigint[])
				AS q(m, b, s, r, o, n, e, t, u, y, x)`,
			q.msgID, q.body, q.sender, q.rcpt, q.orcpt, q.notify, q.envid, q.ret, q.smtputf8, q.bodyType, q.next)
	}
	return b
}
