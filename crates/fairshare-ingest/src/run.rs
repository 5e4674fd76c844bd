//! [`Importer`]: every source's import, from reading to the stored summary. Each input
//! is one transaction (all-or-nothing, idempotent); paged APIs store each page with its
//! resume point in one transaction, so an interruption loses at most the page in flight.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fairshare_import::github::{GithubRepo, Stage};
use fairshare_import::github_archive::ArchiveFilter;
use fairshare_import::paged::PagedSource;
use fairshare_import::record::{AffiliationRecord, OrgRecord, PaymentRecord};
use fairshare_import::{ActivityRecord, ImportError, Skips, content_digest};
use fairshare_store::Store;
use fairshare_store::activities::{IngestSession, IngestSummary};
use fairshare_store::directory::{AffiliationImportSummary, OrgImportSummary};
use fairshare_store::payments::PaymentImportSummary;

use crate::{IngestError, Progress, Result};

/// The programme's choices every contribution import applies.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Logins or names of bots (`*` matches anything): stored, flagged, never scored.
    pub bot_patterns: Vec<String>,
    /// The team credited for work in a repository, forum category or chat channel,
    /// when the import does not say.
    pub teams: BTreeMap<String, String>,
    /// The team credited where neither the import nor `teams` says (a scheduled
    /// source's own `team`).
    pub default_team: Option<String>,
}

impl Settings {
    /// Fills in each record's team from `teams` by its channel, where it has none.
    pub fn assign_teams(&self, records: &mut [ActivityRecord]) {
        if self.teams.is_empty() && self.default_team.is_none() {
            return;
        }
        for record in records.iter_mut().filter(|r| r.team.is_none()) {
            if let Some(channel) = &record.channel {
                record.team = self
                    .teams
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(channel))
                    .map(|(_, team)| team.clone());
            }
            if record.team.is_none() {
                record.team = self.default_team.clone();
            }
        }
    }
}

/// A local repository to import.
#[derive(Debug, Clone)]
pub struct GitImport {
    pub path: PathBuf,
    /// Revision to read from (default: HEAD).
    pub rev: Option<String>,
    pub team: Option<String>,
    /// Name recorded for the repository (default: its folder name).
    pub repo_name: Option<String>,
}

/// What a git import did.
#[derive(Debug, Clone)]
pub struct GitOutcome {
    pub summary: IngestSummary,
    /// The repository's recorded name.
    pub repo_name: String,
    pub commits_read: u64,
    /// The commit the walk started from.
    pub tip: String,
    /// Objects that could not be read (shallow or partial clones).
    pub problems: Vec<String>,
}

/// Runs imports into one store on behalf of one actor.
pub struct Importer<'a> {
    pub store: &'a Store,
    /// Recorded in the audit log and the run log.
    pub actor: &'a str,
    pub settings: &'a Settings,
    pub progress: Arc<dyn Progress>,
}

