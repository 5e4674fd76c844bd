//! Corrections: a manager excludes an activity from scoring with a reason. They are
//! inputs to the next computation, audited, and shown to the organisation concerned;
//! removing one keeps it on record.

use fairshare_engine::ActivityId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::rollups;
use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

#[derive(Debug, Clone, Serialize)]
pub struct Correction {
    pub id: i64,
    pub activity_id: ActivityId,
    /// The organisation the activity is credited to (`unaffiliated` when none).
    pub org: String,
    pub kind: String,
    pub reason: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub removed: bool,
}

/// A `corrections` row with its activity's kind and organisation.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    activity_id: i64,
    org: String,
    kind: String,
    reason: String,
    created_by: String,
    created_at: OffsetDateTime,
    removed_at: Option<OffsetDateTime>,
}

impl Store {
    pub async fn add_correction(
        &self,
        activity: ActivityId,
        reason: &str,
        actor: &str,
    ) -> Result<i64> {
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid(
                "say why the activity is excluded (--reason)".into(),
            ));
        }
        let mut tx = Tx::begin(self.db()).await?;
        let exists: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM activities WHERE id = $1").bind(activity.0).fetch_optional(conn).await?
        });
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("no activity #{activity}")));
        }
        let active: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM corrections WHERE activity_id = $1 AND removed_at IS NULL")
                .bind(activity.0)
                .fetch_optional(conn)
                .await?
        });
        if let Some((id,)) = active {
            return Err(StoreError::Conflict(format!(
                "activity #{activity} is already excluded (correction #{id})"
            )));
        }
        let scope = rollups::Scope::Activities(std::slice::from_ref(&activity.0));
        rollups::retract(&mut tx, &scope).await?;
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO corrections (activity_id, reason, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(activity.0)
            .bind(reason)
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        rollups::apply(&mut tx, &scope).await?;
        tx.audit(
            actor,
            "corrections.add",
            &format!("activity:{activity}"),
            serde_json::json!({ "correction": id, "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn remove_correction(&self, id: i64, reason: &str, actor: &str) -> Result<()> {
        let mut tx = Tx::begin(self.db()).await?;
        let activity: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT activity_id FROM corrections WHERE id = $1 AND removed_at IS NULL")
                .bind(id)
                .fetch_optional(conn)
                .await?
        });
        let Some((activity,)) = activity else {
            return Err(StoreError::NotFound(format!("no active correction #{id}")));
        };
        let scope = rollups::Scope::Activities(std::slice::from_ref(&activity));
        rollups::retract(&mut tx, &scope).await?;
        let changed = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE corrections SET removed_at = $1, removed_by = $2, removed_reason = $3 WHERE id = $4 AND removed_at IS NULL")
                .bind(crate::now())
                .bind(actor)
                .bind(reason)
                .bind(id)
                .execute(conn)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no active correction #{id}")));
        }
        rollups::apply(&mut tx, &scope).await?;
        tx.audit(
            actor,
            "corrections.remove",
            &format!("correction:{id}"),
            serde_json::json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await
    }

    /// Corrections, newest first; `org` narrows to one organisation's activities.
    pub async fn corrections(&self, org: Option<&str>) -> Result<Vec<Correction>> {
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT c.id, c.activity_id, COALESCE(o.slug, 'unaffiliated') AS org, a.kind, c.reason, c.created_by, c.created_at, c.removed_at \
                 FROM corrections c JOIN activities a ON a.id = c.activity_id LEFT JOIN organisations o ON o.id = a.org_id \
                 WHERE ($1 = '' OR COALESCE(o.slug, 'unaffiliated') = $1) ORDER BY c.id DESC",
            )
            .bind(org.unwrap_or(""))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| Correction {
                id: row.id,
                activity_id: ActivityId(row.activity_id),
                org: row.org,
                kind: row.kind,
                reason: row.reason,
                created_by: row.created_by,
                created_at: row.created_at,
                removed: row.removed_at.is_some(),
            })
            .collect())
    }
}
