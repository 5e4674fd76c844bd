//! A Meetup group's events through Meetup's GraphQL API (`gql-ext`): every host of an
//! event is credited with `meetup_hosted` on the event's date. Cancelled events and
//! events without listed hosts are skipped with the reason.

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ImportError;
use crate::http::ApiClient;
use crate::http::Lenient;
use crate::record::{ActivityRecord, PersonRef, Skips};

pub const DEFAULT_API: &str = "https://api.meetup.com";
const QUERY: &str = include_str!("meetup_events.graphql");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    group_by_urlname: Option<Group>,
}

#[derive(Deserialize)]
struct Group {
    events: Events,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Events {
    page_info: PageInfo,
    edges: Vec<Edge>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Edge {
    node: Lenient<Event>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    id: String,
    title: Option<String>,
    event_url: Option<String>,
    status: Option<String>,
    date_time: String,
    #[serde(default)]
    event_hosts: Option<Vec<Host>>,
}

#[derive(Deserialize)]
struct Host {
    member: Option<Member>,
}

#[derive(Deserialize)]
struct Member {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Default)]
pub struct MeetupEvents {
    pub records: Vec<ActivityRecord>,
    pub skips: Skips,
    pub events_read: u64,
}

/// Every past and upcoming event of the group, all pages.
pub async fn read(
    api: &str,
    group: &str,
    token: Option<String>,
) -> Result<MeetupEvents, ImportError> {
    let client = ApiClient::new("Meetup", api, token, Default::default())?;
    let mut out = MeetupEvents::default();
    let mut cursor: Option<String> = None;
    loop {
        let data: Option<Data> = client
            .graphql(
                "gql-ext",
                QUERY,
                json!({ "urlname": group, "cursor": cursor }),
            )
            .await?;
        let events = data
            .and_then(|d| d.group_by_urlname)
            .ok_or_else(|| client.error("gql-ext", format!("no Meetup group `{group}`")))?
            .events;
        for edge in events.edges {
            out.events_read += 1;
            let page = format!(
                "the page after {}",
                cursor.as_deref().unwrap_or("the start")
            );
            let Some(event) = edge.node.read("Meetup event", &page, &mut out.skips) else {
                continue;
            };
            if event.status.as_deref() == Some("CANCELLED") {
                out.skips.add("cancelled event");
                continue;
            }
            let at = OffsetDateTime::parse(&event.date_time, &Rfc3339).map_err(|_| {
                client.error(
                    "gql-ext",
                    format!(
                        "event {}: `dateTime` is not an RFC 3339 time: `{}`",
                        event.id, event.date_time
                    ),
                )
            })?;
            let hosts: Vec<Member> = event
                .event_hosts
                .unwrap_or_default()
                .into_iter()
                .filter_map(|h| h.member)
                .collect();
            if hosts.is_empty() {
                out.skips.add("event without listed hosts");
                continue;
            }
            for host in hosts {
                let Ok(key) = IdentityKey::new(IdentityKind::Meetup, &host.id) else {
                    continue;
                };
                let mut record = ActivityRecord::new(
                    format!("event:{}:host:{}", event.id, host.id),
                    ActivityKind::MeetupHosted,
                    PersonRef::new(key, host.name.as_deref()),
                    at,
                );
                record.channel = Some(group.to_string());
                record.url = event.event_url.clone();
                record.title = event.title.clone();
                out.records.push(record);
            }
        }
        match (events.page_info.has_next_page, events.page_info.end_cursor) {
            (true, Some(next)) => cursor = Some(next),
            _ => break,
        }
    }
    Ok(out)
}
