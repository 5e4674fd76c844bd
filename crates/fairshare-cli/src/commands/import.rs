//! `fairshare import …`: every source of contributions and the directory files.
//! Each import is one transaction (all-or-nothing), idempotent, and ends with a
//! summary: read, new, already known, skipped with reasons.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use fairshare_import::{ActivityRecord, ImportError, Skips};
use fairshare_store::activities::{IngestSession, IngestSummary};
use fairshare_store::{Store, directory::AffiliationImportSummary};

use super::Context;
use crate::progress;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Commits of a local git repository (bare or not); re-runs read only new commits.
    Git {
        path: PathBuf,
        /// Revision to read from (default: HEAD).
        #[arg(long)]
        rev: Option<String>,
        /// Team credited with the work.
        #[arg(long)]
        team: Option<String>,
        /// Name recorded for the repository, e.g. mautic/mautic (default: its folder name).
        #[arg(long)]
        repo_name: Option<String>,
    },
    /// GH Archive hourly files (.json or .json.gz) of the configured repositories.
    GithubArchive {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Repositories to import (owner/name), in addition to the configuration's
        /// `contributions.github_repositories`; with neither, every event is imported.
        #[arg(long = "repo", value_name = "OWNER/NAME")]
        repos: Vec<String>,
    },
    /// Pull requests, reviews, issues and comments of a repository through GitHub's
    /// REST API; resumes where an interrupted run stopped.
    Github {
        #[arg(long, value_name = "OWNER/NAME")]
        repo: String,
        /// Only what changed on or after this day.
        #[arg(long, value_parser = super::parse_date, value_name = "YYYY-MM-DD")]
        since: Option<time::Date>,
        #[arg(long, default_value = fairshare_import::github::DEFAULT_API)]
        api_url: String,
        /// Environment variable holding the API token.
        #[arg(long, default_value = "GITHUB_TOKEN")]
        token_env: String,
    },
    /// Topics, replies and accepted solutions of a Discourse forum.
    Discourse {
        #[arg(long)]
        url: String,
        /// Environment variable holding an API key (optional for public forums).
        #[arg(long, default_value = "DISCOURSE_API_KEY")]
        api_key_env: String,
        #[arg(long, default_value = "system")]
        api_username: String,
    },
    /// Messages of a Slack workspace export (ZIP); thread replies count as chat help.
    SlackExport {
        zip: PathBuf,
        /// Channels to import (repeatable; default: the configuration's, else all).
        #[arg(long = "channel", value_name = "NAME")]
        channels: Vec<String>,
    },
    /// Events of a Meetup group: hosts are credited with hosting.
    Meetup {
        #[arg(long, value_name = "URLNAME")]
        group: String,
        #[arg(long, default_value = fairshare_import::meetup::DEFAULT_API)]
        api_url: String,
        #[arg(long, default_value = "MEETUP_TOKEN")]
        token_env: String,
    },
    /// Payments from an Open Collective transactions export (CSV), or with
    /// `--collective SLUG` from its GraphQL API.
    Opencollective {
        #[arg(required_unless_present = "collective", conflicts_with = "collective")]
        file: Option<PathBuf>,
        #[arg(long, value_name = "SLUG")]
        collective: Option<String>,
        #[arg(long, default_value = fairshare_import::opencollective::DEFAULT_API)]
        api_url: String,
        #[arg(long, default_value = "OPENCOLLECTIVE_TOKEN")]
        token_env: String,
    },
    /// Payments from a GitHub Sponsors dashboard export (CSV), or with `--login` the
    /// charges implied by the sponsorable's activities through GitHub's GraphQL API.
    GithubSponsors {
        #[arg(required_unless_present = "login", conflicts_with = "login")]
        file: Option<PathBuf>,
        #[arg(long, value_name = "LOGIN")]
        login: Option<String>,
        #[arg(long, default_value = fairshare_import::github_sponsors::DEFAULT_API)]
        api_url: String,
        #[arg(long, default_value = "GITHUB_TOKEN")]
        token_env: String,
    },
    /// Non-code work from a CSV: date,kind,member,name,org,team,url,title.
    Activities { file: PathBuf },
    /// Organisations from a CSV: slug,name,country,website,domains.
    Orgs { file: PathBuf },
    /// Affiliations from a CSV (member,org,from,until) or a gitdm developers_affiliations file.
    Affiliations {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "csv")]
        format: AffiliationFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AffiliationFormat {
    Csv,
    Gitdm,
}

