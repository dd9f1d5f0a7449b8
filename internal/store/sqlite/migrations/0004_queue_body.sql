-- Deleting a body (its last queue entry delivered) makes SQLite look for
-- queue rows that still point at it (foreign keys are on); without this
-- index that is a scan of the whole queue per relayed message, and 10,000
-- deferred entries of a dead destination would slow every live one.
CREATE INDEX IF NOT EXISTS queue_body ON queue(body_id);
