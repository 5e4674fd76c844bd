-- Contribution ledger: organisations, members and their identities, dated
-- affiliations, and activities with the organisation they are credited to.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    country     TEXT,
    website     TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE org_domains (
    domain  TEXT PRIMARY KEY,
    org_id  INTEGER NOT NULL REFERENCES organisations (id)
) STRICT;

CREATE TABLE sponsor_accounts (
    platform  TEXT NOT NULL,
    account   TEXT NOT NULL,
    org_id    INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (platform, account)
) STRICT;

CREATE TABLE members (
    id            INTEGER PRIMARY KEY,
    display_name  TEXT NOT NULL,
    is_bot        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE identities (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    name       TEXT,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    UNIQUE (kind, value)
) STRICT;
CREATE INDEX identities_member ON identities (member_id);

-- Every merge or split, with what moved, so it can be undone.
CREATE TABLE member_changes (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('merge', 'split')),
    from_member_id  INTEGER NOT NULL,
    to_member_id    INTEGER NOT NULL,
    identity_ids    TEXT NOT NULL,
    reason          TEXT NOT NULL,
    undone_at       TEXT,
    undone_by       TEXT
) STRICT;

CREATE TABLE affiliations (
    id           INTEGER PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members (id),
    org_id       INTEGER NOT NULL REFERENCES organisations (id),
    valid_from   TEXT,
    valid_until  TEXT,
    source       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX affiliations_member ON affiliations (member_id);

CREATE TABLE activities (
    id               INTEGER PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    kind             TEXT NOT NULL,
    member_id        INTEGER NOT NULL REFERENCES members (id),
    identity_id      INTEGER NOT NULL REFERENCES identities (id),
    occurred_at      TEXT NOT NULL,
    team             TEXT,
    channel          TEXT,
    url              TEXT,
    title            TEXT,
    commit_sha       TEXT,
    files_changed    INTEGER,
    lines_added      INTEGER,
    lines_removed    INTEGER,
    explicit_org_id  INTEGER REFERENCES organisations (id),
    org_id           INTEGER REFERENCES organisations (id),
    attribution      TEXT NOT NULL,
    run_id           INTEGER NOT NULL REFERENCES import_runs (id),
    UNIQUE (source, external_id)
) STRICT;
CREATE INDEX activities_member_time ON activities (member_id, occurred_at);
CREATE INDEX activities_org_time ON activities (org_id, occurred_at);
CREATE INDEX activities_time ON activities (occurred_at);
CREATE INDEX activities_commit ON activities (commit_sha) WHERE commit_sha IS NOT NULL;

-- Where an incremental import got to (a git repository's imported tips, an API's
-- last page), per source and scope.
CREATE TABLE import_cursors (
    source      TEXT NOT NULL,
    scope       TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (source, scope)
) STRICT;
