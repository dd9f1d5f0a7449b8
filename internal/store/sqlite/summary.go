package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/posthorn/posthorn/internal/store"
)

// sparseUIDs is the count under which Summaries looks UIDs up one by one
// rather than scanning the range between the smallest and the largest.
const sparseUIDs = 32

// Summaries calls fn with the stored summary blob of each message with a
// UID in uids (in the order given; nil blob when none is stored).
// Expunged UIDs are skipped. The blob is only valid during the call.
func (s *Store) Summaries(ctx context.Context, mailboxID int64, uids []uint32, fn func(uid uint32, blob []byte) error) error {
	if len(uids) == 0 {
		return nil
	}
	got := make(map[uint32][]byte, len(uids))
	seen := make(map[uint32]bool, len(uids))
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	lo, hi := sorted[0], sorted[len(sorted)-1]
	const q = `SELECT m.uid, s.blob FROM messages m LEFT JOIN summaries s ON s.message_id = m.id
		WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?`
	read := func(lo, hi uint32) error {
		st, err := s.stmts.stmt(ctx, s.r, q)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, mailboxID, lo, hi)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid uint32
			var blob []byte
			if err := rows.Scan(&uid, &blob); err != nil {
				return err
			}
			seen[uid] = true
			got[uid] = blob
		}
		return rows.Err()
	}
	if len(sorted) <= sparseUIDs && hi-lo > 4*sparseUIDs {
		for _, u := range sorted {
			if err := read(u, u); err != nil {
				return dbError("summaries", err)
			}
		}
	} else if err := read(lo, hi); err != nil {
		return dbError("summaries", err)
	}
	for _, u := range uids {
		if !seen[u] {
			continue
		}
		if err := fn(u, got[u]); err != nil {
			return err
		}
	}
	return nil
}

// SetSummaries stores summary blobs by UID in one transaction (the IMAP
// engine computes them at first FETCH; one transaction per message would
// cost one fsync each). Expunged UIDs are ignored.
func (s *Store) SetSummaries(ctx context.Context, mailboxID int64, blobs map[uint32][]byte) error {
	if len(blobs) == 0 {
		return nil
	}
	return s.write(ctx, "set summaries", func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO summaries (message_id, blob)
			SELECT id, ? FROM messages WHERE mailbox_id = ? AND uid = ?
			ON CONFLICT (message_id) DO UPDATE SET blob = excluded.blob`)
		if err != nil {
			return err
		}
		defer st.Close()
		for uid, b := range blobs {
			if _, err := st.ExecContext(ctx, nz(b), mailboxID, uid); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenMessageUID opens a message of a mailbox by UID for random access
// (mailerr.NoSuchUser when it is not there). Reads fetch the 64 KiB body
// chunk they need and keep the last one, so a sequential read touches
// each chunk once; no read transaction stays open between reads. ctx must
// stay live while reading.
func (s *Store) OpenMessageUID(ctx context.Context, mailboxID int64, uid uint32) (store.MessageReaderAt, error) {
	m := &messageAt{ctx: ctx, db: s.r, stmts: &s.stmts, cur: -1}
	st, err := s.stmts.stmt(ctx, s.r, `SELECT m.prefix, m.body_id, b.size FROM messages m
		JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? AND m.uid = ?`)
	if err != nil {
		return nil, dbError("open message", err)
	}
	if err := st.QueryRowContext(ctx, mailboxID, uid).Scan(&m.prefix, &m.bodyID, &m.bodySize); err != nil {
		return nil, dbError("open message", notFound(err, fmt.Sprintf("no message with UID %d", uid)))
	}
	return m, nil
}

// messageAt is an io.ReaderAt over prefix || body chunks.
type messageAt struct {
	ctx      context.Context
	db       *sql.DB
	stmts    *stmtCache
	prefix   []byte
	bodyID   int64
	bodySize int64

	mu     sync.Mutex
	cur    int // seq of chunk held, -1: none
	chunk  []byte
	closed bool
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
		chunk, err := m.load(int(bo / chunkSize))
		if err != nil {
			return n, err
		}
		in := bo % chunkSize
		if in >= int64(len(chunk)) {
			return n, fmt.Errorf("store: body %d shorter than its size: %w", m.bodyID, io.ErrUnexpectedEOF)
		}
		k := copy(p, chunk[in:])
		n, off, p = n+k, off+int64(k), p[k:]
	}
	return n, nil
}

// load returns body chunk seq, keeping it for the next read.
func (m *messageAt) load(seq int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("store: read of a closed message")
	}
	if m.cur == seq {
		return m.chunk, nil
	}
	st, err := m.stmts.stmt(m.ctx, m.db, "SELECT data FROM body_chunks WHERE body_id = ? AND seq = ?")
	if err != nil {
		return nil, dbError("read message", err)
	}
	var data []byte
	err = st.QueryRowContext(m.ctx, m.bodyID, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: message body %d gone while reading: %w", m.bodyID, io.ErrUnexpectedEOF)
	} else if err != nil {
		return nil, dbError("read message", err)
	}
	m.cur, m.chunk = seq, data
	return data, nil
}
