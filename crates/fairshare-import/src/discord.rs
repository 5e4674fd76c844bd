//! Messages of chosen Discord channels, read with a bot token (REST v10), and of
//! their threads (active and archived public ones). A reply to someone else's message,
//! and a message in a thread someone else started, is `chat_help`; any other message
//! is `chat_message` (kept for the record, worth nothing by default). Bots, webhooks,
//! system messages and a thread's copy of its first message are skipped.
//!
//! Each channel and thread is read oldest first from the newest message an earlier
//! run stored. People are `discord:USER_ID` (names change, ids do not); the channel of
//! a message is its channel's name (a thread's parent's), which `teams` maps.

use std::collections::HashMap;
use std::sync::Mutex;

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient};
use crate::paged::{Page, PagedSource, rfc3339};
use crate::record::{ActivityRecord, PersonRef, first_name};

pub const DEFAULT_API: &str = "https://discord.com/api/v10";

/// Messages asked for at once (the API's most).
const PAGE: usize = 100;

#[derive(Deserialize)]
struct Channel {
    id: String,
    #[serde(default)]
    guild_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    thread_metadata: Option<ThreadMetadata>,
}

#[derive(Deserialize)]
struct ThreadMetadata {
    #[serde(default)]
    archive_timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Threads {
    threads: Vec<Channel>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Deserialize)]
struct Author {
    id: String,
    username: String,
    #[serde(default)]
    global_name: Option<String>,
    #[serde(default)]
    bot: bool,
}

#[derive(Deserialize)]
struct Referenced {
    author: Author,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    #[serde(rename = "type", default)]
    kind: u8,
    author: Author,
    timestamp: String,
    #[serde(default)]
    webhook_id: Option<String>,
    #[serde(default)]
    referenced_message: Option<Box<Referenced>>,
}

/// Where a stream's messages are: the channel's name for teams, its server, and who
/// started it when it is a thread.
#[derive(Clone)]
struct Place {
    channel: String,
    guild: Option<String>,
    thread_owner: Option<String>,
}

pub struct Discord {
    client: ApiClient,
    channels: Vec<String>,
    places: Mutex<HashMap<String, Place>>,
}

