package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
)

// testConcurrency commits from many goroutines (through intake, so group
// commit really batches) while others list and read.
func testConcurrency(f *fixture) {
	t := f.t
	a := f.addUser("busy@example.com")
	box := f.inbox(a)
	const writers, perWriter = 8, 25
	var done atomic.Bool
	var wg, readers sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				body := fmt.Appendf(nil, "Subject: %d-%d\r\n\r\n%s", w, i, bytes.Repeat([]byte("z"), 1000*i))
				m := f.msg(body, a)
				if err := f.in.Submit(f.ctx, m); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	for range 4 {
		readers.Go(func() {
			for !done.Load() {
				ms, err := f.s.Messages(f.ctx, box.ID)
				if err != nil {
					t.Errorf("reader: %v", err)
					return
				}
				for i := 1; i < len(ms); i++ {
					if ms[i].UID <= ms[i-1].UID {
						t.Errorf("UIDs out of order: %d after %d", ms[i].UID, ms[i-1].UID)
						return
					}
				}
				if len(ms) > 0 {
					last := ms[len(ms)-1]
					rc, err := f.s.OpenMessage(f.ctx, last.ID)
					if err != nil {
						t.Errorf("reader open: %v", err)
						return
					}
					var buf bytes.Buffer
					_, err = buf.ReadFrom(rc)
					rc.Close()
					if err != nil || int64(buf.Len()) != last.Size {
						t.Errorf("reader: %d bytes of %d, %v", buf.Len(), last.Size, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	readers.Wait()
	ms := f.messages(box)
	if len(ms) != writers*perWriter {
		t.Fatalf("%d messages, want %d", len(ms), writers*perWriter)
	}
	for i, m := range ms {
		if m.UID != uint32(i+1) {
			t.Fatalf("UID %d at position %d", m.UID, i)
		}
	}
}
