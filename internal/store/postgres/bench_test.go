package postgres

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store/sqlite"
	"github.com/posthorn/posthorn/internal/store/storetest"
)

// roundTrips counts the client/server exchanges of a pool: a statement, a
// pipelined batch, BEGIN and COMMIT are one each; a COPY is two (start,
// then data and completion).
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (c *roundTrips) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(2)
	return ctx
}
func (c *roundTrips) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// walSyncs reads the server's count of WAL fsyncs (PostgreSQL 14+); the
// count is server-wide, so run the benchmark alone.
func walSyncs(b *testing.B, s *Store) int64 {
	var n int64
	if err := s.pool.QueryRow(b.Context(), "SELECT wal_sync FROM pg_stat_wal").Scan(&n); err != nil {
		b.Logf("pg_stat_wal: %v", err)
		return 0
	}
	return n
}

// BenchmarkCommitRoundTrips reports database round trips and WAL fsyncs
// per message of CommitBatch, for one-recipient messages in batches of 1
// and 32, small (sent inline) and 100 KB (streamed by COPY).
func BenchmarkCommitRoundTrips(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10} {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("size=%dKB/batch=%d", size>>10, batch), func(b *testing.B) {
				cfg := testSchema(b)
				rt := &roundTrips{}
				cfg.ConnConfig.Tracer = rt
				s := openNode(b, cfg)
				u := addUser(b, s, "bench@example.com")
				in := newIntake(b, s)
				body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\r\n"), size/33+1)[:size]
				msgs := make([]*intake.Message, batch)
				for i := range msgs {
					msgs[i] = newMsg(in, body, u)
					defer msgs[i].Body.Close()
				}
				// Warm up: statements are prepared on first use.
				if err := s.CommitBatch(b.Context(), msgs); err != nil {
					b.Fatal(err)
				}
				rt.n.Store(0)
				syncs := walSyncs(b, s)
				b.ResetTimer()
				for b.Loop() {
					if err := s.CommitBatch(b.Context(), msgs); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				n := float64(b.N * batch)
				b.ReportMetric(float64(rt.n.Load())/n, "roundtrips/msg")
				b.ReportMetric(float64(walSyncs(b, s)-syncs-1)/n, "walsyncs/msg") // -1: the read itself
				b.ReportMetric(n/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

// BenchmarkIMAP runs storetest.BenchIMAP (a 10,000-message mailbox:
// listing, every summary, STORE 1:*, APPEND, a partial read) on SQLite
// and on PostgreSQL in one run, so that the two compare side by side.
func BenchmarkIMAP(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		storetest.BenchIMAP(b, func(b *testing.B) storetest.Store {
			s, err := sqlite.Open(b.Context(), b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		})
	})
	b.Run("postgres", func(b *testing.B) {
		storetest.BenchIMAP(b, func(b *testing.B) storetest.Store { return openTest(b) })
	})
}
