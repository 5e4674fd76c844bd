//! The programme's rules as managers record them in the console: every version kept,
//! the newest in force. Until one is recorded the configuration file's rules apply.

use fairshare_engine::ProgrammeRules;
use serde::Serialize;
use time::OffsetDateTime;

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// One recorded version of the rules.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRules {
    pub id: i64,
    pub rules: ProgrammeRules,
    pub reason: String,
    pub recorded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl Store {
    /// Records a new version of the rules, in force from now on. `previous` is the
    /// version it replaces (the configuration's rules when none was recorded): the
    /// audit entry lists each changed setting. Invalid rules or an empty reason are
    /// refused; recording identical rules changes nothing and returns `None`.
    pub async fn record_rules(
        &self,
        rules: &ProgrammeRules,
        previous: &ProgrammeRules,
        reason: &str,
        actor: &str,
    ) -> Result<Option<i64>> {
        rules
            .validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid(
                "`reason` is required: say why the rules change".into(),
            ));
        }
        let changes = rules.changes_since(previous);
        if changes.is_empty() {
            return Ok(None);
        }
        let base = rules.thresholds.base_country;
        if base != previous.thresholds.base_country {
            // A base country the data in force does not price would leave every
            // country without a threshold.
            if let Some(release) = self.release_in_force(crate::now().date()).await? {
                let priced = self
                    .release(release)
                    .await?
                    .is_some_and(|r| r.price(base).is_some());
                if !priced {
                    return Err(StoreError::Invalid(format!(
                        "`base_country`: {base} is not in the {release} Big Mac release in force, \
                         so no threshold could be computed from it"
                    )));
                }
            }
        }
        let text =
            serde_json::to_string(rules).map_err(|e| StoreError::Invalid(format!("rules: {e}")))?;
        let mut tx = Tx::begin(self.db()).await?;
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO programme_rules (rules, reason, recorded_by, recorded_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(&text)
            .bind(reason.trim())
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        tx.audit(
            actor,
            "rules.change",
            &format!("rules:{id}"),
            serde_json::json!({ "reason": reason.trim(), "changes": changes }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Recorded versions, newest first.
    pub async fn recorded_rules(&self, limit: i64) -> Result<Vec<RecordedRules>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            rules: String,
            reason: String,
            recorded_by: String,
            recorded_at: OffsetDateTime,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, rules, reason, recorded_by, recorded_at FROM programme_rules \
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                let rules = serde_json::from_str(&row.rules).map_err(|e| {
                    StoreError::Invalid(format!(
                        "programme_rules row {} cannot be read: {e}",
                        row.id
                    ))
                })?;
                Ok(RecordedRules {
                    id: row.id,
                    rules,
                    reason: row.reason,
                    recorded_by: row.recorded_by,
                    recorded_at: row.recorded_at,
                })
            })
            .collect()
    }

    /// The rules in force: the newest recorded version, else `configured`.
    pub async fn rules_in_force(&self, configured: &ProgrammeRules) -> Result<ProgrammeRules> {
        Ok(self
            .recorded_rules(1)
            .await?
            .pop()
            .map(|r| r.rules)
            .unwrap_or_else(|| configured.clone()))
    }
}