impl Discord {
    pub fn new(
        api_url: &str,
        channels: &[String],
        token: Option<String>,
    ) -> Result<Discord, ImportError> {
        let mut headers = reqwest::header::HeaderMap::new();
        // Discord asks every client to name itself this way.
        headers.insert(
            reqwest::header::USER_AGENT,
            reqwest::header::HeaderValue::from_static(concat!(
                "DiscordBot (https://github.com/fairshare/fairshare, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            )),
        );
        Ok(Discord {
            client: ApiClient::new("Discord", api_url, token, headers)?.with_scheme("Bot"),
            channels: channels.iter().map(|c| c.trim().to_string()).collect(),
            places: Mutex::new(HashMap::new()),
        })
    }

    fn place(&self, id: &str) -> Option<Place> {
        self.places
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The channel's threads: those active now, and the archived public ones.
    async fn threads(&self, channel: &Channel) -> Result<Vec<Channel>, ImportError> {
        let mut threads = Vec::new();
        if let Some(guild) = &channel.guild_id {
            let path = format!("guilds/{guild}/threads/active");
            match self.client.get::<Threads>(&path).await {
                Ok((active, _)) => threads.extend(
                    active
                        .threads
                        .into_iter()
                        .filter(|t| t.parent_id.as_deref() == Some(channel.id.as_str())),
                ),
                Err(error) => tracing::warn!(%error, "active threads could not be read"),
            }
        }
        let mut before: Option<String> = None;
        loop {
            let path = match &before {
                Some(at) => format!(
                    "channels/{}/threads/archived/public?limit=100&before={}",
                    channel.id,
                    crate::paged::encoded(at)
                ),
                None => format!("channels/{}/threads/archived/public?limit=100", channel.id),
            };
            let (archived, _): (Threads, _) = match self.client.get(&path).await {
                Ok(answer) => answer,
                Err(error) => {
                    // A text channel without threads, or no permission to list them.
                    tracing::warn!(%error, "archived threads could not be read");
                    break;
                }
            };
            let oldest = archived
                .threads
                .iter()
                .filter_map(|t| t.thread_metadata.as_ref()?.archive_timestamp.clone())
                .min();
            threads.extend(archived.threads);
            match oldest {
                Some(at) if archived.has_more && before.as_deref() != Some(at.as_str()) => {
                    before = Some(at)
                }
                _ => break,
            }
        }
        Ok(threads)
    }
}

impl PagedSource for Discord {
    fn source(&self) -> &'static str {
        "discord"
    }

    fn input(&self) -> String {
        format!("channels {}", self.channels.join(", "))
    }

    async fn streams(&self) -> Result<Vec<String>, ImportError> {
        let mut streams = Vec::new();
        for id in &self.channels {
            let (channel, _): (Channel, _) = self.client.get(&format!("channels/{id}")).await?;
            let name = channel.name.clone().unwrap_or_else(|| id.clone());
            let threads = self.threads(&channel).await?;
            let mut places = self.places.lock().unwrap_or_else(|e| e.into_inner());
            places.insert(
                channel.id.clone(),
                Place {
                    channel: name.clone(),
                    guild: channel.guild_id.clone(),
                    thread_owner: None,
                },
            );
            streams.push(channel.id.clone());
            for thread in threads {
                places.insert(
                    thread.id.clone(),
                    Place {
                        channel: name.clone(),
                        guild: channel.guild_id.clone(),
                        thread_owner: thread.owner_id.clone(),
                    },
                );
                streams.push(thread.id);
            }
        }
        Ok(streams)
    }

    async fn page(
        &self,
        stream: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        let place = self.place(stream).unwrap_or(Place {
            channel: stream.to_string(),
            guild: None,
            thread_owner: None,
        });
        let after = at.or(resume).unwrap_or("0");
        let path = format!("channels/{stream}/messages?limit={PAGE}&after={after}");
        let (items, _): (Vec<Lenient<Message>>, _) = self.client.get(&path).await?;
        let full = items.len() >= PAGE;
        let mut page = Page::default();
        let mut messages: Vec<Message> = items
            .into_iter()
            .filter_map(|m| m.read("Discord message", &path, &mut page.skips))
            .collect();
        // Newest first from the API; snowflakes order by time.
        messages.sort_by_key(|m| m.id.parse::<u64>().unwrap_or(0));
        for message in &messages {
            page.resume = Some(message.id.clone());
            if message.author.bot || message.webhook_id.is_some() {
                page.skips.add("bot or webhook message");
                continue;
            }
            let kind = match message.kind {
                0 => match &place.thread_owner {
                    Some(owner) if *owner != message.author.id => ActivityKind::ChatHelp,
                    _ => ActivityKind::ChatMessage,
                },
                19 => match &message.referenced_message {
                    Some(to) if to.author.id != message.author.id => ActivityKind::ChatHelp,
                    _ if place
                        .thread_owner
                        .as_ref()
                        .is_some_and(|o| *o != message.author.id) =>
                    {
                        ActivityKind::ChatHelp
                    }
                    _ => ActivityKind::ChatMessage,
                },
                21 => {
                    page.skips.add("a thread's copy of its first message");
                    continue;
                }
                _ => {
                    page.skips.add("system message (joins, pins, boosts…)");
                    continue;
                }
            };
            let Ok(key) = IdentityKey::new(IdentityKind::Discord, &message.author.id) else {
                page.skips.add("message without an author id");
                continue;
            };
            let at = rfc3339(
                &format!("Discord {path}"),
                &format!("message {}: timestamp", message.id),
                &message.timestamp,
            )?;
            let name = first_name([
                message.author.global_name.as_deref(),
                Some(&message.author.username),
            ]);
            let mut record = ActivityRecord::new(
                format!("message:{}", message.id),
                kind,
                PersonRef::new(key, name),
                at,
            );
            record.channel = Some(place.channel.clone());
            record.url = place.guild.as_ref().map(|guild| {
                format!(
                    "https://discord.com/channels/{guild}/{stream}/{}",
                    message.id
                )
            });
            page.records.push(record);
        }
        if full {
            page.next = page.resume.clone();
        }
        Ok(page)
    }
}
