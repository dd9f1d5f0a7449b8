package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// newBody is one message of an append on its way into the database: its
// octets come from data when they are in memory, else from r (exactly
// size octets).
type newBody struct {
	data  []byte
	r     io.Reader
	size  int64
	flags string
	date  int64
}

// AppendMessage stores size octets read from r as a new message of a
// mailbox (IMAP APPEND, posthorn import) with flags and an internal date,
// and returns the mailbox's UIDVALIDITY and the new UID. The user's quota
// holds (mailerr.OverQuota). r is read inside the write transaction, so
// it must be local (memory or a file), never a network stream; a large
// message is streamed into the database with COPY, one 64 KiB chunk at a
// time, never held whole. A transaction the server aborted (deadlock) is
// run again only if r can seek back (a file, a bytes.Reader); otherwise
// the error is temporary and the client retries.
func (s *Store) AppendMessage(ctx context.Context, mailboxID int64, r io.Reader, size int64, flags []string,
	date time.Time) (uidValidity, uid uint32, err error) {
	if err := store.CheckFlags(flags); err != nil {
		return 0, 0, err
	}
	if size <= 0 {
		return 0, 0, mailerr.Permanent(mailerr.BadInput, "empty message", nil)
	}
	rr := newRewinder(r)
	nb := newBody{r: rr, size: size, flags: strings.Join(flags, " "), date: date.Unix()}
	err = s.write(ctx, "append", func(tx pgx.Tx) error {
		if err := rr.rewind(); err != nil {
			return err
		}
		var uids []uint32
		var err error
		uidValidity, uids, err = s.appendTx(ctx, tx, mailboxID, []newBody{nb}, size)
		if err == nil {
			uid = uids[0]
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	s.hub.Publish(mailboxID)
	return uidValidity, uid, nil
}

// AppendBatch stores msgs as new messages of a mailbox in one transaction
// (one commit for the lot: posthorn import) and returns their UIDs, in
// order. The quota holds for the whole batch.
func (s *Store) AppendBatch(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]uint32, error) {
	var total int64
	nbs := make([]newBody, len(msgs))
	for i, m := range msgs {
		if err := store.CheckFlags(m.Flags); err != nil {
			return nil, err
		}
		if len(m.Data) == 0 {
			return nil, mailerr.Permanent(mailerr.BadInput, "empty message", nil)
		}
		total += int64(len(m.Data))
		nbs[i] = newBody{data: m.Data, size: int64(len(m.Data)), flags: strings.Join(m.Flags, " "), date: m.Date.Unix()}
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	var uids []uint32
	err := s.write(ctx, "append", func(tx pgx.Tx) error {
		var err error
		_, uids, err = s.appendTx(ctx, tx, mailboxID, nbs, total)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.hub.Publish(mailboxID)
	return uids, nil
}

// allocTx locks a mailbox by taking n UIDs from it and one new
// mod-sequence for them, in one statement.
func allocTx(ctx context.Context, tx pgx.Tx, mailboxID int64, n int) (userID int64, uidValidity, first uint32, modseq int64, err error) {
	var next int64
	err = tx.QueryRow(ctx, `UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
		WHERE id = $1 RETURNING user_id, uidvalidity, uidnext - $2, highestmodseq`, mailboxID, n).Scan(
		&userID, &uidValidity, &next, &modseq)
	if err != nil {
		return 0, 0, 0, 0, notFound(err, "no such mailbox")
	}
	if next+int64(n) > math.MaxUint32 {
		return 0, 0, 0, 0, mailerr.Permanent(mailerr.Policy, "mailbox has run out of UIDs", nil)
	}
	return userID, uidValidity, uint32(next), modseq, nil
}

// checkQuotaTx locks the user's row (after the mailbox's: the lock order)
// and fails with mailerr.OverQuota when more bytes would take the user
// over a non-zero quota. The error is temporary, as SMTP's 452 4.2.2: the
// mailbox may be emptied.
func checkQuotaTx(ctx context.Context, tx pgx.Tx, userID, more int64) error {
	var quota, used int64
	err := tx.QueryRow(ctx, "SELECT quota, used FROM users WHERE id = $1 FOR UPDATE", userID).Scan(&quota, &used)
	if err != nil {
		return notFound(err, fmt.Sprintf("no user %d", userID))
	}
	if quota > 0 && used+more > quota {
		return mailerr.Temporary(mailerr.OverQuota, fmt.Sprintf("over quota (%d of %d bytes used)", used, quota), nil)
	}
	return nil
}

// appendTx stores bodies as new messages of a mailbox: UIDs and one
// mod-sequence from the locked mailbox row, the quota checked under the
// user's row lock, bodies inline when small, else by COPY.
func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, mailboxID int64, nbs []newBody, total int64) (uint32, []uint32, error) {
	userID, uv, first, modseq, bodyIDs, err := reserveTx(ctx, tx, mailboxID, len(nbs), total)
	if err != nil {
		return 0, nil, err
	}
	if total <= inlineMax {
		if err := readInline(nbs); err != nil {
			return 0, nil, err
		}
	}
	uids := make([]uint32, len(nbs))
	var sizes, dates, boxes, uidCol, mods []int64
	var msgIDs, flags []string
	var prefixes [][]byte
	for i, nb := range nbs {
		uids[i] = first + uint32(i)
		msgIDs, sizes, dates = append(msgIDs, intake.NewID()), append(sizes, nb.size), append(dates, nb.date)
		boxes, uidCol, mods = append(boxes, mailboxID), append(uidCol, int64(uids[i])), append(mods, modseq)
		flags, prefixes = append(flags, nb.flags), append(prefixes, []byte{})
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO bodies (id, msg_id, size, refs) SELECT id, m, n, 1
		FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS v(id, m, n)`, bodyIDs, msgIDs, sizes)
	if total <= inlineMax {
		cb, cs, cd := inlineChunkCols(nbs, bodyIDs)
		b.Queue(`INSERT INTO body_chunks (body_id, seq, data)
			SELECT * FROM unnest($1::bigint[], $2::int[], $3::bytea[])`, cb, cs, cd)
	}
	b.Queue(`INSERT INTO messages (mailbox_id, uid, body_id, prefix, size, flags, internal_date, modseq)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bigint[], $6::text[],
			$7::bigint[], $8::bigint[])`, boxes, uidCol, bodyIDs, prefixes, sizes, flags, dates, mods)
	b.Queue("UPDATE users SET used = used + $1 WHERE id = $2", total, userID)
	b.Queue("SELECT pg_notify($1, $2)", s.channel, changedPayload(mailboxID))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, nil, err
	}
	if total > inlineMax {
		src := &bodySource{nbs: nbs, ids: bodyIDs}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"body_chunks"}, []string{"body_id", "seq", "data"}, src)
		if src.err != nil {
			return 0, nil, src.err // the reader's fault (short): permanent, whatever COPY said
		} else if err != nil {
			return 0, nil, err
		}
	}
	return uv, uids, nil
}

// reserveTx is allocTx, checkQuotaTx and the reservation of n body ids
// in one round trip (the user's row is locked after the mailbox's).
func reserveTx(ctx context.Context, tx pgx.Tx, mailboxID int64, n int, more int64) (userID int64, uidValidity, first uint32,
	modseq int64, bodyIDs []int64, err error) {
	b := &pgx.Batch{}
	b.Queue(`UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
		WHERE id = $1 RETURNING user_id, uidvalidity, uidnext - $2, highestmodseq`, mailboxID, n)
	b.Queue("SELECT quota, used FROM users WHERE id = (SELECT user_id FROM mailboxes WHERE id = $1) FOR UPDATE", mailboxID)
	b.Queue("SELECT nextval(pg_get_serial_sequence('bodies', 'id')) FROM generate_series(1, $1)", n)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	var next, quota, used int64
	if err = br.QueryRow().Scan(&userID, &uidValidity, &next, &modseq); err != nil {
		return 0, 0, 0, 0, nil, notFound(err, "no such mailbox")
	}
	if next+int64(n) > math.MaxUint32 {
		return 0, 0, 0, 0, nil, mailerr.Permanent(mailerr.Policy, "mailbox has run out of UIDs", nil)
	}
	if err = br.QueryRow().Scan(&quota, &used); err != nil {
		return 0, 0, 0, 0, nil, notFound(err, fmt.Sprintf("no user %d", userID))
	}
	if quota > 0 && used+more > quota {
		return 0, 0, 0, 0, nil, mailerr.Temporary(mailerr.OverQuota,
			fmt.Sprintf("over quota (%d of %d bytes used)", used, quota), nil)
	}
	rows, _ := br.Query()
	if bodyIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return 0, 0, 0, 0, nil, err
	}
	if len(bodyIDs) != n {
		return 0, 0, 0, 0, nil, fmt.Errorf("reserved %d body ids for %d messages", len(bodyIDs), n)
	}
	return userID, uidValidity, uint32(next), modseq, bodyIDs, br.Close()
}

// errShort is the error of a reader that ends before its stated size.
func errShort(err error) error {
	return mailerr.Permanent(mailerr.BadInput, "message shorter than its size", err)
}

// readInline reads the bodies that come from readers into memory (the
// caller checked that they are small).
func readInline(nbs []newBody) error {
	for i := range nbs {
		if nbs[i].data != nil {
			continue
		}
		buf := make([]byte, nbs[i].size)
		if _, err := io.ReadFull(nbs[i].r, buf); err != nil {
			return errShort(err)
		}
		nbs[i].data = buf
	}
	return nil
}

// inlineChunkCols cuts in-memory bodies into chunk rows, without copying.
func inlineChunkCols(nbs []newBody, ids []int64) (body []int64, seq []int32, data [][]byte) {
	for i, nb := range nbs {
		d := nb.data
		for n := int32(0); len(d) > 0; n++ {
			k := min(len(d), chunkSize)
			body, seq, data = append(body, ids[i]), append(seq, n), append(data, d[:k:k])
			d = d[k:]
		}
	}
	return body, seq, data
}

// bodySource is a pgx.CopyFromSource of the chunks of appended bodies:
// each is read one chunk at a time through one buffer (pgx encodes a row
// before asking for the next), so a large body is never held whole.
type bodySource struct {
	nbs []newBody
	ids []int64
	i   int       // current body
	r   io.Reader // its octets; nil before its first chunk
	off int64     // octets of it read
	seq int32     // seq of the chunk in cur
	cur []byte
	buf []byte
	err error
}

func (c *bodySource) Next() bool {
	if c.err != nil {
		return false
	}
	if c.buf == nil {
		c.buf = make([]byte, chunkSize)
	}
	for c.i < len(c.nbs) {
		nb := c.nbs[c.i]
		if c.r == nil {
			c.r, c.off, c.seq = nb.r, 0, -1
			if nb.data != nil {
				c.r = bytes.NewReader(nb.data)
			}
		}
		if c.off >= nb.size {
			c.r = nil
			c.i++
			continue
		}
		n := int(min(nb.size-c.off, chunkSize))
		if _, err := io.ReadFull(c.r, c.buf[:n]); err != nil {
			c.err = errShort(err)
			return false
		}
		c.off += int64(n)
		c.seq++
		c.cur = c.buf[:n]
		return true
	}
	return false
}

func (c *bodySource) Values() ([]any, error) { return []any{c.ids[c.i], c.seq, c.cur}, nil }

func (c *bodySource) Err() error { return c.err }

// rewinder lets a transaction that is run again read its input again: it
// seeks back when the reader can, and otherwise fails the retry with a
// temporary error (the client sends the message again).
type rewinder struct {
	r     io.Reader
	seek  io.Seeker
	start int64
	read  int64
}

func newRewinder(r io.Reader) *rewinder {
	w := &rewinder{r: r}
	if s, ok := r.(io.Seeker); ok {
		if off, err := s.Seek(0, io.SeekCurrent); err == nil {
			w.seek, w.start = s, off
		}
	}
	return w
}

func (w *rewinder) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.read += int64(n)
	return n, err
}

// rewind goes back to where the first attempt started reading.
func (w *rewinder) rewind() error {
	if w.read == 0 {
		return nil
	}
	if w.seek == nil {
		return mailerr.Temporary(mailerr.Unavailable, "append interrupted; send it again", nil)
	}
	if _, err := w.seek.Seek(w.start, io.SeekStart); err != nil {
		return mailerr.Temporary(mailerr.Unavailable, "append interrupted; send it again", err)
	}
	w.read = 0
	return nil
}
