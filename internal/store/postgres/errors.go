package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// SQLSTATE codes this package acts on (PostgreSQL Appendix A).
const (
	codeUniqueViolation   = "23505"
	codeForeignKey        = "23503"
	codeSerialization     = "40001"
	codeDeadlock          = "40P01"
	codeReadOnlyTx        = "25006" // a standby, or a primary just demoted
	codeDiskFull          = "53100"
	codeOutOfMemory       = "53200"
	codeTooManyConns      = "53300"
	codeQueryCanceled     = "57014"
	codeLockNotAvailable  = "55P03"
	classConnection       = "08"
	classDataException    = "22"
	classInsufficientRes  = "53"
	classOperatorInterven = "57" // shutdowns, cannot connect now
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classifyPg(pe, wrapped)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		pgconn.Timeout(err), pgconn.SafeToRetry(err), errors.Is(err, pgx.ErrTxClosed):
		return mailerr.Temporary(mailerr.Unavailable, "storage unavailable", wrapped)
	}
	return mailerr.Temporary(mailerr.Unknown, "storage error", wrapped)
}

func classifyPg(pe *pgconn.PgError, wrapped error) error {
	switch {
	case pe.Code == codeUniqueViolation:
		return mailerr.Permanent(mailerr.Exists, "already exists", wrapped)
	case pe.Code == codeDiskFull:
		return mailerr.Temporary(mailerr.DiskFull, "storage full", wrapped)
	case pe.Code == codeSerialization, pe.Code == codeDeadlock, pe.Code == codeReadOnlyTx,
		pe.Code == codeLockNotAvailable, pe.Code == codeQueryCanceled,
		pe.Code == codeOutOfMemory, pe.Code == codeTooManyConns,
		len(pe.Code) == 5 && (pe.Code[:2] == classConnection || pe.Code[:2] == classInsufficientRes ||
			pe.Code[:2] == classOperatorInterven):
		return mailerr.Temporary(mailerr.Unavailable, "storage unavailable", wrapped)
	case len(pe.Code) == 5 && pe.Code[:2] == classDataException:
		// Text PostgreSQL cannot hold (a NUL byte, invalid UTF-8) or a
		// number out of range: the input is at fault, retrying won't help.
		return mailerr.Permanent(mailerr.BadInput, "data not storable", wrapped)
	}
	return mailerr.Temporary(mailerr.Unknown, "storage error", wrapped)
}

// retryable reports whether a failed transaction was rolled back by the
// server for a reason that another attempt may not meet.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerialization || pe.Code == codeDeadlock)
}

// pgCode returns err's SQLSTATE, "" if it has none.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// notFound turns pgx.ErrNoRows into a permanent NoSuchUser error.
func notFound(err error, msg string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return mailerr.Permanent(mailerr.NoSuchUser, msg, nil)
	}
	return err
}