pub async fn run(context: &Context, command: ImportCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    match command {
        ImportCommand::Git {
            path,
            rev,
            team,
            repo_name,
        } => import_git(context, &store, &path, rev, team, repo_name).await,
        ImportCommand::GithubArchive { files, repos } => {
            import_archive(context, &store, &files, repos).await
        }
        ImportCommand::Github {
            repo,
            since,
            api_url,
            token_env,
        } => import_github(context, &store, &repo, since, &api_url, &token_env).await,
        ImportCommand::Discourse {
            url,
            api_key_env,
            api_username,
        } => import_discourse(context, &store, &url, &api_key_env, &api_username).await,
        ImportCommand::SlackExport { zip, channels } => {
            let name = zip.display().to_string();
            let file = std::fs::File::open(&zip).with_context(|| format!("cannot read {name}"))?;
            let channels = if channels.is_empty() {
                context.config.contributions.slack_channels.clone()
            } else {
                channels
            };
            let mut export =
                fairshare_import::slack::read(&name, std::io::BufReader::new(file), &channels)?;
            context
                .config
                .contributions
                .assign_teams(&mut export.records);
            let bytes = std::fs::read(&zip).with_context(|| format!("cannot read {name}"))?;
            let summary = ingest_all(
                context,
                &store,
                "slack",
                &name,
                &bytes,
                &export.records,
                &export.skips,
            )
            .await?;
            println!("{} channels read", export.channels_read);
            print_ingest(&summary, &[]);
            Ok(())
        }
        ImportCommand::Meetup {
            group,
            api_url,
            token_env,
        } => {
            let token = std::env::var(&token_env).ok().filter(|t| !t.is_empty());
            let mut events = fairshare_import::meetup::read(&api_url, &group, token).await?;
            context
                .config
                .contributions
                .assign_teams(&mut events.records);
            let summary = ingest_all(
                context,
                &store,
                "meetup",
                &group,
                group.as_bytes(),
                &events.records,
                &events.skips,
            )
            .await?;
            println!("{} events read", events.events_read);
            print_ingest(&summary, &[]);
            Ok(())
        }
        ImportCommand::Opencollective {
            file: Some(file), ..
        } => {
            let (name, bytes) = read_file(&file)?;
            let (records, skips) =
                fairshare_import::sponsorship::parse_opencollective(&name, bytes.as_slice())?;
            import_payments(
                context,
                &store,
                "opencollective",
                &name,
                &bytes,
                &records,
                &skips,
            )
            .await
        }
        ImportCommand::Opencollective {
            file: None,
            collective,
            api_url,
            token_env,
        } => {
            let collective = collective.unwrap_or_default();
            let token = std::env::var(&token_env).ok().filter(|t| !t.is_empty());
            let (records, skips) =
                fairshare_import::opencollective::read(&api_url, &collective, token).await?;
            let name = format!("{api_url} {collective}");
            import_payments(
                context,
                &store,
                "opencollective",
                &name,
                name.as_bytes(),
                &records,
                &skips,
            )
            .await
        }
        ImportCommand::GithubSponsors {
            file: Some(file), ..
        } => {
            let (name, bytes) = read_file(&file)?;
            let (records, skips) =
                fairshare_import::sponsorship::parse_github_sponsors(&name, bytes.as_slice())?;
            import_payments(
                context,
                &store,
                "github_sponsors",
                &name,
                &bytes,
                &records,
                &skips,
            )
            .await
        }
        ImportCommand::GithubSponsors {
            file: None,
            login,
            api_url,
            token_env,
        } => {
            let login = login.unwrap_or_default();
            let token = std::env::var(&token_env).ok().filter(|t| !t.is_empty());
            let activities =
                fairshare_import::github_sponsors::read_activities(&api_url, &login, token).await?;
            let (records, skips) =
                fairshare_import::github_sponsors::charges(&activities, context.today());
            println!("{} sponsors activities read", activities.len());
            let name = format!("{api_url} {login}");
            import_payments(
                context,
                &store,
                "github_sponsors_api",
                &name,
                name.as_bytes(),
                &records,
                &skips,
            )
            .await
        }
        ImportCommand::Activities { file } => {
            let (name, bytes) = read_file(&file)?;
            let records = fairshare_import::activities_csv::parse(&name, bytes.as_slice())?;
            let summary = ingest_all(
                context,
                &store,
                "csv",
                &name,
                &bytes,
                &records,
                &Skips::default(),
            )
            .await?;
            print_ingest(&summary, &[]);
            Ok(())
        }
        ImportCommand::Orgs { file } => {
            let (name, bytes) = read_file(&file)?;
            let rows = fairshare_import::directory::parse_orgs(&name, bytes.as_slice())?;
            let digest = fairshare_import::content_digest(&bytes);
            let s = store
                .import_orgs(&name, &digest, &rows, &context.actor)
                .await?;
            println!(
                "{name}: {} organisations read: {} new, {} updated, {} unchanged; {} activities re-attributed",
                s.read, s.new, s.updated, s.unchanged, s.reattributed
            );
            Ok(())
        }
        ImportCommand::Affiliations { file, format } => {
            let (name, bytes) = read_file(&file)?;
            let digest = fairshare_import::content_digest(&bytes);
            let (rows, mut refused, source, lenient) = match format {
                AffiliationFormat::Csv => (
                    fairshare_import::directory::parse_affiliations(&name, bytes.as_slice())?,
                    Vec::new(),
                    "file",
                    false,
                ),
                AffiliationFormat::Gitdm => {
                    let parsed = fairshare_import::directory::parse_gitdm(&name, bytes.as_slice())?;
                    (parsed.affiliations, parsed.refused, "gitdm", true)
                }
            };
            let mut s = store
                .import_affiliations(&name, &digest, &rows, source, lenient, &context.actor)
                .await?;
            refused.append(&mut s.refused);
            s.refused = refused;
            print_affiliations(&name, &s);
            Ok(())
        }
    }
}

