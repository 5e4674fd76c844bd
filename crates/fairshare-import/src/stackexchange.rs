//! Answers on a Stack Exchange site (API 2.3) to questions with the project's tags:
//! each answer is a `forum_post`, an accepted one also a `forum_solution` (unless the
//! asker answered their own question). Questions
//! are read tag by tag in order of last activity, so a later run starts at the last
//! activity it stored; the API's `backoff` is obeyed before the next request, and a
//! used-up daily quota ends the run early with what was read stored.
//!
//! People are `stackexchange:SITE:USER_ID` (user ids are per site); deleted users'
//! answers (`does_not_exist`) are skipped: nobody can be credited.

use std::collections::HashMap;
use std::time::Duration;

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient};
use crate::paged::{Page, PagedSource, encoded};
use crate::record::{ActivityRecord, PersonRef, Skips};

pub const DEFAULT_API: &str = "https://api.stackexchange.com/2.3";

/// The longest `backoff` obeyed; a longer one is an error (the run resumes later).
const MAX_BACKOFF: u64 = 600;

#[derive(Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
struct Wrapper<T> {
    items: Vec<Lenient<T>>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    quota_remaining: Option<u64>,
    #[serde(default)]
    backoff: Option<u64>,
}

#[derive(Deserialize)]
struct Question {
    question_id: u64,
    last_activity_date: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    owner: Option<Owner>,
}

#[derive(Deserialize)]
struct Answer {
    answer_id: u64,
    question_id: u64,
    creation_date: i64,
    #[serde(default)]
    is_accepted: bool,
    #[serde(default)]
    owner: Option<Owner>,
}

#[derive(Deserialize)]
struct Owner {
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_type: Option<String>,
}

pub struct StackExchange {
    client: ApiClient,
    site: String,
    tags: Vec<String>,
    key: Option<String>,
}

impl StackExchange {
    pub fn new(
        api_url: &str,
        site: &str,
        tags: &[String],
        key: Option<String>,
    ) -> Result<StackExchange, ImportError> {
        Ok(StackExchange {
            client: ApiClient::new("Stack Exchange", api_url, None, Default::default())?,
            site: site.trim().to_string(),
            tags: tags.iter().map(|t| t.trim().to_lowercase()).collect(),
            key,
        })
    }

    fn common(&self) -> String {
        let key = self
            .key
            .as_deref()
            .map(|k| format!("&key={}", encoded(k)))
            .unwrap_or_default();
        format!("site={}&pagesize=100{key}", encoded(&self.site))
    }

    /// GET, then obey the answer's `backoff` before anything else is asked.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Wrapper<T>, ImportError> {
        let (wrapper, _): (Wrapper<T>, _) = self.client.get(path).await?;
        if let Some(seconds) = wrapper.backoff {
            if seconds > MAX_BACKOFF {
                return Err(self.client.error(
                    path,
                    format!("asked to back off for {seconds} s; the import resumes later"),
                ));
            }
            tracing::info!(seconds, "Stack Exchange asked to back off");
            tokio::time::sleep(Duration::from_secs(seconds)).await;
        }
        Ok(wrapper)
    }
}

