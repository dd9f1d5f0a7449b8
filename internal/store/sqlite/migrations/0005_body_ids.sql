-- Body ids are never reused. SQLite (and the batch commit) give a new row
-- max(id) + 1, so deleting the newest body would hand its id to the next
-- one, and a reader still streaming the deleted body chunk by chunk (no
-- read transaction stays open between chunks) could be served the new
-- body's chunks. The high-water mark of deleted ids is kept here, and
-- every insert takes its id above both (sqlBodyIDBase).
CREATE TRIGGER bodies_id_hwm AFTER DELETE ON bodies
BEGIN
	INSERT INTO counters (name, value) VALUES ('body_id', OLD.id)
		ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value);
END;
