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
        let pattern = format!("{}%", subject_prefix.unwrap_or(""));
        let rows: Vec<AuditRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, subject, details FROM audit_log \
                 WHERE subject LIKE $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(AuditEntry::from).collect())
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
