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
}
