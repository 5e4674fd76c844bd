//! How amounts, dates and links read on pages.

use rust_decimal::Decimal;

pub use fairshare_engine::money::grouped;

/// Points, grouped and without trailing zeros (a sum of 0.5s reads 2, not 2.0).
pub fn points_text(amount: Decimal) -> String {
    grouped(amount.normalize())
}

/// Whether a stored address may be rendered as a link (`http`/`https` with a site,
/// or `mailto:`): whatever put it there, anything else is shown as text.
pub fn is_link(href: &str) -> bool {
    fairshare_engine::links::is_safe_href(href)
}

/// Two decimals, grouped: money in USD or EUR.
pub fn cents(amount: Decimal) -> String {
    let mut rounded = amount.round_dp(2);
    rounded.rescale(2);
    grouped(rounded)
}

/// A time to the minute with its zone, as people read it: `2026-03-03 06:00 UTC`.
pub fn minute(at: time::OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

/// An activity kind in words (`pr_merged` reads "Pull request merged"); text that is
/// not a kind is shown as it is.
pub fn kind_label(kind: impl std::fmt::Display) -> String {
    let text = kind.to_string();
    match text.parse::<fairshare_engine::ActivityKind>() {
        Ok(kind) => kind.label().to_string(),
        Err(_) => text,
    }
}

/// Why work is credited where it is (`email_domain` reads "the email address's
/// domain"); text that is not a reason is shown as it is.
pub fn attribution_words(reason: &str) -> String {
    fairshare_engine::attribution::Reason::parse(reason)
        .map_or_else(|| reason.to_string(), |r| r.label().to_string())
}

/// What an audit entry's action did, in words (`claims.approve` reads "Claim
/// approved"); an action not listed here is shown as recorded.
pub fn audit_words(action: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("accounts.link", "Account linked"),
        ("activities.import", "Activities imported"),
        ("affiliations.import", "Affiliations imported"),
        ("applications.approved", "Application approved"),
        ("applications.deferred", "Application deferred"),
        ("applications.invite_staff", "Staff invited to confirm"),
        ("applications.reevaluate", "Application evaluated again"),
        ("applications.rejected", "Application rejected"),
        ("applications.staff_confirmed", "Staff member confirmed"),
        ("applications.staff_declined", "Staff member declined"),
        ("applications.submit", "Application submitted"),
        ("bigmac.approve", "Price submission approved"),
        ("bigmac.import", "Big Mac data imported"),
        ("bigmac.map", "Comparable country set"),
        ("bigmac.reject", "Price submission rejected"),
        ("bigmac.submit", "Price submitted"),
        ("bigmac.unmap", "Comparable country removed"),
        ("claims.approve", "Claim approved"),
        ("claims.reject", "Claim rejected"),
        ("claims.submit", "Claim submitted"),
        ("corrections.add", "Activity excluded from scoring"),
        ("corrections.remove", "Exclusion lifted"),
        ("disputes.approved", "Attribution dispute settled"),
        ("disputes.rejected", "Attribution dispute rejected"),
        ("mail.subscribe", "Mail turned on"),
        ("mail.unsubscribe", "Mail turned off"),
        ("members.affiliate", "Affiliation added"),
        ("members.dispute", "Attribution disputed"),
        ("members.forget", "Person forgotten at their request"),
        ("members.identity_asked", "Account named as theirs"),
        ("identity_requests.approved", "Account confirmed as theirs"),
        ("identity_requests.rejected", "Account refused"),
        ("members.link", "Identity linked"),
        ("members.merge", "Members merged"),
        ("members.opt_in", "Agreed to be named"),
        ("members.opt_out", "Withdrew consent to be named"),
        ("members.split", "Member split"),
        ("members.undo", "Member change undone"),
        (
            "organisations.change_approve",
            "Organisation change approved",
        ),
        (
            "organisations.change_reject",
            "Organisation change rejected",
        ),
        (
            "organisations.change_request",
            "Organisation change requested",
        ),
        ("organisations.profile", "Public profile edited"),
        ("orgs.import", "Organisations imported"),
        ("partners.status", "Partner status changed"),
        ("payments.add", "Payment added"),
        ("payments.import", "Payments imported"),
        ("payments.remove", "Payment removed"),
        ("ranking.publish", "Ranking published"),
        ("ranking.republish", "Ranking published again"),
        ("rates.import", "Exchange rates imported"),
        ("rollups.rebuild", "Counts rebuilt"),
        ("rules.change", "Programme rules changed"),
        ("sources.add", "Source added"),
        ("sources.pause", "Source paused"),
        ("sources.remove", "Source removed"),
        ("sources.resume", "Source resumed"),
        ("sources.sync_now", "Source synced on request"),
        ("sources.update", "Source changed"),
        ("thresholds.publish", "Thresholds published"),
        ("users.add", "Account added"),
        ("users.confirm_email", "Address confirmed by an admin"),
        ("users.grant", "Role granted"),
        ("users.link_github", "GitHub sign-in linked"),
        ("users.reset_password", "Password reset"),
        ("users.verify_email", "Address confirmed"),
    ];
    WORDS
        .iter()
        .find(|(code, _)| *code == action)
        .map(|(_, words)| words.to_string())
        .unwrap_or_else(|| action.to_string())
}

