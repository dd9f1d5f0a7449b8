// Package storetest is the conformance suite every posthorn store passes
// (SQLite and PostgreSQL): Run drives a fresh store through the contract
// of users, aliases, group commit, reading, expunging, quotas, maildrop
// locks, the relay queue and IMAP (mailboxes, flags, append, copy/move,
// summaries, change notification); Bench measures CommitBatch and
// BenchIMAP the IMAP methods on a 10,000-message mailbox.
//
// The suite sees a store only through the Store interface, so it checks
// behaviour, not schema; engine-specific checks (files, crash recovery,
// full disks) stay in each engine's own tests.
package storetest

import (
	"context"
	"io"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
)

// Store is the contract of a posthorn store.
type Store interface {
	intake.Committer

	AddUser(ctx context.Context, address string, cred auth.Credentials) (store.User, error)
	DeleteUser(ctx context.Context, address string, purge bool) error
	SetCredentials(ctx context.Context, address string, cred auth.Credentials) error
	SetQuota(ctx context.Context, address string, bytes int64) error
	UserByAddress(ctx context.Context, address string) (store.User, error)
	Users(ctx context.Context) ([]store.User, error)

	AddAlias(ctx context.Context, alias string, targets []string) error
	DeleteAlias(ctx context.Context, alias string) error
	Aliases(ctx context.Context) ([]store.Alias, error)
	AliasTargets(ctx context.Context, alias string) ([]string, error)

	MailboxByName(ctx context.Context, userID int64, name string) (store.Mailbox, error)
	Messages(ctx context.Context, mailboxID int64) ([]store.MessageInfo, error)
	OpenMessage(ctx context.Context, messageID int64) (io.ReadCloser, error)
	Expunge(ctx context.Context, mailboxID int64, messageIDs []int64) error

	LockMaildrop(ctx context.Context, userID int64, owner string, ttl time.Duration) error
	UnlockMaildrop(ctx context.Context, userID int64, owner string) error

	Backup(ctx context.Context, path string) error
	Ping(ctx context.Context) error
	Close() error
}

// BodyCounter is optional: a store that can count its stored bodies lets
// the suite check that expunged bodies are freed and shared ones are not.
type BodyCounter interface {
	BodyCount(ctx context.Context) (count, bytes int64, err error)
}
