// Package postgres is posthorn's shared store for several nodes: every
// piece of shared state (users, aliases, mailboxes, message bodies, the
// relay queue, POP3 maildrop locks) lives in one PostgreSQL database,
// reached through pgx's connection pool (github.com/jackc/pgx/v5, pure
// Go). It has the methods and the semantics of store/sqlite and passes the
// same conformance suite (store/storetest); the protocol engines cannot
// tell the two apart.
//
// Layout: the tables and columns of store/sqlite (see migrations/*.sql),
// so that a SQLite installation can be copied over row by row.
// schema_version holds the applied version; Migrate applies the missing
// numbered files in one transaction under a transaction-scoped advisory
// lock, so nodes that start at once migrate exactly once and a node never
// sees half a schema. A database newer than the binary is refused.
//
// Invariants:
//   - UIDs (RFC 9051 §2.3.1.1) and MODSEQs (RFC 7162) come from the
//     mailbox row, raised under its row lock in the transaction that
//     inserts the messages. Commits to one mailbox therefore serialise, and
//     a later UID can only become visible after every earlier one: a client
//     that has seen UID 11 never later finds UID 10.
//   - Group commit: CommitBatch writes a whole batch in one transaction
//     with a handful of round trips whatever its size (locks and ids in
//     one pipelined batch, the rows in another, large bodies streamed with
//     COPY), and returns nil only after COMMIT. Durability is then the
//     server's: synchronous_commit=on (and a synchronous standby for
//     failover) make a commit survive a crash; Open warns when fsync or
//     synchronous_commit are off.
//   - Bodies are stored once in 64 KiB bytea rows and streamed in and out:
//     a 25 MB message is never held whole in a node's memory (APPEND
//     streams it in with COPY), a reader holds no connection between two
//     chunks, so slow POP3 clients cannot exhaust the pool, and a partial
//     FETCH (OpenMessageUID) reads only the chunks it covers.
//   - Row locks are taken in one order by every transaction: queue rows,
//     mailboxes, users, bodies, each kind by ascending id (mailbox
//     creation and renaming take the UIDVALIDITY counter row as well), so
//     transactions of different nodes do not deadlock. One that still meets a deadlock
//     or a serialization failure, or whose BEGIN meets a connection that
//     died idle, is run again whole (it was rolled back, so retrying cannot
//     store anything twice). idle_in_transaction_session_timeout (60s
//     unless the DSN sets it) frees the locks of a node that hangs.
//   - The relay queue is claimed with FOR UPDATE SKIP LOCKED and a lease
//     that expires, so a dead node's work is taken over, and two nodes
//     never hold one entry.
//   - POP3 maildrop locks expire on the database's clock, so every node
//     agrees on them whatever its own clock says.
//   - IMAP (RFC 9051, RFC 7162 CONDSTORE, RFC 6851 MOVE, RFC 4315
//     UIDPLUS, RFC 6154): every change to a mailbox (delivery, APPEND,
//     COPY/MOVE, STORE, EXPUNGE, RENAME of INBOX) takes the mailbox's row
//     lock first and raises its uidnext or highestmodseq in the same
//     transaction, so (uidnext, highestmodseq) is the mailbox's version,
//     flag changes on several nodes serialise, and MODSEQs never go down.
//     UIDVALIDITY comes from a counter row that only goes up, so a
//     mailbox made again never gets an old one back. APPEND and COPY hold
//     the user's quota (a move does not count), checked under the user's
//     row lock.
//   - Change notification: a transaction that changes a mailbox queues
//     NOTIFY posthorn_mailbox with the mailbox id as payload ("-id" when
//     it deletes it); PostgreSQL delivers it only if and after the
//     transaction commits. The node that committed publishes on its own
//     Notifier (the notify.Hub its IMAP sessions wait on) as the call
//     returns; WatchOtherWriters LISTENs on a connection of its own and
//     publishes the other nodes' changes, skipping its own (told apart by
//     the sending backend's pid), and after every (re)connection signals
//     every subscribed mailbox, since notifications sent while it was
//     down are lost. Listen is the same feed as raw callbacks. Engines
//     without LISTEN get a polling fallback. LISTEN needs a session: a
//     pooler in transaction mode between nodes and database breaks it.
//
// Errors carry mailerr reasons: lost connections, failovers (read-only
// transactions), shutdowns, serialization failures and deadlocks are a
// temporary Unavailable, a full disk a temporary DiskFull, a unique
// violation a permanent Exists. A COMMIT that fails on a lost connection
// has an unknown outcome: it is reported as temporary, so the client
// retries, which may store the message twice, never zero times.
//
// Left out for now: Backup (use pg_dump or a base backup) and global
// rate-limit counters (login throttles and sending limits count per node). The polling fallback signals every subscribed
// mailbox each interval rather than only the changed ones.
package postgres
