package storetest

import (
	"context"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// QueueWatchStore is the queue's optional part: the earliest due time
// (a runner notices at once what another process made due) and the
// delay notice (RFC 3464 Action: delayed) recorded with its report.
type QueueWatchStore interface {
	QueueNextDue(ctx context.Context) (time.Time, bool, error)
	QueueNotifyDelay(ctx context.Context, notify map[int64]string, report *intake.Message) error
}

func testQueueWatch(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	w, ok := f.s.(QueueWatchStore)
	if !ok {
		t.Fatalf("%T does not implement storetest.QueueWatchStore", f.s)
	}
	if _, ok, err := w.QueueNextDue(ctx); ok || err != nil {
		t.Errorf("QueueNextDue on an empty queue = %v, %v; want false", ok, err)
	}
	sender := f.addUser("sender@local.test")
	m := f.remoteMsg([]byte("Subject: x\r\n\r\nx\r\n"), "r@far.example")
	f.commit(m)
	es, err := q.QueueGet(ctx, m.ID)
	if err != nil || len(es) != 1 {
		t.Fatalf("QueueGet: %v %v", es, err)
	}
	if next, ok, err := w.QueueNextDue(ctx); !ok || err != nil || !next.Equal(es[0].NextAttempt) {
		t.Errorf("QueueNextDue = %v %v %v, want %v", next, ok, err, es[0].NextAttempt)
	}
	report := func() *intake.Message {
		return f.msg([]byte("Subject: delayed\r\n\r\nstill trying\r\n"), sender)
	}
	mb := f.inbox(sender)
	for _, tc := range []struct {
		name      string
		notify    map[int64]string
		report    *intake.Message
		wantErr   bool
		wantMails int // in the sender's INBOX after
	}{
		{"no report", map[int64]string{es[0].ID: "FAILURE,X-DELAY-SENT"}, nil, true, 0},
		{"gone entry: report dropped", map[int64]string{es[0].ID + 1000: "X"}, report(), false, 0},
		{"marked with its report", map[int64]string{es[0].ID: "FAILURE,X-DELAY-SENT"}, report(), false, 1},
	} {
		err := w.QueueNotifyDelay(ctx, tc.notify, tc.report)
		if (err != nil) != tc.wantErr || (err != nil && !mailerr.IsPermanent(err)) {
			t.Errorf("%s: err %v, want error %v", tc.name, err, tc.wantErr)
		}
		if n := len(f.messages(mb)); n != tc.wantMails {
			t.Errorf("%s: %d reports delivered, want %d", tc.name, n, tc.wantMails)
		}
	}
	if es, _ := q.QueueGet(ctx, m.ID); len(es) != 1 || es[0].Notify != "FAILURE,X-DELAY-SENT" {
		t.Errorf("entry after the notice: %+v", es)
	}
}
