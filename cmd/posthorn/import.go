package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// Batches of imported messages: one transaction (one fsync) each.
const (
	importBatchMessages = 256
	importBatchBytes    = 16 << 20
)

// importStore is what posthorn import needs of the store.
type importStore interface {
	UserByAddress(ctx context.Context, address string) (store.User, error)
	MailboxByName(ctx context.Context, userID int64, name string) (store.Mailbox, error)
	CreateMailbox(ctx context.Context, userID int64, name, specialUse string) (store.Mailbox, error)
	AppendBatch(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]uint32, error)
}

// cmdImport is `posthorn import ADDRESS PATH`: a Maildir (with Dovecot's
// folders and flags) or an mbox file into the user's mailboxes.
func cmdImport(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("import")
	cfgPath := fs.String("config", "", "config file")
	into := fs.String("mailbox", "", "the mailbox an mbox goes into (default INBOX); a Maildir's folders keep their names")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "import", err)
	}
	if len(pos) != 2 {
		return exitCode(io.err, "import", usageError("usage: posthorn import ADDRESS PATH [--mailbox NAME] (PATH: a Maildir or an mbox file)"))
	}
	fi, err := os.Stat(pos[1])
	if err != nil {
		return exitCode(io.err, "import", err)
	}
	st, _, err := openStore(ctx, io, *cfgPath)
	if err != nil {
		return exitCode(io.err, "import", err)
	}
	defer st.Close()
	u, err := st.UserByAddress(ctx, pos[0])
	if err != nil {
		return exitCode(io.err, "import", err)
	}
	im := &importer{st: st, user: u, out: io.out, bar: newImportBar(io.err)}
	if fi.IsDir() {
		if *into != "" {
			return exitCode(io.err, "import", usageError("--mailbox is for an mbox; a Maildir's folders keep their names"))
		}
		err = im.maildir(ctx, pos[1])
	} else {
		name := *into
		if name == "" {
			name = "INBOX"
		}
		err = im.mbox(ctx, pos[1], fi.Size(), name)
	}
	im.bar.finish()
	fmt.Fprintf(io.out, "imported %d messages (%d skipped) into %d mailboxes of %s\n", im.imported, im.skipped,
		im.mailboxes, u.Address)
	return exitCode(io.err, "import", err)
}

// importer appends messages in batches and counts them.
type importer struct {
	st   importStore
	user store.User
	out  io.Writer
	bar  *importBar

	mb        store.Mailbox
	batch     []store.NewMessage
	size      int
	imported  int
	skipped   int
	mailboxes int
}

// open makes the mailbox current (creating it), after flushing.
func (im *importer) open(ctx context.Context, name string) error {
	if err := im.flush(ctx); err != nil {
		return err
	}
	mb, err := im.st.MailboxByName(ctx, im.user.ID, name)
	if mailerr.Is(err, mailerr.NoSuchUser) {
		mb, err = im.st.CreateMailbox(ctx, im.user.ID, name, "")
	}
	if err != nil {
		return fmt.Errorf("mailbox %s: %w", name, err)
	}
	im.mb = mb
	im.mailboxes++
	return nil
}

func (im *importer) add(ctx context.Context, m importMsg) error {
	if len(m.data) == 0 {
		im.skipped++
		return nil
	}
	if m.date.IsZero() {
		m.date = time.Now()
	}
	im.batch = append(im.batch, store.NewMessage{Data: m.data, Flags: m.flags, Date: m.date})
	im.size += len(m.data)
	if len(im.batch) >= importBatchMessages || im.size >= importBatchBytes {
		return im.flush(ctx)
	}
	return nil
}

func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	uids, err := im.st.AppendBatch(ctx, im.mb.ID, im.batch)
	if err != nil {
		return fmt.Errorf("mailbox %s: %w", im.mb.Name, err)
	}
	im.imported += len(uids)
	im.batch, im.size = im.batch[:0], 0
	return nil
}

// maildir imports every folder of a Maildir.
func (im *importer) maildir(ctx context.Context, root string) error {
	if !isMaildir(root) {
		return errors.New(root + " is not a Maildir (no cur/ or new/)")
	}
	folders, err := maildirFolders(root)
	if err != nil {
		return err
	}
	type work struct {
		f     folder
		files []string
	}
	var all []work
	var total int64
	for _, f := range folders {
		files, err := maildirFiles(f.dir)
		if err != nil {
			return err
		}
		all = append(all, work{f, files})
		total += int64(len(files))
	}
	im.bar.start(total, "messages")
	for _, w := range all {
		if err := im.open(ctx, w.f.name); err != nil {
			return err
		}
		kw := dovecotKeywords(w.f.dir)
		for _, path := range w.files {
			m, err := readMaildirMessage(path, kw)
			if errors.Is(err, os.ErrNotExist) {
				im.skipped++ // moved away meanwhile (a live Maildir)
				continue
			} else if err != nil {
				return err
			}
			if err := im.add(ctx, m); err != nil {
				return err
			}
			im.bar.add(1)
		}
	}
	return im.flush(ctx)
}

// mbox imports one mbox file into a mailbox.
func (im *importer) mbox(ctx context.Context, path string, size int64, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := im.open(ctx, name); err != nil {
		return err
	}
	im.bar.start(size, "bytes")
	cr := &countingReader{r: f, bar: im.bar}
	r := newMboxReader(cr)
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		if err := im.add(ctx, m); err != nil {
			return err
		}
	}
	return im.flush(ctx)
}

// countingReader moves the importBar bar by the bytes read.
type countingReader struct {
	r   io.Reader
	bar *importBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.add(int64(n))
	return n, err
}

// importBar draws a bar on a terminal (nothing elsewhere), at most ten
// times a second.
type importBar struct {
	w           io.Writer
	tty         bool
	total, done int64
	unit        string
	last        time.Time
	drawn       bool
}

func newImportBar(w io.Writer) *importBar { return &importBar{w: w, tty: isTerminal(w)} }

func (p *importBar) start(total int64, unit string) { p.total, p.done, p.unit = total, 0, unit }

func (p *importBar) add(n int64) {
	p.done += n
	if p.tty && time.Since(p.last) >= 100*time.Millisecond {
		p.draw()
	}
}

func (p *importBar) draw() {
	p.last = time.Now()
	pct := 100
	if p.total > 0 {
		pct = int(min(100, p.done*100/p.total))
	}
	const width = 30
	bar := strings.Repeat("#", pct*width/100) + strings.Repeat(".", width-pct*width/100)
	fmt.Fprintf(p.w, "\rimporting [%s] %3d%% %d/%d %s", bar, pct, p.done, p.total, p.unit)
	p.drawn = true
}

func (p *importBar) finish() {
	if p.tty && p.drawn {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
