package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func TestDBError(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "m"} }
	tests := []struct {
		name      string
		err       error
		reason    mailerr.Reason
		permanent bool
	}{
		{"unique", pg("23505"), mailerr.Exists, true},
		{"disk full", pg("53100"), mailerr.DiskFull, false},
		{"serialization", pg("40001"), mailerr.Unavailable, false},
		{"deadlock", pg("40P01"), mailerr.Unavailable, false},
		{"read-only after failover", pg("25006"), mailerr.Unavailable, false},
		{"admin shutdown", pg("57P01"), mailerr.Unavailable, false},
		{"cannot connect now", pg("57P03"), mailerr.Unavailable, false},
		{"connection failure", pg("08006"), mailerr.Unavailable, false},
		{"too many connections", pg("53300"), mailerr.Unavailable, false},
		{"bad text", pg("22021"), mailerr.BadInput, true},
		{"syntax (a bug)", pg("42601"), mailerr.Unknown, false},
		{"eof", io.ErrUnexpectedEOF, mailerr.Unavailable, false},
		{"net", &net.OpError{Op: "dial", Err: errors.New("refused")}, mailerr.Unavailable, false},
		{"deadline", context.DeadlineExceeded, mailerr.Unavailable, false},
		{"tx closed", pgx.ErrTxClosed, mailerr.Unavailable, false},
		{"classified", mailerr.Permanent(mailerr.NoSuchUser, "x", nil), mailerr.NoSuchUser, true},
		{"wrapped", fmt.Errorf("message x: %w", pg("23505")), mailerr.Exists, true},
		{"unknown", errors.New("odd"), mailerr.Unknown, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := dbError("op", tc.err)
			if !mailerr.Is(err, tc.reason) || mailerr.IsPermanent(err) != tc.permanent {
				t.Errorf("dbError(%v) = %v (reason %v, permanent %v); want %v, permanent %v", tc.err, err,
					mailerr.ReasonOf(err), mailerr.IsPermanent(err), tc.reason, tc.permanent)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("dbError lost the cause %v", tc.err)
			}
		})
	}
	if dbError("op", nil) != nil {
		t.Error("dbError(nil) != nil")
	}
	if !retryable(fmt.Errorf("x: %w", pg("40P01"))) || retryable(pg("23505")) {
		t.Error("retryable misclassifies")
	}
}

func TestChannelFor(t *testing.T) {
	long := "s" + string(make([]byte, 100))
	for _, tc := range []struct{ schema, want string }{
		{"public", "posthorn_mailbox"},
		{"", "posthorn_mailbox"},
		{"t_1", "posthorn_mailbox.t_1"},
		{long, ("posthorn_mailbox." + long)[:63]},
	} {
		if got := channelFor(tc.schema); got != tc.want {
			t.Errorf("channelFor(%q) = %q, want %q", tc.schema, got, tc.want)
		}
	}
}

// TestOpenUnreachable: no server at the address is a temporary
// Unavailable (the SMTP side answers 4xx), and a bad DSN a permanent
// error that does not echo the password.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = Open(ctx, "postgres://u:secret@"+addr+"/db?connect_timeout=5", nil)
	if !mailerr.Is(err, mailerr.Unavailable) || mailerr.IsPermanent(err) {
		t.Errorf("Open(no server) = %v, want temporary Unavailable", err)
	}
	_, err = Open(ctx, "postgres://u:secret@127.0.0.1:notaport/db", nil)
	if err == nil || !mailerr.IsPermanent(err) {
		t.Errorf("Open(bad DSN) = %v, want a permanent error", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("error quotes the password: %v", err)
	}
}
