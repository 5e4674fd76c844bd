//! A GitLab project (gitlab.com or self-hosted) through REST v4 and its webhooks, read
//! into the same records with the same ids either way: merge requests opened and
//! merged, approvals (reviews), issues opened and closed, comments (notes; GitLab's own
//! system notes are skipped) and, for projects not read through git, commits.
//!
//! Ids are GitLab's global ones (`mr:ID:opened`, `note:ID`, `approval:MR:USER`), so a
//! delivery, an API sync and a re-run of either count each thing once; a commit is
//! stored once across sources by its SHA. People are `gitlab:USERNAME`; the pusher's
//! public address (GitLab shows only a verified one) joins them to their email, and
//! commits are credited to their author's address, as the git import does.

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use serde_json::Value;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient};
use crate::paged::{Newest, Page, PagedSource, encoded};
use crate::record::{ActivityRecord, PersonRef, Skips, first_name};
use crate::webhooks::{BadDelivery, Delivery};

pub const DEFAULT_API: &str = "https://gitlab.com/api/v4";

#[derive(Deserialize)]
struct User {
    id: u64,
    username: String,
    #[serde(default)]
    name: Option<String>,
}

/// A merge request or an issue: the two lists read alike.
#[derive(Deserialize)]
struct Item {
    id: u64,
    iid: u64,
    title: Option<String>,
    author: User,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    web_url: Option<String>,
    /// Merge requests: when and by whom merged (`merged_by` is the older name).
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_user: Option<User>,
    #[serde(default)]
    merged_by: Option<User>,
    /// Issues: when and by whom closed.
    #[serde(default)]
    closed_at: Option<String>,
    #[serde(default)]
    closed_by: Option<User>,
}

/// A project's list of merge requests or of issues.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    MergeRequests,
    Issues,
}

impl List {
    fn path(self) -> &'static str {
        match self {
            List::MergeRequests => "merge_requests",
            List::Issues => "issues",
        }
    }

    /// How an item is named in ids and messages, and what opening and finishing it
    /// (merging, closing) count as.
    fn words(
        self,
    ) -> (
        &'static str,
        &'static str,
        ActivityKind,
        &'static str,
        ActivityKind,
    ) {
        match self {
            List::MergeRequests => (
                "mr",
                "GitLab merge request",
                ActivityKind::PrOpened,
                "merged",
                ActivityKind::PrMerged,
            ),
            List::Issues => (
                "issue",
                "GitLab issue",
                ActivityKind::IssueOpened,
                "closed",
                ActivityKind::IssueClosed,
            ),
        }
    }
}

#[derive(Deserialize)]
struct Note {
    id: u64,
    author: User,
    created_at: String,
    #[serde(default)]
    system: bool,
}

#[derive(Deserialize)]
struct Approvals {
    #[serde(default)]
    approved_by: Vec<Approver>,
}

#[derive(Deserialize)]
struct Approver {
    user: User,
}

#[derive(Deserialize)]
struct Commit {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    author_email: String,
    #[serde(default)]
    authored_date: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

/// One project, read through the API.
pub struct GitlabProject {
    client: ApiClient,
    /// `group/project`, as configured: the channel of its work.
    project: String,
    encoded: String,
    commits: bool,
    /// The newest commit date seen (commits come newest first: stored at the end).
    newest_commit: Newest,
}

impl GitlabProject {
    /// `api_url` ends in `/api/v4`; `commits` also reads the commit list (for
    /// projects that are not imported through git).
    pub fn new(
        api_url: &str,
        project: &str,
        token: Option<String>,
        commits: bool,
    ) -> Result<GitlabProject, ImportError> {
        let client = ApiClient::new("GitLab", api_url, token, Default::default())?;
        let project = project.trim().trim_matches('/').to_string();
        Ok(GitlabProject {
            client,
            encoded: encoded(&project),
            project,
            commits,
            newest_commit: Newest::default(),
        })
    }

