-- Leases that serialise work across processes sharing this file (the monthly
-- review); PostgreSQL uses advisory locks instead.

CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
