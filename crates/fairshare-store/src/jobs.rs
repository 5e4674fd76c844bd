//! The scheduler's records: sources as stored (from `fairshare.toml` or the console,
//! paused or not, a "sync now" request), every job run with its outcome, the leases
//! that let one instance at a time run a job, and review drafts awaiting approval.
//! When a source is due is the engine's rule (`schedule::next_run`); this module only
//! loads the history it needs and writes what happened.

use std::collections::HashMap;

use fairshare_engine::schedule::{self, RunHistory};
use fairshare_engine::sources::SourceDefinition;
use serde::Serialize;
use time::OffsetDateTime;

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool};

/// Where a source's definition lives: the configuration file wins for its own
/// sources; the console edits only the ones it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Config,
    Console,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Console => "console",
        }
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
    Webhook,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Webhook => "webhook",
        }
    }
}

/// One run of a job, as the console and `fairshare sources` show it.
#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    pub trigger: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// `running`, `ok` or `failed`.
    pub outcome: String,
    pub summary: String,
    pub error: Option<String>,
    pub instance: String,
}

impl JobRun {
    pub fn seconds(&self) -> Option<f64> {
        self.finished_at
            .map(|end| (end - self.started_at).as_seconds_f64())
    }
}

/// A source with its state.
#[derive(Debug, Clone, Serialize)]
pub struct SourceState {
    pub definition: SourceDefinition,
    pub origin: Origin,
    pub paused: bool,
    /// Someone asked for a run now (console "sync now").
    pub sync_requested: bool,
    pub last_run: Option<JobRun>,
    pub failures_in_a_row: u32,
    /// When it runs next on its schedule; none while paused or disabled.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_run: Option<OffsetDateTime>,
}

impl SourceState {
    /// The job name of a source's runs.
    pub fn job(&self) -> String {
        source_job(&self.definition.name)
    }

    pub fn active(&self) -> bool {
        self.definition.enabled && !self.paused
    }

    pub fn history(&self) -> RunHistory {
        RunHistory {
            last_started: self.last_run.as_ref().map(|r| r.started_at),
            failures_in_a_row: self.failures_in_a_row,
        }
    }

    /// Whether the scheduler should run it at `now`.
    pub fn due(&self, now: OffsetDateTime) -> bool {
        self.sync_requested
            || (self.active()
                && schedule::is_due(
                    self.definition.every,
                    self.history(),
                    schedule::spread_of(&self.definition.name),
                    now,
                ))
    }
}

