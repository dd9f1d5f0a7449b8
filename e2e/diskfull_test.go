package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// mountTmpfs mounts a small tmpfs for the test, or skips when this machine
// does not allow it (not root, no CAP_SYS_ADMIN, a container without
// mount rights).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk-full test needs `mount -t tmpfs` (root with mount rights), which failed here: %v: %s", err, out)
	}
	// Registered before the server's cleanup, so it runs after the server
	// is gone.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s (lazy unmount instead)", dir, err, out)
			_ = exec.CommandContext(ctx, "umount", "-l", dir).Run()
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fill writes a file of n bytes (tmpfs allocates what is written).
func fill(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			break // the disk is full already: good enough
		}
		n -= k
	}
	if err := f.Close(); err != nil {
		t.Logf("close filler: %v", err)
	}
}

// TestDiskFull: on a full disk the server answers 451/452 (never 250 for a
// message it then lacks, never a half-stored message) and, once space is
// freed, accepts again without a restart.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, "8m")
	s := StartServer(t, Options{DataDir: filepath.Join(mnt, "data")})
	const user = "full@example.test"
	s.AddUser(user, "pw")
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, taggedMessage("before", 2000))

	filler := filepath.Join(mnt, "filler")
	free := freeBytes(t, mnt)
	fill(t, filler, free-(1536<<10))
	t.Logf("tmpfs: %d bytes free before the filler, %d after", free, freeBytes(t, mnt))

	const msgSize = 200 << 10
	sizeOf := func(string) int { return msgSize }
	acked := map[string]bool{"before": true}
	refused := map[string]string{}
	var full bool
	for i := 0; i < 60 && !full; i++ {
		tag := fmt.Sprintf("fill-%d", i)
		res := SendMail(t.Context(), s.SMTP, "sender@remote.test", []string{user}, taggedMessage(tag, msgSize))
		switch {
		case res.Accepted():
			acked[tag] = true
		case res.Err != nil:
			t.Fatalf("message %s: the connection failed instead of a 451/452: %v; log:\n%s", tag, res, s.LogTail(4000))
		case res.Reply.Code == 451 || res.Reply.Code == 452:
			refused[tag] = res.String()
			full = true
			t.Logf("disk full after %d messages: %v", len(acked)-1, res)
		default:
			t.Fatalf("message %s on a filling disk: want 250, 451 or 452, got %v", tag, res)
		}
	}
	if !full {
		t.Fatalf("60 messages of %d octets accepted on an 8 MiB tmpfs with ~1.5 MiB free: no 451/452 ever", msgSize)
	}
	// One more while still full: still a temporary refusal, not a crash.
	res := SendMail(t.Context(), s.SMTP, "sender@remote.test", []string{user}, taggedMessage("still-full", msgSize))
	if res.Accepted() {
		acked["still-full"] = true
	} else if res.Err != nil || (res.Reply.Code != 451 && res.Reply.Code != 452) {
		t.Errorf("second message on a full disk: want 451/452, got %v", res)
	} else {
		refused["still-full"] = res.String()
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	t.Logf("filler removed: %d bytes free", freeBytes(t, mnt))
	var ok bool
	for i := range 3 {
		tag := fmt.Sprintf("after-%d", i)
		res := SendMail(t.Context(), s.SMTP, "sender@remote.test", []string{user}, taggedMessage(tag, msgSize))
		if res.Accepted() {
			acked[tag] = true
			ok = true
			if i > 0 {
				t.Logf("accepted again only at attempt %d", i+1)
			}
			break
		}
		if res.Err == nil {
			refused[tag] = res.String()
		}
		t.Logf("after freeing space, attempt %d: %v", i+1, res)
	}
	if !ok {
		t.Fatalf("after freeing space the server still refuses mail (3 attempts, no restart); log:\n%s", s.LogTail(4000))
	}

	msgs := mustFetch(t, s.POP3, user, "pw", false)
	got := tally(t, msgs, func(tag string) int {
		if tag == "before" {
			return 2000
		}
		return sizeOf(tag)
	})
	for tag := range acked {
		if got[tag] != 1 {
			t.Errorf("message %s got 250 but is stored %d times", tag, got[tag])
		}
	}
	for tag, why := range refused {
		if got[tag] != 0 {
			t.Errorf("message %s was refused (%s) but is stored %d times", tag, why, got[tag])
		}
	}
	if len(msgs) != len(acked) {
		t.Errorf("%d messages stored, %d acknowledged", len(msgs), len(acked))
	}
}