async fn import_payments(
    context: &Context,
    store: &Store,
    source: &str,
    name: &str,
    bytes: &[u8],
    records: &[fairshare_import::PaymentRecord],
    skips: &Skips,
) -> anyhow::Result<()> {
    let digest = fairshare_import::content_digest(bytes);
    let s = store
        .import_payments(source, name, &digest, records, &context.actor)
        .await?;
    println!(
        "{name}: {} payments read: {} new, {} already known; {} rows skipped",
        s.read,
        s.new,
        s.already_known,
        skips.total()
    );
    for skip in &skips.0 {
        println!("  skipped {}: {}", skip.count, skip.reason);
    }
    let unlinked = store.unlinked_accounts().await?;
    if !unlinked.is_empty() {
        println!(
            "{} sponsor accounts are not linked to an organisation yet: fairshare payments unlinked",
            unlinked.len()
        );
    }
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    Ok((name, bytes))
}

/// Ingests records already in memory (small inputs) in one transaction.
async fn ingest_all(
    context: &Context,
    store: &Store,
    source: &str,
    input: &str,
    bytes: &[u8],
    records: &[ActivityRecord],
    skips: &Skips,
) -> anyhow::Result<IngestSummary> {
    let digest = fairshare_import::content_digest(bytes);
    let mut session = store
        .begin_ingest(
            source,
            input,
            &digest,
            &context.actor,
            &context.config.contributions.bot_patterns,
        )
        .await?;
    session.add(records).await?;
    Ok(session.finish(skips).await?)
}

