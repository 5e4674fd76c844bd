//! The audit log (who did what, when) and the log of import runs.

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Result, Store, on_pool};

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

impl Store {
    /// Whether a file with this digest was imported before from `source`.
    pub async fn digest_imported(&self, source: &str, digest: &str) -> Result<bool> {
        let earlier: Option<(i64,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id FROM import_runs WHERE source = $1 AND digest = $2 LIMIT 1")
                .bind(source)
                .bind(digest)
                .fetch_optional(pool)
                .await?
        });
        Ok(earlier.is_some())
    }

    /// Audit entries, newest first; `subject_prefix` narrows to e.g. `bigmac:`.
    pub async fn audit_log(
        &self,
        subject_prefix: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let pattern = crate::like_pattern(subject_prefix.unwrap_or(""), true);
        let rows: Vec<AuditRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, subject, details FROM audit_log \
                 WHERE subject LIKE $1 ESCAPE '\\' ORDER BY id DESC LIMIT $2",
            )
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}

/// What the console's audit log is narrowed to; empty fields narrow nothing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Who did it: part of the actor's address, any case.
    pub actor: String,
    /// What was done: the action's code (`claims.approve`) or its family (`claims.`).
    pub action: String,
    /// The subject's start (`org:acme`, `member:12`).
    pub subject: String,
    /// Text anywhere in the actor, action, subject or details, any case.
    pub text: String,
    /// The first and last day (UTC), inclusive.
    pub from: Option<time::Date>,
    pub until: Option<time::Date>,
}

/// How the console's audit log is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOrder {
    When,
    Actor,
    Action,
    Subject,
}

impl Store {
    /// One page of the audit log as `filter` narrows it, in `order` (ties newest
    /// first), with how many entries match in all.
    pub async fn audit_search(
        &self,
        filter: &AuditFilter,
        order: (AuditOrder, bool),
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditEntry>, i64)> {
        let (column, descending) = order;
        let column = match column {
            AuditOrder::When => "id",
            AuditOrder::Actor => "actor",
            AuditOrder::Action => "action",
            AuditOrder::Subject => "subject",
        };
        let direction = if descending { "DESC" } else { "ASC" };
        let far = |date: Option<time::Date>, end: bool| {
            date.map(|d| if end { d.next_day().unwrap_or(d) } else { d })
                .map(|d| d.midnight().assume_utc())
        };
        let from = far(filter.from, false).unwrap_or(time::macros::datetime!(1970-01-01 0:00 UTC));
        let until = far(filter.until, true).unwrap_or(time::macros::datetime!(9999-01-01 0:00 UTC));
        let action = filter.action.trim();
        let action_pattern = if action.ends_with('.') {
            crate::like_pattern(action, true)
        } else if action.is_empty() {
            "%".to_string()
        } else {
            let pattern = crate::like_pattern(action, true);
            pattern[..pattern.len() - 1].to_string() // the code itself: no `%` after it
        };
        let conditions = "WHERE LOWER(actor) LIKE $1 ESCAPE '\\' AND action LIKE $2 ESCAPE '\\' \
             AND subject LIKE $3 ESCAPE '\\' AND at >= $4 AND at < $5 \
             AND (LOWER(actor) LIKE $6 ESCAPE '\\' OR LOWER(action) LIKE $6 ESCAPE '\\' \
             OR LOWER(subject) LIKE $6 ESCAPE '\\' OR LOWER(details) LIKE $6 ESCAPE '\\')";
        let actor = crate::like_pattern(&filter.actor.trim().to_lowercase(), false);
        let subject = crate::like_pattern(filter.subject.trim(), true);
        let text = crate::like_pattern(&filter.text.trim().to_lowercase(), false);
        let page_sql = format!(
            "SELECT id, at, actor, action, subject, details FROM audit_log {conditions} \
             ORDER BY {column} {direction}, id DESC LIMIT $7 OFFSET $8"
        );
        let count_sql = format!("SELECT COUNT(*) FROM audit_log {conditions}");
        let (rows, total): (Vec<AuditRow>, (i64,)) = on_pool!(self.db(), pool => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(page_sql))
                .bind(&actor).bind(&action_pattern).bind(&subject).bind(from).bind(until)
                .bind(&text).bind(limit).bind(offset)
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
                .bind(&actor).bind(&action_pattern).bind(&subject).bind(from).bind(until)
                .bind(&text)
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        Ok((rows.into_iter().map(AuditEntry::from).collect(), total.0))
    }

    /// Every action code on record, for the console's filter.
    pub async fn audit_actions(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT DISTINCT action FROM audit_log ORDER BY action")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(a,)| a).collect())
    }
}

/// An audit entry as stored (its details as JSON text).
#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: OffsetDateTime,
    actor: String,
    action: String,
    subject: String,
    details: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> AuditEntry {
        AuditEntry {
            details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
            id: row.id,
            at: row.at,
            actor: row.actor,
            action: row.action,
            subject: row.subject,
        }
    }
}

/// One import, as the console lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ImportRun {
    pub id: i64,
    pub source: String,
    pub input: String,
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// What the import counted and skipped (JSON).
    pub summary: String,
}

impl Store {
    /// The latest import runs, newest first.
    pub async fn import_runs(&self, limit: i64) -> Result<Vec<ImportRun>> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, source, input_name AS input, actor, started_at, summary FROM import_runs ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }
}
