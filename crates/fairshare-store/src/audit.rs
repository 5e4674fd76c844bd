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
        let rows: Vec<(i64, OffsetDateTime, String, String, String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, subject, details FROM audit_log \
                 WHERE subject LIKE $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, at, actor, action, subject, details)| AuditEntry {
                id,
                at,
                actor,
                action,
                subject,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}

/// One import, as the console lists it.
#[derive(Debug, Clone, Serialize)]
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
        let rows: Vec<(i64, String, String, String, OffsetDateTime, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, source, input_name, actor, started_at, summary FROM import_runs ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, source, input, actor, started_at, summary)| ImportRun {
                    id,
                    source,
                    input,
                    actor,
                    started_at,
                    summary,
                },
            )
            .collect())
    }
}
