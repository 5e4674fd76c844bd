//! GitHub Sponsors through GitHub's GraphQL API: the sponsorable's sponsors activities
//! over the whole period (`period: ALL`, not the default last month), turned into the
//! charges they imply. GitHub's API lists no charges, so a monthly sponsorship is
//! charged on its start day and then monthly on the same day while active; a tier
//! change applies from the next charge (a mid-month change does not alter the charge
//! already made); a cancellation stops the charges; a refund returns the last charge.
//! The dashboard export, when imported too, wins for the months it covers.

use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient};
use crate::record::Skips;

pub const DEFAULT_API: &str = "https://api.github.com";
const QUERY: &str = include_str!("github_sponsors_activities.graphql");

pub use fairshare_records::github_sponsors::{Activity, charges};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    repository_owner: Option<Owner>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner {
    sponsors_activities: Option<Activities>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Activities {
    page_info: PageInfo,
    nodes: Vec<Lenient<Node>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    action: String,
    timestamp: String,
    sponsor: Option<Login>,
    sponsors_tier: Option<Tier>,
}

#[derive(Deserialize)]
struct Login {
    login: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tier {
    monthly_price_in_cents: i64,
    #[serde(default)]
    is_one_time: bool,
}

/// Every sponsors activity of `login`, oldest first, all pages.
pub async fn read_activities(
    api: &str,
    login: &str,
    token: Option<String>,
) -> Result<Vec<Activity>, ImportError> {
    let client = ApiClient::new("GitHub", api, token, Default::default())?;
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let data: Option<Data> = client
            .graphql(
                "graphql",
                QUERY,
                json!({ "login": login, "cursor": cursor }),
            )
            .await?;
        let activities = data
            .and_then(|d| d.repository_owner)
            .and_then(|o| o.sponsors_activities)
            .ok_or_else(|| {
                client.error(
                    "graphql",
                    format!("`{login}` is not a sponsorable GitHub account"),
                )
            })?;
        let page = format!(
            "the page after {}",
            cursor.as_deref().unwrap_or("the start")
        );
        for node in activities.nodes {
            // Logged by `read`: this importer's callers list charges, not skips.
            let Some(node) = node.read("GitHub Sponsors activity", &page, &mut Skips::default())
            else {
                continue;
            };
            let at = OffsetDateTime::parse(&node.timestamp, &Rfc3339).map_err(|_| {
                client.error(
                    "graphql",
                    format!(
                        "activity {}: `timestamp` is not an RFC 3339 time: `{}`",
                        node.id, node.timestamp
                    ),
                )
            })?;
            let Some(sponsor) = node.sponsor.and_then(|s| s.login) else {
                continue;
            };
            out.push(Activity {
                id: node.id,
                action: node.action,
                at: at.to_offset(time::UtcOffset::UTC).date(),
                sponsor: sponsor.to_lowercase(),
                tier: node
                    .sponsors_tier
                    .map(|t| (t.monthly_price_in_cents, t.is_one_time)),
            });
        }
        match (
            activities.page_info.has_next_page,
            activities.page_info.end_cursor,
        ) {
            (true, Some(next)) => cursor = Some(next),
            _ => break,
        }
    }
    Ok(out)
}
