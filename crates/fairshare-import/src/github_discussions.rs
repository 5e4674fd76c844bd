//! A GitHub repository's Discussions, through GraphQL and through the `discussion` and
//! `discussion_comment` webhooks, read into the same records with the same ids (the
//! GraphQL `databaseId` is the webhook's `id`): starting a discussion and each comment
//! or reply are `forum_post`; the comment marked as the answer is also a
//! `forum_solution` for its author, unless they answered their own question. The
//! channel is the discussion's category (`q-a`), which `teams` maps like a forum's.

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::ImportError;
use crate::http::ApiClient;
use crate::paged::{Page, PagedSource, rfc3339};
use crate::record::{ActivityRecord, PersonRef};
use crate::webhooks::{BadDelivery, Delivery};

pub const DEFAULT_API: &str = "https://api.github.com";

/// Comments and replies read with each discussion; more arrive through the webhook.
const COMMENTS: usize = 50;

const QUERY: &str = r#"query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    discussions(first: 25, after: $after, orderBy: {field: UPDATED_AT, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId title url createdAt
        author { login }
        category { slug }
        answerChosenAt
        answer { databaseId }
        comments(first: 50) {
          totalCount
          nodes {
            databaseId url createdAt author { login }
            replies(first: 50) {
              totalCount
              nodes { databaseId url createdAt author { login } }
            }
          }
        }
      }
    }
  }
}"#;

