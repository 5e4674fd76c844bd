-- The programme's rules (thresholds, tolerance, scoring, eligibility, grace) as
-- managers change them in the console. Each change is a new row, never an update:
-- the newest row is in force, and fairshare.toml's rules apply until there is one.
-- Published rankings keep the rules they were made with, so a change here never
-- alters them.

CREATE TABLE programme_rules (
    id           BIGSERIAL PRIMARY KEY,
    rules        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
