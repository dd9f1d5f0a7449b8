-- IMAP (issue 6). Subscriptions to names that are not mailboxes (RFC 9051
-- §6.3.7 keeps them when a mailbox is deleted; an existing mailbox keeps
-- its own flag in mailboxes.subscribed).
CREATE TABLE subscriptions (
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name    TEXT    NOT NULL,
	PRIMARY KEY (user_id, name)
);

-- The IMAP engine's pre-computed ENVELOPE and BODYSTRUCTURE of a message,
-- opaque to the store; kept out of messages so that listing a mailbox
-- reads narrow rows.
CREATE TABLE summaries (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	blob       BLOB    NOT NULL
);

-- Named counters; 'uidvalidity' only goes up, so a mailbox deleted and
-- made again never gets its old UIDVALIDITY back (RFC 9051 §2.3.1.1).
CREATE TABLE counters (
	name  TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
);
