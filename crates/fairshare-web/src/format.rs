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

/// Counts by kind with each kind in words, for a chart's labels.
pub fn kind_labels(rows: Vec<(String, i64)>) -> Vec<(String, i64)> {
    rows.into_iter()
        .map(|(kind, n)| (kind_label(kind), n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
