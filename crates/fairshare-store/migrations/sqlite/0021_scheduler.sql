-- The programme's machine: sources defined once (from fairshare.toml or the console),
-- every run of a job with its outcome, leases so each job runs on one instance at a
-- time, review drafts awaiting approval, and the mail queue with opt-outs.

CREATE TABLE sources (
    name               TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,
    -- The definition's keys as JSON (what `SourceDefinition::from_keys` reads).
    definition         TEXT NOT NULL,
    origin             TEXT NOT NULL CHECK (origin IN ('config', 'console')),
    paused             INTEGER NOT NULL DEFAULT 0,
    sync_requested_at  TEXT,
    updated_at         TEXT NOT NULL
) STRICT;

CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY,
    -- `source:NAME`, `review`, `thresholds`, `mail`, `digest`, `notices`.
    job          TEXT NOT NULL,
    trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'webhook')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'failed')),
    summary      TEXT NOT NULL DEFAULT '',
    error        TEXT,
    instance     TEXT NOT NULL
) STRICT;
CREATE INDEX job_runs_by_job ON job_runs (job, id);

CREATE TABLE job_leases (
    job         TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE TABLE review_drafts (
    month        TEXT PRIMARY KEY,
    prepared_at  TEXT NOT NULL,
    -- The preview: ranking and status changes with reasons, as JSON.
    preview      TEXT NOT NULL,
    published_at TEXT
) STRICT;

CREATE TABLE mail_queue (
    id                 INTEGER PRIMARY KEY,
    -- What the mail is about and for whom: queuing it twice keeps one.
    dedupe_key         TEXT NOT NULL UNIQUE,
    recipient          TEXT NOT NULL,
    category           TEXT NOT NULL,
    subject            TEXT NOT NULL,
    body               TEXT NOT NULL,
    -- The page where the reader acts.
    link               TEXT NOT NULL,
    unsubscribe_token  TEXT NOT NULL UNIQUE,
    created_at         TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'dropped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    sent_at            TEXT,
    last_error         TEXT
) STRICT;
CREATE INDEX mail_queue_waiting ON mail_queue (state, next_attempt_at);

CREATE TABLE mail_opt_outs (
    email     TEXT NOT NULL,
    category  TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (email, category)
) STRICT;

-- Audit entries whose mails were queued (notices are derived from the audit log, which
-- every state change writes in its own transaction: nothing is missed or doubled).
CREATE TABLE audit_notified (
    audit_id  INTEGER PRIMARY KEY
) STRICT;