/// Counts by kind with each kind in words, for a chart's labels.
pub fn kind_labels(rows: Vec<(String, i64)>) -> Vec<(String, i64)> {
    rows.into_iter()
        .map(|(kind, n)| (kind_label(kind), n))
        .collect()
}

/// Recorded details (an audit entry's, an import run's summary) as one line a person
/// reads: `{"inserted": 5, "skipped": {"bots": 2}}` reads "inserted 5 · skipped (bots 2)".
/// Empty values are left out; kinds read as words. The JSON itself stays in exports.
pub fn json_words(value: &serde_json::Value) -> String {
    use serde_json::Value;
    fn words(value: &Value) -> Option<String> {
        match value {
            Value::Null => None,
            Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(kind_label(s)),
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(words).collect();
                match parts.len() {
                    0 => None,
                    1..=5 => Some(parts.join(", ")),
                    n => Some(format!("{}, … ({n} in all)", parts[..3].join(", "))),
                }
            }
            Value::Object(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .filter_map(|(key, value)| {
                        let key = key.replace('_', " ");
                        words(value).map(|v| match value {
                            Value::Object(_) => format!("{key} ({v})"),
                            _ => format!("{key} {v}"),
                        })
                    })
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" · "))
            }
        }
    }
    words(value).unwrap_or_default()
}

/// [`json_words`] of details kept as JSON text; text that is not JSON is shown as it is.
pub fn json_text_words(text: &str) -> String {
    serde_json::from_str(text)
        .map(|value| json_words(&value))
        .unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_details_read_as_one_line_without_empty_values() {
        let details = serde_json::json!({
            "inserted": 5, "skipped": {"bots": 2, "note": ""}, "kind": "pr_merged", "org": null
        });
        assert_eq!(
            json_words(&details),
            "inserted 5 · kind Pull request merged · skipped (bots 2)"
        );
        assert_eq!(json_text_words("not json"), "not json");
    }

    #[test]
    fn audit_actions_read_as_words_and_unknown_ones_as_recorded() {
        assert_eq!(audit_words("claims.approve"), "Claim approved");
        assert_eq!(audit_words("applications.approved"), "Application approved");
        assert_eq!(audit_words("something.new"), "something.new");
    }

    #[test]
    fn groups_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(grouped(d("600707")), "600,707");
        assert_eq!(grouped(d("100")), "100");
        assert_eq!(grouped(d("-1234.5")), "-1,234.5");
        assert_eq!(cents(d("45.7")), "45.70");
        assert_eq!(cents(d("1234")), "1,234.00");
        assert_eq!(points_text(d("2.0")), "2");
        assert_eq!(points_text(d("1234.50")), "1,234.5");
    }
}