/// Writes a source's definition (new or replacing its old one), audited.
async fn save_source(
    tx: &mut Tx,
    definition: &SourceDefinition,
    origin: Origin,
    replacing: bool,
    actor: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let keys = definition.to_keys();
    let text = serde_json::Value::Object(keys.clone()).to_string();
    on_tx!(&mut *tx, conn => {
        sqlx::query(
            "INSERT INTO sources (name, kind, definition, origin, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET \
             kind = excluded.kind, definition = excluded.definition, updated_at = excluded.updated_at",
        )
        .bind(&definition.name)
        .bind(definition.settings.kind())
        .bind(&text)
        .bind(origin.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    tx.audit(
        actor,
        if replacing {
            "sources.update"
        } else {
            "sources.add"
        },
        &source_job(&definition.name),
        serde_json::json!({"origin": origin.as_str(), "definition": keys}),
    )
    .await
}

enum SourceUpdate {
    Paused(bool),
    SyncNow,
}

/// The job name under which a source's runs are recorded.
pub fn source_job(name: &str) -> String {
    format!("source:{name}")
}

/// A month's review prepared for a reviewer's approval.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewDraft {
    pub month: String,
    #[serde(with = "time::serde::rfc3339")]
    pub prepared_at: OffsetDateTime,
    pub preview: serde_json::Value,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    job: String,
    trigger: String,
    started_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
    outcome: String,
    summary: String,
    error: Option<String>,
    instance: String,
}

impl From<RunRow> for JobRun {
    fn from(r: RunRow) -> JobRun {
        JobRun {
            id: r.id,
            job: r.job,
            trigger: r.trigger,
            started_at: r.started_at,
            finished_at: r.finished_at,
            outcome: r.outcome,
            summary: r.summary,
            error: r.error,
            instance: r.instance,
        }
    }
}

const RUN_COLUMNS: &str =
    "id, job, trigger, started_at, finished_at, outcome, summary, error, instance";

impl Store {
    /// Makes the stored configuration sources match `fairshare.toml`: new ones are
    /// added, changed ones updated (keeping a pause), removed ones deleted; each
    /// change audited. A name the console already uses is refused.
    pub async fn sync_config_sources(
        &self,
        definitions: &[SourceDefinition],
        actor: &str,
    ) -> Result<()> {
        let now = self.clock().now();
        let mut tx = Tx::begin(self.db()).await?;
        let stored: Vec<(String, String, String)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT name, definition, origin FROM sources")
                .fetch_all(&mut *conn)
                .await?
        });
        let stored: HashMap<String, (String, String)> = stored
            .into_iter()
            .map(|(name, definition, origin)| (name, (definition, origin)))
            .collect();
        for definition in definitions {
            let text = serde_json::Value::Object(definition.to_keys()).to_string();
            match stored.get(&definition.name) {
                Some((_, origin)) if origin == Origin::Console.as_str() => {
                    return Err(StoreError::Conflict(format!(
                        "fairshare.toml: the source `{}` was added in the console; rename one of them",
                        definition.name
                    )));
                }
                Some((old, _)) if *old == text => continue,
                known => {
                    save_source(
                        &mut tx,
                        definition,
                        Origin::Config,
                        known.is_some(),
                        actor,
                        now,
                    )
                    .await?;
                }
            }
        }
        for (name, (_, origin)) in &stored {
            if origin == Origin::Config.as_str() && !definitions.iter().any(|d| &d.name == name) {
                on_tx!(&mut tx, conn => {
                    sqlx::query("DELETE FROM sources WHERE name = $1")
                        .bind(name)
                        .execute(&mut *conn)
                        .await?;
                });
                tx.audit(
                    actor,
                    "sources.remove",
                    &source_job(name),
                    serde_json::json!({"origin": "config", "why": "no longer in fairshare.toml"}),
                )
                .await?;
            }
        }
        tx.commit().await
    }

    /// Adds (`existing` none) or replaces a source defined in the console.
    pub async fn save_console_source(
        &self,
        definition: &SourceDefinition,
        existing: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let now = self.clock().now();
        let mut tx = Tx::begin(self.db()).await?;
        let clash: Option<(String,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT origin FROM sources WHERE name = $1")
                .bind(&definition.name)
                .fetch_optional(&mut *conn)
                .await?
        });
        match (existing, clash) {
            (None, Some(_)) => {
                return Err(StoreError::Conflict(format!(
                    "a source named `{}` exists already",
                    definition.name
                )));
            }
            (Some(old), _) => {
                let origin: Option<(String,)> = on_tx!(&mut tx, conn => {
                    sqlx::query_as("SELECT origin FROM sources WHERE name = $1")
                        .bind(old)
                        .fetch_optional(&mut *conn)
                        .await?
                });
                match origin {
                    None => return Err(StoreError::NotFound(format!("no source named `{old}`"))),
                    Some((o,)) if o == Origin::Config.as_str() => {
                        return Err(StoreError::Conflict(format!(
                            "`{old}` is defined in fairshare.toml: change it there"
                        )));
                    }
                    Some(_) if old != definition.name => {
                        return Err(StoreError::Invalid(
                            "a source keeps its name; add a new one instead".into(),
                        ));
                    }
                    Some(_) => {}
                }
            }
            (None, None) => {}
        }
        save_source(
            &mut tx,
            definition,
            Origin::Console,
            existing.is_some(),
            actor,
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Pauses or resumes a source (either origin).
    pub async fn set_source_paused(&self, name: &str, paused: bool, actor: &str) -> Result<()> {
        self.update_source(
            name,
            actor,
            if paused {
                "sources.pause"
            } else {
                "sources.resume"
            },
            SourceUpdate::Paused(paused),
        )
        .await
    }

    /// Asks the scheduler to run a source at its next tick, paused or not.
    pub async fn request_source_sync(&self, name: &str, actor: &str) -> Result<()> {
        self.update_source(name, actor, "sources.sync_now", SourceUpdate::SyncNow)
            .await
    }

    async fn update_source(
        &self,
        name: &str,
        actor: &str,
        action: &str,
        update: SourceUpdate,
    ) -> Result<()> {
        let now = self.clock().now();
        let mut tx = Tx::begin(self.db()).await?;
        let changed = on_tx!(&mut tx, conn => {
            match update {
                SourceUpdate::Paused(paused) => {
                    sqlx::query("UPDATE sources SET paused = $1, updated_at = $2 WHERE name = $3")
                        .bind(paused)
                        .bind(now)
                        .bind(name)
                        .execute(&mut *conn)
                        .await?
                }
                SourceUpdate::SyncNow => {
                    sqlx::query("UPDATE sources SET sync_requested_at = $1 WHERE name = $2")
                        .bind(now)
                        .bind(name)
                        .execute(&mut *conn)
                        .await?
                }
            }
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no source named `{name}`")));
        }
        tx.audit(actor, action, &source_job(name), serde_json::json!({}))
            .await?;
        tx.commit().await
    }

    /// Every source with its last run, failures in a row and next run, by name.
    pub async fn sources(&self) -> Result<Vec<SourceState>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            name: String,
            definition: String,
            origin: String,
            paused: bool,
            sync_requested_at: Option<OffsetDateTime>,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT name, definition, origin, paused, sync_requested_at FROM sources ORDER BY name",
            )
            .fetch_all(pool)
            .await?
        });
        let last = self.last_runs().await?;
        let failures = self.failures_in_a_row().await?;
        rows.into_iter()
            .map(|row| {
                let keys: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&row.definition)
                        .map_err(|e| StoreError::Corrupt(format!("source `{}`: {e}", row.name)))?;
                let definition = SourceDefinition::from_keys(&keys)
                    .map_err(|e| StoreError::Corrupt(format!("source `{}`: {e}", row.name)))?;
                let job = source_job(&row.name);
                let mut state = SourceState {
                    origin: if row.origin == "console" {
                        Origin::Console
                    } else {
                        Origin::Config
                    },
                    paused: row.paused,
                    sync_requested: row.sync_requested_at.is_some(),
                    last_run: last.get(&job).cloned(),
                    failures_in_a_row: failures.get(&job).copied().unwrap_or(0),
                    next_run: None,
                    definition,
                };
                if state.active() {
                    state.next_run = Some(
                        schedule::next_run(
                            state.definition.every,
                            state.history(),
                            schedule::spread_of(&state.definition.name),
                        )
                        .unwrap_or_else(|| self.clock().now()),
                    );
                }
                Ok(state)
            })
            .collect()
    }

    /// The newest run of every job.
    async fn last_runs(&self) -> Result<HashMap<String, JobRun>> {
        let rows: Vec<RunRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM job_runs WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job)"
            )))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (r.job.clone(), JobRun::from(r)))
            .collect())
    }

    /// Failed runs since each job's last success.
    async fn failures_in_a_row(&self) -> Result<HashMap<String, u32>> {
        let rows: Vec<(String, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.job, COUNT(*) FROM job_runs r WHERE r.outcome = 'failed' AND r.id > \
                 COALESCE((SELECT MAX(s.id) FROM job_runs s WHERE s.job = r.job AND s.outcome = 'ok'), 0) \
                 GROUP BY r.job",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(job, n)| (job, u32::try_from(n).unwrap_or(u32::MAX)))
            .collect())
    }

    /// The newest run of `job`, if any.
    pub async fn last_run(&self, job: &str) -> Result<Option<JobRun>> {
        let row: Option<RunRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM job_runs WHERE job = $1 ORDER BY id DESC LIMIT 1"
            )))
            .bind(job)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(JobRun::from))
    }

    /// When `job` last started and how many of its runs failed since its last success:
    /// what the engine's schedule needs to know whether it is due.
    pub async fn job_history(&self, job: &str) -> Result<RunHistory> {
        let last = self.last_run(job).await?;
        let (failures,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM job_runs WHERE job = $1 AND outcome = 'failed' AND id > \
                 COALESCE((SELECT MAX(id) FROM job_runs WHERE job = $1 AND outcome = 'ok'), 0)",
            )
            .bind(job)
            .fetch_one(pool)
            .await?
        });
        Ok(RunHistory {
            last_started: last.map(|r| r.started_at),
            failures_in_a_row: u32::try_from(failures).unwrap_or(u32::MAX),
        })
    }

    /// Runs, newest first; `job` narrows to one job, `before` pages back.
    pub async fn job_runs(
        &self,
        job: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<JobRun>> {
        let rows: Vec<RunRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM job_runs WHERE ($1 IS NULL OR job = $1) \
                 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
            )))
            .bind(job)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(JobRun::from).collect())
    }

    /// Records the start of a run (and clears a source's "sync now" request).
    pub async fn start_job_run(&self, job: &str, trigger: Trigger, instance: &str) -> Result<i64> {
        let now = self.clock().now();
        let mut tx = Tx::begin(self.db()).await?;
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO job_runs (job, trigger, started_at, outcome, instance) \
                 VALUES ($1, $2, $3, 'running', $4) RETURNING id",
            )
            .bind(job)
            .bind(trigger.as_str())
            .bind(now)
            .bind(instance)
            .fetch_one(&mut *conn)
            .await?
        });
        if let Some(name) = job
            .strip_prefix("source:")
            .filter(|_| trigger != Trigger::Webhook)
        {
            on_tx!(&mut tx, conn => {
                sqlx::query("UPDATE sources SET sync_requested_at = NULL WHERE name = $1")
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
            });
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Records how a run ended.
    pub async fn finish_job_run(
        &self,
        id: i64,
        outcome: std::result::Result<&str, &str>,
    ) -> Result<()> {
        let (state, summary, error) = match outcome {
            Ok(summary) => ("ok", summary, None),
            Err(error) => ("failed", "", Some(error)),
        };
        let now = self.clock().now();
        on_pool!(self.db(), pool => {
            sqlx::query(
                "UPDATE job_runs SET finished_at = $1, outcome = $2, summary = $3, error = $4 WHERE id = $5",
            )
            .bind(now)
            .bind(state)
            .bind(summary)
            .bind(error)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Takes the lease on `job` for `holder` if it is free or expired (or already
    /// this holder's, which renews it). True when `holder` has it.
    pub async fn take_job_lease(
        &self,
        job: &str,
        holder: &str,
        lease: time::Duration,
    ) -> Result<bool> {
        let now = self.clock().now();
        let taken = on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE job_leases.expires_at < $4 OR job_leases.holder = excluded.holder",
            )
            .bind(job)
            .bind(holder)
            .bind(now + lease)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Gives a lease back.
    pub async fn release_job_lease(&self, job: &str, holder: &str) -> Result<()> {
        on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM job_leases WHERE job = $1 AND holder = $2")
                .bind(job)
                .bind(holder)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Stores the preview of a month's review awaiting approval (once per month).
    pub async fn save_review_draft(
        &self,
        month: &str,
        preview: &serde_json::Value,
    ) -> Result<bool> {
        let now = self.clock().now();
        let inserted = on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO review_drafts (month, prepared_at, preview) VALUES ($1, $2, $3) \
                 ON CONFLICT (month) DO NOTHING",
            )
            .bind(month)
            .bind(now)
            .bind(preview.to_string())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Drafts not yet published, oldest first.
    pub async fn review_drafts(&self) -> Result<Vec<ReviewDraft>> {
        let rows: Vec<(String, OffsetDateTime, String, Option<OffsetDateTime>)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT month, prepared_at, preview, published_at FROM review_drafts \
                 WHERE published_at IS NULL ORDER BY month",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(month, prepared_at, preview, published_at)| ReviewDraft {
                month,
                prepared_at,
                preview: serde_json::from_str(&preview).unwrap_or(serde_json::Value::Null),
                published_at,
            })
            .collect())
    }

    /// Whether a draft exists for `month` (published or not).
    pub async fn review_draft_exists(&self, month: &str) -> Result<bool> {
        let row: Option<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT month FROM review_drafts WHERE month = $1")
                .bind(month)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.is_some())
    }

    /// Marks a draft published (the review itself is `review_month`).
    pub async fn close_review_draft(&self, month: &str) -> Result<()> {
        let now = self.clock().now();
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE review_drafts SET published_at = $1 WHERE month = $2 AND published_at IS NULL")
                .bind(now)
                .bind(month)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The newest month with a published ranking.
    pub async fn last_reviewed_month(&self) -> Result<Option<fairshare_engine::Month>> {
        let row: Option<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT month FROM rankings ORDER BY month DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        });
        row.map(|(m,)| crate::parse_column("rankings.month", &m))
            .transpose()
    }
}

