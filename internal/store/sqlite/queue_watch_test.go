package sqlite

import (
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// TestQueueIndexesAndDelay covers the queue_*.go additions: the body
// index (idempotent, and used when a body is deleted), the earliest due
// time, and the delay notice rewriting NOTIFY with its report.
func TestQueueIndexesAndDelay(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := t.Context()
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	for range 2 {
		if err := s.EnsureQueueIndexes(ctx); err != nil {
			t.Fatal(err)
		}
	}
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
	sp := in.NewSpool()
	sp.Write([]byte("Subject: x\r\n\r\nx\r\n"))
	m := &intake.Message{ID: intake.NewID(), From: "a@local.test", Body: sp,
		Remote: []intake.RemoteRecipient{{Address: "r@far.test", Notify: "FAILURE,DELAY"}}}
	if err := in.Submit(ctx, m); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	es, err := s.QueueGet(ctx, m.ID)
	if err != nil || len(es) != 1 {
		t.Fatalf("QueueGet: %v %v", es, err)
	}
	if next, ok, err := s.QueueNextDue(ctx); !ok || err != nil || !next.Equal(es[0].NextAttempt) {
		t.Errorf("QueueNextDue = %v %v %v, want %v", next, ok, err, es[0].NextAttempt)
	}

	report := func() *intake.Message {
		sp := in.NewSpool()
		sp.Write([]byte("Subject: delayed\r\n\r\nstill trying\r\n"))
		return &intake.Message{ID: intake.NewID(), From: "", Body: sp,
			Remote: []intake.RemoteRecipient{{Address: "a@far.test"}}}
	}
	for _, tc := range []struct {
		name      string
		notify    map[int64]string
		report    *intake.Message
		wantErr   bool
		wantQueue int // entries after
	}{
		{"no report", map[int64]string{es[0].ID: "FAILURE,X-DELAY-SENT"}, nil, true, 1},
		{"gone entry: report dropped", map[int64]string{es[0].ID + 1000: "X"}, report(), false, 1},
		{"marked with its report", map[int64]string{es[0].ID: "FAILURE,X-DELAY-SENT"}, report(), false, 2},
	} {
		err := s.QueueNotifyDelay(ctx, tc.notify, tc.report)
		if (err != nil) != tc.wantErr || (err != nil && !mailerr.IsPermanent(err)) {
			t.Errorf("%s: err %v, want error %v", tc.name, err, tc.wantErr)
		}
		if tc.report != nil {
			tc.report.Body.Close()
		}
		if n, _, err := s.QueueLen(ctx); err != nil || n != int64(tc.wantQueue) {
			t.Errorf("%s: %d queue entries (%v), want %d", tc.name, n, err, tc.wantQueue)
		}
	}
	if es, _ := s.QueueGet(ctx, m.ID); len(es) != 1 || es[0].Notify != "FAILURE,X-DELAY-SENT" {
		t.Errorf("entry after the notice: %+v", es)
	}
}
