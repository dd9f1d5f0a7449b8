package sqlite

import (
	"context"
	"database/sql"
)

// EnsureQueueIndexes adds the index that keeps a delivered message's cost
// independent of the queue's length: bodies.id is referenced by
// queue.body_id with foreign keys on, so deleting a body (its last queue
// entry delivered) makes SQLite look for queue rows that still point at
// it, which without an index on queue(body_id) reads the whole queue: a
// full scan per relayed message, 10,000 deferred entries of a dead
// destination slowing every live one (issue 4). Idempotent and cheap when
// the index exists; the server calls it before the queue runs.
//
// TODO(lead): move into a numbered migration (and the same index into the
// PostgreSQL schema, which does not index foreign keys either); this
// exists because migrations/ was outside the relay helper's files.
func (s *Store) EnsureQueueIndexes(ctx context.Context) error {
	return s.write(ctx, "queue indexes", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS queue_body ON queue(body_id)")
		return err
	})
}
