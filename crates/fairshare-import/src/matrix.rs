//! Messages of chosen Matrix rooms through the client-server API (`/messages`, read
//! forwards with an access token): a reply to someone else's message (`m.in_reply_to`)
//! and an answer in a thread someone else started (`m.thread`) are `chat_help`; other
//! messages are `chat_message`. Edits, redacted events, notices (what bots send) and
//! state events are skipped. A reply whose original this run did not read (it came
//! before an earlier run's resume point) is counted as help: replying to oneself is
//! the rarer case.
//!
//! Rooms are given as `!id:server` or `#alias:server` (resolved once a run); each keeps
//! its pagination token as its resume point. People are `matrix:USER:SERVER`.

use std::collections::HashMap;
use std::sync::Mutex;

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient};
use crate::paged::{Page, PagedSource, encoded};
use crate::record::{ActivityRecord, PersonRef};

/// Events asked for at once.
const PAGE: usize = 100;
/// The most senders remembered to tell a reply to another from one to oneself.
const REMEMBERED: usize = 500_000;

#[derive(Deserialize)]
struct Messages {
    #[serde(default)]
    end: Option<String>,
    chunk: Vec<Lenient<Event>>,
}

#[derive(Deserialize)]
struct Event {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    sender: String,
    origin_server_ts: i64,
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
struct Alias {
    room_id: String,
}

pub struct Matrix {
    client: ApiClient,
    /// As configured (the channel of their messages), and the room id each stands for.
    rooms: Vec<String>,
    ids: Mutex<HashMap<String, String>>,
    senders: Mutex<HashMap<String, String>>,
}

impl Matrix {
    pub fn new(
        homeserver: &str,
        rooms: &[String],
        token: Option<String>,
    ) -> Result<Matrix, ImportError> {
        Ok(Matrix {
            client: ApiClient::new("Matrix", homeserver, token, Default::default())?,
            rooms: rooms.iter().map(|r| r.trim().to_string()).collect(),
            ids: Mutex::new(HashMap::new()),
            senders: Mutex::new(HashMap::new()),
        })
    }

    fn sender_of(&self, event: &str) -> Option<String> {
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned()
    }
}

impl PagedSource for Matrix {
    fn source(&self) -> &'static str {
        "matrix"
    }

    fn input(&self) -> String {
        format!("{} {}", self.client.url(""), self.rooms.join(", "))
    }

    async fn streams(&self) -> Result<Vec<String>, ImportError> {
        for room in &self.rooms {
            let id = if room.starts_with('#') {
                let path = format!("_matrix/client/v3/directory/room/{}", encoded(room));
                let (alias, _): (Alias, _) = self.client.get(&path).await?;
                alias.room_id
            } else {
                room.clone()
            };
            self.ids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(room.clone(), id);
        }
        Ok(self.rooms.clone())
    }

    async fn page(
        &self,
        room: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        let id = self
            .ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(room)
            .cloned()
            .unwrap_or_else(|| room.to_string());
        let from = at
            .or(resume)
            .map(|token| format!("&from={}", encoded(token)))
            .unwrap_or_default();
        let path = format!(
            "_matrix/client/v3/rooms/{}/messages?dir=f&limit={PAGE}{from}",
            encoded(&id)
        );
        let (messages, _): (Messages, _) = self.client.get(&path).await?;
        let mut page = Page::default();
        let read = messages.chunk.len();
        for event in messages.chunk {
            let Some(event) = event.read("Matrix event", &path, &mut page.skips) else {
                continue;
            };
            if let Some(record) = self.convert(room, &id, &event, &path, &mut page)? {
                page.records.push(record);
            }
        }
        if read > 0
            && let Some(end) = messages.end
        {
            page.resume = Some(end.clone());
            page.next = Some(end);
        }
        Ok(page)
    }
}

impl Matrix {
    fn convert(
        &self,
        room: &str,
        room_id: &str,
        event: &Event,
        path: &str,
        page: &mut Page,
    ) -> Result<Option<ActivityRecord>, ImportError> {
        if event.kind != "m.room.message" {
            page.skips.add("not a message (state or other event)");
            return Ok(None);
        }
        let content = &event.content;
        let Some(msgtype) = content["msgtype"].as_str() else {
            page.skips.add("redacted message");
            return Ok(None);
        };
        if msgtype == "m.notice" {
            page.skips.add("notice (what bots send)");
            return Ok(None);
        }
        let relation = &content["m.relates_to"];
        if relation["rel_type"] == "m.replace" {
            page.skips.add("an edit of an earlier message");
            return Ok(None);
        }
        {
            let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
            if senders.len() >= REMEMBERED {
                senders.clear();
            }
            senders.insert(event.event_id.clone(), event.sender.clone());
        }
        let answering = if relation["rel_type"] == "m.thread" {
            relation["event_id"].as_str()
        } else {
            relation["m.in_reply_to"]["event_id"].as_str()
        };
        let kind = match answering {
            Some(original) if self.sender_of(original).as_deref() != Some(&event.sender) => {
                ActivityKind::ChatHelp
            }
            _ => ActivityKind::ChatMessage,
        };
        let Ok(key) = IdentityKey::new(IdentityKind::Matrix, &event.sender) else {
            page.skips.add("message without a sender");
            return Ok(None);
        };
        let at = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(event.origin_server_ts) * 1_000_000,
        )
        .map_err(|_| {
            self.client.error(
                path,
                format!(
                    "event {}: `origin_server_ts` {} is not a time",
                    event.event_id, event.origin_server_ts
                ),
            )
        })?;
        let mut record = ActivityRecord::new(
            format!("event:{}", event.event_id),
            kind,
            PersonRef::new(key, None),
            at,
        );
        record.channel = Some(room.to_string());
        record.url = Some(format!(
            "https://matrix.to/#/{}/{}",
            encoded(room_id),
            encoded(&event.event_id)
        ));
        Ok(Some(record))
    }
}
