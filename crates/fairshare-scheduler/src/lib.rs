//! The programme's machine: runs inside `fairshare serve` (and once, for cron, as
//! `fairshare sync`). Each [`Scheduler::tick`] runs what is due:
//!
//! - every source on its schedule (`fairshare_ingest::sources`, the CLI's import code),
//!   with retries and backoff, each run recorded;
//! - the thresholds of a new Big Mac release, once it is in force;
//! - the monthly review on its day (published, or prepared as a draft to approve);
//! - mail: notices derived from the audit log, the daily digest for reviewers and team
//!   leads, alerts for administrators, and the queue sent through the mail layer.
//!
//! Every job runs under a lease in the database, so with several instances on one
//! database each job runs on one of them at a time; a dead instance's lease expires
//! and another takes over. When things are due is the engine's rule
//! (`fairshare_engine::schedule`); time comes from the store's clock.

mod mailing;
mod notices;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fairshare_engine::ProgrammeRules;
use fairshare_engine::schedule::{self, Every, ReviewCalendar};
use fairshare_engine::sources::SourceDefinition;
use fairshare_ingest::Importer;
use fairshare_store::Store;
use fairshare_store::jobs::{SourceState, Trigger, source_job};
use fairshare_store::locks::Exclusive;
use fairshare_web::mail::Mailer;
use time::{Date, OffsetDateTime};

pub use mailing::send_queued;

/// Who the scheduler's changes are audited as.
pub const ACTOR: &str = "scheduler";

/// How long a job's lease lasts if its instance dies; renewed while the job runs.
const LEASE: time::Duration = time::Duration::minutes(2);

/// How the monthly review ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Publish {
    /// The ranking is published at once.
    #[default]
    Auto,
    /// A draft is prepared; a reviewer previews and publishes it in the console.
    Approve,
}

/// Reads a secret by the name of its environment variable.
pub type SecretReader = dyn Fn(&str) -> Option<String> + Send + Sync;

/// What the scheduler runs, from the configuration.
pub struct Settings {
    /// The sources of `fairshare.toml` (the console's are in the database).
    pub sources: Vec<SourceDefinition>,
    /// Where git sources given by URL are cloned.
    pub data_dir: PathBuf,
    /// Bot patterns and teams by channel, as for the CLI's imports.
    pub ingest: fairshare_ingest::Settings,
    /// The configuration's rules (the console's newer versions win).
    pub rules: ProgrammeRules,
    pub review: ReviewCalendar,
    pub publish: Publish,
    /// The hour (UTC) the daily digest goes out.
    pub digest_hour: u8,
    /// Failed runs in a row after which administrators are told.
    pub alert_after: u32,
    /// Reads a token from the environment by name.
    pub secret: Arc<SecretReader>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sources: Vec::new(),
            data_dir: PathBuf::from("fairshare-data"),
            ingest: Default::default(),
            rules: ProgrammeRules::default(),
            review: ReviewCalendar::default(),
            publish: Publish::Auto,
            digest_hour: 7,
            alert_after: 3,
            secret: Arc::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty())),
        }
    }
}

/// One job that ran, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub job: String,
    /// The summary, or the error in words.
    pub result: Result<String, String>,
}

#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    settings: Arc<Settings>,
    mailer: Arc<Mailer>,
    /// This instance's name in leases and runs.
    instance: String,
    /// Daily work done by this instance (the leases keep other instances out; the
    /// dedupe keys of mail make a repeat harmless).
    done: Arc<Mutex<Done>>,
}

#[derive(Default)]
struct Done {
    thresholds_checked: Option<OffsetDateTime>,
    digest_sent: Option<Date>,
}

