-- Sign-in throttling per client address as well as per account, and the devices
-- (browsers) an account signed in from before, whose right password still works
-- while the account is throttled for everyone else.

ALTER TABLE failed_logins ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX failed_logins_client ON failed_logins (client, at);
CREATE INDEX failed_logins_at ON failed_logins (at);

CREATE TABLE known_devices (
    token_hash    TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX known_devices_user ON known_devices (user_id);
