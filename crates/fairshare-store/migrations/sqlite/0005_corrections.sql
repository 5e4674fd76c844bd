-- A manager's exclusion of an activity from scoring (trivial, automated or
-- duplicated), with the reason; removing one keeps it on record.

CREATE TABLE corrections (
    id              INTEGER PRIMARY KEY,
    activity_id     INTEGER NOT NULL REFERENCES activities (id),
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    removed_by      TEXT,
    removed_at      TEXT,
    removed_reason  TEXT
) STRICT;
CREATE UNIQUE INDEX corrections_active ON corrections (activity_id) WHERE removed_at IS NULL;
