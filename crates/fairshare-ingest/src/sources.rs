//! Runs one source, as defined once (`fairshare_engine::sources`), through the same
//! import code the CLI's `import` commands use: a git repository (on disk, or cloned
//! and fetched into the data directory), the GitHub (REST and Discussions), GitLab,
//! Discourse, Discord, Matrix, Stack Exchange, Weblate, Meetup, Open Collective and
//! GitHub Sponsors APIs, and the reference data (ECB rates, Big Mac file) fetched
//! from their URLs. Returns the summary as lines of text, the same the CLI prints.

use std::path::{Path, PathBuf};

use fairshare_engine::ThresholdPolicy;
use fairshare_engine::sources::SourceSettings;
use fairshare_import::Skips;
use fairshare_store::activities::IngestSummary;
use fairshare_store::bigmac::ReleaseChecks;

use crate::{GitImport, Importer, IngestError, Result};

/// What a source run needs besides its definition.
pub struct SourceEnv<'a> {
    /// Where git sources given by `url` are cloned (`<data_dir>/git/<name>`).
    pub data_dir: &'a Path,
    /// The source's name (the folder of its clone).
    pub name: &'a str,
    pub today: time::Date,
    /// The thresholds policy in force: a Big Mac release must price its base country.
    pub thresholds: &'a ThresholdPolicy,
    /// Reads a secret from the environment (tokens are named, never stored).
    pub secret: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

/// The largest reference file fetched: the Big Mac source file is ~200 KiB, the ECB's
/// history ~600 KiB zipped.
const MAX_DOWNLOAD: usize = 64 << 20;

