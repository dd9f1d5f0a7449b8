package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
)

// releaseBodies drops one reference from a body per occurrence of its id
// in bodyIDs and deletes the bodies (and, by cascade, their chunks) that
// no row references any more. Bodies are locked in ascending id order, so
// two transactions releasing shared bodies cannot deadlock.
func releaseBodies(ctx context.Context, tx pgx.Tx, bodyIDs []int64) error {
	if len(bodyIDs) == 0 {
		return nil
	}
	slices.Sort(bodyIDs)
	var ids, counts []int64
	for _, id := range bodyIDs {
		if n := len(ids); n > 0 && ids[n-1] == id {
			counts[n-1]++
			continue
		}
		ids, counts = append(ids, id), append(counts, 1)
	}
	b := &pgx.Batch{}
	b.Queue("SELECT id FROM bodies WHERE id = ANY($1) ORDER BY id FOR UPDATE", ids)
	b.Queue(`UPDATE bodies b SET refs = b.refs - r.n FROM unnest($1::bigint[], $2::bigint[]) AS r(id, n)
		WHERE b.id = r.id`, ids, counts)
	b.Queue("DELETE FROM bodies WHERE id = ANY($1) AND refs <= 0", ids)
	return tx.SendBatch(ctx, b).Close()
}

// BodyCount returns how many message bodies are stored and their total
// size: the shared copies behind every mailbox and queue row.
func (s *Store) BodyCount(ctx context.Context) (count, bytes int64, err error) {
	err = s.pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(size), 0)::bigint FROM bodies").Scan(&count, &bytes)
	return count, bytes, dbError("body count", err)
}
