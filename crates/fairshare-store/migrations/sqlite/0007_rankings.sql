-- Monthly reviews: partner status changes (the notices organisations see) and frozen
-- ranking snapshots with the rules they used.

ALTER TABLE organisations ADD COLUMN status_since TEXT;

CREATE TABLE status_changes (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations (id),
    month       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
) STRICT;

CREATE TABLE rankings (
    month         TEXT PRIMARY KEY,
    published_at  TEXT NOT NULL,
    published_by  TEXT NOT NULL,
    rules         TEXT NOT NULL,
    reason        TEXT NOT NULL
) STRICT;

CREATE TABLE ranking_entries (
    month          TEXT NOT NULL REFERENCES rankings (month),
    rank           INTEGER NOT NULL,
    org            TEXT NOT NULL,
    score          TEXT NOT NULL,
    members        INTEGER NOT NULL,
    previous_rank  INTEGER,
    breakdown      TEXT NOT NULL,
    PRIMARY KEY (month, rank)
) STRICT;