/// Runs `settings` once; the lines say what was read, stored and skipped.
pub async fn run(
    importer: &Importer<'_>,
    settings: &SourceSettings,
    env: &SourceEnv<'_>,
) -> Result<Vec<String>> {
    use fairshare_import::{
        discord, github, github_discussions, github_sponsors, gitlab, matrix, meetup,
        opencollective, stackexchange, weblate,
    };
    let token =
        |name: &Option<String>, default: &str| (env.secret)(name.as_deref().unwrap_or(default));
    match settings {
        SourceSettings::Git {
            path,
            url,
            rev,
            repo_name,
        } => {
            let (path, repo_name) = match (path, url) {
                (Some(path), _) => (PathBuf::from(path), repo_name.clone()),
                (None, Some(url)) => (
                    mirror(url, &env.data_dir.join("git").join(env.name)).await?,
                    repo_name.clone().or_else(|| Some(repo_name_of(url))),
                ),
                (None, None) => return Err(invalid(env.name, "needs `path` or `url`")),
            };
            let outcome = importer
                .git(GitImport {
                    path,
                    rev: rev.clone(),
                    team: importer.settings.default_team.clone(),
                    repo_name,
                })
                .await?;
            if outcome.tip.is_empty() {
                return Ok(vec![format!("{}: no commits yet", outcome.repo_name)]);
            }
            let mut lines = vec![format!(
                "{} commits read from {} (up to {})",
                outcome.commits_read,
                outcome.repo_name,
                &outcome.tip[..12.min(outcome.tip.len())]
            )];
            lines.extend(summary_lines(&outcome.summary, &outcome.problems));
            Ok(lines)
        }
        SourceSettings::Github {
            repo,
            token_env,
            api_url,
        } => {
            let api = api_url.as_deref().unwrap_or(github::DEFAULT_API);
            let summary = importer
                .github(repo, None, api, token(token_env, "GITHUB_TOKEN"))
                .await?;
            Ok(summary_lines(&summary, &[]))
        }
        SourceSettings::Discourse {
            url,
            api_key_env,
            api_username,
        } => {
            let summary = importer
                .discourse(
                    url,
                    token(api_key_env, "DISCOURSE_API_KEY"),
                    api_username.as_deref().unwrap_or("system"),
                )
                .await?;
            Ok(summary_lines(&summary, &[]))
        }
        SourceSettings::Gitlab {
            project,
            token_env,
            api_url,
            commits,
        } => {
            let api = api_url.as_deref().unwrap_or(gitlab::DEFAULT_API);
            let reader = gitlab::GitlabProject::new(
                api,
                project,
                token(token_env, "GITLAB_TOKEN"),
                *commits,
            )?;
            Ok(summary_lines(&importer.paged(&reader).await?, &[]))
        }
        SourceSettings::GithubDiscussions {
            repo,
            token_env,
            api_url,
        } => {
            let api = api_url
                .as_deref()
                .unwrap_or(github_discussions::DEFAULT_API);
            let reader = github_discussions::GithubDiscussions::new(
                api,
                repo,
                token(token_env, "GITHUB_TOKEN"),
            )?;
            Ok(summary_lines(&importer.paged(&reader).await?, &[]))
        }
        SourceSettings::Discord {
            channels,
            token_env,
            api_url,
        } => {
            let api = api_url.as_deref().unwrap_or(discord::DEFAULT_API);
            let token = token(token_env, "DISCORD_TOKEN")
                .ok_or_else(|| invalid(env.name, "Discord needs a bot token (DISCORD_TOKEN)"))?;
            let reader = discord::Discord::new(api, channels, Some(token))?;
            Ok(summary_lines(&importer.paged(&reader).await?, &[]))
        }
        SourceSettings::Matrix {
            homeserver,
            rooms,
            token_env,
        } => {
            let token = token(token_env, "MATRIX_TOKEN")
                .ok_or_else(|| invalid(env.name, "Matrix needs an access token (MATRIX_TOKEN)"))?;
            let reader = matrix::Matrix::new(homeserver, rooms, Some(token))?;
            Ok(summary_lines(&importer.paged(&reader).await?, &[]))
        }
        SourceSettings::Stackexchange {
            tags,
            site,
            key_env,
            api_url,
        } => {
            let api = api_url.as_deref().unwrap_or(stackexchange::DEFAULT_API);
            let reader = stackexchange::StackExchange::new(
                api,
                site.as_deref().unwrap_or("stackoverflow"),
                tags,
                token(key_env, "STACKEXCHANGE_KEY"),
            )?;
            Ok(summary_lines(&importer.paged(&reader).await?, &[]))
        }
        SourceSettings::Weblate {
            url,
            project,
            token_env,
        } => {
            let reader =
                weblate::Weblate::new(url, project.as_deref(), token(token_env, "WEBLATE_TOKEN"))?;
            Ok(summary_lines(&importer.paged(&reader).await?, &[]))
        }
        SourceSettings::Meetup {
            group,
            token_env,
            api_url,
        } => {
            let api = api_url.as_deref().unwrap_or(meetup::DEFAULT_API);
            let mut events = meetup::read(api, group, token(token_env, "MEETUP_TOKEN")).await?;
            let summary = importer
                .activities(
                    "meetup",
                    group,
                    group.as_bytes(),
                    &mut events.records,
                    &events.skips,
                )
                .await?;
            let mut lines = vec![format!("{} events read", events.events_read)];
            lines.extend(summary_lines(&summary, &[]));
            Ok(lines)
        }
        SourceSettings::Opencollective {
            collective,
            token_env,
            api_url,
        } => {
            let api = api_url.as_deref().unwrap_or(opencollective::DEFAULT_API);
            let (records, skips) =
                opencollective::read(api, collective, token(token_env, "OPENCOLLECTIVE_TOKEN"))
                    .await?;
            let name = format!("{api} {collective}");
            payments(
                importer,
                "opencollective",
                &name,
                name.as_bytes(),
                &records,
                &skips,
            )
            .await
        }
        SourceSettings::GithubSponsors {
            login,
            token_env,
            api_url,
        } => {
            let api = api_url.as_deref().unwrap_or(github_sponsors::DEFAULT_API);
            let activities =
                github_sponsors::read_activities(api, login, token(token_env, "GITHUB_TOKEN"))
                    .await?;
            let (records, skips) = github_sponsors::charges(&activities, env.today);
            let name = format!("{api} {login}");
            let mut lines = vec![format!("{} sponsors activities read", activities.len())];
            lines.extend(
                payments(
                    importer,
                    "github_sponsors_api",
                    &name,
                    name.as_bytes(),
                    &records,
                    &skips,
                )
                .await?,
            );
            Ok(lines)
        }
        SourceSettings::Ecb { url } => {
            let bytes = download(url).await?;
            let rates = fairshare_import::ecb::parse_download(url, &bytes)?;
            let digest = fairshare_import::content_digest(&bytes);
            let s = importer
                .store
                .import_rates(url, &digest, &rates, importer.actor)
                .await?;
            Ok(vec![format!(
                "{url}: {} rates read: {} new, {} revised, {} unchanged",
                s.read, s.new, s.changed, s.unchanged
            )])
        }
        SourceSettings::Bigmac { url, partial } => {
            let bytes = download(url).await?;
            let parsed = fairshare_import::bigmac::parse(url, bytes.as_slice())?;
            let digest = fairshare_import::content_digest(&bytes);
            let checks = ReleaseChecks {
                base_country: env.thresholds.base_country,
                partial: *partial,
            };
            let s = importer
                .store
                .import_bigmac(url, &digest, &parsed, Some(checks), importer.actor)
                .await?;
            let mut lines = bigmac_lines(&s);
            // A new release comes into force on its own, under the freezing rules.
            match importer
                .store
                .publish_release_in_force(env.today, env.thresholds, importer.actor)
                .await
            {
                Ok(Some(release)) => lines.push(format!(
                    "published the thresholds of the {release} release, now in force"
                )),
                Ok(None) => {}
                Err(error) => lines.push(format!(
                    "warning: stored, but the thresholds in force could not be published: {error}"
                )),
            }
            Ok(lines)
        }
    }
}

/// The lines an import's summary reads as (printed by the CLI, kept with a run).
pub fn summary_lines(s: &IngestSummary, problems: &[String]) -> Vec<String> {
    let mut lines = vec![format!(
        "{} {}: {} read, {} new, {} already known, {} skipped; {} new members; {} bot activities (never scored)",
        s.source,
        s.input,
        s.read,
        s.new,
        s.already_known,
        s.skipped.iter().map(|(_, n)| n).sum::<u64>(),
        s.members_new,
        s.bot_activities
    )];
    for (reason, count) in &s.skipped {
        lines.push(format!("  skipped {count}: {reason}"));
    }
    for w in &s.warnings {
        lines.push(format!(
            "  warning: {} ({} times, first: {})",
            w.message, w.count, w.example
        ));
    }
    for problem in problems {
        lines.push(format!("  not read: {problem}"));
    }
    lines
}

