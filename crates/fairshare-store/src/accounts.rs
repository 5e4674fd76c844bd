//! Accounts: users with roles, sessions and failed sign-ins. Passwords arrive here
//! already hashed (the web crate hashes with argon2id) and session tokens only as their
//! hash, so nothing stored lets anyone sign in.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// What a user may do; organisation admins and team leads act within a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Reviewer,
    TeamLead,
    OrgAdmin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::TeamLead => "team_lead",
            Role::OrgAdmin => "org_admin",
            Role::Member => "member",
        }
    }

    /// Roles that only make sense for one organisation or team.
    pub fn needs_scope(self) -> bool {
        matches!(self, Role::TeamLead | Role::OrgAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        Ok(match text.trim().replace('-', "_").as_str() {
            "admin" => Role::Admin,
            "reviewer" => Role::Reviewer,
            "team_lead" => Role::TeamLead,
            "org_admin" => Role::OrgAdmin,
            "member" => Role::Member,
            other => {
                return Err(format!(
                    "unknown role `{other}` (expected admin, reviewer, team_lead, org_admin or member)"
                ));
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub role: Role,
    /// The organisation's slug or the team's name; empty for global roles.
    pub scope: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub grants: Vec<Grant>,
    pub disabled: bool,
    /// The user proved the address by following an emailed link, or an administrator
    /// vouched for it (`users add --confirmed`, `users confirm`).
    pub verified: bool,
}

/// What an emailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Verify,
    Reset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Verify => "verify",
            TokenPurpose::Reset => "reset",
        }
    }
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Reviewers and admins see everything an organisation admin sees.
    pub fn can_review(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::Reviewer)
    }

    /// The organisations this user administers.
    pub fn organisations(&self) -> Vec<&str> {
        self.grants
            .iter()
            .filter(|g| g.role == Role::OrgAdmin)
            .map(|g| g.scope.as_str())
            .collect()
    }
}

/// A signed-in user with the session's anti-forgery token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub csrf: String,
}

