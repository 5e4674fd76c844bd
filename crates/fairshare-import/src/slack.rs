//! A Slack workspace export (ZIP): `channels.json`, `users.json` and one JSON file per
//! channel and day. A reply in a thread is `chat_help`; a top-level message is
//! `chat_message`. Joins, bot messages and other subtypes are skipped. A user's
//! profile email links their Slack identity to the same person elsewhere.
//!
//! The archive is read entry by entry and records are handed over in batches, so
//! memory stays bounded whatever it holds; an entry that is too large, compresses
//! suspiciously well or names a path outside the archive is refused by name.

use std::collections::HashMap;
use std::io::{Read, Seek};

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::ImportError;
use crate::record::{ActivityRecord, PersonRef, Skips};

#[derive(Deserialize)]
struct Channel {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    real_name: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    user: Option<String>,
    ts: String,
    #[serde(default)]
    thread_ts: Option<String>,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
}

/// Records handed over at once.
pub const BATCH: usize = 2_000;
/// The largest entry read, uncompressed: a channel's day or `users.json` of the largest
/// workspaces is a few MiB.
pub const MAX_ENTRY: u64 = 64 << 20;
/// The highest compression ratio accepted for an entry over 1 MiB: JSON compresses
/// 10–30 times; far more is a decompression bomb.
pub const MAX_RATIO: u64 = 200;

#[derive(Debug, Default)]
pub struct SlackOutcome {
    pub skips: Skips,
    pub channels_read: usize,
}

/// Reads the export, calling `sink` with batches of records and `progress` with the
/// messages read so far; `channels` limits it to those names (empty = every channel).
pub fn read(
    file: &str,
    input: impl Read + Seek,
    channels: &[String],
    mut sink: impl FnMut(Vec<ActivityRecord>) -> Result<(), ImportError>,
    mut progress: impl FnMut(u64),
) -> Result<SlackOutcome, ImportError> {
    let mut zip = zip::ZipArchive::new(input)
        .map_err(|e| ImportError::invalid(file, None, None, format!("not a ZIP archive: {e}")))?;
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(|e| {
            ImportError::invalid(file, None, None, format!("unreadable ZIP directory: {e}"))
        })?;
        if entry.enclosed_name().is_none() {
            return Err(ImportError::invalid(
                file,
                None,
                None,
                format!(
                    "the entry `{}` names a path outside the archive",
                    fairshare_engine::money::excerpt(&entry.name().unwrap_or_default())
                ),
            ));
        }
    }
    let all_channels: Vec<Channel> = json_entry(&mut zip, file, "channels.json")?;
    let users: Vec<User> = json_entry(&mut zip, file, "users.json")?;
    let users: HashMap<String, User> = users.into_iter().map(|u| (u.id.clone(), u)).collect();
    let mut out = SlackOutcome::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut messages_read = 0u64;
    let wanted: Vec<&Channel> = all_channels
        .iter()
        .filter(|c| {
            channels.is_empty()
                || channels
                    .iter()
                    .any(|w| w.trim_start_matches('#').eq_ignore_ascii_case(&c.name))
        })
        .collect();
    for wanted_name in channels {
        if !all_channels.iter().any(|c| {
            wanted_name
                .trim_start_matches('#')
                .eq_ignore_ascii_case(&c.name)
        }) {
            return Err(ImportError::invalid(
                file,
                None,
                Some("channels"),
                format!("the export has no channel `{wanted_name}`"),
            ));
        }
    }
    let mut names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            ImportError::invalid(file, None, None, format!("unreadable ZIP directory: {e}"))
        })?;
    names.sort();
    for channel in wanted {
        out.channels_read += 1;
        let prefix = format!("{}/", channel.name);
        for entry in names
            .iter()
            .filter(|n| n.starts_with(&prefix) && n.ends_with(".json"))
        {
            let messages: Vec<Message> = json_entry(&mut zip, file, entry)?;
            messages_read += messages.len() as u64;
            progress(messages_read);
            for (index, message) in messages.into_iter().enumerate() {
                let place = format!("{file}:{entry}");
                if message.subtype.is_some() || message.bot_id.is_some() {
                    out.skips.add(format!(
                        "{} message",
                        message.subtype.as_deref().unwrap_or("bot")
                    ));
                    continue;
                }
                let Some(user_id) = message.user.as_deref() else {
                    out.skips.add("message without a user");
                    continue;
                };
                let seconds = message
                    .ts
                    .split('.')
                    .next()
                    .and_then(|s| s.parse::<i64>().ok());
                let Some(at) = seconds.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                else {
                    return Err(ImportError::invalid(
                        &place,
                        Some(index as u64 + 1),
                        Some("ts"),
                        format!("`{}` is not a Slack timestamp", message.ts),
                    ));
                };
                let user = users.get(user_id);
                if user.is_some_and(|u| u.is_bot) {
                    out.skips.add("bot user");
                    continue;
                }
                let key = IdentityKey::new(IdentityKind::Slack, user_id).map_err(|e| {
                    ImportError::invalid(
                        &place,
                        Some(index as u64 + 1),
                        Some("user"),
                        e.to_string(),
                    )
                })?;
                let name = user.and_then(|u| {
                    crate::record::first_name([
                        u.real_name.as_deref(),
                        u.profile.as_ref().and_then(|p| p.real_name.as_deref()),
                        u.name.as_deref(),
                    ])
                });
                let mut person = PersonRef::new(key, name);
                if let Some(email) = user
                    .and_then(|u| u.profile.as_ref())
                    .and_then(|p| p.email.as_deref())
                    && let Ok(email_key) = IdentityKey::from_email(email)
                {
                    person.linked.push(email_key);
                }
                let is_reply = message
                    .thread_ts
                    .as_deref()
                    .is_some_and(|t| t != message.ts);
                let kind = if is_reply {
                    ActivityKind::ChatHelp
                } else {
                    ActivityKind::ChatMessage
                };
                let mut record =
                    ActivityRecord::new(format!("{}:{}", channel.id, message.ts), kind, person, at);
                record.channel = Some(channel.name.clone());
                record.title = message
                    .text
                    .as_deref()
                    .map(|t| t.chars().take(80).collect());
                batch.push(record);
                if batch.len() >= BATCH {
                    sink(std::mem::take(&mut batch))?;
                }
            }
        }
    }
    if !batch.is_empty() {
        sink(batch)?;
    }
    Ok(out)
}

