package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Checkpoints, off the commit path. SQLite's automatic checkpoint runs
// inside the COMMIT that crosses wal_autocheckpoint: it copies the WAL's
// pages into the database file and fsyncs it while every SMTP session of
// the group commit waits for its 250 (seconds, at 64 MiB of WAL). So the
// writer runs with wal_autocheckpoint=0 and this goroutine, with its own
// connection, runs PRAGMA wal_checkpoint(PASSIVE) a little after commits:
// a passive checkpoint takes no lock the writer needs, so commits go on
// while it copies, and a page written by many commits of the interval is
// copied once.
//
// A passive checkpoint never waits, so under constant load it may never
// catch up with the writer, and SQLite only starts the WAL over from its
// beginning after a checkpoint that did. When the WAL file has grown past
// walLimit, the checkpointer runs a TRUNCATE checkpoint instead: it waits
// for the writer to finish its transaction, holds the next one back while
// it copies what is left (little, after the passive ones) and empties
// the file.
const (
	// checkpointDelay gathers the commits of a burst into one checkpoint.
	checkpointDelay = 200 * time.Millisecond
	// walLimit is the WAL file size past which the checkpoint truncates.
	walLimit = 64 << 20
)

// checkpointer runs the background checkpoints of one Store.
type checkpointer struct {
	db    *sql.DB      // one connection of its own
	wal   string       // the WAL file
	limit atomic.Int64 // walLimit; tests lower it
	log   *slog.Logger
	wake  chan struct{} // capacity 1: there are commits to checkpoint
	stop  chan struct{}
	done  chan struct{}
}

// newCheckpointer starts the checkpointer over db (one connection).
func newCheckpointer(db *sql.DB, path string, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, wal: path + "-wal", log: log,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	c.limit.Store(walLimit)
	go c.run()
	return c
}

// committed tells the checkpointer that the WAL grew. It never blocks.
// A nil checkpointer does nothing.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close stops the goroutine and closes its connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.db.Close()
}

func (c *checkpointer) run() {
	defer close(c.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel() // ends a TRUNCATE checkpoint that waits for the writer
		case <-c.done:
		}
	}()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointDelay):
		}
		c.checkpoint(ctx)
	}
}

// checkpoint runs one checkpoint: PASSIVE, or TRUNCATE once the WAL file
// is over walLimit. Failures (a full disk) are logged: the WAL keeps the
// data, and the next checkpoint tries again.
func (c *checkpointer) checkpoint(ctx context.Context) {
	mode := "PASSIVE"
	if fi, err := os.Stat(c.wal); err == nil && fi.Size() > c.limit.Load() {
		mode = "TRUNCATE"
	}
	start := time.Now()
	var busy, frames, copied int64
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("store checkpoint failed", "mode", mode, "err", err)
		}
		return
	}
	c.log.Debug("store checkpoint", "mode", mode, "busy", busy, "wal_frames", frames,
		"copied_frames", copied, "duration", time.Since(start))
}
