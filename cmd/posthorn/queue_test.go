package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

func TestQueueUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"list", "x"}, {"show"}, {"retry"}, {"retry", "ID", "--all"},
		{"delete"}, {"frob"}, {"list", "--all"}} {
		var out, errb bytes.Buffer
		io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(string) string { return "" }}
		if code := cmdQueue(context.Background(), io, args); code != 2 {
			t.Errorf("queue %v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

func TestQueueCommands(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in := intake.New(st, t.TempDir(), nil, nil)
	defer in.Close()
	sp := in.NewSpool()
	defer sp.Close()
	sp.Write([]byte("Subject: q\r\n\r\nhello\r\n"))
	m := &intake.Message{ID: "MSGID1", From: "alice@local.test", Body: sp, Ret: "HDRS",
		Remote: []intake.RemoteRecipient{{Address: "a@far.test", Notify: "NEVER"}, {Address: "b@far.test"}}}
	if err := in.Submit(ctx, m); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Minute).Truncate(time.Second)
	es, _ := st.ClaimDue(ctx, "n", now, time.Minute, 1)
	st.QueueDefer(ctx, []int64{es[0].ID}, now.Add(90*time.Minute), "451 4.3.0 mx.far.test said: busy\nagain")

	run := func(sub string, rest ...string) (string, error) {
		var out bytes.Buffer
		err := runQueue(ctx, &out, st, sub, rest, now)
		return out.String(), err
	}
	for _, tc := range []struct {
		sub  string
		rest []string
		want []string
	}{
		{"list", nil, []string{"ID", "LAST ERROR", "MSGID1", "alice@local.test", "  2  ", "  21  ", "1m", "now",
			"451 4.3.0 mx.far.test said: busy again", "1 message(s), 2 recipient(s)"}},
		{"show", []string{"MSGID1"}, []string{"id:        MSGID1", "ret:       HDRS", "recipient: a@far.test",
			"notify:   NEVER", "attempts: 1", "next:     in 1h30m", "recipient: b@far.test", "next:     now"}},
		{"retry", []string{"MSGID1"}, []string{"1 recipient(s) due now"}},
		{"retry", nil, []string{"0 recipient(s) due now"}},
		{"delete", []string{"MSGID1"}, []string{"deleted MSGID1: 2 recipient(s)"}},
		{"list", nil, []string{"queue is empty"}},
	} {
		out, err := run(tc.sub, tc.rest...)
		if err != nil {
			t.Fatalf("queue %s %v: %v", tc.sub, tc.rest, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("queue %s %v: output lacks %q:\n%s", tc.sub, tc.rest, w, out)
			}
		}
	}
	if _, err := run("show", "NOPE"); err == nil || !strings.Contains(err.Error(), "no queued message") {
		t.Errorf("show of an unknown id: %v", err)
	}
	if _, err := run("delete", "NOPE"); err == nil {
		t.Error("delete of an unknown id succeeded")
	}
}

func TestNotifyText(t *testing.T) {
	for _, tc := range []struct{ stored, want string }{
		{"", "-"},
		{"NEVER", "NEVER"},
		{"FAILURE,DELAY", "FAILURE,DELAY"},
		{"FAILURE,X-DELAY-SENT", "FAILURE,DELAY (delay notice sent)"},
	} {
		if got := notifyText(tc.stored); got != tc.want {
			t.Errorf("notifyText(%q) = %q, want %q", tc.stored, got, tc.want)
		}
	}
}
