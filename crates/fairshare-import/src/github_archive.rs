//! GH Archive hourly files (`.json` or `.json.gz`, one event per line), streamed:
//! memory does not depend on the file's size.
//!
//! Read: PushEvent commits (until October 2025, when GH Archive stopped listing them;
//! the author's email has a hashed local part but keeps its domain),
//! PullRequestEvent (opened; closed and merged), PullRequestReviewEvent,
//! IssuesEvent (opened, closed) and IssueCommentEvent (created), of the configured
//! repositories. GitHub reused event ids in October 2025, so an event's key is
//! id + type + repository + time.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};

use aho_corasick::AhoCorasick;
use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ImportError;
use crate::record::{ActivityRecord, PersonRef, Skips};

/// Records handed over at once.
pub const BATCH: usize = 2_000;

/// Which repositories to import (`owner/name`, any case); empty imports every event.
pub struct ArchiveFilter {
    repositories: Vec<String>,
    prefilter: Option<AhoCorasick>,
}

impl ArchiveFilter {
    pub fn new(repositories: &[String]) -> ArchiveFilter {
        let repositories: Vec<String> = repositories.iter().map(|r| r.to_lowercase()).collect();
        // Most lines of an hourly file are other projects': a case-insensitive search
        // for `"name":"owner/repo"` skips them without parsing JSON.
        let prefilter = (!repositories.is_empty()).then(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(repositories.iter().map(|r| format!("\"name\":\"{r}\"")))
                .expect("valid patterns")
        });
        ArchiveFilter {
            repositories,
            prefilter,
        }
    }

    fn may_match(&self, line: &str) -> bool {
        self.prefilter.as_ref().is_none_or(|p| p.is_match(line))
    }

    /// Whether events of `repo` are read (every repository when none is configured).
    pub fn wants(&self, repo: &str) -> bool {
        self.repositories.is_empty()
            || self
                .repositories
                .iter()
                .any(|r| r.eq_ignore_ascii_case(repo))
    }
}

#[derive(Debug, Default)]
pub struct ArchiveOutcome {
    pub events_read: u64,
    pub skips: Skips,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    actor: Actor<'a>,
    #[serde(borrow)]
    repo: Repo<'a>,
    #[serde(borrow)]
    created_at: Cow<'a, str>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

#[derive(Deserialize)]
struct Actor<'a> {
    #[serde(borrow)]
    login: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Repo<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct PushPayload<'a> {
    #[serde(default, borrow)]
    commits: Vec<PushCommit<'a>>,
}

#[derive(Deserialize)]
struct PushCommit<'a> {
    #[serde(borrow)]
    sha: Cow<'a, str>,
    #[serde(borrow)]
    author: CommitAuthor<'a>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default = "yes")]
    distinct: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct CommitAuthor<'a> {
    #[serde(borrow)]
    email: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ActionPayload<'a> {
    #[serde(default, borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pull_request: Option<Item<'a>>,
    #[serde(default, borrow)]
    issue: Option<Item<'a>>,
    #[serde(default, borrow)]
    review: Option<Item<'a>>,
    #[serde(default, borrow)]
    comment: Option<Item<'a>>,
    /// The pull request's number (pull_request events carry it at the top).
    #[serde(default)]
    number: Option<u64>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    number: Option<u64>,
    #[serde(default, borrow)]
    html_url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default, borrow)]
    user: Option<Actor<'a>>,
}