/// Runs of one job with one outcome, for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTotals {
    pub job: String,
    pub outcome: String,
    pub count: i64,
    /// The finished runs' durations added up.
    pub seconds: f64,
}

impl Store {
    /// Every job's runs by outcome, with their total duration.
    pub async fn run_totals(&self) -> Result<Vec<RunTotals>> {
        let rows: Vec<(String, String, i64, Option<f64>)> = match self.db() {
            crate::Db::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT job, outcome, COUNT(*), \
                     SUM((julianday(finished_at) - julianday(started_at)) * 86400.0) \
                     FROM job_runs GROUP BY job, outcome ORDER BY job, outcome",
                )
                .fetch_all(pool)
                .await?
            }
            crate::Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT job, outcome, COUNT(*), \
                     SUM(EXTRACT(EPOCH FROM finished_at - started_at))::float8 \
                     FROM job_runs GROUP BY job, outcome ORDER BY job, outcome",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(job, outcome, count, seconds)| RunTotals {
                job,
                outcome,
                count,
                seconds: seconds.unwrap_or(0.0),
            })
            .collect())
    }

    /// The schema version applied and the one this binary expects.
    pub async fn schema_versions(&self) -> Result<(i64, i64)> {
        let (applied,): (Option<i64>,) = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok((
            applied.unwrap_or(0),
            crate::db::latest_version(self.backend()),
        ))
    }
}
