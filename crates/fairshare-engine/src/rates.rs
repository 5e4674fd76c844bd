//! Currency conversion with reference rates: ECB daily rates (units per EUR, crossed
//! through EUR), falling back to a Big Mac release's `dollar_ex` for currencies the ECB
//! does not publish. The rate for a day is that day's, else the latest earlier
//! published one (weekends and holidays), at most `MAX_STALENESS_DAYS` old.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, Duration};

use crate::country::CurrencyCode;
use crate::money::Money;

/// Older than this, a rate is no longer that day's reference.
pub const MAX_STALENESS_DAYS: i64 = 14;

/// ECB reference rates: for each currency, its units per 1 EUR by day.
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    series: HashMap<CurrencyCode, BTreeMap<Date, Decimal>>,
}

/// Big Mac `dollar_ex` of one release: units per 1 USD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DollarRates {
    pub release: Option<Date>,
    pub per_usd: HashMap<CurrencyCode, Decimal>,
}

/// Where a conversion's rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum RateBasis {
    Same,
    Ecb {
        #[serde(with = "crate::iso_date")]
        date: Date,
    },
    BigMac {
        #[serde(with = "crate::iso_date")]
        release: Date,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Conversion {
    pub from: Money,
    /// Exact (not rounded): round once, where the result is shown or compared.
    pub to: Money,
    #[serde(with = "crate::decimal_text")]
    pub rate: Decimal,
    pub basis: RateBasis,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error(
        "no exchange rate from {from} to {to} on {on}: the ECB publishes none within {MAX_STALENESS_DAYS} days and the Big Mac data has none either"
    )]
    Missing {
        from: CurrencyCode,
        to: CurrencyCode,
        on: Date,
    },
}

impl RateTable {
    pub fn insert(&mut self, day: Date, currency: CurrencyCode, per_eur: Decimal) {
        self.series
            .entry(currency)
            .or_default()
            .insert(day, per_eur);
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Units of `currency` per EUR on `on` (or the latest earlier day), with that day.
    pub fn per_eur(&self, currency: CurrencyCode, on: Date) -> Option<(Decimal, Date)> {
        if currency == CurrencyCode::EUR {
            return Some((Decimal::ONE, on));
        }
        let (day, rate) = self.series.get(&currency)?.range(..=on).next_back()?;
        (on - *day <= Duration::days(MAX_STALENESS_DAYS)).then_some((*rate, *day))
    }

    /// Converts `money` into `to` at the rates of `on`.
    pub fn convert(
        &self,
        money: Money,
        to: CurrencyCode,
        on: Date,
        fallback: &DollarRates,
    ) -> Result<Conversion, RateError> {
        if money.currency == to {
            return Ok(Conversion {
                from: money,
                to: money,
                rate: Decimal::ONE,
                basis: RateBasis::Same,
            });
        }
        if let (Some((from_rate, from_day)), Some((to_rate, to_day))) =
            (self.per_eur(money.currency, on), self.per_eur(to, on))
        {
            let rate = to_rate / from_rate;
            let day = from_day.min(to_day);
            return Ok(Conversion {
                from: money,
                to: Money::new(money.amount * rate, to),
                rate,
                basis: RateBasis::Ecb {
                    date: if money.currency == CurrencyCode::EUR {
                        to_day
                    } else if to == CurrencyCode::EUR {
                        from_day
                    } else {
                        day
                    },
                },
            });
        }
        let per_usd = |c: CurrencyCode| {
            if c == CurrencyCode::USD {
                Some(Decimal::ONE)
            } else {
                fallback.per_usd.get(&c).copied()
            }
        };
        if let (Some(from_rate), Some(to_rate), Some(release)) =
            (per_usd(money.currency), per_usd(to), fallback.release)
        {
            let rate = to_rate / from_rate;
            return Ok(Conversion {
                from: money,
                to: Money::new(money.amount * rate, to),
                rate,
                basis: RateBasis::BigMac { release },
            });
        }
        Err(RateError::Missing {
            from: money.currency,
            to,
            on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn cur(c: &str) -> CurrencyCode {
        CurrencyCode::parse(c).unwrap()
    }

    fn table() -> RateTable {
        let mut t = RateTable::default();
        t.insert(date!(2026 - 10 - 30), cur("USD"), "1.1172".parse().unwrap());
        t.insert(
            date!(2026 - 10 - 30),
            cur("INR"),
            "106.084".parse().unwrap(),
        );
        t.insert(date!(2026 - 10 - 30), cur("JPY"), "175.68".parse().unwrap());
        t.insert(date!(2026 - 10 - 29), cur("USD"), "1.113".parse().unwrap());
        t
    }

    #[test]
    fn cross_rates_go_through_eur_and_weekends_use_friday() {
        let t = table();
        let none = DollarRates::default();
        // Saturday 31 October uses Friday's rates.
        let c = t
            .convert(
                Money::parse("100", cur("USD")).unwrap(),
                cur("INR"),
                date!(2026 - 10 - 31),
                &none,
            )
            .unwrap();
        assert_eq!(
            c.basis,
            RateBasis::Ecb {
                date: date!(2026 - 10 - 30)
            }
        );
        assert_eq!(c.to.rounded().amount.to_string(), "9495.52"); // 100 × 106.084 / 1.1172
        let eur = t
            .convert(
                Money::parse("75", cur("EUR")).unwrap(),
                cur("USD"),
                date!(2026 - 10 - 29),
                &none,
            )
            .unwrap();
        assert_eq!(eur.to.rounded().amount.to_string(), "83.48");
        assert_eq!(
            t.per_eur(cur("USD"), date!(2026 - 10 - 28)),
            None,
            "before the first day"
        );
        assert_eq!(
            t.per_eur(cur("USD"), date!(2026 - 11 - 20)),
            None,
            "too stale"
        );
    }

    #[test]
    fn big_mac_rates_fill_gaps_and_missing_is_an_error() {
        let t = table();
        let mut fallback = DollarRates {
            release: Some(date!(2026 - 01 - 01)),
            per_usd: HashMap::new(),
        };
        fallback
            .per_usd
            .insert(cur("KWD"), "0.30675".parse().unwrap());
        let c = t
            .convert(
                Money::parse("3.068", cur("KWD")).unwrap(),
                cur("USD"),
                date!(2026 - 10 - 30),
                &fallback,
            )
            .unwrap();
        assert_eq!(
            c.basis,
            RateBasis::BigMac {
                release: date!(2026 - 01 - 01)
            }
        );
        assert_eq!(c.to.rounded().amount.to_string(), "10.00");
        let err = t
            .convert(
                Money::parse("1", cur("NPR")).unwrap(),
                cur("EUR"),
                date!(2026 - 10 - 30),
                &fallback,
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no exchange rate from NPR to EUR on 2026-10-30"),
            "{err}"
        );
    }
}