/// Opens a file, decompressing `.gz`.
pub fn open(path: &std::path::Path) -> Result<Box<dyn Read + Send>, ImportError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| ImportError::Io(name, e))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Streams one file's events, calling `sink` with batches of records and `progress`
/// every few thousand lines. A line that is not JSON is an error naming the line.
pub fn read(
    file: &str,
    input: impl Read,
    filter: &ArchiveFilter,
    mut sink: impl FnMut(Vec<ActivityRecord>) -> Result<(), ImportError>,
    mut progress: impl FnMut(u64),
) -> Result<ArchiveOutcome, ImportError> {
    let mut outcome = ArchiveOutcome::default();
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut line = String::new();
    let mut number = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE + 1)
            .read_line(&mut line)
            .map_err(|e| read_error(file, number + 1, e))?;
        if read == 0 {
            break;
        }
        number += 1;
        if number.is_multiple_of(8_192) {
            progress(number);
        }
        if line.len() as u64 > MAX_LINE {
            return Err(ImportError::invalid(
                file,
                Some(number),
                None,
                format!(
                    "the line is longer than {} MiB: not a GH Archive event",
                    MAX_LINE >> 20
                ),
            ));
        }
        let mut text = line.trim_end();
        if number == 1 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.is_empty() {
            continue;
        }
        outcome.events_read += 1;
        let not_an_event = |why: String| {
            ImportError::invalid(
                file,
                Some(number),
                None,
                format!(
                    "not a GH Archive event ({why}): `{}`",
                    fairshare_engine::money::excerpt(text)
                ),
            )
        };
        if !filter.may_match(text) {
            // Skipped unparsed for speed, but only if it has an event's shape: a cut-off
            // last line, a stray CSV file or garbage is an error, never "another repository".
            if !looks_like_event(text) {
                return Err(not_an_event("not a whole JSON event line".into()));
            }
            outcome.skips.add("another repository");
            continue;
        }
        let event: Event = serde_json::from_str(text).map_err(|e| not_an_event(e.to_string()))?;
        if !filter.wants(&event.repo.name) {
            outcome.skips.add("another repository");
            continue;
        }
        let before = batch.len();
        let reference = EventRef {
            id: &event.id,
            kind: &event.kind,
            actor: &event.actor.login,
            repo: &event.repo.name,
            created_at: &event.created_at,
            payload: event.payload,
        };
        convert(&reference, file, number, &mut batch, &mut outcome.skips)?;
        if batch.len() == before && !is_read_kind(&event.kind) {
            outcome
                .skips
                .add(format!("{} (not a contribution)", event.kind));
        }
        if batch.len() >= BATCH {
            sink(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        sink(batch)?;
    }
    progress(number);
    Ok(outcome)
}

/// The longest line read: GH Archive events are at most a few hundred KiB.
const MAX_LINE: u64 = 16 << 20;

/// A cheap check that a line is a whole GH Archive event, for lines not parsed.
fn looks_like_event(text: &str) -> bool {
    text.starts_with('{')
        && text.ends_with('}')
        && text.contains("\"type\":")
        && text.contains("\"repo\":")
        && text.contains("\"created_at\":")
}

/// A read that failed: a gzip stream cut short says so, with the line it reached.
fn read_error(file: &str, line: u64, error: std::io::Error) -> ImportError {
    let message = match error.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the file ends early (a truncated gzip stream?)".to_string()
        }
        std::io::ErrorKind::InvalidData => format!("not UTF-8 text or not gzip data: {error}"),
        _ => format!("cannot read: {error}"),
    };
    ImportError::invalid(file, Some(line), None, message)
}

pub(crate) fn is_read_kind(kind: &str) -> bool {
    matches!(
        kind,
        "PushEvent"
            | "PullRequestEvent"
            | "PullRequestReviewEvent"
            | "IssuesEvent"
            | "IssueCommentEvent"
    )
}

/// One event as the conversion reads it: a GH Archive line, or a webhook delivery
/// (whose body is the archive's `payload`).
pub(crate) struct EventRef<'a> {
    /// The archive's event id (the delivery's id for a webhook): only used for an
    /// event whose payload lacks the numbers the shared ids are made of.
    pub id: &'a str,
    /// The archive's type: `PullRequestEvent`, ….
    pub kind: &'a str,
    pub actor: &'a str,
    pub repo: &'a str,
    pub created_at: &'a str,
    pub payload: &'a RawValue,
}