impl Store {
    /// Adds a user with a password hash and roles; audited. An existing email is refused.
    pub async fn add_user(
        &self,
        email: &str,
        password_hash: &str,
        grants: &[Grant],
        actor: &str,
    ) -> Result<i64> {
        let email = email.trim().to_lowercase();
        if !email.contains('@') || email.len() < 3 {
            return Err(StoreError::Invalid(format!(
                "`{email}` is not an email address"
            )));
        }
        for grant in grants {
            if grant.role.needs_scope() && grant.scope.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "the role {} needs a scope (an organisation slug or a team name)",
                    grant.role
                )));
            }
            if grant.role == Role::OrgAdmin {
                self.org_id(&grant.scope).await?;
            }
        }
        let mut tx = Tx::begin(self.db()).await?;
        let exists: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(conn).await?
        });
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "a user with the email {email} exists"
            )));
        }
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as("INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(&email)
                .bind(password_hash)
                .bind(crate::now())
                .fetch_one(conn)
                .await?
        });
        for grant in grants {
            on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO user_roles (user_id, role, scope) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(grant.role.as_str())
                    .bind(&grant.scope)
                    .execute(conn)
                    .await?;
            });
        }
        tx.audit(
            actor,
            "users.add",
            &format!("user:{email}"),
            serde_json::json!({ "roles": grants }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks `email`'s address as confirmed, as its confirmation link would (an
    /// administrator vouching for it); audited. Confirming twice changes nothing.
    pub async fn confirm_email(&self, email: &str, actor: &str) -> Result<()> {
        let email = email.trim().to_lowercase();
        let mut tx = Tx::begin(self.db()).await?;
        let updated = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE email = $2")
                .bind(crate::now())
                .bind(&email)
                .execute(conn)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound(format!(
                "no user has the email {email}"
            )));
        }
        tx.audit(
            actor,
            "users.confirm_email",
            &format!("user:{email}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives `user` a role; audited. The first administrator of an organisation is
    /// whoever applies for it; later ones must be added by someone with the right.
    pub async fn grant(&self, user: i64, grant: &Grant, actor: &str) -> Result<()> {
        let mut tx = Tx::begin(self.db()).await?;
        on_tx!(&mut tx, conn => {
            sqlx::query("INSERT INTO user_roles (user_id, role, scope) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(user)
                .bind(grant.role.as_str())
                .bind(&grant.scope)
                .execute(conn)
                .await?;
        });
        tx.audit(
            actor,
            "users.grant",
            &format!("user:{user}"),
            serde_json::json!({ "role": grant.role, "scope": grant.scope }),
        )
        .await?;
        tx.commit().await
    }

    /// Users holding `role` for `scope`.
    pub async fn holders(&self, role: Role, scope: &str) -> Result<i64> {
        let (count,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT COUNT(*) FROM user_roles WHERE role = $1 AND scope = $2")
                .bind(role.as_str())
                .bind(scope)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            email: String,
            disabled_at: Option<OffsetDateTime>,
            email_verified_at: Option<OffsetDateTime>,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, email, disabled_at, email_verified_at FROM users ORDER BY email").fetch_all(pool).await?
        });
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            users.push(User {
                grants: self.grants(row.id).await?,
                id: row.id,
                email: row.email,
                disabled: row.disabled_at.is_some(),
                verified: row.email_verified_at.is_some(),
            });
        }
        Ok(users)
    }

    async fn grants(&self, user: i64) -> Result<Vec<Grant>> {
        let rows: Vec<(String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT role, scope FROM user_roles WHERE user_id = $1 ORDER BY role, scope")
                .bind(user)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(role, scope)| {
                Ok(Grant {
                    role: role.parse().map_err(StoreError::Corrupt)?,
                    scope,
                })
            })
            .collect()
    }

    /// The password hash and id of an active user, for signing in.
    pub async fn login_secret(&self, email: &str) -> Result<Option<(i64, String)>> {
        let row: Option<(i64, Option<String>)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1 AND disabled_at IS NULL")
                .bind(email.trim().to_lowercase())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(id, hash)| hash.map(|h| (id, h))))
    }

    /// Failed sign-ins for `email` in the last `window`.
    pub async fn recent_failed_logins(&self, email: &str, window: Duration) -> Result<i64> {
        let (count,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT COUNT(*) FROM failed_logins WHERE email = $1 AND at >= $2")
                .bind(email.trim().to_lowercase())
                .bind(crate::now() - window)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// Failed sign-ins from one client address in the last `window`, whatever
    /// addresses they tried.
    pub async fn recent_failures_from(&self, client: &str, window: Duration) -> Result<i64> {
        let (count,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT COUNT(*) FROM failed_logins WHERE client = $1 AND at >= $2")
                .bind(client)
                .bind(crate::now() - window)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// Records a failed sign-in for `email` from `client`, and forgets those older
    /// than a day (throttling looks back minutes: the table stays small).
    pub async fn record_failed_login(&self, email: &str, client: &str) -> Result<()> {
        let now = crate::now();
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM failed_logins WHERE at < $1")
                .bind(now - Duration::days(1))
                .execute(pool)
                .await?;
            sqlx::query("INSERT INTO failed_logins (email, at, client) VALUES ($1, $2, $3)")
                .bind(email.trim().to_lowercase())
                .bind(now)
                .bind(client)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Remembers a device (by the hash of its cookie's token) that `user` signed in
    /// from, or notes that it was used again.
    pub async fn remember_device(&self, user: i64, token_hash: &str) -> Result<()> {
        let now = crate::now();
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO known_devices (token_hash, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (token_hash) DO UPDATE SET last_used_at = $3 WHERE known_devices.user_id = $2",
            )
            .bind(token_hash)
            .bind(user)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether the device with this cookie token hash signed in as `user` before.
    pub async fn is_known_device(&self, user: i64, token_hash: &str) -> Result<bool> {
        let row: Option<(i64,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT user_id FROM known_devices WHERE token_hash = $1 AND user_id = $2")
                .bind(token_hash)
                .bind(user)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.is_some())
    }

    /// Emailed links of `purpose` issued to `email` in the last `window` (so that
    /// nobody floods an inbox through `/forgot`).
    pub async fn recent_tokens(
        &self,
        email: &str,
        purpose: TokenPurpose,
        lifetime: Duration,
        window: Duration,
    ) -> Result<i64> {
        // A token's expiry is its issue time plus its lifetime.
        let (count,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM account_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE u.email = $1 AND t.purpose = $2 AND t.expires_at >= $3",
            )
            .bind(email.trim().to_lowercase())
            .bind(purpose.as_str())
            .bind(crate::now() - window + lifetime)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Opens a session for `user`, known by the hash of its token.
    pub async fn open_session(
        &self,
        user: i64,
        token_hash: &str,
        csrf: &str,
        lifetime: Duration,
    ) -> Result<()> {
        let now = crate::now();
        on_pool!(self.db(), pool => {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token_hash)
                .bind(user)
                .bind(csrf)
                .bind(now)
                .bind(now + lifetime)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The user of an unexpired session of an active account.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<SessionUser>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            email: String,
            csrf: String,
            email_verified_at: Option<OffsetDateTime>,
        }
        let row: Option<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT u.id, u.email, s.csrf, u.email_verified_at FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
            )
            .bind(token_hash)
            .bind(crate::now())
            .fetch_optional(pool)
            .await?
        });
        let Some(Row {
            id,
            email,
            csrf,
            email_verified_at: verified,
        }) = row
        else {
            return Ok(None);
        };
        Ok(Some(SessionUser {
            user: User {
                grants: self.grants(id).await?,
                id,
                email,
                disabled: false,
                verified: verified.is_some(),
            },
            csrf,
        }))
    }

    /// Stores an emailed token (by its hash) for `email`'s user; None when there is no
    /// such active user (the caller answers the same either way).
    pub async fn issue_token(
        &self,
        email: &str,
        token_hash: &str,
        purpose: TokenPurpose,
        lifetime: Duration,
    ) -> Result<Option<i64>> {
        let Some((user, _)) = self.login_secret(email).await? else {
            return Ok(None);
        };
        on_pool!(self.db(), pool => {
            sqlx::query("INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(token_hash)
                .bind(user)
                .bind(purpose.as_str())
                .bind(crate::now() + lifetime)
                .execute(pool)
                .await?;
        });
        Ok(Some(user))
    }

    /// Uses a token once: proves the address (`Verify`) or sets a new password hash
    /// (`Reset`, which also ends every session of the user and lifts its sign-in
    /// throttle). Audited.
    pub async fn redeem_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        new_password_hash: Option<&str>,
    ) -> Result<i64> {
        let now = crate::now();
        let mut tx = Tx::begin(self.db()).await?;
        let row: Option<(i64, String)> = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
                 AND used_at IS NULL AND expires_at > $1 RETURNING user_id, (SELECT email FROM users WHERE id = user_id)",
            )
            .bind(now)
            .bind(token_hash)
            .bind(purpose.as_str())
            .fetch_optional(conn)
            .await?
        });
        let (user, email) = row.ok_or_else(|| {
            StoreError::Invalid("this link is not valid any more: ask for a new one".into())
        })?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
                .bind(now)
                .bind(user)
                .execute(&mut *conn)
                .await?;
            if let Some(hash) = new_password_hash {
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(user).execute(&mut *conn).await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user).execute(&mut *conn).await?;
                // The owner proved the address: lift the throttle others' guesses set.
                sqlx::query("DELETE FROM failed_logins WHERE email = $1").bind(&email).execute(&mut *conn).await?;
            }
        });
        let action = match purpose {
            TokenPurpose::Verify => "users.verify_email",
            TokenPurpose::Reset => "users.reset_password",
        };
        tx.audit(
            &email,
            action,
            &format!("user:{email}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The account signing in with GitHub user `github_id` whose verified primary email
    /// is `email`: the one linked to that GitHub user, else the one with that address
    /// (now linked, and its address proven by GitHub), else a new `member` account.
    /// Audited when an account is linked or created.
    pub async fn github_account(&self, github_id: &str, email: &str) -> Result<i64> {
        let email = email.trim().to_lowercase();
        let mut tx = Tx::begin(self.db()).await?;
        let linked: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM users WHERE github_id = $1 AND disabled_at IS NULL")
                .bind(github_id)
                .fetch_optional(conn)
                .await?
        });
        if let Some((id,)) = linked {
            tx.commit().await?;
            return Ok(id);
        }
        let by_email: Option<(i64, Option<String>)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id, github_id FROM users WHERE email = $1 AND disabled_at IS NULL")
                .bind(&email)
                .fetch_optional(conn)
                .await?
        });
        let (id, action) = match by_email {
            Some((_, Some(_))) => {
                return Err(StoreError::Conflict(format!(
                    "{email} is already linked to another GitHub account"
                )));
            }
            Some((id, None)) => {
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE users SET github_id = $1, email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $3")
                        .bind(github_id)
                        .bind(crate::now())
                        .bind(id)
                        .execute(conn)
                        .await?;
                });
                (id, "users.link_github")
            }
            None => {
                let (id,): (i64,) = on_tx!(&mut tx, conn => {
                    sqlx::query_as(
                        "INSERT INTO users (email, github_id, email_verified_at, created_at) VALUES ($1, $2, $3, $3) RETURNING id",
                    )
                    .bind(&email)
                    .bind(github_id)
                    .bind(crate::now())
                    .fetch_one(conn)
                    .await?
                });
                on_tx!(&mut tx, conn => {
                    sqlx::query("INSERT INTO user_roles (user_id, role, scope) VALUES ($1, 'member', '')")
                        .bind(id)
                        .execute(conn)
                        .await?;
                });
                (id, "users.add")
            }
        };
        tx.audit(
            &email,
            action,
            &format!("user:{email}"),
            serde_json::json!({ "github_id": github_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn close_session(&self, token_hash: &str) -> Result<()> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }
}

impl Store {
    /// The organisations `actor` (an email address) is tied to: those whose web
    /// administrator they are, whose email domain their address is on, that list them
    /// as confirmed staff, or that their contributor identity is affiliated with (an
    /// affiliation not yet ended). Nobody decides a request concerning one of these.
    pub async fn ties_of(&self, actor: &str) -> Result<Vec<String>> {
        let email = actor.trim().to_lowercase();
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.scope FROM user_roles r JOIN users u ON u.id = r.user_id \
                 WHERE lower(u.email) = $1 AND r.role = 'org_admin' \
                 UNION SELECT o.slug FROM org_domains d JOIN organisations o ON o.id = d.org_id WHERE d.domain = $2 \
                 UNION SELECT o.slug FROM application_staff s JOIN applications a ON a.id = s.application_id \
                 JOIN organisations o ON o.id = a.org_id WHERE s.identity = $3 AND s.status = 'confirmed' \
                 UNION SELECT o.slug FROM identities i JOIN affiliations f ON f.member_id = i.member_id \
                 JOIN organisations o ON o.id = f.org_id \
                 WHERE i.kind = 'email' AND i.value = $1 AND (f.valid_until IS NULL OR f.valid_until >= $4)",
            )
            .bind(&email)
            .bind(domain)
            .bind(format!("email:{email}"))
            .bind(crate::now().date())
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(slug,)| slug).collect())
    }

    /// The state `request` takes when `actor` gives `verdict`: the engine's one rule
    /// (`requests::decide`), asked with the organisations `actor` is tied to.
    pub(crate) async fn decide_as(
        &self,
        request: &fairshare_engine::requests::Request<'_>,
        actor: &str,
        verdict: fairshare_engine::Verdict,
    ) -> Result<fairshare_engine::RequestState> {
        let ties = self.ties_of(actor).await?;
        let decider = fairshare_engine::Decider {
            who: actor,
            ties: &ties,
        };
        Ok(fairshare_engine::requests::decide(
            request, &decider, verdict,
        )?)
    }
}
