-- Accounts: people who sign in, their roles (scoped to an organisation or a team where
-- the role is), their sessions (only a hash of the session token is kept) and failed
-- sign-ins (for throttling).

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
) STRICT;

CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'team_lead', 'org_admin', 'member')),
    scope    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, role, scope)
) STRICT;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE failed_logins (
    email  TEXT NOT NULL,
    at     TEXT NOT NULL
) STRICT;
CREATE INDEX failed_logins_email ON failed_logins (email, at);
