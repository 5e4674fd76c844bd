//! Webhook deliveries: sponsorships (GitHub Sponsors, Open Collective) read into
//! [`SponsorshipEvent`]s, and GitHub repository events read into the same activity
//! records, with the same ids, as the REST and GH Archive imports. The web layer authenticates a delivery first and hands over
//! only an authenticated body; nothing here trusts it further than its shape.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::record::SponsorshipEvent;

/// Why a delivery's body could not be read; answered with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadDelivery(pub String);

fn json(body: &[u8]) -> Result<Value, BadDelivery> {
    serde_json::from_slice(body).map_err(|_| BadDelivery("the body is not JSON".into()))
}

/// Cents as a decimal amount string (`4500` → `"45.00"`).
fn amount(cents: i64) -> String {
    rust_decimal::Decimal::new(cents, 2).to_string()
}

/// A GitHub `sponsorship` event, delivered as `delivery`.
pub fn github_sponsors(delivery: &str, body: &[u8]) -> Result<SponsorshipEvent, BadDelivery> {
    let payload = json(body)?;
    let action = payload["action"]
        .as_str()
        .ok_or_else(|| BadDelivery("`action` is missing".into()))?;
    let sponsorship = &payload["sponsorship"];
    let tier = &sponsorship["tier"];
    let cents = tier["monthly_price_in_cents"].as_i64();
    Ok(SponsorshipEvent {
        platform: "github_sponsors".into(),
        delivery_id: delivery.to_string(),
        action: action.to_string(),
        account: sponsorship["sponsor"]["login"]
            .as_str()
            .map(str::to_lowercase),
        tier_amount: cents.map(amount),
        currency: cents.map(|_| "USD".to_string()),
        is_yearly: None,
        one_time: tier["is_one_time"].as_bool(),
        started_on: sponsorship["created_at"]
            .as_str()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .map(|t| t.to_offset(UtcOffset::UTC).date()),
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

/// An Open Collective webhook event (its own `id` is the delivery id).
pub fn opencollective(body: &[u8]) -> Result<SponsorshipEvent, BadDelivery> {
    let payload = json(body)?;
    let (Some(kind), Some(id)) = (
        payload["type"].as_str(),
        payload["id"]
            .as_i64()
            .map(|i| i.to_string())
            .or_else(|| payload["id"].as_str().map(str::to_string)),
    ) else {
        return Err(BadDelivery("`type` and `id` are required".into()));
    };
    let data = &payload["data"];
    let order = &data["order"];
    let cents = order["totalAmount"].as_i64();
    Ok(SponsorshipEvent {
        platform: "opencollective".into(),
        delivery_id: id,
        action: kind.to_string(),
        account: data["fromCollective"]["slug"]
            .as_str()
            .or_else(|| data["member"]["memberCollective"]["slug"].as_str())
            .map(str::to_lowercase),
        tier_amount: cents.map(amount),
        currency: order["currency"].as_str().map(str::to_string),
        is_yearly: order["interval"].as_str().map(|i| i == "year"),
        one_time: None,
        started_on: None,
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_github_sponsorship_names_its_sponsor_tier_and_start() {
        let body = br#"{"action":"created","sponsorship":{"created_at":"2026-03-31T23:30:00-02:00",
            "sponsor":{"login":"MonaLisa"},"tier":{"monthly_price_in_cents":4500,"is_one_time":false}}}"#;
        let event = github_sponsors("d-1", body).unwrap();
        assert_eq!(event.account.as_deref(), Some("monalisa"));
        assert_eq!(event.tier_amount.as_deref(), Some("45.00"));
        assert_eq!(event.one_time, Some(false));
        assert_eq!(event.started_on, Some(time::macros::date!(2026 - 04 - 01)));
    }

    #[test]
    fn a_delivery_that_is_not_json_or_lacks_its_fields_is_refused() {
        assert_eq!(
            github_sponsors("d", b"nope").unwrap_err().0,
            "the body is not JSON"
        );
        assert_eq!(
            github_sponsors("d", b"{}").unwrap_err().0,
            "`action` is missing"
        );
        assert_eq!(
            opencollective(b"{\"type\":\"x\"}").unwrap_err().0,
            "`type` and `id` are required"
        );
    }
}

/// What a contributions delivery (GitHub, GitLab, Crowdin) holds.
#[derive(Debug)]
pub enum Delivery {
    /// Not read (an event or project the programme does not count), with why.
    Ignored(String),
    /// What it concerns (a repository, a project) and the activities of the event.
    Activities {
        scope: String,
        records: Vec<crate::ActivityRecord>,
        skips: crate::Skips,
    },
}

/// A GitHub repository webhook delivery (`X-GitHub-Event: event`): `push`,
/// `pull_request`, `pull_request_review`, `issues`, `issue_comment`, `discussion` and
/// `discussion_comment` of the
/// repositories `filter` wants; anything else is ignored with a reason.
pub fn github_contributions(
    event: &str,
    delivery: &str,
    body: &[u8],
    filter: &crate::github_archive::ArchiveFilter,
) -> Result<Delivery, BadDelivery> {
    let kind = match event {
        "push" => "PushEvent",
        "pull_request" => "PullRequestEvent",
        "pull_request_review" => "PullRequestReviewEvent",
        "issues" => "IssuesEvent",
        "issue_comment" => "IssueCommentEvent",
        "discussion" | "discussion_comment" => {
            let payload = json(body)?;
            let repo = payload["repository"]["full_name"]
                .as_str()
                .ok_or_else(|| BadDelivery("`repository.full_name` is missing".into()))?;
            if !filter.wants(repo) {
                return Ok(Delivery::Ignored(format!(
                    "{repo} is not one of the programme's repositories"
                )));
            }
            return crate::github_discussions::webhook(event, repo.to_string(), &payload);
        }
        other => {
            return Ok(Delivery::Ignored(format!(
                "`{other}` events are not contributions the programme counts"
            )));
        }
    };
    let payload = json(body)?;
    let text = |value: &Value, what: &str| {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| BadDelivery(format!("`{what}` is missing")))
    };
    let repo = text(&payload["repository"]["full_name"], "repository.full_name")?;
    if !filter.wants(&repo) {
        return Ok(Delivery::Ignored(format!(
            "{repo} is not one of the programme's repositories"
        )));
    }
    let actor = text(&payload["sender"]["login"], "sender.login")?;
    let action = payload["action"].as_str().unwrap_or("");
    // When the work happened, as the REST import dates it.
    let when = match (event, action) {
        ("push", _) => &payload["head_commit"]["timestamp"],
        ("pull_request", "closed") => &payload["pull_request"]["merged_at"],
        ("pull_request", _) => &payload["pull_request"]["created_at"],
        ("pull_request_review", _) => &payload["review"]["submitted_at"],
        ("issues", "closed") => &payload["issue"]["closed_at"],
        ("issues", _) => &payload["issue"]["created_at"],
        _ => &payload["comment"]["created_at"],
    };
    let created_at = match when
        .as_str()
        .or(payload["repository"]["updated_at"].as_str())
    {
        Some(at) => OffsetDateTime::parse(at, &Rfc3339)
            .map_err(|_| BadDelivery(format!("`{at}` is not an RFC 3339 time")))?
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|e| BadDelivery(e.to_string()))?,
        // An unmerged close or a push without commits: nothing is dated, nothing counted.
        None => "1970-01-01T00:00:00Z".to_string(),
    };
    let raw = serde_json::value::RawValue::from_string(String::from_utf8_lossy(body).into_owned())
        .map_err(|_| BadDelivery("the body is not JSON".into()))?;
    let reference = crate::github_archive::EventRef {
        id: delivery,
        kind,
        actor: &actor,
        repo: &repo,
        created_at: &created_at,
        payload: &raw,
    };
    let mut records = Vec::new();
    let mut skips = crate::Skips::default();
    crate::github_archive::convert(&reference, "delivery", 1, &mut records, &mut skips)
        .map_err(|e| BadDelivery(e.to_string()))?;
    if records.is_empty() && skips.0.is_empty() {
        skips.add(format!("{event} {action} (not a contribution)"));
    }
    Ok(Delivery::Activities {
        scope: repo,
        records,
        skips,
    })
}

#[cfg(test)]
mod github_tests {
    use super::*;
    use crate::github_archive::ArchiveFilter;

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../testdata/samples/github-webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn read(event: &str, name: &str) -> Delivery {
        github_contributions(event, "d-1", &sample(name), &ArchiveFilter::new(&[])).unwrap()
    }

    fn ids(delivery: Delivery) -> Vec<String> {
        match delivery {
            Delivery::Activities { records, .. } => {
                records.into_iter().map(|r| r.external_id).collect()
            }
            Delivery::Ignored(why) => panic!("ignored: {why}"),
        }
    }

    #[test]
    fn deliveries_use_the_rest_imports_ids() {
        assert_eq!(
            ids(read("issues", "issues.opened.payload.json")),
            vec!["issue:codertocat/hello-world#1:opened"]
        );
        assert_eq!(
            ids(read(
                "pull_request_review",
                "pull_request_review.submitted.payload.json"
            )),
            vec!["review:237895671"]
        );
        assert_eq!(
            ids(read("issue_comment", "issue_comment.created.payload.json")),
            vec!["comment:492700400"]
        );
    }

    #[test]
    fn a_pull_request_closed_without_merging_counts_nothing() {
        match read("pull_request", "pull_request.closed.payload.json") {
            Delivery::Activities { records, skips, .. } => {
                assert!(records.is_empty());
                assert_eq!(skips.0[0].reason, "pull request closed without merging");
            }
            Delivery::Ignored(why) => panic!("ignored: {why}"),
        }
    }

    #[test]
    fn other_events_and_repositories_are_ignored() {
        let filter = ArchiveFilter::new(&["mautic/mautic".to_string()]);
        let body = sample("issues.opened.payload.json");
        assert!(matches!(
            github_contributions("issues", "d", &body, &filter).unwrap(),
            Delivery::Ignored(why) if why.contains("not one of the programme's repositories")
        ));
        assert!(matches!(
            github_contributions("star", "d", b"{}", &filter).unwrap(),
            Delivery::Ignored(_)
        ));
        assert!(github_contributions("issues", "d", b"not json", &filter).is_err());
    }
}
