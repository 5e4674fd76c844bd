-- Applications to become a Community Partner, with the evaluation attached when
-- submitted, the reviewer's decision, and the staff each of whom confirms.

ALTER TABLE organisations ADD COLUMN status TEXT NOT NULL DEFAULT 'none';

CREATE TABLE applications (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations (id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'deferred')),
    details       TEXT NOT NULL,
    evaluation    TEXT NOT NULL,
    eligible      TEXT NOT NULL,
    submitted_by  TEXT NOT NULL,
    submitted_at  TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TEXT,
    comment       TEXT
) STRICT;

CREATE TABLE application_staff (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications (id),
    identity        TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined')),
    decided_at      TEXT
) STRICT;
