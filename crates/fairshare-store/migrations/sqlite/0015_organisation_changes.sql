-- Changes an organisation asks for in the portal to what decides its money and its
-- credit — HQ country (its threshold), website, email domains (whose work is credited
-- to it) and sponsor accounts (whose payments count for it). A reviewer other than the
-- requester approves or rejects each; an approval applies the whole change at once.
-- The logo, shown on the partner page, is part of the public profile and needs none.

CREATE TABLE organisation_changes (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations (id),
    details       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by  TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TEXT,
    comment       TEXT
) STRICT;
CREATE INDEX organisation_changes_org ON organisation_changes (org_id, status);

ALTER TABLE organisations ADD COLUMN logo_url TEXT;