impl Scheduler {
    pub fn new(store: Store, settings: Settings, mailer: Arc<Mailer>) -> Scheduler {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let instance = format!(
            "{host}-{}-{}",
            std::process::id(),
            &fairshare_web::auth::random_token()[..6]
        );
        Scheduler {
            store,
            settings: Arc::new(settings),
            mailer,
            instance,
            done: Default::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Stores the configuration's sources (new, changed, removed), audited.
    pub async fn prepare(&self) -> Result<(), String> {
        self.store
            .sync_config_sources(&self.settings.sources, ACTOR)
            .await
            .map_err(|e| e.to_string())
    }

    /// Runs everything due now; returns what ran.
    pub async fn tick(&self) -> Vec<Outcome> {
        let mut ran = self.run_sources(None, Trigger::Schedule).await;
        ran.extend(self.publish_thresholds().await);
        ran.extend(self.review_if_due().await);
        notices::queue_notices(self).await;
        notices::queue_digest(self).await;
        self.leased("mail", mailing::send_queued(self)).await;
        ran
    }

    /// Runs forever, a tick every `period`.
    pub async fn run_forever(self, period: std::time::Duration) {
        loop {
            for outcome in self.tick().await {
                match &outcome.result {
                    Ok(summary) => {
                        tracing::info!(job = %outcome.job, summary = %first_line(summary), "job done")
                    }
                    Err(error) => tracing::warn!(job = %outcome.job, %error, "job failed"),
                }
            }
            tokio::time::sleep(period).await;
        }
    }

    /// Runs the sources due now, or with `names` those sources whatever their
    /// schedule (an unknown name is a failed outcome).
    pub async fn run_sources(&self, names: Option<&[String]>, trigger: Trigger) -> Vec<Outcome> {
        let sources = match self.store.sources().await {
            Ok(sources) => sources,
            Err(error) => {
                return vec![Outcome {
                    job: "sources".into(),
                    result: Err(error.to_string()),
                }];
            }
        };
        let mut ran = Vec::new();
        match names {
            Some(names) => {
                for name in names {
                    if !sources.iter().any(|s| &s.definition.name == name) {
                        ran.push(Outcome {
                            job: source_job(name),
                            result: Err(format!(
                                "no source named `{name}` (see fairshare sources)"
                            )),
                        });
                        continue;
                    }
                    ran.extend(self.run_source(name, trigger, true).await);
                }
            }
            None => {
                let now = self.store.clock().now();
                for source in sources.iter().filter(|s| s.due(now)) {
                    ran.extend(
                        self.run_source(&source.definition.name, trigger, false)
                            .await,
                    );
                }
            }
        }
        ran
    }

    /// Runs one source under its lease, if it is still due (or `force`d).
    async fn run_source(&self, name: &str, trigger: Trigger, force: bool) -> Option<Outcome> {
        let job = source_job(name);
        let work = async {
            // Another instance may have run it between our look and the lease.
            let state = self
                .store
                .sources()
                .await
                .ok()?
                .into_iter()
                .find(|s| s.definition.name == name)?;
            if !force && !state.due(self.store.clock().now()) {
                return None;
            }
            let trigger = if state.sync_requested && trigger == Trigger::Schedule {
                Trigger::Manual
            } else {
                trigger
            };
            let run = match self
                .store
                .start_job_run(&job, trigger, &self.instance)
                .await
            {
                Ok(run) => run,
                Err(error) => {
                    return Some(Outcome {
                        job: job.clone(),
                        result: Err(error.to_string()),
                    });
                }
            };
            let result = self.import(&state).await;
            let recorded = self
                .store
                .finish_job_run(run, result.as_deref().map_err(String::as_str))
                .await;
            if let Err(error) = recorded {
                tracing::warn!(%job, %error, "the run's outcome could not be recorded");
            }
            if let Err(error) = &result {
                notices::alert_failing_source(self, &state, run, error).await;
            }
            Some(Outcome {
                job: job.clone(),
                result,
            })
        };
        self.leased(&job, work).await.flatten()
    }

    /// The import itself: the CLI's code, alone among imports, as the source.
    async fn import(&self, state: &SourceState) -> Result<String, String> {
        let rules = self
            .store
            .rules_in_force(&self.settings.rules)
            .await
            .map_err(|e| e.to_string())?;
        let mut ingest = self.settings.ingest.clone();
        ingest.default_team = state.definition.team.clone();
        let actor = state.job();
        let importer = Importer {
            store: &self.store,
            actor: &actor,
            settings: &ingest,
            progress: Arc::new(fairshare_ingest::Quiet),
        };
        let secret = &*self.settings.secret;
        let env = fairshare_ingest::sources::SourceEnv {
            data_dir: &self.settings.data_dir,
            name: &state.definition.name,
            today: self.store.clock().today(),
            thresholds: &rules.thresholds,
            secret,
        };
        let lines = self
            .store
            .exclusively(
                Exclusive::Import,
                fairshare_ingest::sources::run(&importer, &state.definition.settings, &env),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(lines.join("\n"))
    }

    /// Publishes the thresholds of the release in force, hourly (a no-op unless a new
    /// release came into force); recorded as a run only when it did something.
    async fn publish_thresholds(&self) -> Option<Outcome> {
        let now = self.store.clock().now();
        {
            let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            if done
                .thresholds_checked
                .is_some_and(|at| now - at < time::Duration::hours(1) && at <= now)
            {
                return None;
            }
        }
        let work = async {
            let rules = self.store.rules_in_force(&self.settings.rules).await.ok()?;
            let result = self
                .store
                .publish_release_in_force(now.date(), &rules.thresholds, ACTOR)
                .await;
            self.done
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .thresholds_checked = Some(now);
            let result = match result {
                Ok(None) => return None,
                Ok(Some(release)) => Ok(format!(
                    "published the thresholds of the {release} release, now in force"
                )),
                Err(error) => Err(format!(
                    "the thresholds in force could not be published: {error}"
                )),
            };
            self.record("thresholds", Trigger::Schedule, &result).await;
            Some(Outcome {
                job: "thresholds".into(),
                result,
            })
        };
        self.leased("thresholds", work).await.flatten()
    }

    /// Reviews the previous month on its day: publishes the ranking, or prepares a
    /// draft for a reviewer. A failure is retried with backoff and reported to
    /// administrators once per month.
    async fn review_if_due(&self) -> Option<Outcome> {
        let now = self.store.clock().now();
        let last = self.store.last_reviewed_month().await.ok()?;
        self.settings.review.due_month(now, last)?;
        let work = async {
            let last = self.store.last_reviewed_month().await.ok()?;
            let month = self.settings.review.due_month(now, last)?;
            let key = month.to_string();
            if self.settings.publish == Publish::Approve
                && self.store.review_draft_exists(&key).await.ok()?
            {
                return None;
            }
            let history = self.store.job_history("review").await.ok()?;
            let daily: Every = "1d".parse().ok()?;
            if history.failures_in_a_row > 0 && !schedule::is_due(daily, history, 0, now) {
                return None;
            }
            let result = self.review(month).await;
            self.record("review", Trigger::Schedule, &result).await;
            if let Err(error) = &result {
                notices::alert_review_failed(self, &key, error).await;
            }
            Some(Outcome {
                job: "review".into(),
                result,
            })
        };
        self.leased("review", work).await.flatten()
    }

    async fn review(&self, month: fairshare_engine::Month) -> Result<String, String> {
        let rules = self
            .store
            .rules_in_force(&self.settings.rules)
            .await
            .map_err(|e| e.to_string())?;
        match self.settings.publish {
            Publish::Auto => {
                let outcome = self
                    .store
                    .review_month(month, &rules, None, ACTOR)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut lines = vec![format!(
                    "{month} reviewed: {} partners ranked, {} status changes",
                    outcome.ranked,
                    outcome.changes.len()
                )];
                lines.extend(outcome.changes);
                Ok(lines.join("\n"))
            }
            Publish::Approve => {
                let outcome = self
                    .store
                    .preview_review(month, &rules)
                    .await
                    .map_err(|e| e.to_string())?;
                let preview = serde_json::json!({
                    "changes": outcome.changes,
                    "entries": outcome.entries,
                });
                self.store
                    .save_review_draft(&month.to_string(), &preview)
                    .await
                    .map_err(|e| e.to_string())?;
                notices::draft_ready(self, &month.to_string()).await;
                Ok(format!(
                    "{month}: a draft ({} partners ranked, {} status changes) awaits a reviewer's approval",
                    outcome.ranked,
                    outcome.changes.len()
                ))
            }
        }
    }

    /// Records a run of a job that is not a source.
    async fn record(&self, job: &str, trigger: Trigger, result: &Result<String, String>) {
        let recorded = async {
            let run = self
                .store
                .start_job_run(job, trigger, &self.instance)
                .await?;
            self.store
                .finish_job_run(run, result.as_deref().map_err(String::as_str))
                .await
        };
        if let Err(error) = recorded.await {
            tracing::warn!(%job, %error, "the run could not be recorded");
        }
    }

    /// Runs `work` if this instance takes `job`'s lease (renewed while it runs);
    /// none when another instance holds it.
    async fn leased<T>(&self, job: &str, work: impl Future<Output = T>) -> Option<T> {
        match self.store.take_job_lease(job, &self.instance, LEASE).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => {
                tracing::warn!(%job, %error, "cannot take the job's lease");
                return None;
            }
        }
        let renewal = {
            let (store, job, instance) =
                (self.store.clone(), job.to_string(), self.instance.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    let _ = store.take_job_lease(&job, &instance, LEASE).await;
                }
            })
        };
        let result = work.await;
        renewal.abort();
        if let Err(error) = self.store.release_job_lease(job, &self.instance).await {
            tracing::warn!(%job, %error, "cannot release the job's lease (it expires)");
        }
        Some(result)
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
