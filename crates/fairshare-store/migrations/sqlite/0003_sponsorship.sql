-- Sponsorship ledger: reference exchange rates and payments.

CREATE TABLE exchange_rates (
    day       TEXT NOT NULL,
    currency  TEXT NOT NULL,
    per_eur   TEXT NOT NULL,
    PRIMARY KEY (currency, day)
) STRICT;

-- A payment belongs to an organisation through its sponsor account (platform +
-- account, see sponsor_accounts) or, for manual entries, directly (org_id).
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    source          TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    platform        TEXT,
    account         TEXT,
    org_id          INTEGER REFERENCES organisations (id),
    paid_on         TEXT NOT NULL,
    amount          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    coverage        TEXT NOT NULL CHECK (coverage IN ('month', 'year')),
    description     TEXT,
    reference       TEXT,
    run_id          INTEGER REFERENCES import_runs (id),
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    removed_at      TEXT,
    removed_by      TEXT,
    removed_reason  TEXT,
    UNIQUE (source, external_id)
) STRICT;
CREATE INDEX payments_account ON payments (platform, account, paid_on);
CREATE INDEX payments_org ON payments (org_id, paid_on);
