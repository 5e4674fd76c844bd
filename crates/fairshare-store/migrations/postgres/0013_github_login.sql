-- Sign-in with GitHub: the account's GitHub user, by GitHub's numeric id (logins can
-- change hands; ids do not).

ALTER TABLE users ADD COLUMN github_id TEXT;
CREATE UNIQUE INDEX users_github ON users (github_id) WHERE github_id IS NOT NULL;