    fn record(
        &self,
        id: String,
        kind: ActivityKind,
        person: PersonRef,
        at: OffsetDateTime,
        url: Option<&str>,
        title: Option<&str>,
    ) -> ActivityRecord {
        let mut record = ActivityRecord::new(id, kind, person, at);
        record.channel = Some(self.project.clone());
        record.url = url.map(str::to_string);
        record.title = title.map(str::to_string);
        record
    }

    fn time(&self, url: &str, what: &str, text: &str) -> Result<OffsetDateTime, ImportError> {
        gitlab_time(text).ok_or_else(|| {
            self.client
                .error(url, format!("{what}: `{text}` is not a GitLab time"))
        })
    }

    /// Every page of a list under an item (notes of a merge request).
    async fn all<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        what: &str,
        skips: &mut Skips,
    ) -> Result<Vec<T>, ImportError> {
        let mut out = Vec::new();
        let mut path = Some(first);
        while let Some(current) = path {
            let (items, next): (Vec<Lenient<T>>, _) = self.client.get(&current).await?;
            out.extend(
                items
                    .into_iter()
                    .filter_map(|item| item.read(what, &current, skips)),
            );
            path = next;
        }
        Ok(out)
    }

    async fn notes(
        &self,
        parent: &str,
        iid: u64,
        url: Option<&str>,
        title: Option<&str>,
        page: &mut Page,
    ) -> Result<(), ImportError> {
        let path = format!(
            "projects/{}/{parent}/{iid}/notes?sort=asc&order_by=created_at&per_page=100",
            self.encoded
        );
        let notes: Vec<Note> = self
            .all(path.clone(), "GitLab note", &mut page.skips)
            .await?;
        for note in notes {
            if note.system {
                page.skips.add("GitLab system note (not a comment)");
                continue;
            }
            let Some(person) = person(&note.author) else {
                page.skips.add("note without a username");
                continue;
            };
            let at = self.time(&path, "created_at", &note.created_at)?;
            let link = url.map(|u| format!("{u}#note_{}", note.id));
            page.records.push(self.record(
                format!("note:{}", note.id),
                ActivityKind::Comment,
                person,
                at,
                link.as_deref(),
                title,
            ));
        }
        Ok(())
    }

    /// A page of merge requests or issues: each opened, merged or closed, approved
    /// (merge requests), and its comments.
    async fn items(
        &self,
        list: List,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        let (prefix, what, opened, finish, finished) = list.words();
        let path = at
            .map(str::to_string)
            .unwrap_or_else(|| list_path(&self.encoded, list.path(), resume));
        let (items, next): (Vec<Lenient<Item>>, _) = self.client.get(&path).await?;
        let mut page = Page {
            next,
            ..Page::default()
        };
        for item in items {
            let Some(item) = item.read(what, &path, &mut page.skips) else {
                continue;
            };
            let (url, title) = (item.web_url.as_deref(), item.title.as_deref());
            let finisher = match list {
                List::MergeRequests => item
                    .merge_user
                    .as_ref()
                    .or(item.merged_by.as_ref())
                    .zip(item.merged_at.as_ref()),
                List::Issues => item.closed_by.as_ref().zip(item.closed_at.as_ref()),
            };
            let steps = [
                Some((&item.author, &item.created_at, "opened", opened)),
                finisher.map(|(who, when)| (who, when, finish, finished)),
            ];
            for (who, when, step, kind) in steps.into_iter().flatten() {
                if let Some(person) = person(who) {
                    // The field it came from: `created_at`, `merged_at`, `closed_at`.
                    let field = if step == "opened" {
                        "created_at".to_string()
                    } else {
                        format!("{step}_at")
                    };
                    let at = self.time(&path, &field, when)?;
                    page.records.push(self.record(
                        format!("{prefix}:{}:{step}", item.id),
                        kind,
                        person,
                        at,
                        url,
                        title,
                    ));
                }
            }
            if list == List::MergeRequests {
                let approved_at = item.merged_at.as_deref().unwrap_or(&item.updated_at);
                self.approvals(&item, &path, approved_at, &mut page).await?;
            }
            self.notes(list.path(), item.iid, url, title, &mut page)
                .await?;
            page.resume = Some(item.updated_at);
        }
        Ok(page)
    }