async fn import_git(
    context: &Context,
    store: &Store,
    path: &Path,
    rev: Option<String>,
    team: Option<String>,
    repo_name: Option<String>,
) -> anyhow::Result<()> {
    let path = path
        .canonicalize()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let repo_name = repo_name.unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
            .unwrap_or_else(|| "repository".into())
    });
    let scope = repo_name.clone();
    let known_tips: Vec<String> = match store.import_cursor("git", &scope).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut session = store
        .begin_ingest(
            "git",
            &repo_name,
            "",
            &context.actor,
            &context.config.contributions.bot_patterns,
        )
        .await?;
    let tips = known_tips.clone();
    let outcome = stream_into(
        context,
        &mut session,
        "commits read",
        move |sink, progress| {
            let options = fairshare_import::git::GitImport {
                path: &path,
                rev: rev.as_deref(),
                repo_name: &repo_name,
                team: team.as_deref(),
                known_tips: &tips,
            };
            fairshare_import::git::read(&options, sink, progress)
        },
    )
    .await?;
    let mut tips = known_tips;
    if !tips.contains(&outcome.tip) {
        tips.push(outcome.tip.clone());
    }
    session
        .set_cursor(&scope, &serde_json::to_string(&tips)?)
        .await?;
    let summary = session.finish(&outcome.skips).await?;
    println!(
        "{} commits read from {scope} (up to {})",
        outcome.commits_read,
        &outcome.tip[..12.min(outcome.tip.len())]
    );
    print_ingest(&summary, &outcome.problems);
    Ok(())
}

/// Runs a blocking reader (git, GH Archive) on its own thread and stores its batches
/// as they arrive, through a bounded channel: memory stays flat whatever the input's
/// size, and reading and storing use both cores.
async fn stream_into<T: Send + 'static>(
    context: &Context,
    session: &mut IngestSession,
    unit: &'static str,
    read: impl FnOnce(
        &mut dyn FnMut(Vec<ActivityRecord>) -> Result<(), ImportError>,
        &mut dyn FnMut(u64),
    ) -> Result<T, ImportError>
    + Send
    + 'static,
) -> anyhow::Result<T> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<ActivityRecord>>(4);
    let bar = progress::counter(unit);
    let reader_bar = bar.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut sink = |batch| {
            sender
                .blocking_send(batch)
                .map_err(|_| ImportError::invalid("import", None, None, "storing stopped"))
        };
        let mut progress = |n| reader_bar.set_position(n);
        read(&mut sink, &mut progress)
    });
    while let Some(mut batch) = receiver.recv().await {
        context.config.contributions.assign_teams(&mut batch);
        session.add(&batch).await?;
    }
    let outcome = reader.await.context("the reader stopped")??;
    bar.finish_and_clear();
    Ok(outcome)
}

/// One transaction per file: a file is imported whole or not at all, and importing
/// it again adds nothing.
async fn import_archive(
    context: &Context,
    store: &Store,
    files: &[PathBuf],
    repos: Vec<String>,
) -> anyhow::Result<()> {
    let mut repositories = context.config.contributions.github_repositories.clone();
    repositories.extend(repos);
    let filter = std::sync::Arc::new(fairshare_import::github_archive::ArchiveFilter::new(
        &repositories,
    ));
    for path in files {
        let name = path.display().to_string();
        let input = fairshare_import::github_archive::open(path)?;
        let mut session = store
            .begin_ingest(
                "github_archive",
                &name,
                "",
                &context.actor,
                &context.config.contributions.bot_patterns,
            )
            .await?;
        let reader_filter = filter.clone();
        let reader_name = name.clone();
        let outcome = stream_into(
            context,
            &mut session,
            "events read",
            move |sink, progress| {
                fairshare_import::github_archive::read(
                    &reader_name,
                    input,
                    &reader_filter,
                    sink,
                    progress,
                )
            },
        )
        .await?;
        let summary = session.finish(&outcome.skips).await?;
        print_ingest(&summary, &[]);
    }
    Ok(())
}

