package storetest

import (
	"os"
	"testing"
)

// PostgresDSNEnv names the environment variable that gives the tests a
// PostgreSQL server (`.ci/pg-start.sh` starts a private one and prints
// its DSN).
const PostgresDSNEnv = "POSTHORN_TEST_PG_DSN"

// PostgresDSN returns the DSN of the PostgreSQL server for tests. Without
// one the test is skipped, except under CI=true, where it fails: CI must
// run the conformance suite on both stores.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: start a server with .ci/pg-start.sh", PostgresDSNEnv)
		}
		t.Skipf("no PostgreSQL: set %s (see .ci/pg-start.sh)", PostgresDSNEnv)
	}
	return dsn
}
