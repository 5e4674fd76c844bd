//! GitHub Sponsors money as the programme counts it. GitHub lists no charges, so a
//! monthly sponsorship is charged on its start day and then monthly on the same day
//! while active; a tier change applies from the next charge (a mid-month change does
//! not alter the charge already made); a cancellation stops the charges; a refund
//! returns the last charge. The API importer and the webhook deliveries both feed
//! [`charges`], with the same ids, so the two never count a charge twice.

use std::collections::BTreeMap;

use fairshare_engine::compliance::Coverage;
use fairshare_engine::{CurrencyCode, Money};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use time::Date;

use crate::{PaymentRecord, Skips, SponsorshipEvent};

/// The sponsors activity a stored webhook delivery stands for, as the API would list
/// it (same action names, the delivery id as its id); `None` for deliveries that imply
/// no charge (pending changes, edits). `received_on` dates a change or cancellation.
pub fn activity_of(event: &SponsorshipEvent, sponsor: &str, received_on: Date) -> Option<Activity> {
    let (action, at) = match event.action.as_str() {
        "created" => ("NEW_SPONSORSHIP", event.started_on.unwrap_or(received_on)),
        "tier_changed" => ("TIER_CHANGE", received_on),
        "cancelled" => ("CANCELLED_SPONSORSHIP", received_on),
        _ => return None,
    };
    let cents = event
        .tier_amount
        .as_deref()
        .and_then(|amount| amount.parse::<Decimal>().ok())
        .and_then(|amount| (amount * Decimal::ONE_HUNDRED).trunc().to_i64());
    Some(Activity {
        id: event.delivery_id.clone(),
        action: action.to_string(),
        at,
        sponsor: sponsor.to_string(),
        tier: cents.map(|c| (c, event.one_time.unwrap_or(false))),
    })
}

/// One sponsors activity, as GitHub reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub id: String,
    pub action: String,
    pub at: Date,
    pub sponsor: String,
    /// Monthly price of the tier, in cents, and whether it is a one-time tier.
    pub tier: Option<(i64, bool)>,
}

/// The charges the activities imply, up to and including `until`.
pub fn charges(activities: &[Activity], until: Date) -> (Vec<PaymentRecord>, Skips) {
    let mut by_sponsor: BTreeMap<&str, Vec<&Activity>> = BTreeMap::new();
    for activity in activities {
        by_sponsor
            .entry(&activity.sponsor)
            .or_default()
            .push(activity);
    }
    let mut out = Vec::new();
    let mut skips = Skips::default();
    let usd = |cents: i64| Money::new(Decimal::new(cents, 2), CurrencyCode::USD);
    for (sponsor, mut list) in by_sponsor {
        list.sort_by_key(|a| a.at);
        let charge = |date: Date, cents: i64, id: String| PaymentRecord {
            line: 0,
            external_id: id,
            platform: "github_sponsors".into(),
            account: sponsor.to_string(),
            date,
            money: usd(cents),
            coverage: Coverage::Month,
            description: Some("charge implied by GitHub Sponsors activity".into()),
        };
        // (start day, current monthly cents, next charge day) of an active sponsorship.
        let mut active: Option<(Date, i64, Date)> = None;
        let mut last_charge: Option<i64> = None;
        let mut index = 0;
        loop {
            let next_event = list.get(index).map(|a| a.at);
            // Charges due before the next activity (or until the end).
            if let Some((start, cents, due)) = active {
                let limit = next_event.unwrap_or(until);
                let mut due = due;
                let mut n = months_between(start, due);
                while due < limit || (next_event.is_none() && due <= until) {
                    out.push(charge(due, cents, format!("ghs-api:{sponsor}:{due}")));
                    last_charge = Some(cents);
                    n += 1;
                    due = add_months(start, n);
                }
                active = Some((start, cents, due));
            }
            let Some(activity) = list.get(index) else {
                break;
            };
            index += 1;
            match activity.action.as_str() {
                "NEW_SPONSORSHIP" => match activity.tier {
                    Some((cents, true)) => {
                        out.push(charge(
                            activity.at,
                            cents,
                            format!("ghs-api:{sponsor}:{}:one-time:{}", activity.at, activity.id),
                        ));
                        last_charge = Some(cents);
                    }
                    Some((cents, false)) => active = Some((activity.at, cents, activity.at)),
                    None => skips.add("new sponsorship without a tier"),
                },
                "TIER_CHANGE" => match (&mut active, activity.tier) {
                    (Some((_, cents, _)), Some((new, false))) => *cents = new,
                    _ => skips.add("tier change of no active monthly sponsorship"),
                },
                "CANCELLED_SPONSORSHIP" => active = None,
                "REFUND" => match last_charge {
                    Some(cents) => out.push(charge(
                        activity.at,
                        -cents,
                        format!("ghs-api:{sponsor}:refund:{}", activity.id),
                    )),
                    None => skips.add("refund with no charge before it"),
                },
                other => skips.add(format!("{} activity", other.to_lowercase())),
            }
        }
    }
    (out, skips)
}

