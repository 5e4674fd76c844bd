-- What a contributor asks of the programme from /me: a dispute of the organisation
-- their work is credited to (reviewers settle it), and the record that a person was
-- forgotten (identities and names removed; anonymous counts kept).

CREATE TABLE attribution_disputes (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id),
    -- The organisation the work is credited to (NULL: credited to none).
    org_id      INTEGER REFERENCES organisations (id),
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    raised_by   TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    comment     TEXT
) STRICT;
CREATE INDEX attribution_disputes_status ON attribution_disputes (status, id);

ALTER TABLE members ADD COLUMN forgotten_at TEXT;

-- A person adding another email address to themselves on /me: the address proves it is
-- theirs by the emailed link (only the token's SHA-256 is kept).
CREATE TABLE identity_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    identity    TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) STRICT;
