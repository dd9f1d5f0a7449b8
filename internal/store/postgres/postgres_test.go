package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posthorn/posthorn/internal/store/storetest"
)

// testSchema makes a fresh schema for one test in the database of the
// test DSN, dropped when the test ends, and returns a pool configuration
// whose connections use it.
func testSchema(t testing.TB) *pgxpool.Config {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", storetest.PostgresDSNEnv, err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}

// openNode opens a store on cfg's schema: each call is one more "node"
// with its own pool.
func openNode(t testing.TB, cfg *pgxpool.Config) *Store {
	t.Helper()
	s, err := open(t.Context(), cfg.Copy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The store implements the whole contract, the queue's included.
var (
	_ storetest.Store       = (*Store)(nil)
	_ storetest.QueueStore  = (*Store)(nil)
	_ storetest.BodyCounter = (*Store)(nil)
	_ storetest.IMAPStore   = (*Store)(nil)
)

func openTest(t testing.TB) *Store { return openNode(t, testSchema(t)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}

func BenchmarkCommitBatch(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store { return openTest(b) })
}

// BenchmarkQueueClaim: claiming due work costs the same beside a large
// backlog that is not due (see store/sqlite's benchmark of the same name).
func BenchmarkQueueClaim(b *testing.B) {
	for _, bc := range []struct {
		name    string
		backlog int
	}{{"empty", 0}, {"deferred10000", 10000}} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.BenchQueueClaim(b, func(b *testing.B) storetest.Store { return openTest(b) }, bc.backlog)
		})
	}
}
