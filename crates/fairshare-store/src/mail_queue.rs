//! The mail queue: messages to send, kept in the database so a crash loses none.
//! Each message has a dedupe key (what it is about and for whom), so queuing it again
//! keeps one; a sender claims messages for a while, marks each sent as soon as it is
//! handed over, and retries failures with backoff. People's opt-outs by category are
//! kept here too, and each message carries the token of its one-click unsubscribe.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::{Result, Store, on_pool};

/// Kinds of mail a person may turn off. Invitations and sign-in mail are not here:
/// they answer the reader's own request.
pub const CATEGORIES: [(&str, &str); 5] = [
    ("applications", "Applications: received and decided"),
    (
        "status",
        "Partner status and requests: status changes, claim and detail decisions",
    ),
    ("ranking", "The monthly ranking"),
    (
        "digest",
        "Reviewers and team leads: the daily digest of what waits",
    ),
    (
        "operations",
        "Administrators: failing sources and reviews that could not run",
    ),
];

/// How a category of mail reads in a sentence ("mail about …").
pub fn category_words(category: &str) -> &str {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, words)| *words)
        .unwrap_or(category)
}

/// Mail that is always sent (an invitation someone asked to send).
pub const ALWAYS: &str = "invitation";

/// How long a sender holds the messages it claimed before another may retry them.
const CLAIM: Duration = Duration::minutes(10);
/// Attempts before a message is given up (and shown as failed in the console).
pub const MAX_ATTEMPTS: i64 = 8;

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub dedupe_key: String,
    pub recipient: String,
    pub category: String,
    pub subject: String,
    pub body: String,
    /// The page where the reader acts (absolute, or a path the sender completes).
    pub link: String,
    /// A random token (from the web's `random_token`) for its one-click unsubscribe.
    pub unsubscribe_token: String,
}

/// A queued message, as the sender and the console see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueuedMail {
    pub id: i64,
    pub recipient: String,
    pub category: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    #[serde(skip)]
    pub unsubscribe_token: String,
    pub state: String,
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

const MAIL_COLUMNS: &str = "id, recipient, category, subject, body, link, unsubscribe_token, \
     state, attempts, created_at, sent_at, last_error";

impl Store {
    /// Queues `mail` unless the same key was queued before or the recipient turned its
    /// category off. True when it was queued.
    pub async fn queue_mail(&self, mail: &Mail) -> Result<bool> {
        let now = self.clock().now();
        let queued = on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO mail_queue (dedupe_key, recipient, category, subject, body, link, \
                 unsubscribe_token, created_at, state, next_attempt_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'queued', $8 \
                 WHERE NOT EXISTS (SELECT 1 FROM mail_opt_outs WHERE email = $2 AND category = $3) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(&mail.dedupe_key)
            .bind(mail.recipient.trim().to_lowercase())
            .bind(&mail.category)
            .bind(&mail.subject)
            .bind(&mail.body)
            .bind(&mail.link)
            .bind(&mail.unsubscribe_token)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(queued == 1)
    }

    /// Claims up to `limit` messages due now: queued ones, failed ones whose retry time
    /// came, and ones a crashed sender claimed and never finished.
    pub async fn claim_mail(&self, limit: i64) -> Result<Vec<QueuedMail>> {
        let now = self.clock().now();
        let mut tx = crate::tx::Tx::begin(self.db()).await?;
        let due: Vec<QueuedMail> = crate::tx::on_tx!(&mut tx, conn => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MAIL_COLUMNS} FROM mail_queue WHERE state IN ('queued', 'sending') \
                 AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
            )))
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        });
        if !due.is_empty() {
            crate::tx::on_tx!(&mut tx, conn => {
                let mut claim = sqlx::QueryBuilder::new(
                    "UPDATE mail_queue SET state = 'sending', next_attempt_at = ",
                );
                claim.push_bind(now + CLAIM).push(" WHERE id IN (");
                let mut ids = claim.separated(", ");
                for mail in &due {
                    ids.push_bind(mail.id);
                }
                claim.push(")");
                claim.build().execute(&mut *conn).await?;
            });
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Marks a message handed over.
    pub async fn mail_sent(&self, id: i64) -> Result<()> {
        let now = self.clock().now();
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE mail_queue SET state = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records a failed attempt: retried after 5 minutes, doubling, until
    /// [`MAX_ATTEMPTS`]; then the message is marked failed.
    pub async fn mail_failed(&self, mail: &QueuedMail, error: &str) -> Result<()> {
        let now = self.clock().now();
        let attempts = mail.attempts + 1;
        let state = if attempts >= MAX_ATTEMPTS {
            "failed"
        } else {
            "queued"
        };
        let retry = now + Duration::minutes(5) * 2i32.pow(attempts.clamp(1, 10) as u32 - 1);
        on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE mail_queue SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5",
            )
            .bind(state)
            .bind(attempts)
            .bind(retry)
            .bind(error)
            .bind(mail.id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Messages, newest first (`state` narrows), for the console.
    pub async fn mail_queue(&self, state: Option<&str>, limit: i64) -> Result<Vec<QueuedMail>> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MAIL_COLUMNS} FROM mail_queue WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2"
            )))
            .bind(state)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Messages by state: `(state, count)`.
    pub async fn mail_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT state, COUNT(*) FROM mail_queue GROUP BY state ORDER BY state")
                .fetch_all(pool)
                .await?
        }))
    }

    /// The message an unsubscribe token belongs to: `(recipient, category)`.
    pub async fn unsubscribe_target(&self, token: &str) -> Result<Option<(String, String)>> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT recipient, category FROM mail_queue WHERE unsubscribe_token = $1")
                .bind(token)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The categories `email` turned off.
    pub async fn opt_outs(&self, email: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT category FROM mail_opt_outs WHERE email = $1 ORDER BY category")
                .bind(email.trim().to_lowercase())
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    /// Turns a category off or on for `email` (audited as the person's own choice).
    pub async fn set_mail_choice(&self, email: &str, category: &str, wanted: bool) -> Result<()> {
        if !CATEGORIES.iter().any(|(c, _)| *c == category) {
            return Err(crate::StoreError::Invalid(format!(
                "`{category}` is not a kind of mail"
            )));
        }
        let email = email.trim().to_lowercase();
        let now = self.clock().now();
        let mut tx = crate::tx::Tx::begin(self.db()).await?;
        crate::tx::on_tx!(&mut tx, conn => {
            if wanted {
                sqlx::query("DELETE FROM mail_opt_outs WHERE email = $1 AND category = $2")
                    .bind(&email)
                    .bind(category)
                    .execute(&mut *conn)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO mail_opt_outs (email, category, at) VALUES ($1, $2, $3) \
                     ON CONFLICT (email, category) DO NOTHING",
                )
                .bind(&email)
                .bind(category)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
        });
        tx.audit(
            &email,
            if wanted {
                "mail.subscribe"
            } else {
                "mail.unsubscribe"
            },
            &format!("mail:{email}"),
            serde_json::json!({ "category": category }),
        )
        .await?;
        tx.commit().await
    }
}

