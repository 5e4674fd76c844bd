//! Big Mac price data: one [`Release`] per date of The Economist's source data.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::country::{CountryCode, CurrencyCode};

/// One country's row of one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BigMacPrice {
    pub iso_a3: CountryCode,
    pub name: String,
    pub currency: CurrencyCode,
    /// Price of a Big Mac in local currency.
    pub local_price: Decimal,
    /// Units of local currency per US dollar on the release date.
    pub dollar_ex: Decimal,
}

/// All rows published for one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    #[serde(with = "crate::iso_date")]
    pub date: Date,
    /// Sorted by country code, at most one row per country.
    pub prices: Vec<BigMacPrice>,
}

impl Release {
    pub fn new(date: Date, mut prices: Vec<BigMacPrice>) -> Self {
        prices.sort_by_key(|p| p.iso_a3);
        prices.dedup_by_key(|p| p.iso_a3);
        Release { date, prices }
    }

    pub fn price(&self, country: CountryCode) -> Option<&BigMacPrice> {
        self.prices
            .binary_search_by_key(&country, |p| p.iso_a3)
            .ok()
            .map(|i| &self.prices[i])
    }
}

/// The release in force on `on`: the latest one dated on or before it.
/// `dates` may be in any order.
pub fn release_in_force(dates: impl IntoIterator<Item = Date>, on: Date) -> Option<Date> {
    dates.into_iter().filter(|d| *d <= on).max()
}

/// A release with fewer countries than this share of the release before it is
/// partial: The Economist's own releases have never dropped below it (the lowest,
/// January 2006, listed 32 of the 41 countries before it, 78 %).
pub const PARTIAL_BELOW_PERCENT: usize = 75;

/// Whether a release can stand on its own as the data in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    Complete,
    /// Markedly fewer countries than the release before it, stored because the
    /// operator said so: never in force until someone publishes it by hand.
    Partial,
}

/// Why a release is refused before anything of it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseProblem {
    #[error(
        "the {release} release has no row for the base country {country}, so no threshold \
         could be computed from it; nothing was imported"
    )]
    BaseMissing { release: Date, country: CountryCode },
    #[error(
        "the {release} release lists {countries} countries, markedly fewer than the \
         {previous_countries} of the {previous} release; nothing was imported. If this is \
         intended, import it with --partial: a partial release is stored but never \
         published automatically"
    )]
    MarkedlyFewer {
        release: Date,
        countries: usize,
        previous: Date,
        previous_countries: usize,
    },
}

/// Checks a release (as it will be stored) against the base country of the rules and
/// the latest complete release before it, `(date, countries)`.
pub fn check_release(
    release: &Release,
    base_country: CountryCode,
    previous: Option<(Date, usize)>,
    partial_allowed: bool,
) -> Result<Completeness, ReleaseProblem> {
    if release.price(base_country).is_none() {
        return Err(ReleaseProblem::BaseMissing {
            release: release.date,
            country: base_country,
        });
    }
    let countries = release.prices.len();
    match previous {
        Some((previous, previous_countries))
            if countries * 100 < previous_countries * PARTIAL_BELOW_PERCENT =>
        {
            if partial_allowed {
                Ok(Completeness::Partial)
            } else {
                Err(ReleaseProblem::MarkedlyFewer {
                    release: release.date,
                    countries,
                    previous,
                    previous_countries,
                })
            }
        }
        _ => Ok(Completeness::Complete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn release_in_force_is_latest_on_or_before() {
        let dates = [
            date!(2025 - 01 - 01),
            date!(2019 - 07 - 09),
            date!(2026 - 01 - 01),
        ];
        assert_eq!(
            release_in_force(dates, date!(2026 - 01 - 01)),
            Some(date!(2026 - 01 - 01))
        );
        assert_eq!(
            release_in_force(dates, date!(2025 - 12 - 31)),
            Some(date!(2025 - 01 - 01))
        );
        assert_eq!(release_in_force(dates, date!(2019 - 07 - 08)), None);
    }

    fn release_of(date: Date, codes: &[&str]) -> Release {
        let prices = codes
            .iter()
            .map(|code| BigMacPrice {
                iso_a3: CountryCode::parse(code).unwrap(),
                name: code.to_string(),
                currency: CurrencyCode::USD,
                local_price: Decimal::ONE,
                dollar_ex: Decimal::ONE,
            })
            .collect();
        Release::new(date, prices)
    }

    const FOUR: [&str; 4] = ["USA", "DEU", "JPN", "IND"];

    #[test]
    fn a_release_without_the_base_country_is_refused() {
        let usa = CountryCode::parse("USA").unwrap();
        let problem = check_release(
            &release_of(date!(2026 - 07 - 01), &["DEU"]),
            usa,
            None,
            true,
        );
        assert!(matches!(problem, Err(ReleaseProblem::BaseMissing { .. })));
    }

    #[test]
    fn markedly_fewer_countries_are_refused_unless_partial_is_asked_for() {
        let usa = CountryCode::parse("USA").unwrap();
        let few = release_of(date!(2026 - 07 - 01), &["USA", "DEU"]);
        let previous = Some((date!(2026 - 01 - 01), 4));
        assert!(matches!(
            check_release(&few, usa, previous, false),
            Err(ReleaseProblem::MarkedlyFewer {
                countries: 2,
                previous_countries: 4,
                ..
            })
        ));
        assert_eq!(
            check_release(&few, usa, previous, true),
            Ok(Completeness::Partial)
        );
    }

    #[test]
    fn three_quarters_of_the_countries_before_is_still_complete() {
        let usa = CountryCode::parse("USA").unwrap();
        let three = release_of(date!(2026 - 07 - 01), &FOUR[..3]);
        let previous = Some((date!(2026 - 01 - 01), 4));
        assert_eq!(
            check_release(&three, usa, previous, false),
            Ok(Completeness::Complete)
        );
        let first = release_of(date!(2026 - 07 - 01), &FOUR[..1]);
        assert_eq!(
            check_release(&first, usa, None, false),
            Ok(Completeness::Complete)
        );
    }
}
