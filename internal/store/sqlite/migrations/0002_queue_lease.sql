-- Renewing and releasing a node's leases finds its rows without reading
-- the whole queue: only leased rows are in this index.
CREATE INDEX queue_lease ON queue(lease_owner) WHERE lease_owner <> '';
