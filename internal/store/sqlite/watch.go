package sqlite

import (
	"context"
	"time"
)

// WatchOtherWriters signals every subscribed mailbox on the Notifier when
// the database file changed under the server: another process (posthorn
// import, an admin command) committed. It polls PRAGMA data_version every
// interval on one reader connection it keeps, until ctx ends. Our own
// commits move data_version too, so the signals may be spurious; IMAP
// sessions then re-read their mailbox's version, one indexed row.
func (s *Store) WatchOtherWriters(ctx context.Context, every time.Duration) error {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return dbError("watch", err)
	}
	defer conn.Close()
	var last int64
	if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&last); err != nil {
		return dbError("watch", err)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var v int64
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("store watch", "err", err)
			continue
		}
		if v != last {
			last = v
			s.hub.PublishAll()
		}
	}
}
