-- Sponsorship events received by webhook (created, tier changed, cancelled, pending
-- changes), stored once per delivery, as received.

CREATE TABLE sponsorship_events (
    id            INTEGER PRIMARY KEY,
    platform      TEXT NOT NULL,
    delivery_id   TEXT NOT NULL,
    action        TEXT NOT NULL,
    account       TEXT,
    tier_amount   TEXT,
    currency      TEXT,
    is_yearly     TEXT,
    received_at   TEXT NOT NULL,
    payload       TEXT NOT NULL,
    UNIQUE (platform, delivery_id)
) STRICT;
