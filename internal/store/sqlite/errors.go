package sqlite

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// dbError wraps err with what failed and classifies it for mailerr.
// Errors that already carry a class keep it.
func dbError(what string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("store: %s: %w", what, err)
	if mailerr.As(err) != nil {
		return wrapped
	}
	code := 0
	var se *sqlite.Error
	if errors.As(err, &se) {
		code = se.Code() & 0xff // the primary code of an extended one
	}
	switch {
	case code == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		return mailerr.Temporary(mailerr.DiskFull, "storage full", wrapped)
	case code == sqlite3.SQLITE_BUSY, code == sqlite3.SQLITE_LOCKED, code == sqlite3.SQLITE_IOERR,
		code == sqlite3.SQLITE_CANTOPEN, code == sqlite3.SQLITE_PROTOCOL, code == sqlite3.SQLITE_NOMEM,
		code == sqlite3.SQLITE_READONLY, code == sqlite3.SQLITE_INTERRUPT,
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return mailerr.Temporary(mailerr.Unavailable, "storage unavailable", wrapped)
	}
	return mailerr.Temporary(mailerr.Unknown, "storage error", wrapped)
}