/// What waits for a reviewer's or a team lead's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub applications: i64,
    pub organisation_changes: i64,
    pub price_submissions: i64,
    /// Attribution disputes and identity links asked for by contributors.
    pub disputes: i64,
    /// Pending claims by team.
    pub claims: Vec<(String, i64)>,
}

impl Waiting {
    pub fn claims_total(&self) -> i64 {
        self.claims.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Audit entries since `since` with one of `actions` whose mails were not queued
    /// yet, oldest first.
    pub async fn unnotified_audit(
        &self,
        actions: &[&str],
        since: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<crate::audit::AuditEntry>> {
        let rows: Vec<crate::audit::AuditRow> = on_pool!(self.db(), pool => {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT a.id, a.at, a.actor, a.action, a.subject, a.details FROM audit_log a \
                 WHERE NOT EXISTS (SELECT 1 FROM audit_notified n WHERE n.audit_id = a.id) AND a.at >= ",
            );
            query.push_bind(since);
            query.push(" AND a.action IN (");
            let mut list = query.separated(", ");
            for action in actions {
                list.push_bind(*action);
            }
            query.push(") ORDER BY a.id LIMIT ");
            query.push_bind(limit);
            query.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Records that the mails of these audit entries are queued.
    pub async fn mark_notified(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        on_pool!(self.db(), pool => {
            let mut query = sqlx::QueryBuilder::new("INSERT INTO audit_notified (audit_id) ");
            query.push_values(ids, |mut row, id| {
                row.push_bind(*id);
            });
            query.push(" ON CONFLICT (audit_id) DO NOTHING");
            query.build().execute(pool).await?;
        });
        Ok(())
    }

    /// The addresses of enabled accounts holding `role` (with `scope`, when given).
    pub async fn addresses_of(
        &self,
        role: crate::accounts::Role,
        scope: Option<&str>,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT DISTINCT u.email FROM users u JOIN user_roles r ON r.user_id = u.id \
                 WHERE r.role = $1 AND ($2 IS NULL OR r.scope = $2) AND u.disabled_at IS NULL ORDER BY u.email",
            )
            .bind(role.as_str())
            .bind(scope)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }

    /// Counts of what waits for a decision.
    pub async fn waiting(&self) -> Result<Waiting> {
        type Counts = Vec<(String, i64)>;
        let (counts, claims): (Counts, Counts) = on_pool!(self.db(), pool => {
            let counts = sqlx::query_as(
                "SELECT 'applications', COUNT(*) FROM applications WHERE status IN ('pending', 'deferred') \
                 UNION ALL SELECT 'changes', COUNT(*) FROM organisation_changes WHERE status = 'pending' \
                 UNION ALL SELECT 'prices', COUNT(*) FROM price_submissions WHERE status = 'pending' \
                 UNION ALL SELECT 'disputes', COUNT(*) FROM attribution_disputes WHERE status = 'pending' \
                 UNION ALL SELECT 'identities', COUNT(*) FROM identity_requests WHERE status = 'pending'",
            )
            .fetch_all(pool)
            .await?;
            let claims = sqlx::query_as(
                "SELECT team, COUNT(*) FROM claims WHERE status = 'pending' GROUP BY team ORDER BY team",
            )
            .fetch_all(pool)
            .await?;
            (counts, claims)
        });
        let count = |name: &str| {
            counts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
                .unwrap_or(0)
        };
        Ok(Waiting {
            applications: count("applications"),
            organisation_changes: count("changes"),
            price_submissions: count("prices"),
            disputes: count("disputes") + count("identities"),
            claims,
        })
    }
}

impl Store {
    /// Gives a message up at once (mail is off, the address is unusable).
    pub async fn mail_failed_for_good(&self, id: i64, why: &str) -> Result<()> {
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE mail_queue SET state = 'dropped', last_error = $1 WHERE id = $2")
                .bind(why)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