fn json_entry<T: serde::de::DeserializeOwned, R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    file: &str,
    name: &str,
) -> Result<T, ImportError> {
    let mut entry = zip.by_name(name).map_err(|_| {
        ImportError::invalid(
            file,
            None,
            None,
            format!("the export has no `{name}`: is this a Slack export?"),
        )
    })?;
    let place = format!("{file}:{name}");
    let refuse = |why: String| ImportError::invalid(&place, None, None, why);
    if entry.size() > MAX_ENTRY {
        return Err(refuse(format!(
            "the entry is {} MiB uncompressed, more than the {} MiB an export entry may be",
            entry.size() >> 20,
            MAX_ENTRY >> 20
        )));
    }
    if entry.size() > 1 << 20 && entry.size() > entry.compressed_size().max(1) * MAX_RATIO {
        return Err(refuse(format!(
            "the entry compresses {} times: refused as a possible decompression bomb",
            entry.size() / entry.compressed_size().max(1)
        )));
    }
    // The directory's sizes may lie: never read more than the limit.
    let mut limited = std::io::BufReader::new((&mut entry).take(MAX_ENTRY + 1));
    let parsed = serde_json::from_reader(&mut limited);
    let read_whole = limited.into_inner().limit() > 0;
    if !read_whole {
        return Err(refuse(format!(
            "the entry is larger than the {} MiB an export entry may be",
            MAX_ENTRY >> 20
        )));
    }
    parsed.map_err(|e| {
        ImportError::invalid(
            &place,
            Some(e.line() as u64),
            None,
            format!("not the expected JSON: {e}"),
        )
    })
}
