-- Kept for symmetry with SQLite, which leases rows here; PostgreSQL serialises work
-- with advisory locks and leaves this table empty.

CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
