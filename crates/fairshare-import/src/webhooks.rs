//! Sponsorship webhook deliveries (GitHub Sponsors, Open Collective) read into
//! [`SponsorshipEvent`]s. The web layer authenticates a delivery first and hands over
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
