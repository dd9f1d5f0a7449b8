// Package sqlite is posthorn's embedded store: one SQLite database file,
// dataDir/posthorn.db, through modernc.org/sqlite (pure Go, no cgo).
//
// Durability is the product: the database runs in WAL mode with
// synchronous=FULL, so a commit returns only after its WAL frames are
// fsynced, and intake's group commit turns that into one fsync per batch.
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
//   - pop3_locks: maildrop locks with an owner and an expiry.
//
// Errors carry mailerr reasons: a full disk (SQLITE_FULL, ENOSPC) is a
// temporary DiskFull, busy/locked/I/O errors a temporary Unavailable. A
// failed transaction rolls back whole, so a full disk leaves nothing
// half-stored, and the next transaction works once space returns.
//
// Left out: quota enforcement at commit (delivery checks User.Used
// against Quota at RCPT time, so that one full mailbox cannot fail a
// message's other recipients); flag and mailbox changes (the IMAP issue);
// queue scheduling (the relay issue); change notification for IDLE.
package sqlite
