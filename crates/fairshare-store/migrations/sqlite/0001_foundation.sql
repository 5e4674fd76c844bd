-- Foundation: import runs, audit log, Big Mac data, published thresholds, and the
-- manager's answers for countries missing from the data.
-- Dates are ISO text (YYYY-MM-DD), timestamps UTC RFC 3339 text, amounts decimal text.

CREATE TABLE import_runs (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    input_name  TEXT NOT NULL,
    digest      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX import_runs_digest ON import_runs (source, digest);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_log_subject ON audit_log (subject, id);

CREATE TABLE bigmac_releases (
    release_date  TEXT PRIMARY KEY,
    first_run_id  INTEGER NOT NULL REFERENCES import_runs (id)
) STRICT;

CREATE TABLE bigmac_prices (
    release_date   TEXT NOT NULL REFERENCES bigmac_releases (release_date),
    iso_a3         TEXT NOT NULL,
    name           TEXT NOT NULL,
    currency_code  TEXT NOT NULL,
    local_price    TEXT NOT NULL,
    dollar_ex      TEXT NOT NULL,
    run_id         INTEGER NOT NULL REFERENCES import_runs (id),
    PRIMARY KEY (release_date, iso_a3)
) STRICT;

CREATE TABLE threshold_publications (
    release_date  TEXT PRIMARY KEY REFERENCES bigmac_releases (release_date),
    published_at  TEXT NOT NULL,
    published_by  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    policy        TEXT NOT NULL
) STRICT;

CREATE TABLE published_thresholds (
    release_date           TEXT NOT NULL REFERENCES threshold_publications (release_date),
    iso_a3                 TEXT NOT NULL,
    name                   TEXT NOT NULL,
    currency_code          TEXT NOT NULL,
    local_price            TEXT NOT NULL,
    threshold_local        TEXT NOT NULL,
    threshold_local_exact  TEXT NOT NULL,
    threshold_usd          TEXT NOT NULL,
    threshold_eur          TEXT,
    basis                  TEXT NOT NULL,
    PRIMARY KEY (release_date, iso_a3)
) STRICT;

CREATE TABLE comparable_countries (
    id           INTEGER PRIMARY KEY,
    iso_a3       TEXT NOT NULL,
    like_iso_a3  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    removed_by   TEXT,
    removed_at   TEXT
) STRICT;
CREATE UNIQUE INDEX comparable_countries_active ON comparable_countries (iso_a3)
    WHERE removed_at IS NULL;

CREATE TABLE price_submissions (
    id             INTEGER PRIMARY KEY,
    iso_a3         TEXT NOT NULL,
    currency_code  TEXT NOT NULL,
    local_price    TEXT NOT NULL,
    dollar_ex      TEXT NOT NULL,
    evidence       TEXT NOT NULL,
    release_date   TEXT NOT NULL REFERENCES bigmac_releases (release_date),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    submitted_by   TEXT NOT NULL,
    submitted_at   TEXT NOT NULL,
    decided_by     TEXT,
    decided_at     TEXT,
    comment        TEXT
) STRICT;