impl PagedSource for StackExchange {
    fn source(&self) -> &'static str {
        "stackexchange"
    }

    fn input(&self) -> String {
        format!("{} [{}]", self.site, self.tags.join(", "))
    }

    async fn streams(&self) -> Result<Vec<String>, ImportError> {
        Ok(self
            .tags
            .iter()
            .map(|tag| format!("{}:{tag}", self.site))
            .collect())
    }

    async fn page(
        &self,
        stream: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        let tag = stream.rsplit(':').next().unwrap_or(stream);
        let number: u64 = at.and_then(|a| a.parse().ok()).unwrap_or(1);
        let min = resume
            .map(|r| format!("&min={}", encoded(r)))
            .unwrap_or_default();
        let path = format!(
            "questions?{}&tagged={}&sort=activity&order=asc&page={number}{min}",
            self.common(),
            encoded(tag)
        );
        let questions: Wrapper<Question> = self.get(&path).await?;
        let mut page = Page::default();
        let mut asked = HashMap::new();
        for question in questions.items {
            let Some(question) = question.read("Stack Exchange question", &path, &mut page.skips)
            else {
                continue;
            };
            page.resume = Some(question.last_activity_date.to_string());
            asked.insert(question.question_id, question);
        }
        let quota_left = questions.quota_remaining;
        if !asked.is_empty() {
            // In order, so that the same page asks the same question.
            let mut ids: Vec<u64> = asked.keys().copied().collect();
            ids.sort_unstable();
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            let mut answers_page = 1;
            loop {
                let answers_path = format!(
                    "questions/{}/answers?{}&sort=creation&order=asc&page={answers_page}",
                    ids.join(";"),
                    self.common()
                );
                let answers: Wrapper<Answer> = self.get(&answers_path).await?;
                for answer in answers.items {
                    let Some(answer) =
                        answer.read("Stack Exchange answer", &answers_path, &mut page.skips)
                    else {
                        continue;
                    };
                    self.convert(
                        &answer,
                        asked.get(&answer.question_id),
                        tag,
                        &mut page.records,
                        &mut page.skips,
                        &answers_path,
                    )?;
                }
                if !answers.has_more || answers.quota_remaining == Some(0) {
                    break;
                }
                answers_page += 1;
            }
        }
        if quota_left == Some(0) {
            page.skips
                .add("the API's daily quota is used up: the next run goes on from here");
        } else if questions.has_more {
            page.next = Some((number + 1).to_string());
        }
        Ok(page)
    }
}

impl StackExchange {
    fn convert(
        &self,
        answer: &Answer,
        question: Option<&Question>,
        tag: &str,
        out: &mut Vec<ActivityRecord>,
        skips: &mut Skips,
        path: &str,
    ) -> Result<(), ImportError> {
        let Some(owner) = &answer.owner else {
            skips.add("answer without an owner");
            return Ok(());
        };
        let (Some(user_id), false) = (
            owner.user_id,
            owner.user_type.as_deref() == Some("does_not_exist"),
        ) else {
            skips.add("answer by a deleted user");
            return Ok(());
        };
        let Ok(key) = IdentityKey::new(
            IdentityKind::Stackexchange,
            &format!("{}:{user_id}", self.site),
        ) else {
            skips.add("answer by an unnamed user");
            return Ok(());
        };
        let at = OffsetDateTime::from_unix_timestamp(answer.creation_date).map_err(|_| {
            self.client.error(
                path,
                format!(
                    "answer {}: `creation_date` {} is not a time",
                    answer.answer_id, answer.creation_date
                ),
            )
        })?;
        // Stack Exchange display names are HTML-escaped.
        let name = owner.display_name.as_deref().map(|n| {
            n.replace("&#39;", "'")
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
        });
        let person = PersonRef::new(key, name.as_deref());
        let channel = question
            .and_then(|q| {
                q.tags
                    .iter()
                    .find(|t| self.tags.contains(&t.to_lowercase()))
            })
            .cloned()
            .unwrap_or_else(|| tag.to_string());
        let url = question
            .and_then(|q| q.link.as_deref())
            .map(|link| format!("{link}/{id}#{id}", id = answer.answer_id));
        let title = question.and_then(|q| q.title.clone());
        let mut kinds = vec![(
            format!("answer:{}:{}", self.site, answer.answer_id),
            ActivityKind::ForumPost,
        )];
        let asker = question
            .and_then(|q| q.owner.as_ref())
            .and_then(|o| o.user_id);
        if answer.is_accepted && asker == Some(user_id) {
            skips.add("accepted answer to one's own question (not a solution for others)");
        } else if answer.is_accepted {
            kinds.push((
                format!("accepted:{}:{}", self.site, answer.answer_id),
                ActivityKind::ForumSolution,
            ));
        }
        for (id, kind) in kinds {
            let mut record = ActivityRecord::new(id, kind, person.clone(), at);
            record.channel = Some(channel.clone());
            record.url = url.clone();
            record.title = title.clone();
            out.push(record);
        }
        Ok(())
    }
}