/// Page by page: each page is stored with its resume point in one transaction, so
/// an interruption loses at most the page in flight.
async fn import_github(
    context: &Context,
    store: &Store,
    repo: &str,
    since: Option<time::Date>,
    api_url: &str,
    token_env: &str,
) -> anyhow::Result<()> {
    use fairshare_import::github::{GithubRepo, Stage};
    let token = std::env::var(token_env).ok().filter(|t| !t.is_empty());
    if token.is_none() {
        eprintln!(
            "note: ${token_env} is not set; unauthenticated requests are heavily rate limited"
        );
    }
    let github = GithubRepo::new(api_url, repo, token)?;
    let since_flag = since.map(|d| {
        d.midnight()
            .assume_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    });
    let bar = progress::counter("items stored");
    let mut total = IngestSummary {
        source: "github".into(),
        input: repo.to_string(),
        ..Default::default()
    };
    for stage in Stage::ALL {
        let scope = format!("{repo}:{}", stage.name());
        let resume = store.import_cursor("github", &scope).await?;
        let since = match (resume, since_flag.clone()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut path = Some(github.first_page(stage, since.as_deref()));
        while let Some(current) = path {
            let mut page = github.page(stage, &current, since.as_deref()).await?;
            context.config.contributions.assign_teams(&mut page.records);
            let mut session = store
                .begin_ingest(
                    "github",
                    repo,
                    "",
                    &context.actor,
                    &context.config.contributions.bot_patterns,
                )
                .await?;
            session.add(&page.records).await?;
            if let Some(resume_from) = &page.resume_from {
                session.set_cursor(&scope, resume_from).await?;
            }
            let summary = session.finish(&page.skips).await?;
            bar.inc(summary.new);
            add_up(&mut total, summary);
            path = page.next.take();
        }
    }
    bar.finish_and_clear();
    print_ingest(&total, &[]);
    Ok(())
}

/// Newest posts first, back to the newest post an earlier run stored; all in one
/// transaction.
async fn import_discourse(
    context: &Context,
    store: &Store,
    url: &str,
    api_key_env: &str,
    api_username: &str,
) -> anyhow::Result<()> {
    let key = std::env::var(api_key_env).ok().filter(|k| !k.is_empty());
    let forum = fairshare_import::discourse::Forum::connect(url, key, api_username).await?;
    let scope = url.trim_end_matches('/').to_string();
    let stored_up_to: u64 = store
        .import_cursor("discourse", &scope)
        .await?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut session = store
        .begin_ingest(
            "discourse",
            &scope,
            "",
            &context.actor,
            &context.config.contributions.bot_patterns,
        )
        .await?;
    let bar = progress::counter("posts read");
    let mut skips = Skips::default();
    let mut before = None;
    let mut highest = stored_up_to;
    loop {
        let mut page = forum.page(before).await?;
        let Some(lowest) = page.lowest else { break };
        highest = highest.max(page.highest.unwrap_or(0));
        context.config.contributions.assign_teams(&mut page.records);
        bar.inc(page.records.len() as u64);
        session.add(&page.records).await?;
        skips.merge(page.skips);
        if lowest <= stored_up_to + 1 || Some(lowest) == before {
            break;
        }
        before = Some(lowest);
    }
    bar.finish_and_clear();
    session.set_cursor(&scope, &highest.to_string()).await?;
    let summary = session.finish(&skips).await?;
    print_ingest(&summary, &[]);
    Ok(())
}

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

pub fn print_ingest(s: &IngestSummary, problems: &[String]) {
    println!(
        "{} {}: {} read, {} new, {} already known, {} skipped; {} new members; {} bot activities (never scored)",
        s.source,
        s.input,
        s.read,
        s.new,
        s.already_known,
        s.skipped.iter().map(|(_, n)| n).sum::<u64>(),
        s.members_new,
        s.bot_activities
    );
    for (reason, count) in &s.skipped {
        println!("  skipped {count}: {reason}");
    }
    for w in &s.warnings {
        println!(
            "  warning: {} ({} times, first: {})",
            w.message, w.count, w.example
        );
    }
    for problem in problems {
        println!("  not read: {problem}");
    }
}

fn print_affiliations(name: &str, s: &AffiliationImportSummary) {
    println!(
        "{name}: {} affiliations read: {} new, {} already known, {} refused; {} new members; {} activities re-attributed",
        s.read,
        s.new,
        s.already_known,
        s.refused.len(),
        s.members_new,
        s.reattributed
    );
    for line in &s.refused {
        println!("  refused {line}");
    }
}
