package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/posthorn/posthorn/internal/intake"
)

// Bench measures CommitBatch for 1 KB and 100 KB messages in batches of 1
// and 32, each message to one local user. open returns a fresh store.
func Bench(b *testing.B, open func(b *testing.B) Store) {
	for _, size := range []int{1 << 10, 100 << 10} {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("size=%dKB/batch=%d", size>>10, batch), func(b *testing.B) {
				s := open(b)
				u, err := s.AddUser(b.Context(), "bench@example.com", testCred(b))
				if err != nil {
					b.Fatal(err)
				}
				in := intake.New(s, b.TempDir(), nil, nil)
				defer in.Close()
				body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\r\n"), size/33+1)[:size]
				msgs := make([]*intake.Message, batch)
				for i := range msgs {
					sp := in.NewSpool()
					sp.Write(body)
					defer sp.Close()
					msgs[i] = &intake.Message{ID: intake.NewID(), Body: sp, Local: []intake.LocalRecipient{{
						UserID: u.ID, Address: u.Address, Mailbox: "INBOX", Prefix: prefix("", u.Address)}}}
				}
				b.SetBytes(int64(size * batch))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := s.CommitBatch(b.Context(), msgs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
