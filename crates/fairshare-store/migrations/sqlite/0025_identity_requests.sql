-- A person asking, from /me, that an identity on another platform (discord:…,
-- matrix:…, gitlab:…) be counted as theirs. Such identities cannot be proven by an
-- emailed link, so a reviewer confirms each before anything is joined.

CREATE TABLE identity_requests (
    id          INTEGER PRIMARY KEY,
    -- The address the person signed in with (their proven identity).
    requester   TEXT NOT NULL,
    -- The identity asked for (`discord` and `80351110224678912`), as `identities` keeps it.
    identity_kind  TEXT NOT NULL,
    identity_value TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    raised_at   TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    comment     TEXT
) STRICT;
CREATE INDEX identity_requests_status ON identity_requests (status, id);
CREATE INDEX identity_requests_requester ON identity_requests (requester, id);
