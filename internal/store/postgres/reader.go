package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenMessage returns a reader of a message's bytes: its prefix, then its
// body one 64 KiB chunk at a time, each fetched when needed by its own
// query, so a large body is never held whole and no connection is held
// between reads (a slow POP3 client cannot pin one of the pool's). ctx
// must stay live while reading. If the message is expunged while being
// read, Read fails with io.ErrUnexpectedEOF.
func (s *Store) OpenMessage(ctx context.Context, messageID int64) (io.ReadCloser, error) {
	// One query brings the prefix and the first chunk: most messages are
	// one chunk, read with no second round trip.
	r := &messageReader{ctx: ctx, pool: s.pool}
	var first []byte
	err := s.pool.QueryRow(ctx, `SELECT m.prefix, m.body_id, b.size, c.data FROM messages m
		JOIN bodies b ON b.id = m.body_id LEFT JOIN body_chunks c ON c.body_id = m.body_id AND c.seq = 0
		WHERE m.id = $1`, messageID).Scan(&r.cur, &r.bodyID, &r.bodyLeft, &first)
	if err != nil {
		return nil, dbError("open message", notFound(err, fmt.Sprintf("no message %d", messageID)))
	}
	if len(first) > 0 {
		r.next = r.take(first) // read after the prefix in cur
	}
	return r, nil
}

// OpenBody streams a stored body one 64 KiB chunk at a time (see
// OpenMessage); ctx must stay live while reading.
func (s *Store) OpenBody(ctx context.Context, bodyID int64) (io.ReadCloser, error) {
	r := &messageReader{ctx: ctx, pool: s.pool, bodyID: bodyID}
	err := s.pool.QueryRow(ctx, "SELECT size FROM bodies WHERE id = $1", bodyID).Scan(&r.bodyLeft)
	if err != nil {
		return nil, dbError("open body", notFound(err, fmt.Sprintf("no body %d", bodyID)))
	}
	return r, nil
}

type messageReader struct {
	ctx      context.Context
	pool     *pgxpool.Pool
	bodyID   int64
	cur      []byte // unread part of the prefix, then of the current chunk
	next     []byte // the first chunk while the prefix is being read
	seq      int32  // next chunk to fetch
	bodyLeft int64  // body bytes not yet fetched
	err      error  // sticky
}

func (r *messageReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next != nil {
			r.cur, r.next = r.next, nil
			continue
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.bodyLeft <= 0 {
			r.err = io.EOF
			return 0, io.EOF
		}
		r.err = r.fetch()
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// fetch loads the next chunk into cur.
func (r *messageReader) fetch() error {
	var data []byte
	err := r.pool.QueryRow(r.ctx, "SELECT data FROM body_chunks WHERE body_id = $1 AND seq = $2",
		r.bodyID, r.seq).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: message body %d gone while reading: %w", r.bodyID, io.ErrUnexpectedEOF)
	} else if err != nil {
		return dbError("read message", err)
	}
	if len(data) == 0 {
		return fmt.Errorf("store: message body %d has an empty chunk: %w", r.bodyID, io.ErrUnexpectedEOF)
	}
	r.cur = r.take(data)
	return nil
}

// take accounts for the next chunk, cut to what the body still lacks.
func (r *messageReader) take(data []byte) []byte {
	if int64(len(data)) > r.bodyLeft {
		data = data[:r.bodyLeft]
	}
	r.seq++
	r.bodyLeft -= int64(len(data))
	return data
}

// Close releases nothing but marks the reader finished.
func (r *messageReader) Close() error {
	r.cur, r.next = nil, nil
	if r.err == nil {
		r.err = errors.New("store: read of a closed message")
	}
	return nil
}