    /// A merge request's approvals, each a review by its approver; dated when it was
    /// merged (or last changed), as GitLab dates no approval.
    async fn approvals(
        &self,
        mr: &Item,
        path: &str,
        approved_at: &str,
        page: &mut Page,
    ) -> Result<(), ImportError> {
        let approvals_path = format!(
            "projects/{}/merge_requests/{}/approvals",
            self.encoded, mr.iid
        );
        match self.client.get::<Approvals>(&approvals_path).await {
            Ok((approvals, _)) => {
                let at = self.time(path, "updated_at", approved_at)?;
                for approver in approvals.approved_by {
                    if let Some(reviewer) = person(&approver.user) {
                        page.records.push(self.record(
                            format!("approval:{}:{}", mr.id, approver.user.id),
                            ActivityKind::Review,
                            reviewer,
                            at,
                            mr.web_url.as_deref(),
                            mr.title.as_deref(),
                        ));
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "merge request approvals could not be read");
                page.skips
                    .add("approvals not readable with this token or GitLab edition");
            }
        }
        Ok(())
    }

    async fn commits(&self, at: Option<&str>, resume: Option<&str>) -> Result<Page, ImportError> {
        let path = at.map(str::to_string).unwrap_or_else(|| {
            let since = resume
                .map(|r| format!("&since={}", encoded(r)))
                .unwrap_or_default();
            format!(
                "projects/{}/repository/commits?per_page=100{since}",
                self.encoded
            )
        });
        let (items, next): (Vec<Lenient<Commit>>, _) = self.client.get(&path).await?;
        let mut page = Page {
            next,
            ..Page::default()
        };
        for item in items {
            let Some(commit) = item.read("GitLab commit", &path, &mut page.skips) else {
                continue;
            };
            let Some(date) = commit.authored_date.as_ref().or(commit.created_at.as_ref()) else {
                page.skips.add("commit without a date");
                continue;
            };
            let at = self.time(&path, "authored_date", date)?;
            let Ok(key) = IdentityKey::from_email(&commit.author_email) else {
                page.skips.add("commit author without an email address");
                continue;
            };
            let mut record = self.record(
                format!("commit:{}", commit.id),
                ActivityKind::Commit,
                PersonRef::new(key, commit.author_name.as_deref()),
                at,
                commit.web_url.as_deref(),
                commit.title.as_deref(),
            );
            record.commit_sha = Some(commit.id.clone());
            page.records.push(record);
            self.newest_commit.see(date);
        }
        self.newest_commit.at_end(&mut page);
        Ok(page)
    }
}

impl PagedSource for GitlabProject {
    fn source(&self) -> &'static str {
        "gitlab"
    }

    fn input(&self) -> String {
        format!("{} {}", self.client.url(""), self.project)
    }

    async fn streams(&self) -> Result<Vec<String>, ImportError> {
        let mut streams = vec![
            format!("{}:merge_requests", self.project),
            format!("{}:issues", self.project),
        ];
        if self.commits {
            streams.push(format!("{}:commits", self.project));
        }
        Ok(streams)
    }

    async fn page(
        &self,
        stream: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        match stream.rsplit(':').next() {
            Some("merge_requests") => self.items(List::MergeRequests, at, resume).await,
            Some("issues") => self.items(List::Issues, at, resume).await,
            _ => self.commits(at, resume).await,
        }
    }
}

