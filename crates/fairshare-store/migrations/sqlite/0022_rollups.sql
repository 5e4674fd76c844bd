-- Rollups: counts of activities kept in the same transaction as the activities they
-- count (see `rollups.rs`), so scores, the review, reports, partner pages and the
-- portal read thousands of counts instead of millions of activities. Bots are left
-- out of every rollup (a member's bot flag never changes after it is created).
-- Nullable columns are keyed as 0 (no organisation) and '' (no channel, no team).
-- A count may be left at 0 after a retraction; readers and the check ignore zeros.

-- Per month, organisation, member, kind, channel and team: what scoring reads.
-- `corrected` counts those a manager's correction excludes from scoring.
CREATE TABLE rollup_months (
    month      TEXT NOT NULL,
    org_id     INTEGER NOT NULL,
    member_id  INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    team       TEXT NOT NULL,
    n          INTEGER NOT NULL,
    corrected  INTEGER NOT NULL,
    PRIMARY KEY (month, org_id, member_id, kind, channel, team)
) STRICT, WITHOUT ROWID;
CREATE INDEX rollup_months_org ON rollup_months (org_id, month);

-- Per day, kind, source and team: the report's totals and mixes.
CREATE TABLE rollup_days (
    day     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    source  TEXT NOT NULL,
    team    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (day, kind, source, team)
) STRICT, WITHOUT ROWID;

-- Per organisation and month, and per organisation and day: the report's top
-- organisations over any window (whole months, then the days at either end).
CREATE TABLE rollup_org_months (
    month   TEXT NOT NULL,
    org_id  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (month, org_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX rollup_org_months_top ON rollup_org_months (month, n DESC, org_id);
CREATE TABLE rollup_org_days (
    org_id  INTEGER NOT NULL,
    day     TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (org_id, day)
) STRICT, WITHOUT ROWID;

-- Per member and active day, with the member's previous active day ('0000-00-00'
-- for the first): distinct contributors over any window are counted from
-- `rollup_returns` without reading one row per person.
CREATE TABLE rollup_member_days (
    member_id  INTEGER NOT NULL,
    day        TEXT NOT NULL,
    prev_day   TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (member_id, day)
) STRICT, WITHOUT ROWID;
-- How many members were active on `day` after last being active on `prev_day`.
CREATE TABLE rollup_returns (
    day       TEXT NOT NULL,
    prev_day  TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (day, prev_day)
) STRICT, WITHOUT ROWID;
-- How many members were active on each day: with `rollup_returns`, a bucket's
-- distinct contributors are its days' people less those who had already come earlier
-- in the bucket, without reading every return.
CREATE TABLE rollup_day_people (
    day  TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- Per member and month: the report's top contributors.
CREATE TABLE rollup_member_months (
    month      TEXT NOT NULL,
    member_id  INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (member_id, month)
) STRICT, WITHOUT ROWID;
CREATE INDEX rollup_member_months_top ON rollup_member_months (month, n DESC, member_id);

-- Whether the rollups have been built from the activities stored before them:
-- the first open after this migration builds them (`rollups::ensure_built`).
CREATE TABLE rollup_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    built_at  TEXT
) STRICT;
INSERT INTO rollup_state (id, built_at) VALUES (1, NULL);

-- Bots are few: a partial index keeps "every bot" from reading every member.
CREATE INDEX members_bots ON members (id) WHERE is_bot;
-- Likewise the people who agreed to be named, for the recognition page.
CREATE INDEX members_listed ON members (id) WHERE listed;