/// The lines a Big Mac import's summary reads as.
pub fn bigmac_lines(s: &fairshare_store::bigmac::BigMacImportSummary) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {} releases ({} new), {} rows read: {} new, {} changed, {} unchanged{}",
        s.input_name,
        s.releases,
        s.releases_new,
        s.rows_read,
        s.rows_new,
        s.rows_changed,
        s.rows_unchanged,
        if s.already_imported {
            " (this file was imported before)"
        } else {
            ""
        }
    )];
    for skipped in &s.skipped {
        lines.push(format!("  skipped {skipped}"));
    }
    for release in &s.partial {
        lines.push(format!(
            "  the {release} release is partial: stored, but not in force until published \
             (fairshare thresholds publish --release {release})"
        ));
    }
    if !s.frozen.is_empty() {
        let mut releases: Vec<String> = s.frozen.iter().map(|f| f.release.to_string()).collect();
        releases.dedup();
        lines.push(format!(
            "{} rows restate the published release(s) {}; their thresholds are frozen, so the \
             published numbers were kept:",
            s.frozen.len(),
            releases.join(", ")
        ));
        for f in &s.frozen {
            lines.push(format!("  {} {}: {}", f.release, f.iso_a3, f.difference));
        }
    }
    lines
}

/// Stores payments read from an API and says what happened.
pub async fn payments(
    importer: &Importer<'_>,
    source: &str,
    name: &str,
    input: &[u8],
    records: &[fairshare_import::PaymentRecord],
    skips: &Skips,
) -> Result<Vec<String>> {
    let s = importer.payments(source, name, input, records).await?;
    let mut lines = vec![format!(
        "{name}: {} payments read: {} new, {} already known; {} rows skipped",
        s.read,
        s.new,
        s.already_known,
        skips.total()
    )];
    for skip in &skips.0 {
        lines.push(format!("  skipped {}: {}", skip.count, skip.reason));
    }
    let unlinked = importer.store.unlinked_accounts().await?.len();
    if unlinked > 0 {
        lines.push(format!(
            "{unlinked} sponsor accounts are not linked to an organisation yet: fairshare payments unlinked"
        ));
    }
    Ok(lines)
}

async fn download(url: &str) -> Result<Vec<u8>> {
    let client = fairshare_import::http::ApiClient::new("download", url, None, Default::default())?;
    Ok(client.download(url, MAX_DOWNLOAD).await?)
}

fn invalid(name: &str, why: &str) -> IngestError {
    IngestError::Import(fairshare_import::ImportError::invalid(
        &format!("source {name}"),
        None,
        None,
        why,
    ))
}

/// `owner/name` from a clone URL (`https://host/owner/name.git` → `owner/name`).
fn repo_name_of(url: &str) -> String {
    let trimmed = url.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = trimmed.rsplit(['/', ':']);
    match (parts.next(), parts.next()) {
        (Some(name), Some(owner)) if !owner.is_empty() && !owner.contains('.') => {
            format!("{owner}/{name}")
        }
        (Some(name), _) => name.to_string(),
        _ => trimmed.to_string(),
    }
}

/// A bare mirror of `url` in `dir`: cloned the first time, fetched after. Uses the
/// `git` program, so credentials and transports work as the deployer set them up.
async fn mirror(url: &str, dir: &Path) -> Result<PathBuf> {
    let git = |args: Vec<std::ffi::OsString>| async move {
        tokio::task::spawn_blocking(move || {
            let output = std::process::Command::new("git")
                .args(&args)
                .env("GIT_TERMINAL_PROMPT", "0")
                .output()
                .map_err(|e| format!("cannot run git: {e} (is git installed?)"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
            }
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
    };
    let result = if dir.join("HEAD").is_file() {
        git(vec![
            "-C".into(),
            dir.into(),
            "fetch".into(),
            "--quiet".into(),
            "--prune".into(),
            url.into(),
            "+refs/heads/*:refs/heads/*".into(),
        ])
        .await
    } else {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| fairshare_import::ImportError::Io(parent.display().to_string(), e))?;
        }
        git(vec![
            "clone".into(),
            "--bare".into(),
            "--quiet".into(),
            url.into(),
            dir.into(),
        ])
        .await
    };
    result.map_err(|why| invalid(url, &format!("git could not fetch it: {why}")))?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    #[test]
    fn clone_urls_name_their_repository() {
        assert_eq!(
            super::repo_name_of("https://github.com/mautic/mautic.git"),
            "mautic/mautic"
        );
        assert_eq!(
            super::repo_name_of("git@github.com:mautic/mautic.git"),
            "mautic/mautic"
        );
        assert_eq!(super::repo_name_of("/srv/repos/app"), "repos/app");
    }
}