/// A project's list, oldest change first, from `updated_after` on (inclusive: the
/// item at the boundary is read again and known).
fn list_path(project: &str, list: &str, updated_after: Option<&str>) -> String {
    let after = updated_after
        .map(|r| format!("&updated_after={}", encoded(r)))
        .unwrap_or_default();
    format!(
        "projects/{project}/{list}?scope=all&state=all&order_by=updated_at&sort=asc&per_page=100{after}"
    )
}

fn person(user: &User) -> Option<PersonRef> {
    let key = IdentityKey::new(IdentityKind::Gitlab, &user.username).ok()?;
    Some(PersonRef::new(
        key,
        first_name([user.name.as_deref(), Some(&user.username)]),
    ))
}

/// GitLab's times: RFC 3339 in the API, `2015-05-17 17:06:40 UTC` or
/// `2015-05-17 17:06:40 +0200` in webhooks.
pub fn gitlab_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Some(at);
    }
    if let Some(local) = text.strip_suffix(" UTC") {
        let at = PrimitiveDateTime::parse(
            local,
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        )
        .ok()?;
        return Some(at.assume_utc());
    }
    OffsetDateTime::parse(
        text,
        format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
        ),
    )
    .ok()
    .map(|at| at.to_offset(UtcOffset::UTC))
}

