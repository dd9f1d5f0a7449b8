-- posthorn schema, version 1. Times are Unix seconds (milliseconds where
-- named *_ms); flags are space-separated IMAP flags. Kept to SQL that
-- PostgreSQL also accepts where that costs nothing.

CREATE TABLE users (
	id          INTEGER PRIMARY KEY,
	address     TEXT    NOT NULL,
	address_key TEXT    NOT NULL UNIQUE,
	hash        TEXT    NOT NULL,
	scram_salt  BLOB    NOT NULL,
	scram_iter  INTEGER NOT NULL,
	stored_key  BLOB    NOT NULL,
	server_key  BLOB    NOT NULL,
	quota       INTEGER NOT NULL DEFAULT 0,
	used        INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL
);

CREATE TABLE aliases (
	alias_key TEXT NOT NULL,
	alias     TEXT NOT NULL,
	target    TEXT NOT NULL,
	PRIMARY KEY (alias_key, target)
);

CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	special_use   TEXT    NOT NULL DEFAULT '',
	subscribed    INTEGER NOT NULL DEFAULT 1,
	UNIQUE (user_id, name)
);

-- One stored copy of a message body serves every recipient; refs counts
-- the messages and queue rows that point at it.
CREATE TABLE bodies (
	id     INTEGER PRIMARY KEY,
	msg_id TEXT    NOT NULL,
	size   INTEGER NOT NULL,
	refs   INTEGER NOT NULL
);

-- 64 KiB slices of a body, in order of seq from 0.
CREATE TABLE body_chunks (
	body_id INTEGER NOT NULL REFERENCES bodies(id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	data    BLOB    NOT NULL,
	PRIMARY KEY (body_id, seq)
);

CREATE TABLE messages (
	id            INTEGER PRIMARY KEY,
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	body_id       INTEGER NOT NULL REFERENCES bodies(id),
	prefix        BLOB    NOT NULL,
	size          INTEGER NOT NULL,
	flags         TEXT    NOT NULL DEFAULT '',
	internal_date INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_body ON messages(body_id);

-- One row per remote recipient, grouped by msg_id (the relay queue).
CREATE TABLE queue (
	id           INTEGER PRIMARY KEY,
	msg_id       TEXT    NOT NULL,
	body_id      INTEGER NOT NULL REFERENCES bodies(id),
	sender       TEXT    NOT NULL,
	rcpt         TEXT    NOT NULL,
	orcpt        TEXT    NOT NULL DEFAULT '',
	notify       TEXT    NOT NULL DEFAULT '',
	envid        TEXT    NOT NULL DEFAULT '',
	ret          TEXT    NOT NULL DEFAULT '',
	smtputf8     INTEGER NOT NULL DEFAULT 0,
	body_type    TEXT    NOT NULL DEFAULT '',
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT    NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	lease_owner  TEXT    NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_due ON queue(next_attempt);
CREATE INDEX queue_msg ON queue(msg_id);

CREATE TABLE pop3_locks (
	user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	owner      TEXT    NOT NULL,
	expires_ms INTEGER NOT NULL
);
