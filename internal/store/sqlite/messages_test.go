package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
)

// TestReadMessages checks the read-ahead read: the UID range is
// inclusive, bodies over one chunk are left out (OpenMessage streams
// them), each message is its prefix and body, rows come in UID order,
// and an error from fn ends the read with that error.
func TestReadMessages(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir())
	u, err := s.AddUser(ctx, "r@example.test", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.MailboxByName(ctx, u.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{10, chunkSize - 30, chunkSize + 1, 0, 3 * chunkSize, 200}
	var msgs []store.NewMessage
	for i, n := range sizes {
		head := fmt.Sprintf("Subject: %d\r\n\r\n", i)
		body := bytes.Repeat([]byte{'a' + byte(i)}, max(0, n-len(head)))
		msgs = append(msgs, store.NewMessage{Data: append([]byte(head), body...), Date: time.Unix(1700000000, 0)})
	}
	uids, err := s.AppendBatch(ctx, mb.ID, msgs)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.Messages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]int{}
	for i, m := range infos {
		byID[m.ID] = i
	}

	for _, tc := range []struct {
		first, last uint32
		want        []int // indices of msgs
	}{
		{uids[0], uids[5], []int{0, 1, 3, 5}}, // 2 and 4 are over one chunk
		{uids[1], uids[1], []int{1}},
		{uids[2], uids[2], nil},
		{uids[3], uids[5], []int{3, 5}},
		{uids[5] + 1, uids[5] + 10, nil},
	} {
		var got []int
		err := s.ReadMessages(ctx, mb.ID, tc.first, tc.last, func(id int64, prefix, body []byte) error {
			i, ok := byID[id]
			if !ok {
				t.Errorf("unknown id %d", id)
				return nil
			}
			if m := append(bytes.Clone(prefix), body...); !bytes.Equal(m, msgs[i].Data) {
				t.Errorf("message %d: %d octets read, %d stored", i, len(m), len(msgs[i].Data))
			}
			got = append(got, i)
			return nil
		})
		if err != nil {
			t.Fatalf("ReadMessages(%d, %d): %v", tc.first, tc.last, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ReadMessages(%d, %d) = %v, want %v", tc.first, tc.last, got, tc.want)
		}
	}

	stop := errors.New("enough")
	n := 0
	err = s.ReadMessages(ctx, mb.ID, uids[0], uids[5], func(int64, []byte, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: got %v after %d calls, want %v after 1", err, n, stop)
	}

	// Delivered messages carry a per-recipient prefix in front of the
	// shared body; ReadMessages returns both as OpenMessage does.
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	if err := deliver(t, s, in, u, []byte("Subject: d\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	infos, err = s.Messages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := infos[len(infos)-1]
	want := readAll(t, s, last.ID)
	calls := 0
	err = s.ReadMessages(ctx, mb.ID, last.UID, last.UID, func(id int64, prefix, body []byte) error {
		calls++
		if len(prefix) == 0 || !bytes.Equal(append(bytes.Clone(prefix), body...), want) {
			t.Errorf("delivered message: prefix %q, body %q; OpenMessage reads %q", prefix, body, want)
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Errorf("delivered message: %d calls, err %v", calls, err)
	}
}
