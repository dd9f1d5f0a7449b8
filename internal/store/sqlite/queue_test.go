package sqlite

import (
	"testing"

	"github.com/posthorn/posthorn/internal/store/storetest"
)

// BenchmarkQueueClaim compares claiming one due entry with an empty queue
// and beside 10,000 deferred entries of a dead destination: the two must
// cost about the same (claiming reads due rows only).
func BenchmarkQueueClaim(b *testing.B) {
	for _, bc := range []struct {
		name    string
		backlog int
	}{{"empty", 0}, {"deferred1000", 1000}, {"deferred10000", 10000}} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.BenchQueueClaim(b, func(b *testing.B) storetest.Store { return openTest(b, b.TempDir()) }, bc.backlog)
		})
	}
}
