//! A Discourse forum's posts through its API (`/posts.json`, newest first, paged with
//! `before=`): a topic's first post and every reply are `forum_post`; a post marked as
//! the accepted answer (the Solved plugin's `accepted_answer`) also counts as
//! `forum_solution` for its author. Whispers and moderator actions are skipped.

use std::collections::HashMap;

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient, header};
use crate::record::{ActivityRecord, PersonRef, Skips};

#[derive(Deserialize)]
struct LatestPosts {
    latest_posts: Vec<Lenient<Post>>,
}

#[derive(Deserialize)]
struct Post {
    id: u64,
    username: String,
    #[serde(default)]
    name: Option<String>,
    created_at: String,
    post_number: u64,
    #[serde(default = "regular")]
    post_type: u8,
    topic_id: u64,
    #[serde(default)]
    topic_slug: Option<String>,
    #[serde(default)]
    topic_title: Option<String>,
    #[serde(default)]
    category_id: Option<u64>,
    #[serde(default)]
    accepted_answer: bool,
    #[serde(default)]
    deleted_at: Option<String>,
    #[serde(default)]
    hidden: bool,
}

fn regular() -> u8 {
    1
}

#[derive(Deserialize)]
struct Categories {
    category_list: CategoryList,
}

#[derive(Deserialize)]
struct CategoryList {
    categories: Vec<Category>,
}

#[derive(Deserialize)]
struct Category {
    id: u64,
    slug: String,
}

pub struct Forum {
    client: ApiClient,
    base: String,
    categories: HashMap<u64, String>,
}

/// One page of posts, converted.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<ActivityRecord>,
    pub skips: Skips,
    /// The lowest post id on the page (ask `before` it next), and the highest.
    pub lowest: Option<u64>,
    pub highest: Option<u64>,
}

impl Forum {
    pub async fn connect(
        url: &str,
        api_key: Option<String>,
        api_username: &str,
    ) -> Result<Forum, ImportError> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        if let Some(key) = &api_key {
            for (k, v) in [header("api-key", key), header("api-username", api_username)]
                .into_iter()
                .flatten()
            {
                headers.insert(k, v);
            }
        }
        let client = ApiClient::new("Discourse", url, None, headers)?;
        // Category slugs name the channel (and so the team); a forum that hides them
        // still imports, with `category-ID` channels.
        let categories = match client.get::<Categories>("categories.json").await {
            Ok((c, _)) => c
                .category_list
                .categories
                .into_iter()
                .map(|c| (c.id, c.slug))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "no category names; using ids");
                HashMap::new()
            }
        };
        Ok(Forum {
            client,
            base: url.trim_end_matches('/').to_string(),
            categories,
        })
    }

    /// Posts older than `before` (newest first when `None`).
    pub async fn page(&self, before: Option<u64>) -> Result<Page, ImportError> {
        let path = match before {
            Some(id) => format!("posts.json?before={id}"),
            None => "posts.json".to_string(),
        };
        let (latest, _): (LatestPosts, _) = self.client.get(&path).await?;
        let mut page = Page::default();
        for post in latest.latest_posts {
            // An unreadable post still moves the page boundary, so paging goes on.
            if let Lenient::Unreadable { id, .. } = &post
                && let Ok(id) = id.parse::<u64>()
            {
                page.lowest = Some(page.lowest.map_or(id, |l| l.min(id)));
                page.highest = Some(page.highest.map_or(id, |h| h.max(id)));
            }
            let Some(post) = post.read("Discourse post", &path, &mut page.skips) else {
                continue;
            };
            page.lowest = Some(page.lowest.map_or(post.id, |l| l.min(post.id)));
            page.highest = Some(page.highest.map_or(post.id, |h| h.max(post.id)));
            if post.post_type != 1 {
                page.skips.add("whisper or moderator action");
                continue;
            }
            if post.deleted_at.is_some() || post.hidden {
                page.skips.add("deleted or hidden post");
                continue;
            }
            let Ok(key) = IdentityKey::new(IdentityKind::Discourse, &post.username) else {
                page.skips.add("post without a username");
                continue;
            };
            if key.value == "system" || key.value == "discobot" {
                page.skips.add("system user");
                continue;
            }
            let at = OffsetDateTime::parse(&post.created_at, &Rfc3339).map_err(|_| {
                self.client.error(
                    &path,
                    format!(
                        "post {}: `created_at` is not an RFC 3339 time: `{}`",
                        post.id, post.created_at
                    ),
                )
            })?;
            let person = PersonRef::new(
                key,
                crate::record::first_name([post.name.as_deref(), Some(&post.username)]),
            );
            let url = format!(
                "{}/t/{}/{}/{}",
                self.base,
                post.topic_slug.as_deref().unwrap_or("-"),
                post.topic_id,
                post.post_number
            );
            let channel = post.category_id.map(|id| {
                self.categories
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("category-{id}"))
            });
            let mut record = ActivityRecord::new(
                format!("post:{}", post.id),
                ActivityKind::ForumPost,
                person.clone(),
                at,
            );
            record.url = Some(url.clone());
            record.title = post.topic_title.clone();
            record.channel = channel.clone();
            page.records.push(record);
            if post.accepted_answer {
                let mut record = ActivityRecord::new(
                    format!("solution:{}", post.id),
                    ActivityKind::ForumSolution,
                    person,
                    at,
                );
                record.url = Some(url);
                record.title = post.topic_title;
                record.channel = channel;
                page.records.push(record);
            }
        }
        Ok(page)
    }
}
