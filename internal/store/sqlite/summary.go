package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"

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
	st, err := s.stmts.stmt(ctx, s.r, `SELECT m.prefix, m.body_id, b.size FROM messages m
		JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ? AND m.uid = ?`)
	if err != nil {
		return nil, dbError("open message", err)
	}
	var prefix []byte
	var bodyID, bodySize int64
	if err := st.QueryRowContext(ctx, mailboxID, uid).Scan(&prefix, &bodyID, &bodySize); err != nil {
		return nil, dbError("open message", notFound(err, fmt.Sprintf("no message with UID %d", uid)))
	}
	return store.NewChunkedMessage(prefix, bodyID, bodySize, chunkSize, nil, func(seq int) ([]byte, error) {
		st, err := s.stmts.stmt(ctx, s.r, "SELECT data FROM body_chunks WHERE body_id = ? AND seq = ?")
		if err != nil {
			return nil, dbError("read message", err)
		}
		var data []byte
		err = st.QueryRowContext(ctx, bodyID, seq).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: message body %d gone while reading: %w", bodyID, io.ErrUnexpectedEOF)
		} else if err != nil {
			return nil, dbError("read message", err)
		}
		return data, nil
	}), nil
}
