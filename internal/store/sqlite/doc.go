// Package sqlite is posthorn's embedded store: one SQLite database file,
// dataDir/posthorn.db, through modernc.org/sqlite (pure Go, no cgo).
//
// Durability is the product: the database runs in WAL mode with
// synchronous=FULL, so a commit returns only after its WAL frames are
// fsynced, and intake's group commit turns that into one fsync per batch
// (commit_batch.go: multi-row INSERTs, one UID reservation per mailbox).
// Checkpoints are off the commit path (commit_checkpoint.go): a
// goroutine with its own connection runs a PASSIVE checkpoint shortly
// after writes, and a blocking one only when the WAL passes 64 MiB.
//
// The directory version (commit_dirversion.go): a marker file,
// dataDir/posthorn.db-directory, grows by one octet after every write
// that may change users or aliases, in any process; the SMTP router
// caches RCPT lookups while its size and mtime stay the same.
//
// Connections: ONE writer connection through which every write is
// serialised (transactions begin IMMEDIATE, so a transaction never has to
// upgrade its lock and fail), and a pool of query-only connections. WAL
// lets readers run against the last committed snapshot, so POP3 and IMAP
// never block the committer nor it them. Another process (the admin
// commands) may open the same file while the server runs: SQLite's locks
// serialise the writers, busy_timeout makes them wait instead of failing.
//
// Layout (see migrations/*.sql; schema_version holds the applied
// version, and Migrate applies the missing numbered files at every open):
//   - users, aliases, mailboxes (uidvalidity, uidnext, highestmodseq);
//   - bodies + body_chunks: a body is stored once, in 64 KiB rows, and
//     counted by refs (one per messages row and per queue row); the last
//     reference deletes it. Reads stream chunk by chunk, so a large
//     message is never held in memory;
//   - messages: one row per mailbox copy with its own prefix
//     (Return-Path, Delivered-To); its bytes are prefix || body;
//   - queue: one row per remote recipient, for the relay;
//   - pop3_locks: maildrop locks with an owner and an expiry;
//   - IMAP (0003): subscriptions (subscribed names that are not
//     mailboxes), summaries (the IMAP engine's ENVELOPE/BODYSTRUCTURE blob
//     per message, kept out of messages so listings read narrow rows) and
//     counters (UIDVALIDITY only goes up, so a re-created mailbox never
//     gets an old value back; since 0005 also the highest deleted body
//     id, so a body id is never reused under a reader still streaming
//     the deleted body).
//
// IMAP (mailboxes.go, flags.go, append.go, copy.go, summary.go): every
// change to a mailbox raises its uidnext or highestmodseq in the same
// transaction, so (uidnext, highestmodseq) is the mailbox's version and
// an adapter can cache one snapshot per version. After each commit that
// changed mailboxes (CommitBatch, Expunge, SetFlags, ExpungeUIDs,
// AppendMessage, AppendBatch, CopyMessages, RenameMailbox of INBOX) the
// store publishes their IDs on its notify.Hub (Notifier), and
// DeleteMailbox closes the mailbox's subscriptions. APPEND and COPY hold
// the user's quota (a temporary OverQuota); a move does not count.
//
// Errors carry mailerr reasons: a full disk (SQLITE_FULL, ENOSPC) is a
// temporary DiskFull, busy/locked/I/O errors a temporary Unavailable. A
// failed transaction rolls back whole, so a full disk leaves nothing
// half-stored, and the next transaction works once space returns.
//
// Left out: quota enforcement at commit (delivery checks User.Used
// against Quota at RCPT time, so that one full mailbox cannot fail a
// message's other recipients). Other processes writing the same file
// (posthorn import, admin commands) do not publish on this process's
// Notifier; WatchOtherWriters polls for their commits and signals every
// subscribed mailbox.
package sqlite
