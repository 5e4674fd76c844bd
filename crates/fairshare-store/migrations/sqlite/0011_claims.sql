-- Claims of non-code work (events, talks, design, team leadership…) made by an
-- organisation for one of its people, with evidence. A team lead of the claim's team
-- (or a reviewer) verifies it — never the person who claimed it. An approved claim
-- becomes an activity (source `claim`), so it scores like any other.

CREATE TABLE claims (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations (id),
    person       TEXT NOT NULL,
    person_name  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    day          TEXT NOT NULL,
    team         TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    claimed_by   TEXT NOT NULL,
    claimed_at   TEXT NOT NULL,
    decided_by   TEXT,
    decided_at   TEXT,
    comment      TEXT
) STRICT;
CREATE INDEX claims_status ON claims (status, team);
