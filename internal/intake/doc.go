// Package intake makes accepted messages durable: the step between an SMTP
// session's end of DATA (RFC 5321 §4.1.1.4) and its 250 reply. A message
// may only be acknowledged once it is on stable storage (RFC 5321 §6.1),
// and an fsync costs milliseconds, so intake commits in groups: one
// goroutine takes every message that is waiting and writes them all in
// ONE store transaction (one fsync), then wakes every submitter.
//
// The way of a message's bytes: the session writes DATA into a Spool
// (memory up to 256 KiB, then a 0600 temp file in the spool directory);
// the store reads the spool once while committing. Memory buffers come
// from a sync.Pool, so a busy server allocates little.
//
// Invariants:
//   - Submit returns nil only after the Committer reported the batch
//     durable.
//   - A failed batch is retried one message at a time, so one bad message
//     cannot fail the others; each submitter gets its own error, keeping
//     its mailerr class.
//   - A spool is never freed while the committer may still read it, even
//     if its submitter gave up (context cancelled) and closed it.
//
// Left out: deduplication of a message resubmitted after an uncertain
// outcome (the client retries, RFC 5321 §6.1 accepts a rare duplicate),
// and a size limit on spools (the session enforces SIZE, RFC 1870).
package intake
