//! GitHub's REST API for one repository: pull requests (opened, merged) with their
//! reviews, issues (opened, closed) and issue comments. Pages are read oldest-updated
//! first, so an interrupted import resumes from the last page it stored.

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient, header};
use crate::record::{ActivityRecord, PersonRef, Skips};

pub const DEFAULT_API: &str = "https://api.github.com";

/// The stages of an import, each with its own resume point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    PullRequests,
    Issues,
    Comments,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::PullRequests, Stage::Issues, Stage::Comments];

    pub fn name(self) -> &'static str {
        match self {
            Stage::PullRequests => "pulls",
            Stage::Issues => "issues",
            Stage::Comments => "comments",
        }
    }
}

/// One page of one stage, converted.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<ActivityRecord>,
    pub skips: Skips,
    /// The latest `updated_at` on the page: where to resume.
    pub resume_from: Option<String>,
    pub next: Option<String>,
}

pub struct GithubRepo {
    client: ApiClient,
    repo: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    user: Option<User>,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    merged_at: Option<String>,
}

#[derive(Deserialize)]
struct Review {
    id: u64,
    user: Option<User>,
    #[serde(default)]
    submitted_at: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    user: Option<User>,
    #[serde(default)]
    state: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    closed_at: Option<String>,
    #[serde(default)]
    closed_by: Option<User>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    html_url: Option<String>,
    user: Option<User>,
    created_at: String,
    updated_at: String,
}

impl GithubRepo {
    pub fn new(api: &str, repo: &str, token: Option<String>) -> Result<GithubRepo, ImportError> {
        let Some((owner, name)) = repo.split_once('/') else {
            return Err(ImportError::invalid(
                "--repo",
                None,
                None,
                format!("`{repo}` is not OWNER/NAME"),
            ));
        };
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return Err(ImportError::invalid(
                "--repo",
                None,
                None,
                format!("`{repo}` is not OWNER/NAME"),
            ));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in [
            header("accept", "application/vnd.github+json"),
            header("x-github-api-version", "2022-11-28"),
        ]
        .into_iter()
        .flatten()
        {
            headers.insert(k, v);
        }
        Ok(GithubRepo {
            client: ApiClient::new("GitHub", api, token, headers)?,
            repo: repo.to_string(),
        })
    }

    /// The first page's path of a stage.
    pub fn first_page(&self, stage: Stage, since: Option<&str>) -> String {
        let repo = &self.repo;
        let since = since.map(|s| format!("&since={s}")).unwrap_or_default();
        match stage {
            Stage::PullRequests => {
                format!("repos/{repo}/pulls?state=all&sort=updated&direction=asc&per_page=100")
            }
            Stage::Issues => format!(
                "repos/{repo}/issues?state=all&sort=updated&direction=asc&per_page=100{since}"
            ),
            Stage::Comments => format!(
                "repos/{repo}/issues/comments?sort=updated&direction=asc&per_page=100{since}"
            ),
        }
    }

    /// Reads and converts one page; `since` (RFC 3339) skips what an earlier run stored.
    pub async fn page(
        &self,
        stage: Stage,
        path: &str,
        since: Option<&str>,
    ) -> Result<Page, ImportError> {
        let since_time = since.and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
        let mut page = Page::default();
        match stage {
            Stage::PullRequests => {
                let (pulls, next): (Vec<Lenient<Pull>>, _) = self.client.get(path).await?;
                page.next = next;
                for pull in pulls {
                    let Some(pull) = pull.read("GitHub pull request", path, &mut page.skips) else {
                        continue;
                    };
                    let updated = self.time(&pull.updated_at, "updated_at")?;
                    if since_time.is_some_and(|s| updated < s) {
                        continue; // this endpoint has no `since`: stored already
                    }
                    page.resume_from = Some(pull.updated_at.clone());
                    self.pull(&pull, &mut page).await?;
                }
            }
            Stage::Issues => {
                let (issues, next): (Vec<Lenient<Issue>>, _) = self.client.get(path).await?;
                page.next = next;
                for issue in issues {
                    let Some(issue) = issue.read("GitHub issue", path, &mut page.skips) else {
                        continue;
                    };
                    page.resume_from = Some(issue.updated_at.clone());
                    self.issue(issue, &mut page).await?;
                }
            }
            Stage::Comments => {
                let (comments, next): (Vec<Lenient<Comment>>, _) = self.client.get(path).await?;
                page.next = next;
                for comment in comments {
                    let Some(comment) = comment.read("GitHub comment", path, &mut page.skips)
                    else {
                        continue;
                    };
                    page.resume_from = Some(comment.updated_at.clone());
                    let Some(person) = person(comment.user.as_ref()) else {
                        page.skips.add("deleted user");
                        continue;
                    };
                    let at = self.time(&comment.created_at, "created_at")?;
                    let mut record =
                        self.record(ids::comment(comment.id), ActivityKind::Comment, person, at);
                    record.url = comment.html_url;
                    page.records.push(record);
                }
            }
        }
        Ok(page)
    }