/// A GitLab webhook delivery (`X-Gitlab-Event`): push, merge request, note and issue
/// hooks of the projects `wanted` accepts, read into the API import's records.
pub fn webhook(
    event: &str,
    body: &[u8],
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Delivery, BadDelivery> {
    if !matches!(
        event,
        "Push Hook" | "Merge Request Hook" | "Note Hook" | "Issue Hook"
    ) {
        return Ok(Delivery::Ignored(format!(
            "`{event}` events are not contributions the programme counts"
        )));
    }
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| BadDelivery("the body is not JSON".into()))?;
    let text = |value: &Value, what: &str| {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| BadDelivery(format!("`{what}` is missing")))
    };
    let project = text(
        &payload["project"]["path_with_namespace"],
        "project.path_with_namespace",
    )?;
    if !wanted(&project) {
        return Ok(Delivery::Ignored(format!(
            "{project} is not one of the programme's GitLab projects"
        )));
    }
    let time_of = |value: &Value, what: &str| -> Result<OffsetDateTime, BadDelivery> {
        let at = text(value, what)?;
        gitlab_time(&at).ok_or_else(|| BadDelivery(format!("`{what}`: `{at}` is not a time")))
    };
    let mut records = Vec::new();
    let mut skips = Skips::default();
    let make = |id: String, kind, person, at, url: &Value, title: &Value| {
        let mut record = ActivityRecord::new(id, kind, person, at);
        record.channel = Some(project.clone());
        record.url = url.as_str().map(str::to_string);
        record.title = title.as_str().map(str::to_string);
        record
    };
    if event == "Push Hook" {
        // The pusher's public address is a verified one: their own commits, written
        // with it, join that address to their GitLab username.
        let pusher = match (
            payload["user_username"].as_str(),
            payload["user_email"].as_str(),
        ) {
            (Some(username), Some(email)) => IdentityKey::new(IdentityKind::Gitlab, username)
                .ok()
                .zip(IdentityKey::from_email(email).ok()),
            _ => None,
        };
        let commits = payload["commits"].as_array().cloned().unwrap_or_default();
        if commits.is_empty() {
            skips.add("push without commits");
        }
        for commit in &commits {
            let sha = text(&commit["id"], "commits[].id")?;
            let Ok(key) = IdentityKey::from_email(commit["author"]["email"].as_str().unwrap_or(""))
            else {
                skips.add("commit author without an email address");
                continue;
            };
            let at = time_of(&commit["timestamp"], "commits[].timestamp")?;
            let mut author = PersonRef::new(key, commit["author"]["name"].as_str());
            if let Some((login, address)) = &pusher
                && *address == author.key
            {
                author.linked.push(login.clone());
            }
            let mut record = make(
                format!("commit:{sha}"),
                ActivityKind::Commit,
                author,
                at,
                &commit["url"],
                &commit["title"],
            );
            record.commit_sha = Some(sha);
            records.push(record);
        }
        return Ok(Delivery::Activities {
            scope: project,
            records,
            skips,
        });
    }
    let user = &payload["user"];
    let Some(mut actor) = user["username"]
        .as_str()
        .and_then(|u| IdentityKey::new(IdentityKind::Gitlab, u).ok())
        .map(|key| PersonRef::new(key, user["name"].as_str()))
    else {
        return Err(BadDelivery("`user.username` is missing".into()));
    };
    if let Some(address) = user["email"]
        .as_str()
        .and_then(|e| IdentityKey::from_email(e).ok())
        .filter(|k| k.kind == IdentityKind::Email)
    {
        actor.linked.push(address);
    }
    let attributes = &payload["object_attributes"];
    let id = attributes["id"]
        .as_u64()
        .ok_or_else(|| BadDelivery("`object_attributes.id` is missing".into()))?;
    let action = attributes["action"].as_str().unwrap_or("");
    let (url, title) = (&attributes["url"], &attributes["title"]);
    match (event, action) {
        ("Merge Request Hook", "open") => records.push(make(
            format!("mr:{id}:opened"),
            ActivityKind::PrOpened,
            actor,
            time_of(&attributes["created_at"], "object_attributes.created_at")?,
            url,
            title,
        )),
        ("Merge Request Hook", "merge") => records.push(make(
            format!("mr:{id}:merged"),
            ActivityKind::PrMerged,
            actor,
            time_of(&attributes["updated_at"], "object_attributes.updated_at")?,
            url,
            title,
        )),
        ("Merge Request Hook", "approved" | "approval") => {
            let user_id = user["id"]
                .as_u64()
                .ok_or_else(|| BadDelivery("`user.id` is missing".into()))?;
            records.push(make(
                format!("approval:{id}:{user_id}"),
                ActivityKind::Review,
                actor,
                time_of(&attributes["updated_at"], "object_attributes.updated_at")?,
                url,
                title,
            ))
        }
        ("Issue Hook", "open") => records.push(make(
            format!("issue:{id}:opened"),
            ActivityKind::IssueOpened,
            actor,
            time_of(&attributes["created_at"], "object_attributes.created_at")?,
            url,
            title,
        )),
        ("Issue Hook", "close") => records.push(make(
            format!("issue:{id}:closed"),
            ActivityKind::IssueClosed,
            actor,
            time_of(
                if attributes["closed_at"].is_string() {
                    &attributes["closed_at"]
                } else {
                    &attributes["updated_at"]
                },
                "object_attributes.closed_at",
            )?,
            url,
            title,
        )),
        ("Note Hook", _) if attributes["system"].as_bool() == Some(true) => {
            skips.add("GitLab system note (not a comment)")
        }
        ("Note Hook", _) => {
            let title = [&payload["merge_request"], &payload["issue"]]
                .into_iter()
                .find(|o| o.is_object())
                .map(|o| &o["title"])
                .unwrap_or(&Value::Null);
            records.push(make(
                format!("note:{id}"),
                ActivityKind::Comment,
                actor,
                time_of(&attributes["created_at"], "object_attributes.created_at")?,
                url,
                title,
            ))
        }
        (_, action) => skips.add(format!("{event} `{action}` (not a contribution)")),
    }
    Ok(Delivery::Activities {
        scope: project,
        records,
        skips,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_times_read_in_each_of_their_forms() {
        let utc = gitlab_time("2015-05-17 17:06:40 UTC").unwrap();
        assert_eq!(utc, time::macros::datetime!(2015-05-17 17:06:40 UTC));
        assert_eq!(gitlab_time("2015-05-17 19:06:40 +0200").unwrap(), utc);
        assert_eq!(gitlab_time("2015-05-17T17:06:40Z").unwrap(), utc);
        assert!(gitlab_time("2015-04-08T21: 00:25-07:00").is_none());
    }
}