/// The records of one event, with the ids of `github::ids` (shared with the REST
/// import and webhooks).
pub(crate) fn convert(
    event: &EventRef<'_>,
    file: &str,
    line: u64,
    out: &mut Vec<ActivityRecord>,
    skips: &mut Skips,
) -> Result<(), ImportError> {
    if !is_read_kind(event.kind) {
        return Ok(());
    }
    let bad =
        |field: &str, message: String| ImportError::invalid(file, Some(line), Some(field), message);
    let at = OffsetDateTime::parse(event.created_at, &Rfc3339).map_err(|_| {
        bad(
            "created_at",
            format!("`{}` is not an RFC 3339 time", event.created_at),
        )
    })?;
    // Events whose payload lacks its numbers (trimmed archives) keep the event's key.
    let key = format!(
        "{}:{}:{}:{}",
        event.id,
        event.kind,
        event.repo,
        at.unix_timestamp()
    );
    let actor = || -> Result<PersonRef, ImportError> {
        let key = IdentityKey::new(IdentityKind::Github, event.actor)
            .map_err(|e| bad("actor.login", e.to_string()))?;
        Ok(PersonRef::new(key, Some(event.actor)))
    };
    let repo = event.repo.to_string();
    let make =
        |external_id: String, kind: ActivityKind, person: PersonRef, item: Option<&Item<'_>>| {
            let mut record = ActivityRecord::new(external_id, kind, person, at);
            record.channel = Some(repo.clone());
            if let Some(item) = item {
                record.url = item.html_url.as_deref().map(str::to_string);
                record.title = item.title.as_deref().map(str::to_string);
            }
            record
        };
    if event.kind == "PushEvent" {
        let payload: PushPayload = serde_json::from_str(event.payload.get())
            .map_err(|e| bad("payload", format!("unreadable push payload: {e}")))?;
        if payload.commits.is_empty() {
            skips.add(
                "push without commits (GH Archive no longer lists them; import the git repository)",
            );
        }
        for commit in payload.commits.iter().filter(|c| c.distinct) {
            let Ok(key_) = IdentityKey::from_email(&commit.author.email) else {
                skips.add("commit author without an email address");
                continue;
            };
            let mut record = make(
                format!("commit:{}", commit.sha),
                ActivityKind::Commit,
                PersonRef::new(key_, commit.author.name.as_deref()),
                None,
            );
            record.commit_sha = Some(commit.sha.to_string());
            record.title = commit
                .message
                .as_deref()
                .and_then(|m| m.lines().next())
                .map(str::to_string);
            out.push(record);
        }
        return Ok(());
    }
    let payload: ActionPayload = serde_json::from_str(event.payload.get())
        .map_err(|e| bad("payload", format!("unreadable payload: {e}")))?;
    let action = payload.action.as_deref().unwrap_or("");
    let pull = payload
        .number
        .or(payload.pull_request.as_ref().and_then(|p| p.number))
        .map(|n| crate::github::ids::pull_request(event.repo, n));
    let issue = payload
        .issue
        .as_ref()
        .and_then(|i| i.number)
        .map(|n| crate::github::ids::issue(event.repo, n));
    let id_of = |item: &Option<Item<'_>>| item.as_ref().and_then(|i| i.id);
    match (event.kind, action) {
        ("PullRequestEvent", "opened") => {
            out.push(make(
                pull.map(|p| format!("{p}:opened")).unwrap_or(key),
                ActivityKind::PrOpened,
                actor()?,
                payload.pull_request.as_ref(),
            ));
        }
        ("PullRequestEvent", "closed") => {
            let pr = payload.pull_request.as_ref();
            match pr.and_then(|p| p.merged) {
                Some(true) => {
                    // The merge is the PR author's contribution, not the merger's.
                    let person = match pr.and_then(|p| p.user.as_ref()) {
                        Some(user) => {
                            let key = IdentityKey::new(IdentityKind::Github, &user.login).map_err(
                                |e| bad("payload.pull_request.user.login", e.to_string()),
                            )?;
                            PersonRef::new(key, Some(&user.login))
                        }
                        None => actor()?,
                    };
                    let id = pull.map(|p| format!("{p}:merged")).unwrap_or(key);
                    out.push(make(id, ActivityKind::PrMerged, person, pr));
                }
                Some(false) => skips.add("pull request closed without merging"),
                None => skips.add("pull request closed (trimmed payload: merge state unknown)"),
            }
        }
        ("PullRequestReviewEvent", "created" | "submitted") => {
            let item = payload.review.as_ref().or(payload.pull_request.as_ref());
            let id = id_of(&payload.review)
                .map(crate::github::ids::review)
                .unwrap_or(key);
            out.push(make(id, ActivityKind::Review, actor()?, item));
        }
        ("IssuesEvent", "opened") => out.push(make(
            issue.map(|i| format!("{i}:opened")).unwrap_or(key),
            ActivityKind::IssueOpened,
            actor()?,
            payload.issue.as_ref(),
        )),
        ("IssuesEvent", "closed") => out.push(make(
            issue.map(|i| format!("{i}:closed")).unwrap_or(key),
            ActivityKind::IssueClosed,
            actor()?,
            payload.issue.as_ref(),
        )),
        ("IssueCommentEvent", "created") => {
            let id = id_of(&payload.comment)
                .map(crate::github::ids::comment)
                .unwrap_or(key);
            let mut record = make(
                id,
                ActivityKind::Comment,
                actor()?,
                payload.comment.as_ref(),
            );
            record.title = payload
                .issue
                .as_ref()
                .and_then(|i| i.title.as_deref())
                .map(str::to_string);
            out.push(record);
        }
        (kind, action) => skips.add(format!("{kind} {action} (not a contribution)")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        text: &str,
        repos: &[&str],
    ) -> Result<(Vec<ActivityRecord>, ArchiveOutcome), ImportError> {
        let filter = ArchiveFilter::new(&repos.iter().map(|r| r.to_string()).collect::<Vec<_>>());
        let mut records = Vec::new();
        let outcome = read(
            "hour.json",
            text.as_bytes(),
            &filter,
            |b| {
                records.extend(b);
                Ok(())
            },
            |_| {},
        )?;
        Ok((records, outcome))
    }

    #[test]
    fn pull_requests_reviews_issues_and_comments() {
        let lines = [
            r#"{"id":"1","type":"PullRequestEvent","actor":{"login":"ana"},"repo":{"name":"Acme/App"},"payload":{"action":"opened","pull_request":{"html_url":"https://github.com/acme/app/pull/1","title":"Add X","user":{"login":"ana"}}},"created_at":"2026-01-02T03:04:05Z"}"#,
            r#"{"id":"2","type":"PullRequestEvent","actor":{"login":"maintainer"},"repo":{"name":"acme/app"},"payload":{"action":"closed","pull_request":{"merged":true,"user":{"login":"ana"}}},"created_at":"2026-01-03T00:00:00Z"}"#,
            r#"{"id":"3","type":"PullRequestEvent","actor":{"login":"bob"},"repo":{"name":"acme/app"},"payload":{"action":"closed","pull_request":{"merged":false}},"created_at":"2026-01-03T00:00:00Z"}"#,
            r#"{"id":"4","type":"PullRequestReviewEvent","actor":{"login":"bob"},"repo":{"name":"acme/app"},"payload":{"action":"created","review":{"html_url":"https://github.com/acme/app/pull/1#r1"}},"created_at":"2026-01-03T00:00:00Z"}"#,
            r#"{"id":"5","type":"IssueCommentEvent","actor":{"login":"dependabot[bot]"},"repo":{"name":"acme/app"},"payload":{"action":"created","issue":{"title":"Bug"},"comment":{"html_url":"https://github.com/acme/app/issues/2#c"}},"created_at":"2026-01-04T00:00:00Z"}"#,
            r#"{"id":"6","type":"WatchEvent","actor":{"login":"fan"},"repo":{"name":"acme/app"},"payload":{"action":"started"},"created_at":"2026-01-04T00:00:00Z"}"#,
            r#"{"id":"7","type":"IssuesEvent","actor":{"login":"ana"},"repo":{"name":"other/repo"},"payload":{"action":"opened","issue":{}},"created_at":"2026-01-04T00:00:00Z"}"#,
        ];
        let (records, outcome) = run(&lines.join("\n"), &["acme/app"]).unwrap();
        let kinds: Vec<(ActivityKind, String)> = records
            .iter()
            .map(|r| (r.kind, r.person.key.value.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ActivityKind::PrOpened, "ana".into()),
                (ActivityKind::PrMerged, "ana".into()),
                (ActivityKind::Review, "bob".into()),
                (ActivityKind::Comment, "dependabot[bot]".into()),
            ]
        );
        // Events without their numbers keep the event's key.
        assert_eq!(
            records[0].external_id,
            "1:PullRequestEvent:Acme/App:1767323045"
        );
        assert_eq!(records[3].title.as_deref(), Some("Bug"));
        assert_eq!(outcome.events_read, 7);
        let reasons: Vec<&str> = outcome.skips.0.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "pull request closed without merging",
                "WatchEvent (not a contribution)",
                "another repository"
            ]
        );
    }

    #[test]
    fn real_sample_lines() {
        let old = include_str!("../../../testdata/samples/gharchive/2015-01-01-15.sample.jsonl");
        let (records, _) = run(old, &[]).unwrap();
        let commits: Vec<&ActivityRecord> = records
            .iter()
            .filter(|r| r.kind == ActivityKind::Commit)
            .collect();
        assert!(!commits.is_empty());
        assert_eq!(
            commits[0].person.key.value,
            "5c682c2d1ec4073e277f9ba9f4bdf07e5794dabe@rspt.ch"
        );
        assert_eq!(
            commits[0].commit_sha.as_deref(),
            Some("6b089eb4a43f728f0a594388092f480f2ecacfcd")
        );
        assert!(records.iter().any(|r| r.kind == ActivityKind::Comment));
        let new = include_str!(
            "../../../testdata/samples/gharchive/events-api-2025-format.octokit-openapi.jsonl"
        );
        let (records, outcome) = run(new, &[]).unwrap();
        assert!(records.is_empty(), "2025 pushes list no commits");
        assert!(
            outcome
                .skips
                .0
                .iter()
                .any(|s| s.reason.starts_with("push without commits"))
        );
    }

    #[test]
    fn a_broken_line_is_named() {
        let text = "{\"id\":\"1\",\"type\":\"IssuesEvent\",\"actor\":{\"login\":\"a\"},\"repo\":{\"name\":\"x/y\"},\"payload\":{\"action\":\"opened\"},\"created_at\":\"2026-01-01T00:00:00Z\"}\n{\"id\":";
        let err = run(text, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("hour.json:2: not a GH Archive event"),
            "{err}"
        );
        let text = "{\"id\":\"1\",\"type\":\"IssuesEvent\",\"actor\":{\"login\":\"a\"},\"repo\":{\"name\":\"x/y\"},\"payload\":{\"action\":\"opened\"},\"created_at\":\"yesterday\"}\n";
        let err = run(text, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "hour.json:1, column `created_at`: `yesterday` is not an RFC 3339 time"
        );
    }

    const ISSUE: &str = "{\"id\":\"1\",\"type\":\"IssuesEvent\",\"actor\":{\"login\":\"a\"},\"repo\":{\"name\":\"x/y\"},\"payload\":{\"action\":\"opened\"},\"created_at\":\"2026-01-01T00:00:00Z\"}";

    #[test]
    fn a_cut_off_last_line_of_another_repository_is_an_error_not_a_skip() {
        let text = format!("{ISSUE}\n{}", &ISSUE[..60]);
        let err = run(&text, &["acme/app"]).unwrap_err().to_string();
        assert!(
            err.starts_with("hour.json:2: not a GH Archive event"),
            "{err}"
        );
    }

    #[test]
    fn a_csv_file_is_refused_at_its_first_line() {
        let err = run("slug,name\nacme,Acme\n", &["acme/app"])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("hour.json:1: not a GH Archive event"),
            "{err}"
        );
    }

    #[test]
    fn a_huge_garbage_line_is_quoted_short() {
        let garbage = "x".repeat(200_000);
        let err = run(&garbage, &["acme/app"]).unwrap_err().to_string();
        assert!(err.len() < 300, "{} characters", err.len());
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let (records, outcome) = run(&format!("\u{feff}{ISSUE}\n"), &[]).unwrap();
        assert_eq!((records.len(), outcome.events_read), (1, 1));
    }

    #[test]
    fn a_truncated_gzip_stream_names_the_line_it_reached() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for _ in 0..50 {
            writeln!(gz, "{ISSUE}").unwrap();
        }
        let bytes = gz.finish().unwrap();
        let cut = &bytes[..bytes.len() - 12];
        let filter = ArchiveFilter::new(&[]);
        let err = read(
            "hour.json.gz",
            flate2::read::MultiGzDecoder::new(cut),
            &filter,
            |_| Ok(()),
            |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("hour.json.gz:"), "{err}");
        assert!(err.contains("ends early"), "{err}");
    }
}
