package sqlite

import "context"

// BodyCount returns how many message bodies are stored and their total
// size: the shared copies behind every mailbox and queue row.
func (s *Store) BodyCount(ctx context.Context) (count, bytes int64, err error) {
	err = s.r.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(size), 0) FROM bodies").Scan(&count, &bytes)
	return count, bytes, dbError("body count", err)
}
