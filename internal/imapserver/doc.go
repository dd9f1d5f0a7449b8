// Package imapserver is posthorn's IMAP engine: the session state machine,
// command parsing and responses, and the listener loop. It owns the
// Backend, User and Mailbox interfaces the store implements; it imports no
// storage code. The wire format lives in imapwire; memback is the
// in-memory reference backend the tests run against.
//
// Implemented:
//
//   - RFC 9051 (IMAP4rev2) with RFC 3501 (IMAP4rev1) compatibility: a
//     client is served as rev1 (modified UTF-7 names, RECENT 0, UNSEEN in
//     SELECT, SEARCH responses) until it sends ENABLE IMAP4rev2.
//
//   - STARTTLS and implicit TLS; LOGIN and AUTHENTICATE PLAIN (RFC 4616)
//     with SASL-IR (RFC 4959), refused before TLS unless
//     Config.AllowPlaintextAuth (LOGINDISABLED, [PRIVACYREQUIRED]).
//
//   - LIST with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
//     SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348);
//     LSUB, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (with
//     SIZE, RFC 8438), NAMESPACE (RFC 2342); hierarchy separator "/".
//
//   - SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3691), EXPUNGE, UID EXPUNGE
//     and APPENDUID/COPYUID (UIDPLUS, RFC 4315), COPY, MOVE (RFC 6851),
//     STORE, FETCH with BODY[section]<partial>, BODY.PEEK, ENVELOPE,
//     BODYSTRUCTURE, BINARY and BINARY.SIZE (RFC 3516), SEARCH with every
//     key of RFC 9051 and CHARSET, ESEARCH (RFC 4731), APPEND with
//     synchronizing, LITERAL+ (RFC 7888) and binary literals.
//
//   - IDLE (RFC 2177), ENABLE (RFC 5161), ID (RFC 2971), CONDSTORE
//     (RFC 7162: MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, HIGHESTMODSEQ,
//     SEARCH MODSEQ), QUOTA (RFC 9208: GETQUOTA, GETQUOTAROOT, one root
//     per user) when the user implements QuotaUser.
//
// Backend errors map to the response codes of RFC 5530 through
// internal/mailerr:
//
//	AuthFailed, NoSuchUser at login       -> NO [AUTHENTICATIONFAILED]
//	temporary Policy at login (throttle)  -> NO [UNAVAILABLE]
//	NoSuchUser (mailbox)                  -> NO [NONEXISTENT] ([TRYCREATE] for APPEND, COPY, MOVE)
//	Exists                                -> NO [ALREADYEXISTS]
//	OverQuota                             -> NO [OVERQUOTA]
//	InUse                                 -> NO [INUSE]
//	TooBig                                -> NO [TOOBIG]
//	BadInput, NotLocal, permanent Policy  -> NO [CANNOT]
//	Unavailable, DiskFull, other temporary -> NO [UNAVAILABLE]
//	other permanent                       -> NO [SERVERBUG]
//
// Deliberately left out: QRESYNC (RFC 7162 §3.2) and VANISHED, SEARCHRES
// ("$" is parsed and refused), MULTIAPPEND, CATENATE, UTF8=ACCEPT
// (RFC 6855), NOTIFY, METADATA, SORT and THREAD, SASL mechanisms other than
// PLAIN, \Recent (always 0, as IMAP4rev2 dropped it), LIST-EXTENDED's
// CHILDINFO for RECURSIVEMATCH, SETQUOTA.
//
// Invariants:
//   - Every read is bounded: a line by Config.MaxLine, a literal by
//     Config.MaxLiteral (a synchronizing one over it gets NO [TOOBIG]
//     before the client sends it; a non-synchronizing one ends the
//     session), search programs by size and nesting, sequence sets,
//     flag lists and fetch items by count, each wait by a timeout.
//   - The client's view of a selected mailbox is a *Snapshot shared with
//     every other session on that mailbox version. A session holds one
//     pointer, plus a transient map of flag changes it reported itself;
//     never a copy of the message list.
//   - Change signals from the backend carry no data: on each one, and
//     after every command, the session compares its view with a fresh
//     Snapshot and reports EXPUNGE (highest number first), EXISTS and
//     FETCH FLAGS. After FETCH, STORE, SEARCH and COPY by sequence number
//     it reports nothing while expunges are pending (RFC 9051 §7.5.1), so
//     the client's numbers never shift under it.
//   - UIDs are taken from the backend only; the engine never invents one,
//     so they never go back.
//   - ENVELOPE and BODYSTRUCTURE come from a summary blob the backend
//     stores (Mailbox.Summaries/SetSummary); a message is parsed at most
//     once for them, and message bodies are streamed through the backend's
//     io.ReaderAt, never held whole.
//   - Responses are flushed only when no further command is waiting in
//     the input buffer (pipelining), and always before blocking on a read.
//   - A recovered panic ends only its session.
package imapserver
