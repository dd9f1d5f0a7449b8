package sqlite

import (
	"strings"
	"testing"
)

// TestQueueBodyIndex: deleting a body (its last queue entry delivered)
// finds the queue rows pointing at it through migration 0004's index, not
// a scan of the queue. QueueNextDue and QueueNotifyDelay are in the
// conformance suite (storetest).
func TestQueueBodyIndex(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := t.Context()
	// The writer deletes bodies, so its plan is the one that matters.
	var plan string
	rows, err := s.w.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT 1 FROM queue WHERE body_id = ?", 1)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail
	}
	rows.Close()
	if want := "queue_body"; !strings.Contains(plan, want) {
		t.Errorf("query plan %q does not use %s", plan, want)
	}

	if _, ok, err := s.QueueNextDue(ctx); ok || err != nil {
		t.Fatalf("empty queue: QueueNextDue ok=%v err=%v", ok, err)
	}
}
