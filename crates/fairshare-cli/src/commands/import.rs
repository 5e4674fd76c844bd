//! `fairshare import …`: every source of contributions and the directory files. The
//! command reads its arguments and the configuration, runs the import through
//! `fairshare-ingest` (one transaction per input, idempotent) and prints the summary:
//! read, new, already known, skipped with reasons.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use fairshare_engine::sources::SourceSettings;
use fairshare_import::Skips;
use fairshare_ingest::Importer;
use fairshare_store::activities::IngestSummary;
use fairshare_store::directory::AffiliationImportSummary;
use fairshare_store::locks::Exclusive;

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
    /// Merge requests (opened, merged, approved), issues (opened, closed) and comments
    /// of a GitLab project through REST v4; resumes where the last run stopped.
    Gitlab {
        #[arg(long, value_name = "GROUP/PROJECT")]
        project: String,
        /// The instance's API (self-hosted: https://gitlab.example.org/api/v4).
        #[arg(long, default_value = fairshare_import::gitlab::DEFAULT_API)]
        api_url: String,
        /// Environment variable holding a token with `read_api`.
        #[arg(long, default_value = "GITLAB_TOKEN")]
        token_env: String,
        /// Also read the commit list (for projects not imported through git).
        #[arg(long)]
        commits: bool,
    },
    /// Discussions, comments and chosen answers of a GitHub repository (GraphQL).
    GithubDiscussions {
        #[arg(long, value_name = "OWNER/NAME")]
        repo: String,
        #[arg(long, default_value = fairshare_import::github_discussions::DEFAULT_API)]
        api_url: String,
        #[arg(long, default_value = "GITHUB_TOKEN")]
        token_env: String,
    },
    /// Messages of Discord channels and their threads; replies to others and answers in
    /// others' threads count as chat help. Needs a bot token.
    Discord {
        /// Channel ids (repeatable).
        #[arg(long = "channel", value_name = "ID", required = true)]
        channels: Vec<String>,
        #[arg(long, default_value = fairshare_import::discord::DEFAULT_API)]
        api_url: String,
        #[arg(long, default_value = "DISCORD_TOKEN")]
        token_env: String,
    },
    /// Messages of Matrix rooms; replies to others and thread answers count as chat help.
    Matrix {
        /// The homeserver, e.g. https://matrix.org.
        #[arg(long)]
        homeserver: String,
        /// Room ids (!id:server) or aliases (#name:server), repeatable.
        #[arg(long = "room", value_name = "ROOM", required = true)]
        rooms: Vec<String>,
        #[arg(long, default_value = "MATRIX_TOKEN")]
        token_env: String,
    },
    /// Answers (and accepted answers) on a Stack Exchange site to questions with the
    /// project's tags.
    Stackexchange {
        /// Tags (repeatable).
        #[arg(long = "tag", value_name = "TAG", required = true)]
        tags: Vec<String>,
        #[arg(long, default_value = "stackoverflow")]
        site: String,
        #[arg(long, default_value = fairshare_import::stackexchange::DEFAULT_API)]
        api_url: String,
        /// Environment variable holding an API key (raises the daily quota).
        #[arg(long, default_value = "STACKEXCHANGE_KEY")]
        key_env: String,
    },
    /// Translations and approvals on a Weblate server (its changes API).
    Weblate {
        /// The server, e.g. https://hosted.weblate.org.
        #[arg(long)]
        url: String,
        /// One project's slug (default: every project the token sees).
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value = "WEBLATE_TOKEN")]
        token_env: String,
    },
    /// Crowdin webhook deliveries saved as JSON files (one event, or `{"events": […]}`):
    /// to replay what the webhook missed.
    Crowdin {
        #[arg(required = true)]
        files: Vec<PathBuf>,
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

/// Runs one import; imports started elsewhere meanwhile wait for it to finish (and
/// this one for them), in this process or any other on the same database.
pub async fn run(context: &Context, command: ImportCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    store
        .exclusively(Exclusive::Import, run_alone(context, &store, command))
        .await
}

async fn run_alone(
    context: &Context,
    store: &fairshare_store::Store,
    command: ImportCommand,
) -> anyhow::Result<()> {
    let settings = context.config.contributions.settings();
    let terminal = Arc::new(progress::Terminal::default());
    let importer = Importer {
        store,
        actor: &context.actor,
        settings: &settings,
        progress: terminal.clone(),
    };
    let secret = |name: &str| token(name);
    let env = fairshare_ingest::sources::SourceEnv {
        data_dir: Path::new("."),
        name: "import",
        today: context.today(),
        thresholds: &context.rules(store).await?.thresholds,
        secret: &secret,
    };
    // The sources a scheduler runs, started by hand: the same code, the same summary.
    let settings = match command {
        ImportCommand::Git {
            path,
            rev,
            team,
            repo_name,
        } => {
            let mut with_team = importer.settings.clone();
            with_team.default_team = team;
            let importer = Importer {
                settings: &with_team,
                ..importer
            };
            let git = SourceSettings::Git {
                path: Some(path.display().to_string()),
                url: None,
                rev,
                repo_name,
            };
            return print_lines(fairshare_ingest::sources::run(&importer, &git, &env).await?);
        }
        ImportCommand::GithubArchive { files, repos } => {
            let mut repositories = context.config.contributions.github_repositories.clone();
            repositories.extend(repos);
            let filter = Arc::new(fairshare_import::github_archive::ArchiveFilter::new(
                &repositories,
            ));
            let started = std::time::Instant::now();
            for (done, path) in files.iter().enumerate() {
                if files.len() > 1 {
                    terminal.set_stage(progress::stage("file", done, files.len(), started));
                }
                let summary = importer.github_archive(path, &filter).await?;
                print_ingest(&summary, &[]);
            }
            return Ok(());
        }
        ImportCommand::Github {
            repo,
            since: Some(since),
            api_url,
            token_env,
        } => {
            let token = token(&token_env);
            warn_unauthenticated(&token_env, &token);
            let summary = importer.github(&repo, Some(since), &api_url, token).await?;
            print_ingest(&summary, &[]);
            return Ok(());
        }
        ImportCommand::Github {
            repo,
            since: None,
            api_url,
            token_env,
        } => {
            warn_unauthenticated(&token_env, &token(&token_env));
            SourceSettings::Github {
                repo,
                token_env: Some(token_env),
                api_url: Some(api_url),
            }
        }
        ImportCommand::Discourse {
            url,
            api_key_env,
            api_username,
        } => SourceSettings::Discourse {
            url,
            api_key_env: Some(api_key_env),
            api_username: Some(api_username),
        },
        ImportCommand::Gitlab {
            project,
            api_url,
            token_env,
            commits,
        } => {
            warn_unauthenticated(&token_env, &token(&token_env));
            SourceSettings::Gitlab {
                project,
                token_env: Some(token_env),
                api_url: Some(api_url),
                commits,
            }
        }
        ImportCommand::GithubDiscussions {
            repo,
            api_url,
            token_env,
        } => SourceSettings::GithubDiscussions {
            repo,
            token_env: Some(token_env),
            api_url: Some(api_url),
        },
        ImportCommand::Discord {
            channels,
            api_url,
            token_env,
        } => SourceSettings::Discord {
            channels,
            token_env: Some(token_env),
            api_url: Some(api_url),
        },
        ImportCommand::Matrix {
            homeserver,
            rooms,
            token_env,
        } => SourceSettings::Matrix {
            homeserver,
            rooms,
            token_env: Some(token_env),
        },
        ImportCommand::Stackexchange {
            tags,
            site,
            api_url,
            key_env,
        } => SourceSettings::Stackexchange {
            tags,
            site: Some(site),
            key_env: Some(key_env),
            api_url: Some(api_url),
        },
        ImportCommand::Weblate {
            url,
            project,
            token_env,
        } => SourceSettings::Weblate {
            url,
            project,
            token_env: Some(token_env),
        },
        ImportCommand::Crowdin { files } => {
            for file in files {
                let (name, bytes) = read_file(&file)?;
                // Crowdin dates no approval: a saved delivery's file keeps when it came.
                let received = std::fs::metadata(&file)
                    .and_then(|m| m.modified())
                    .map(time::OffsetDateTime::from)
                    .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
                let delivery = fairshare_import::crowdin::webhook(&bytes, received)
                    .map_err(|bad| anyhow::anyhow!("{name}: {bad}"))?;
                let fairshare_import::webhooks::Delivery::Activities {
                    mut records, skips, ..
                } = delivery
                else {
                    println!("{name}: no events");
                    continue;
                };
                let summary = importer
                    .activities("crowdin", &name, &bytes, &mut records, &skips)
                    .await?;
                print_ingest(&summary, &[]);
            }
            return Ok(());
        }
        ImportCommand::SlackExport { zip, channels } => {
            let channels = if channels.is_empty() {
                context.config.contributions.slack_channels.clone()
            } else {
                channels
            };
            let (summary, channels_read) = importer.slack_export(&zip, channels).await?;
            println!("{channels_read} channels read");
            print_ingest(&summary, &[]);
            return Ok(());
        }
        ImportCommand::Meetup {
            group,
            api_url,
            token_env,
        } => SourceSettings::Meetup {
            group,
            token_env: Some(token_env),
            api_url: Some(api_url),
        },
        ImportCommand::Opencollective {
            file: Some(file), ..
        } => {
            let (name, bytes) = read_file(&file)?;
            let (records, skips) =
                fairshare_import::sponsorship::parse_opencollective(&name, bytes.as_slice())?;
            return import_payments(&importer, "opencollective", &name, &bytes, &records, &skips)
                .await;
        }
        ImportCommand::Opencollective {
            file: None,
            collective,
            api_url,
            token_env,
        } => SourceSettings::Opencollective {
            collective: collective.unwrap_or_default(),
            token_env: Some(token_env),
            api_url: Some(api_url),
        },
        ImportCommand::GithubSponsors {
            file: Some(file), ..
        } => {
            let (name, bytes) = read_file(&file)?;
            let (records, skips) =
                fairshare_import::sponsorship::parse_github_sponsors(&name, bytes.as_slice())?;
            return import_payments(
                &importer,
                "github_sponsors",
                &name,
                &bytes,
                &records,
                &skips,
            )
            .await;
        }
        ImportCommand::GithubSponsors {
            file: None,
            login,
            api_url,
            token_env,
        } => SourceSettings::GithubSponsors {
            login: login.unwrap_or_default(),
            token_env: Some(token_env),
            api_url: Some(api_url),
        },
        ImportCommand::Activities { file } => {
            let (name, bytes) = read_file(&file)?;
            let organisations = store
                .organisations()
                .await?
                .into_iter()
                .map(|o| o.slug)
                .collect();
            let known = fairshare_import::activities_csv::Known {
                today: context.today(),
                organisations: &organisations,
            };
            let mut records =
                fairshare_import::activities_csv::parse(&name, bytes.as_slice(), &known)?;
            let summary = importer
                .activities("csv", &name, &bytes, &mut records, &Skips::default())
                .await?;
            print_ingest(&summary, &[]);
            return Ok(());
        }
        ImportCommand::Orgs { file } => {
            let (name, bytes) = read_file(&file)?;
            let rows = fairshare_import::directory::parse_orgs(&name, bytes.as_slice())?;
            let s = importer.orgs(&name, &bytes, &rows).await?;
            println!(
                "{name}: {} organisations read: {} new, {} updated, {} unchanged; {} activities re-attributed",
                s.read, s.new, s.updated, s.unchanged, s.reattributed
            );
            return Ok(());
        }
        ImportCommand::Affiliations { file, format } => {
            let (name, bytes) = read_file(&file)?;
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
            let mut s = importer
                .affiliations(&name, &bytes, &rows, source, lenient)
                .await?;
            refused.append(&mut s.refused);
            s.refused = refused;
            print_affiliations(&name, &s);
            return Ok(());
        }
    };
    print_lines(fairshare_ingest::sources::run(&importer, &settings, &env).await?)
}

/// The secret in environment variable `name`, when set and not empty.
fn token(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|t| !t.is_empty())
}

async fn import_payments(
    importer: &Importer<'_>,
    source: &str,
    name: &str,
    bytes: &[u8],
    records: &[fairshare_import::PaymentRecord],
    skips: &Skips,
) -> anyhow::Result<()> {
    print_lines(
        fairshare_ingest::sources::payments(importer, source, name, bytes, records, skips).await?,
    )
}

fn print_lines(lines: Vec<String>) -> anyhow::Result<()> {
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

fn warn_unauthenticated(token_env: &str, token: &Option<String>) {
    if token.is_none() {
        eprintln!(
            "note: ${token_env} is not set; unauthenticated requests are heavily rate limited"
        );
    }
}

fn read_file(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    Ok((name, bytes))
}

pub fn print_ingest(s: &IngestSummary, problems: &[String]) {
    for line in fairshare_ingest::sources::summary_lines(s, problems) {
        println!("{line}");
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
