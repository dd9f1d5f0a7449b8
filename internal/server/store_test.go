package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/store/postgres"
	"github.com/posthorn/posthorn/internal/store/sqlite"
	"github.com/posthorn/posthorn/internal/store/storetest"
)

func TestOpenStoreDriver(t *testing.T) {
	tests := []struct {
		name    string
		driver  string
		dsn     func(t *testing.T) string
		wantErr string
		check   func(t *testing.T, o *openedStore)
	}{
		{name: "sqlite", driver: config.DriverSQLite, check: func(t *testing.T, o *openedStore) {
			if _, ok := o.Store.(*sqlite.Store); !ok || o.shared || !o.created {
				t.Errorf("sqlite: got %T shared=%v created=%v", o.Store, o.shared, o.created)
			}
		}},
		{name: "postgres", driver: config.DriverPostgres, dsn: freshPG, check: func(t *testing.T, o *openedStore) {
			if _, ok := o.Store.(*postgres.Store); !ok || !o.shared {
				t.Errorf("postgres: got %T shared=%v", o.Store, o.shared)
			}
			if err := o.Ping(t.Context()); err != nil {
				t.Errorf("ping: %v", err)
			}
		}},
		{name: "bad dsn", driver: config.DriverPostgres, dsn: func(*testing.T) string { return "postgres://%zz" },
			wantErr: "invalid PostgreSQL DSN"},
		{name: "unknown", driver: "mysql", wantErr: `"mysql"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{DataDir: t.TempDir(), Store: config.Store{Driver: tc.driver}}
			if tc.dsn != nil {
				cfg.Store.DSN = tc.dsn(t)
			}
			o, err := openStore(t.Context(), cfg, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			tc.check(t, o)
		})
	}
}

func TestNodeID(t *testing.T) {
	dir := t.TempDir()
	a, err := nodeID(dir)
	if err != nil || len(a) != 12 {
		t.Fatalf("first id %q, %v", a, err)
	}
	b, err := nodeID(dir)
	if err != nil || b != a {
		t.Errorf("second call %q, %v; want the kept %q", b, err, a)
	}
	other, err := nodeID(t.TempDir())
	if err != nil || other == a {
		t.Errorf("another data_dir got %q (%v), want a new id", other, err)
	}
	// A damaged file is replaced, not trusted.
	if err := os.WriteFile(filepath.Join(dir, nodeIDFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := nodeID(dir); err != nil || c == "" || c == a {
		t.Errorf("after an empty file: %q, %v", c, err)
	}
}

// freshPG makes a database of its own on the test server (dropped at
// the end) and returns its DSN.
func freshPG(t *testing.T) string {
	dsn := storetest.PostgresDSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("posthorn_server_%d_%d", os.Getpid(), rand.Uint32())
	if _, err := conn.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), dsn); err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}