    async fn pull(&self, pull: &Pull, page: &mut Page) -> Result<(), ImportError> {
        let Some(author) = person(pull.user.as_ref()) else {
            page.skips.add("deleted user");
            return Ok(());
        };
        let key = ids::pull_request(&self.repo, pull.number);
        let opened = self.time(&pull.created_at, "created_at")?;
        let mut record = self.record(
            format!("{key}:opened"),
            ActivityKind::PrOpened,
            author.clone(),
            opened,
        );
        record.url = pull.html_url.clone();
        record.title = pull.title.clone();
        page.records.push(record);
        if let Some(merged_at) = &pull.merged_at {
            let at = self.time(merged_at, "merged_at")?;
            let mut record =
                self.record(format!("{key}:merged"), ActivityKind::PrMerged, author, at);
            record.url = pull.html_url.clone();
            record.title = pull.title.clone();
            page.records.push(record);
        }
        let mut next = Some(format!(
            "repos/{}/pulls/{}/reviews?per_page=100",
            self.repo, pull.number
        ));
        while let Some(path) = next {
            let (reviews, more): (Vec<Lenient<Review>>, _) = self.client.get(&path).await?;
            next = more;
            for review in reviews {
                let Some(review) = review.read("GitHub review", &path, &mut page.skips) else {
                    continue;
                };
                let (Some(person), Some(submitted)) =
                    (person(review.user.as_ref()), review.submitted_at.as_deref())
                else {
                    page.skips.add("pending review or deleted user");
                    continue;
                };
                if review.state.as_deref() == Some("PENDING") {
                    page.skips.add("pending review or deleted user");
                    continue;
                }
                let at = self.time(submitted, "submitted_at")?;
                let mut record =
                    self.record(ids::review(review.id), ActivityKind::Review, person, at);
                record.url = review.html_url;
                record.title = pull.title.clone();
                page.records.push(record);
            }
        }
        Ok(())
    }

    async fn issue(&self, mut issue: Issue, page: &mut Page) -> Result<(), ImportError> {
        if issue.pull_request.is_some() {
            return Ok(()); // pull requests are read from their own endpoint
        }
        let Some(author) = person(issue.user.as_ref()) else {
            page.skips.add("deleted user");
            return Ok(());
        };
        let key = ids::issue(&self.repo, issue.number);
        let opened = self.time(&issue.created_at, "created_at")?;
        let mut record = self.record(
            format!("{key}:opened"),
            ActivityKind::IssueOpened,
            author,
            opened,
        );
        record.url = issue.html_url.clone();
        record.title = issue.title.clone();
        page.records.push(record);
        if issue.state.as_deref() == Some("closed")
            && let Some(closed_at) = issue.closed_at.clone()
        {
            if issue.closed_by.is_none() {
                // Lists leave out who closed an issue; the issue itself says.
                let (full, _): (Issue, _) = self
                    .client
                    .get(&format!("repos/{}/issues/{}", self.repo, issue.number))
                    .await?;
                issue.closed_by = full.closed_by;
            }
            match person(issue.closed_by.as_ref()) {
                Some(closer) => {
                    let at = self.time(&closed_at, "closed_at")?;
                    let mut record = self.record(
                        format!("{key}:closed"),
                        ActivityKind::IssueClosed,
                        closer,
                        at,
                    );
                    record.url = issue.html_url;
                    record.title = issue.title;
                    page.records.push(record);
                }
                None => page.skips.add("issue closed by an unknown or deleted user"),
            }
        }
        Ok(())
    }

    fn record(
        &self,
        id: String,
        kind: ActivityKind,
        person: PersonRef,
        at: OffsetDateTime,
    ) -> ActivityRecord {
        let mut record = ActivityRecord::new(id, kind, person, at);
        record.channel = Some(self.repo.clone());
        record
    }

    fn time(&self, text: &str, field: &str) -> Result<OffsetDateTime, ImportError> {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            self.client.error(
                &self.repo,
                format!("`{field}` is not an RFC 3339 time: `{text}`"),
            )
        })
    }
}

fn person(user: Option<&User>) -> Option<PersonRef> {
    let user = user?;
    let key = IdentityKey::new(IdentityKind::Github, &user.login).ok()?;
    (key.value != "ghost").then(|| PersonRef::new(key, Some(&user.login)))
}

/// The external ids of GitHub activities, one scheme for the REST import, GH Archive
/// and webhook deliveries, so the same work read three ways is stored once.
/// Repository names are compared without case, as GitHub does.
pub mod ids {
    /// `pr:owner/name#12`; `:opened` and `:merged` are appended.
    pub fn pull_request(repo: &str, number: u64) -> String {
        format!("pr:{}#{number}", repo.to_lowercase())
    }

    /// `issue:owner/name#7`; `:opened` and `:closed` are appended.
    pub fn issue(repo: &str, number: u64) -> String {
        format!("issue:{}#{number}", repo.to_lowercase())
    }

    pub fn review(id: u64) -> String {
        format!("review:{id}")
    }

    pub fn comment(id: u64) -> String {
        format!("comment:{id}")
    }
}
