-- posthorn PostgreSQL schema, version 2: the IMAP tables of the SQLite
-- store's migration 0003, same names, columns and meanings.

-- Subscriptions to names that are not mailboxes (RFC 9051 §6.3.7 keeps
-- them when a mailbox is deleted; an existing mailbox keeps its own flag
-- in mailboxes.subscribed).
CREATE TABLE subscriptions (
	user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name    text   NOT NULL,
	PRIMARY KEY (user_id, name)
);

-- The IMAP engine's pre-computed ENVELOPE and BODYSTRUCTURE of a message,
-- opaque to the store; kept out of messages so that listing a mailbox
-- reads narrow rows.
CREATE TABLE summaries (
	message_id bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	blob       bytea  NOT NULL
);

-- Named counters; 'uidvalidity' only goes up, so a mailbox deleted and
-- made again never gets its old UIDVALIDITY back (RFC 9051 §2.3.1.1).
CREATE TABLE counters (
	name  text   PRIMARY KEY,
	value bigint NOT NULL
);

-- STORE rewrites a message row (flags, modseq), and neither column is
-- indexed: with room left in each page PostgreSQL updates in place (HOT)
-- rather than adding an entry to every index of messages.
ALTER TABLE messages SET (fillfactor = 85);
