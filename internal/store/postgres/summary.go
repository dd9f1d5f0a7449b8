package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posthorn/posthorn/internal/store"
)

// Summaries calls fn with the stored summary blob of each message with a
// UID in uids (in the order given; nil blob when none is stored).
// Expunged UIDs are skipped. The blob is only valid during the call.
//
// One query: a dense set (FETCH 1:*) reads the UID range, a sparse one
// looks its UIDs up through the (mailbox_id, uid) index; either way the
// cost follows the mailbox, not the installation.
func (s *Store) Summaries(ctx context.Context, mailboxID int64, uids []uint32, fn func(uid uint32, blob []byte) error) error {
	if len(uids) == 0 {
		return nil
	}
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	lo, hi := sorted[0], sorted[len(sorted)-1]
	// The blob by a subquery, not a join: a join may hash the whole
	// summaries table (every user's), where this costs one index probe
	// per message of the mailbox.
	const q = `SELECT m.uid, (SELECT s.blob FROM summaries s WHERE s.message_id = m.id) FROM messages m
		WHERE m.mailbox_id = $1 AND `
	var rows pgx.Rows
	var err error
	if int64(hi)-int64(lo) < 2*int64(len(sorted)) {
		rows, err = s.pool.Query(ctx, q+"m.uid BETWEEN $2 AND $3", mailboxID, int64(lo), int64(hi))
	} else {
		cond, args := uidArgs(sorted, 2)
		rows, err = s.pool.Query(ctx, q+cond[len(" AND "):], append([]any{mailboxID}, args...)...)
	}
	if err != nil {
		return dbError("summaries", err)
	}
	got := make(map[uint32][]byte, len(uids))
	var uid uint32
	var blob []byte
	if _, err := pgx.ForEachRow(rows, []any{&uid, &blob}, func() error {
		got[uid] = blob // pgx scans bytea into a new slice; NULL (no summary) is nil
		return nil
	}); err != nil {
		return dbError("summaries", err)
	}
	for _, u := range uids {
		b, ok := got[u]
		if !ok {
			continue
		}
		if err := fn(u, b); err != nil {
			return err
		}
	}
	return nil
}

// SetSummaries stores summary blobs by UID in one statement (the IMAP
// engine computes them at first FETCH and writes them in batches).
// Expunged UIDs are ignored.
func (s *Store) SetSummaries(ctx context.Context, mailboxID int64, blobs map[uint32][]byte) error {
	if len(blobs) == 0 {
		return nil
	}
	uids := make([]int64, 0, len(blobs))
	data := make([][]byte, 0, len(blobs))
	for u, b := range blobs {
		uids, data = append(uids, int64(u)), append(data, nz(b))
	}
	_, err := s.exec(ctx, "set summaries", `INSERT INTO summaries (message_id, blob)
		SELECT m.id, v.blob FROM unnest($2::bigint[], $3::bytea[]) AS v(uid, blob)
		JOIN messages m ON m.mailbox_id = $1 AND m.uid = v.uid
		ON CONFLICT (message_id) DO UPDATE SET blob = excluded.blob`, mailboxID, uids, data)
	return err
}

// OpenMessageUID opens a message of a mailbox by UID for random access
// (mailerr.NoSuchUser when it is not there). Reads fetch the 64 KiB body
// chunk they need and keep the last one, so a sequential read touches
// each chunk once and a partial FETCH of a 25 MB message reads only the
// chunks it covers; no connection is held between reads. ctx must stay
// live while reading.
func (s *Store) OpenMessageUID(ctx context.Context, mailboxID int64, uid uint32) (store.MessageReaderAt, error) {
	// One query brings the first chunk too: most messages are one chunk,
	// and most reads (BODY[], BODY[HEADER]) start at the top.
	m := &messageAt{ctx: ctx, pool: s.pool, cur: -1}
	var first []byte
	err := s.pool.QueryRow(ctx, `SELECT m.prefix, m.body_id, b.size, c.data FROM messages m
		JOIN bodies b ON b.id = m.body_id LEFT JOIN body_chunks c ON c.body_id = m.body_id AND c.seq = 0
		WHERE m.mailbox_id = $1 AND m.uid = $2`, mailboxID, int64(uid)).Scan(
		&m.prefix, &m.bodyID, &m.bodySize, &first)
	if err != nil {
		return nil, dbError("open message", notFound(err, fmt.Sprintf("no message with UID %d", uid)))
	}
	if len(first) > 0 {
		m.cur, m.chunk = 0, first
	}
	return m, nil
}

// messageAt is an io.ReaderAt over prefix || body chunks.
type messageAt struct {
	ctx      context.Context
	pool     *pgxpool.Pool
	prefix   []byte
	bodyID   int64
	bodySize int64

	mu      sync.Mutex
	cur     int // seq of chunk held, -1: none
	chunk   []byte
	closed  bool
	fetches int // chunks fetched after the first (tests check that partial reads read little)
}

func (m *messageAt) Size() int64 { return int64(len(m.prefix)) + m.bodySize }

func (m *messageAt) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed, m.chunk = true, nil
	return nil
}

func (m *messageAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	n := 0
	for len(p) > 0 {
		if off >= m.Size() {
			return n, io.EOF
		}
		if off < int64(len(m.prefix)) {
			k := copy(p, m.prefix[off:])
			n, off, p = n+k, off+int64(k), p[k:]
			continue
		}
		bo := off - int64(len(m.prefix))
		k, err := m.copyChunk(p, int(bo/chunkSize), bo%chunkSize)
		if err != nil {
			return n, err
		}
		n, off, p = n+k, off+int64(k), p[k:]
	}
	return n, nil
}

// copyChunk copies body chunk seq from offset in into p, fetching it
// unless it is the one held.
func (m *messageAt) copyChunk(p []byte, seq int, in int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errors.New("store: read of a closed message")
	}
	if m.cur != seq {
		var data []byte
		err := m.pool.QueryRow(m.ctx, "SELECT data FROM body_chunks WHERE body_id = $1 AND seq = $2",
			m.bodyID, seq).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("store: message body %d gone while reading: %w", m.bodyID, io.ErrUnexpectedEOF)
		} else if err != nil {
			return 0, dbError("read message", err)
		}
		m.cur, m.chunk = seq, data
		m.fetches++
	}
	if in >= int64(len(m.chunk)) {
		return 0, fmt.Errorf("store: body %d shorter than its size: %w", m.bodyID, io.ErrUnexpectedEOF)
	}
	return copy(p, m.chunk[in:]), nil
}