#[derive(Deserialize)]
struct Data {
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct Repository {
    discussions: Connection<Discussion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection<T> {
    #[serde(default)]
    page_info: Option<PageInfo>,
    #[serde(default)]
    total_count: Option<usize>,
    nodes: Vec<Option<T>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Actor {
    login: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Discussion {
    database_id: u64,
    title: Option<String>,
    url: Option<String>,
    created_at: String,
    author: Option<Actor>,
    category: Option<Category>,
    answer_chosen_at: Option<String>,
    answer: Option<Answer>,
    comments: Connection<Comment>,
}

#[derive(Deserialize)]
struct Category {
    slug: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    database_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    database_id: u64,
    url: Option<String>,
    created_at: String,
    author: Option<Actor>,
    #[serde(default)]
    replies: Option<Connection<Comment>>,
}

/// What every record of one discussion shares.
struct Thread<'a> {
    channel: Option<&'a str>,
    title: Option<&'a str>,
    asker: Option<&'a str>,
}

impl Thread<'_> {
    fn record(
        &self,
        id: String,
        kind: ActivityKind,
        login: &str,
        at: OffsetDateTime,
        url: Option<&str>,
    ) -> Option<ActivityRecord> {
        let key = IdentityKey::new(IdentityKind::Github, login).ok()?;
        let mut record = ActivityRecord::new(id, kind, PersonRef::new(key, Some(login)), at);
        record.channel = self.channel.map(str::to_string);
        record.title = self.title.map(str::to_string);
        record.url = url.map(str::to_string);
        Some(record)
    }

    /// A comment, and its solution when it is the chosen answer of someone else's
    /// question.
    fn comment(
        &self,
        id: u64,
        login: &str,
        at: OffsetDateTime,
        url: Option<&str>,
        answer_at: Option<OffsetDateTime>,
        page: &mut Page,
    ) {
        page.records.extend(self.record(
            format!("discussion-comment:{id}"),
            ActivityKind::ForumPost,
            login,
            at,
            url,
        ));
        if let Some(chosen) = answer_at {
            if self.asker.is_some_and(|a| a.eq_ignore_ascii_case(login)) {
                page.skips
                    .add("answer to one's own question (not a solution for others)");
            } else {
                page.records.extend(self.record(
                    format!("discussion-answer:{id}"),
                    ActivityKind::ForumSolution,
                    login,
                    chosen,
                    url,
                ));
            }
        }
    }
}

pub struct GithubDiscussions {
    client: ApiClient,
    owner: String,
    name: String,
}

impl GithubDiscussions {
    pub fn new(
        api_url: &str,
        repo: &str,
        token: Option<String>,
    ) -> Result<GithubDiscussions, ImportError> {
        let (owner, name) = repo.split_once('/').ok_or_else(|| {
            ImportError::invalid(
                "GitHub Discussions",
                None,
                Some("repo"),
                format!("`{repo}` is not OWNER/NAME"),
            )
        })?;
        Ok(GithubDiscussions {
            client: ApiClient::new("GitHub", api_url, token, Default::default())?,
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl PagedSource for GithubDiscussions {
    fn source(&self) -> &'static str {
        "github"
    }

    fn input(&self) -> String {
        format!("{}/{} discussions", self.owner, self.name)
    }

    async fn streams(&self) -> Result<Vec<String>, ImportError> {
        Ok(vec![format!("{}/{}:discussions", self.owner, self.name)])
    }

    async fn page(
        &self,
        _stream: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        let variables = json!({ "owner": self.owner, "name": self.name, "after": at.or(resume) });
        let data: Option<Data> = self.client.graphql("graphql", QUERY, variables).await?;
        let Some(repository) = data.and_then(|d| d.repository) else {
            return Err(self.client.error(
                "graphql",
                format!(
                    "{}/{}: no such repository, or not visible with this token",
                    self.owner, self.name
                ),
            ));
        };
        let connection = repository.discussions;
        let mut page = Page::default();
        let where_ = format!("GitHub {}/{} discussions", self.owner, self.name);
        for discussion in connection.nodes.into_iter().flatten() {
            let at = |text: &str, what: &str| rfc3339(&where_, what, text);
            let asker = discussion.author.as_ref().map(|a| a.login.as_str());
            let thread = Thread {
                channel: discussion.category.as_ref().map(|c| c.slug.as_str()),
                title: discussion.title.as_deref(),
                asker,
            };
            match asker {
                Some(login) => page.records.extend(thread.record(
                    format!("discussion:{}", discussion.database_id),
                    ActivityKind::ForumPost,
                    login,
                    at(&discussion.created_at, "createdAt")?,
                    discussion.url.as_deref(),
                )),
                None => page.skips.add("discussion by a deleted account"),
            }
            let chosen = discussion
                .answer_chosen_at
                .as_deref()
                .map(|t| at(t, "answerChosenAt"))
                .transpose()?;
            let answer = discussion.answer.as_ref().map(|a| a.database_id);
            let mut truncated = discussion.comments.total_count.unwrap_or(0) > COMMENTS;
            for comment in discussion.comments.nodes.into_iter().flatten() {
                let mut comment = comment;
                let replies = comment.replies.take().map(|r| {
                    truncated |= r.total_count.unwrap_or(0) > COMMENTS;
                    r.nodes
                });
                for comment in
                    std::iter::once(comment).chain(replies.into_iter().flatten().flatten())
                {
                    let Some(author) = &comment.author else {
                        page.skips.add("comment by a deleted account");
                        continue;
                    };
                    thread.comment(
                        comment.database_id,
                        &author.login,
                        at(&comment.created_at, "createdAt")?,
                        comment.url.as_deref(),
                        chosen.filter(|_| answer == Some(comment.database_id)),
                        &mut page,
                    );
                }
            }
            if truncated {
                page.skips.add(format!(
                    "comments past the first {COMMENTS} of a discussion (the webhook brings them)"
                ));
            }
        }
        if let Some(info) = connection.page_info {
            page.resume = info.end_cursor.clone();
            if info.has_next_page {
                page.next = info.end_cursor;
            }
        }
        Ok(page)
    }
}

/// A `discussion` or `discussion_comment` delivery of `repo`, read into the GraphQL
/// import's records.
pub fn webhook(event: &str, repo: String, payload: &Value) -> Result<Delivery, BadDelivery> {
    let action = payload["action"].as_str().unwrap_or("");
    let discussion = &payload["discussion"];
    let time = |value: &Value, what: &str| -> Result<OffsetDateTime, BadDelivery> {
        let text = value
            .as_str()
            .ok_or_else(|| BadDelivery(format!("`{what}` is missing")))?;
        rfc3339("delivery", what, text).map_err(|e| BadDelivery(e.to_string()))
    };
    let id = |value: &Value, what: &str| {
        value
            .as_u64()
            .ok_or_else(|| BadDelivery(format!("`{what}` is missing")))
    };
    let asker = discussion["user"]["login"].as_str();
    let thread = Thread {
        channel: discussion["category"]["slug"].as_str(),
        title: discussion["title"].as_str(),
        asker,
    };
    let mut page = Page::default();
    match (event, action) {
        ("discussion", "created") => {
            let login =
                asker.ok_or_else(|| BadDelivery("`discussion.user.login` is missing".into()))?;
            page.records.extend(thread.record(
                format!("discussion:{}", id(&discussion["id"], "discussion.id")?),
                ActivityKind::ForumPost,
                login,
                time(&discussion["created_at"], "discussion.created_at")?,
                discussion["html_url"].as_str(),
            ));
        }
        ("discussion", "answered") => {
            let answer = &payload["answer"];
            let login = answer["user"]["login"]
                .as_str()
                .ok_or_else(|| BadDelivery("`answer.user.login` is missing".into()))?;
            let chosen = match discussion["answer_chosen_at"].as_str() {
                Some(_) => time(
                    &discussion["answer_chosen_at"],
                    "discussion.answer_chosen_at",
                )?,
                None => time(&answer["created_at"], "answer.created_at")?,
            };
            thread.comment(
                id(&answer["id"], "answer.id")?,
                login,
                time(&answer["created_at"], "answer.created_at")?,
                answer["html_url"].as_str(),
                Some(chosen),
                &mut page,
            );
        }
        ("discussion_comment", "created") => {
            let comment = &payload["comment"];
            let login = comment["user"]["login"]
                .as_str()
                .ok_or_else(|| BadDelivery("`comment.user.login` is missing".into()))?;
            thread.comment(
                id(&comment["id"], "comment.id")?,
                login,
                time(&comment["created_at"], "comment.created_at")?,
                comment["html_url"].as_str(),
                None,
                &mut page,
            );
        }
        (event, action) => page
            .skips
            .add(format!("{event} {action} (not a contribution)")),
    }
    Ok(Delivery::Activities {
        scope: repo,
        records: page.records,
        skips: page.skips,
    })
}
