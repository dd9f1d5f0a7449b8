package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"

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
	var prefix, first []byte
	var bodyID, bodySize int64
	err := s.pool.QueryRow(ctx, `SELECT m.prefix, m.body_id, b.size, c.data FROM messages m
		JOIN bodies b ON b.id = m.body_id LEFT JOIN body_chunks c ON c.body_id = m.body_id AND c.seq = 0
		WHERE m.mailbox_id = $1 AND m.uid = $2`, mailboxID, int64(uid)).Scan(
		&prefix, &bodyID, &bodySize, &first)
	if err != nil {
		return nil, dbError("open message", notFound(err, fmt.Sprintf("no message with UID %d", uid)))
	}
	return store.NewChunkedMessage(prefix, bodyID, bodySize, chunkSize, first, func(seq int) ([]byte, error) {
		var data []byte
		err := s.pool.QueryRow(ctx, "SELECT data FROM body_chunks WHERE body_id = $1 AND seq = $2",
			bodyID, seq).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("store: message body %d gone while reading: %w", bodyID, io.ErrUnexpectedEOF)
		} else if err != nil {
			return nil, dbError("read message", err)
		}
		return data, nil
	}), nil
}
