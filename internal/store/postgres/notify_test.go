package postgres

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/notify"
)

func TestParsePayload(t *testing.T) {
	tests := []struct {
		payload string
		want    change
		ok      bool
	}{
		{"42", change{id: 42, pid: 7}, true},
		{"-42", change{id: 42, deleted: true, pid: 7}, true},
		{"9223372036854775807", change{id: 1<<63 - 1, pid: 7}, true},
		{"0", change{}, false},
		{"-0", change{}, false},
		{"--1", change{}, false},
		{"+1", change{}, false},
		{"", change{}, false},
		{"1 ", change{}, false},
		{"12a", change{}, false},
		{"99999999999999999999", change{}, false},
	}
	for _, tc := range tests {
		got, ok := parsePayload(&pgconn.Notification{PID: 7, Payload: tc.payload})
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parsePayload(%q) = %+v, %v; want %+v, %v", tc.payload, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParsePayload: any payload (another installation's, a hostile
// client's NOTIFY on our channel) parses or is refused without panicking,
// and what parses is what payloads() writes.
func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{"1", "-1", "0", "", "-", "18446744073709551616", " 1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, ok := parsePayload(&pgconn.Notification{Payload: p})
		if !ok {
			return
		}
		if c.id <= 0 {
			t.Fatalf("%q parsed to id %d", p, c.id)
		}
		id := c.id
		if c.deleted {
			id = -id
		}
		if back := payloads([]int64{id})[0]; back != p {
			t.Fatalf("%q parsed to %+v, which writes %q", p, c, back)
		}
	})
}

// TestDispatch: notifications from this node's own connections are not
// published again (the commit did); others' are, deletions close.
func TestDispatch(t *testing.T) {
	s := openTest(t)
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	own := conn.Conn().PgConn().PID()
	conn.Release()
	if !s.pids.has(own) {
		t.Fatalf("pool connection's pid %d not recorded", own)
	}
	other := own + 1
	for s.pids.has(other) {
		other++
	}
	h := s.Notifier()
	sub := h.Subscribe(5)
	defer sub.Close()
	pending := func() (signalled, closed bool) {
		select {
		case _, ok := <-sub.C():
			return ok, !ok
		default:
			return false, false
		}
	}
	tests := []struct {
		name        string
		n           change
		sig, closes bool
	}{
		{"own change", change{id: 5, pid: own}, false, false},
		{"other mailbox", change{id: 6, pid: other}, false, false},
		{"other node's change", change{id: 5, pid: other}, true, false},
		{"resync", change{all: true}, true, false},
		{"own delete", change{id: 5, deleted: true, pid: own}, false, false},
		{"other node's delete", change{id: 5, deleted: true, pid: other}, false, true},
	}
	for _, tc := range tests {
		s.dispatch(tc.n)
		if sig, closed := pending(); sig != tc.sig || closed != tc.closes {
			t.Errorf("%s: signalled %v closed %v; want %v %v", tc.name, sig, closed, tc.sig, tc.closes)
		}
	}
}

func TestRewinder(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		name     string
		r        io.Reader
		consume  int
		wantErr  bool
		wantRest string
	}{
		{"seekable, untouched", bytes.NewReader(data), 0, false, "0123456789"},
		{"seekable, half read", bytes.NewReader(data), 5, false, "0123456789"},
		{"seekable, started mid-way", func() io.Reader { r := bytes.NewReader(data); r.Seek(3, io.SeekStart); return r }(), 4, false, "3456789"},
		{"stream, untouched", io.MultiReader(strings.NewReader(string(data))), 0, false, "0123456789"},
		{"stream, half read", io.MultiReader(bytes.NewReader(data)), 5, true, ""},
	}
	for _, tc := range tests {
		w := newRewinder(tc.r)
		io.ReadFull(w, make([]byte, tc.consume))
		err := w.rewind()
		if tc.wantErr {
			if !mailerr.Is(err, mailerr.Unavailable) || mailerr.IsPermanent(err) {
				t.Errorf("%s: rewind = %v, want temporary Unavailable", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: rewind: %v", tc.name, err)
			continue
		}
		if rest, _ := io.ReadAll(w); string(rest) != tc.wantRest {
			t.Errorf("%s: after rewind read %q, want %q", tc.name, rest, tc.wantRest)
		}
	}
}

// TestPollAll: the fallback for engines without LISTEN signals every
// subscribed mailbox each interval, and stops with its context.
func TestPollAll(t *testing.T) {
	s := &Store{hub: notify.New()}
	sub := s.hub.Subscribe(9)
	defer sub.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.pollAll(ctx, time.Millisecond) }()
	for range 2 {
		if _, ok := <-sub.C(); !ok {
			t.Fatal("subscription closed")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("pollAll returned %v, want nil", err)
	}
}
