package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the statements of the hot paths (RCPT lookups, the
// group commit) prepared: parsing SQL costs more than running these
// statements. database/sql prepares a cached *sql.Stmt again on each
// pooled connection that first uses it, then keeps it.
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	db *sql.DB
	q  string
}

// stmt returns db's prepared statement for q, preparing it once.
func (c *stmtCache) stmt(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := stmtKey{db, q}
	if st, ok := c.m[k]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[stmtKey]*sql.Stmt{}
	}
	c.m[k] = st
	return st, nil
}

// get returns a statement prepared before, without preparing: inside a
// transaction on a one-connection pool, preparing would wait forever.
func (c *stmtCache) get(db *sql.DB, q string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[stmtKey{db, q}]
	return st, ok
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, st := range c.m {
		st.Close()
		delete(c.m, k)
	}
}
