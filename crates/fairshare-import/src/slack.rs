//! A Slack workspace export (ZIP): `channels.json`, `users.json` and one JSON file per
//! channel and day. A reply in a thread is `chat_help`; a top-level message is
//! `chat_message`. Joins, bot messages and other subtypes are skipped. A user's
//! profile email links their Slack identity to the same person elsewhere.

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

#[derive(Debug, Default)]
pub struct SlackExport {
    pub records: Vec<ActivityRecord>,
    pub skips: Skips,
    pub channels_read: usize,
}

/// Reads the export; `channels` limits it to those names (empty = every channel).
pub fn read(
    file: &str,
    input: impl Read + Seek,
    channels: &[String],
) -> Result<SlackExport, ImportError> {
    let mut zip = zip::ZipArchive::new(input)
        .map_err(|e| ImportError::invalid(file, None, None, format!("not a ZIP archive: {e}")))?;
    let all_channels: Vec<Channel> = json_entry(&mut zip, file, "channels.json")?;
    let users: Vec<User> = json_entry(&mut zip, file, "users.json")?;
    let users: HashMap<String, User> = users.into_iter().map(|u| (u.id.clone(), u)).collect();
    let mut out = SlackExport::default();
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
                    u.real_name
                        .clone()
                        .or_else(|| u.profile.as_ref().and_then(|p| p.real_name.clone()))
                        .or_else(|| u.name.clone())
                });
                let mut person = PersonRef::new(key, name.as_deref());
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
                out.records.push(record);
            }
        }
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
    let mut text = String::new();
    entry.read_to_string(&mut text).map_err(|e| {
        ImportError::invalid(
            &format!("{file}:{name}"),
            None,
            None,
            format!("unreadable: {e}"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        ImportError::invalid(
            &format!("{file}:{name}"),
            Some(e.line() as u64),
            None,
            format!("not the expected JSON: {e}"),
        )
    })
}
