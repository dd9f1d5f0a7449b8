package sqlite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
)

// TestCommitBatchRows commits batches larger than maxRows, with copies for
// several users and mailboxes, bodies in memory, in spool files and with a
// head: every copy must read back whole, with UIDs in batch order per
// mailbox, rising modseqs and the users' used bytes.
func TestCommitBatchRows(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	s := openTest(t, t.TempDir())
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	var users []store.User
	for _, a := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u, err := s.AddUser(t.Context(), a, testCred(t))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	boxes := []string{"INBOX", "Archive"}
	want := map[[2]int][][]byte{} // user, box → copies in commit order
	used := make([]int64, len(users))
	for batch := range 3 {
		n := []int{1, maxRows + 5, 2*maxRows + 7}[batch]
		var msgs []*intake.Message
		for i := range n {
			size := 10 + rng.IntN(2000)
			if rng.IntN(10) == 0 {
				size = 300<<10 + rng.IntN(70<<10) // spooled to a file, several chunks
			}
			body := fmt.Appendf(nil, "Subject: %d/%d\r\n\r\n", batch, i)
			body = append(body, bytes.Repeat([]byte{byte('a' + i%26)}, size)...)
			sp := in.NewSpool()
			sp.Write(body)
			defer sp.Close()
			m := &intake.Message{ID: intake.NewID(), Body: sp}
			if rng.IntN(5) == 0 {
				m.Head = []byte("X-Head: yes\r\n")
			}
			for u := range users {
				if rng.IntN(2) == 0 && !(u == 0 && len(m.Local) == 0) {
					continue
				}
				box := rng.IntN(len(boxes))
				prefix := []byte("Delivered-To: " + users[u].Address + "\r\n")
				m.Local = append(m.Local, intake.LocalRecipient{UserID: users[u].ID, Address: users[u].Address,
					Mailbox: boxes[box], Prefix: prefix})
				full := append(append(append([]byte{}, prefix...), m.Head...), body...)
				want[[2]int{u, box}] = append(want[[2]int{u, box}], full)
				used[u] += int64(len(full))
			}
			msgs = append(msgs, m)
		}
		if err := s.CommitBatch(t.Context(), msgs); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
	}
	for k, copies := range want {
		u := users[k[0]]
		mb, err := s.MailboxByName(t.Context(), u.ID, boxes[k[1]])
		if err != nil {
			t.Fatal(err)
		}
		ms, err := s.Messages(t.Context(), mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(copies) {
			t.Fatalf("%s %s: %d messages, want %d", u.Address, mb.Name, len(ms), len(copies))
		}
		for i, m := range ms {
			if m.UID != uint32(i+1) {
				t.Errorf("%s %s: message %d has UID %d", u.Address, mb.Name, i, m.UID)
			}
			if i > 0 && m.ModSeq <= ms[i-1].ModSeq {
				t.Errorf("%s %s: modseq %d after %d", u.Address, mb.Name, m.ModSeq, ms[i-1].ModSeq)
			}
			if got := readAll(t, s, m.ID); !bytes.Equal(got, copies[i]) || m.Size != int64(len(copies[i])) {
				t.Errorf("%s %s UID %d: %d bytes (size %d), want %d", u.Address, mb.Name, m.UID, len(got), m.Size, len(copies[i]))
			}
		}
		if st, err := s.MailboxStatus(t.Context(), mb.ID); err != nil || st.UIDNext != uint32(len(copies)+1) {
			t.Errorf("%s %s: status %+v, %v", u.Address, mb.Name, st, err)
		}
	}
	for i, u := range users {
		got, err := s.UserByAddress(t.Context(), u.Address)
		if err != nil || got.Used != used[i] {
			t.Errorf("%s: used %d, want %d (%v)", u.Address, got.Used, used[i], err)
		}
	}
}

func TestMultiRowSQL(t *testing.T) {
	m := newMultiRow("t", "a, b")
	if m.cols != 2 || m.sqls[0] != "INSERT INTO t (a, b) VALUES (?, ?)" ||
		m.sqls[1] != "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)" {
		t.Errorf("multiRow = %+v", m)
	}
	if n := bytes.Count([]byte(m.sqls[len(rowSizes)-1]), []byte("(?, ?)")); n != maxRows {
		t.Errorf("largest statement has %d tuples, want %d", n, maxRows)
	}
}