impl Importer<'_> {
    /// Records already in memory (small inputs), in one transaction. `bytes` identify
    /// the input in the run log.
    pub async fn activities(
        &self,
        source: &str,
        input: &str,
        bytes: &[u8],
        records: &mut [ActivityRecord],
        skips: &Skips,
    ) -> Result<IngestSummary> {
        self.settings.assign_teams(records);
        let mut session = self.session(source, input, &content_digest(bytes)).await?;
        session.add(records).await?;
        Ok(session.finish(skips).await?)
    }

    /// Payments of one export or API read, in one transaction.
    pub async fn payments(
        &self,
        source: &str,
        input: &str,
        bytes: &[u8],
        records: &[PaymentRecord],
    ) -> Result<PaymentImportSummary> {
        Ok(self
            .store
            .import_payments(source, input, &content_digest(bytes), records, self.actor)
            .await?)
    }

    /// Organisations of a directory file.
    pub async fn orgs(
        &self,
        input: &str,
        bytes: &[u8],
        rows: &[OrgRecord],
    ) -> Result<OrgImportSummary> {
        Ok(self
            .store
            .import_orgs(input, &content_digest(bytes), rows, self.actor)
            .await?)
    }

    /// Affiliations of a directory file; `lenient` refuses bad rows one by one (gitdm)
    /// instead of stopping the file.
    pub async fn affiliations(
        &self,
        input: &str,
        bytes: &[u8],
        rows: &[AffiliationRecord],
        source: &str,
        lenient: bool,
    ) -> Result<AffiliationImportSummary> {
        Ok(self
            .store
            .import_affiliations(
                input,
                &content_digest(bytes),
                rows,
                source,
                lenient,
                self.actor,
            )
            .await?)
    }

    /// Commits of a local repository; a re-run reads only commits that are new since
    /// the tips earlier runs stored.
    pub async fn git(&self, import: GitImport) -> Result<GitOutcome> {
        let path = import.path.canonicalize().map_err(|e| {
            ImportError::invalid(
                &import.path.display().to_string(),
                None,
                None,
                format!("cannot read: {e}"),
            )
        })?;
        let repo_name = import.repo_name.unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
                .unwrap_or_else(|| "repository".into())
        });
        let scope = repo_name.clone();
        let known_tips: Vec<String> = match self.store.import_cursor("git", &scope).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Vec::new(),
        };
        let mut session = self.session("git", &repo_name, "").await?;
        let tips = known_tips.clone();
        let reader_repo = repo_name.clone();
        let (rev, team) = (import.rev, import.team);
        let outcome = self
            .stream_into(&mut session, "commits read", move |sink, progress| {
                let options = fairshare_import::git::GitImport {
                    path: &path,
                    rev: rev.as_deref(),
                    repo_name: &reader_repo,
                    team: team.as_deref(),
                    known_tips: &tips,
                };
                fairshare_import::git::read(&options, sink, progress)
            })
            .await?;
        // The resume point moves only past a history read whole: a shallow clone is
        // read again once deepened, and what was missing is imported then.
        let mut tips = known_tips;
        if outcome.complete && !outcome.tip.is_empty() && !tips.contains(&outcome.tip) {
            tips.push(outcome.tip.clone());
            let cursor = serde_json::to_string(&tips).unwrap_or_default();
            session.set_cursor(&scope, &cursor).await?;
        }
        let summary = session.finish(&outcome.skips).await?;
        Ok(GitOutcome {
            summary,
            repo_name,
            commits_read: outcome.commits_read,
            tip: outcome.tip,
            problems: outcome.problems,
        })
    }

    /// One GH Archive file, in one transaction: imported whole or not at all, and
    /// importing it again adds nothing. `filter` picks the repositories; build it once
    /// for all the files of a run.
    pub async fn github_archive(
        &self,
        path: &Path,
        filter: &Arc<ArchiveFilter>,
    ) -> Result<IngestSummary> {
        let name = path.display().to_string();
        let filter = Arc::clone(filter);
        let input = fairshare_import::github_archive::open(path)?;
        // Stored as `github`, with the REST import's ids: an event read both ways counts once.
        let mut session = self.session("github", &name, "").await?;
        let reader_name = name.clone();
        let outcome = self
            .stream_into(&mut session, "events read", move |sink, progress| {
                fairshare_import::github_archive::read(&reader_name, input, &filter, sink, progress)
            })
            .await?;
        Ok(session.finish(&outcome.skips).await?)
    }

    /// A Slack workspace export, in one transaction, read entry by entry: memory stays
    /// bounded whatever the archive holds. Returns the summary and the channels read.
    pub async fn slack_export(
        &self,
        path: &Path,
        channels: Vec<String>,
    ) -> Result<(IngestSummary, usize)> {
        let name = path.display().to_string();
        let open = || std::fs::File::open(path).map_err(|e| ImportError::Io(name.clone(), e));
        let digest = fairshare_import::reader_digest(open()?)
            .map_err(|e| ImportError::Io(name.clone(), e))?;
        let input = std::io::BufReader::new(open()?);
        let mut session = self.session("slack", &name, &digest).await?;
        let reader_name = name.clone();
        let outcome = self
            .stream_into(&mut session, "messages read", move |sink, progress| {
                fairshare_import::slack::read(&reader_name, input, &channels, sink, progress)
            })
            .await?;
        Ok((session.finish(&outcome.skips).await?, outcome.channels_read))
    }

    /// Pull requests, reviews, issues and comments of a repository through GitHub's
    /// REST API, page by page, each page stored with its resume point.
    pub async fn github(
        &self,
        repo: &str,
        since: Option<time::Date>,
        api_url: &str,
        token: Option<String>,
    ) -> Result<IngestSummary> {
        let github = GithubRepo::new(api_url, repo, token)?;
        let since_flag = since.map(|d| {
            d.midnight()
                .assume_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        });
        self.progress.start("items stored");
        let mut total = IngestSummary {
            source: "github".into(),
            input: repo.to_string(),
            ..Default::default()
        };
        for stage in Stage::ALL {
            let scope = format!("{repo}:{}", stage.name());
            let resume = self.store.import_cursor("github", &scope).await?;
            let since = match (resume, since_flag.clone()) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            let mut path = Some(github.first_page(stage, since.as_deref()));
            while let Some(current) = path {
                let mut page = github.page(stage, &current, since.as_deref()).await?;
                self.settings.assign_teams(&mut page.records);
                let mut session = self.session("github", repo, "").await?;
                session.add(&page.records).await?;
                if let Some(resume_from) = &page.resume_from {
                    session.set_cursor(&scope, resume_from).await?;
                }
                let summary = session.finish(&page.skips).await?;
                self.progress.add(summary.new);
                add_up(&mut total, summary);
                path = page.next.take();
            }
        }
        self.progress.finish();
        Ok(total)
    }

    /// Any paged API ([`PagedSource`]: GitLab, Discord, Matrix, Stack Exchange,
    /// Weblate, GitHub Discussions), stream by stream: each page is stored in one
    /// transaction with its resume point, so an interrupted run loses at most the page
    /// in flight and the next run starts where the last stored page ended.
    pub async fn paged(&self, reader: &impl PagedSource) -> Result<IngestSummary> {
        let source = reader.source();
        let input = reader.input();
        let mut total = IngestSummary {
            source: source.into(),
            input: input.clone(),
            ..Default::default()
        };
        self.progress.start("items stored");
        for stream in reader.streams().await? {
            // Only a stream's first page starts from the stored point; later pages
            // follow their `next`.
            let resume = self.store.import_cursor(source, &stream).await?;
            let mut at: Option<String> = None;
            loop {
                let mut page = reader
                    .page(&stream, at.as_deref(), resume.as_deref())
                    .await?;
                self.settings.assign_teams(&mut page.records);
                let mut session = self.session(source, &input, "").await?;
                session.add(&page.records).await?;
                if let Some(point) = &page.resume {
                    session.set_cursor(&stream, point).await?;
                }
                let summary = session.finish(&page.skips).await?;
                self.progress.add(summary.new);
                add_up(&mut total, summary);
                // A page that points back where it was read would never end.
                match page.next.take() {
                    Some(next) if at.as_deref() != Some(next.as_str()) => at = Some(next),
                    _ => break,
                }
            }
        }
        self.progress.finish();
        Ok(total)
    }

    /// A Discourse forum's posts, newest first, back to the newest post an earlier run
    /// stored; all in one transaction.
    pub async fn discourse(
        &self,
        url: &str,
        key: Option<String>,
        username: &str,
    ) -> Result<IngestSummary> {
        let forum = fairshare_import::discourse::Forum::connect(url, key, username).await?;
        let scope = url.trim_end_matches('/').to_string();
        let stored_up_to: u64 = self
            .store
            .import_cursor("discourse", &scope)
            .await?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut session = self.session("discourse", &scope, "").await?;
        self.progress.start("posts read");
        let mut skips = Skips::default();
        let mut before = None;
        let mut highest = stored_up_to;
        loop {
            let mut page = forum.page(before).await?;
            let Some(lowest) = page.lowest else { break };
            highest = highest.max(page.highest.unwrap_or(0));
            self.settings.assign_teams(&mut page.records);
            self.progress.add(page.records.len() as u64);
            session.add(&page.records).await?;
            skips.merge(page.skips);
            if lowest <= stored_up_to + 1 || Some(lowest) == before {
                break;
            }
            before = Some(lowest);
        }
        self.progress.finish();
        session.set_cursor(&scope, &highest.to_string()).await?;
        Ok(session.finish(&skips).await?)
    }

    async fn session(&self, source: &str, input: &str, digest: &str) -> Result<IngestSession> {
        Ok(self
            .store
            .begin_ingest(
                source,
                input,
                digest,
                self.actor,
                &self.settings.bot_patterns,
            )
            .await?)
    }

    /// Runs a blocking reader (git, GH Archive) on its own thread and stores its
    /// batches as they arrive, through a bounded channel: memory stays flat whatever
    /// the input's size, and reading and storing use both cores.
    async fn stream_into<T: Send + 'static>(
        &self,
        session: &mut IngestSession,
        unit: &'static str,
        read: impl FnOnce(
            &mut dyn FnMut(Vec<ActivityRecord>) -> Result<(), ImportError>,
            &mut dyn FnMut(u64),
        ) -> Result<T, ImportError>
        + Send
        + 'static,
    ) -> Result<T> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<ActivityRecord>>(4);
        self.progress.start(unit);
        let progress = self.progress.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let mut sink = |batch| {
                sender
                    .blocking_send(batch)
                    .map_err(|_| ImportError::invalid("import", None, None, "storing stopped"))
            };
            let mut report = |n| progress.set(n);
            read(&mut sink, &mut report)
        });
        while let Some(mut batch) = receiver.recv().await {
            self.settings.assign_teams(&mut batch);
            session.add(&batch).await?;
        }
        let outcome = reader
            .await
            .map_err(|e| IngestError::Reader(e.to_string()))??;
        self.progress.finish();
        Ok(outcome)
    }
}

/// Adds one page's summary to the run's.
fn add_up(total: &mut IngestSummary, part: IngestSummary) {
    total.run_id = part.run_id;
    total.read += part.read;
    total.new += part.new;
    total.already_known += part.already_known;
    total.members_new += part.members_new;
    total.bot_activities += part.bot_activities;
    for (reason, count) in part.skipped {
        match total.skipped.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += count,
            None => total.skipped.push((reason, count)),
        }
    }
    for warning in part.warnings {
        match total
            .warnings
            .iter_mut()
            .find(|w| w.message == warning.message)
        {
            Some(w) => w.count += warning.count,
            None => total.warnings.push(warning),
        }
    }
}