/// `start` plus `n` months, on the same day or the month's last day.
fn add_months(start: Date, n: i32) -> Date {
    let total = start.year() * 12 + (start.month() as i32 - 1) + n;
    let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
    let month = time::Month::try_from(month).expect("1..=12");
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, start.day().min(last)).expect("a valid day")
}

fn months_between(start: Date, due: Date) -> i32 {
    (due.year() - start.year()) * 12 + (due.month() as i32 - start.month() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn activity(id: &str, action: &str, at: Date, cents: Option<i64>) -> Activity {
        Activity {
            id: id.into(),
            action: action.into(),
            at,
            sponsor: "tata-dev".into(),
            tier: cents.map(|c| (c, false)),
        }
    }

    #[test]
    fn a_mid_month_tier_change_applies_from_the_next_charge() {
        let list = [
            activity("1", "NEW_SPONSORSHIP", date!(2026 - 07 - 10), Some(5000)),
            activity("2", "TIER_CHANGE", date!(2026 - 08 - 20), Some(10000)),
            activity("3", "CANCELLED_SPONSORSHIP", date!(2026 - 10 - 15), None),
        ];
        let (charges, _) = charges(&list, date!(2026 - 11 - 22));
        let got: Vec<String> = charges
            .iter()
            .map(|c| format!("{} {}", c.date, c.money))
            .collect();
        assert_eq!(
            got,
            [
                "2026-07-10 USD 50.00",
                "2026-08-10 USD 50.00",
                "2026-09-10 USD 100.00",
                "2026-10-10 USD 100.00"
            ]
        );
    }

    #[test]
    fn refunds_one_time_tiers_and_month_ends() {
        let mut one_time = activity("1", "NEW_SPONSORSHIP", date!(2026 - 03 - 31), Some(2500));
        one_time.tier = Some((2500, true));
        let mut monthly = activity("3", "NEW_SPONSORSHIP", date!(2026 - 01 - 31), Some(1000));
        monthly.sponsor = "other".into();
        let list = [
            one_time,
            activity("2", "REFUND", date!(2026 - 04 - 02), None),
            monthly,
        ];
        let (charges, _) = charges(&list, date!(2026 - 04 - 30));
        let got: Vec<String> = charges
            .iter()
            .map(|c| format!("{} {} {}", c.account, c.date, c.money))
            .collect();
        assert_eq!(
            got,
            [
                "other 2026-01-31 USD 10.00",
                "other 2026-02-28 USD 10.00",
                "other 2026-03-31 USD 10.00",
                "other 2026-04-30 USD 10.00",
                "tata-dev 2026-03-31 USD 25.00",
                "tata-dev 2026-04-02 USD -25.00",
            ]
        );
    }
}
