//! Fair monthly sponsorship thresholds from a Big Mac release (SPEC §2).
//!
//! `threshold_local = base_amount × local_price(country) / local_price(base_country)`,
//! rounded by the policy. USD and EUR equivalents convert the *unrounded* local amount
//! at the release's own `dollar_ex` (EUR through the euro-area row), to two decimals.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::bigmac::{BigMacPrice, Release};
use crate::country::{CountryCode, CurrencyCode, EURO_AREA};

/// How thresholds are derived from a release. Every field is a configuration setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdPolicy {
    /// The country whose price anchors the scale (default USA).
    pub base_country: CountryCode,
    /// The monthly amount asked of an organisation in the base country, in its currency.
    #[serde(with = "crate::decimal_text")]
    pub base_amount: Decimal,
    pub rounding: Rounding,
    pub euro_area: EuroAreaRule,
}

impl Default for ThresholdPolicy {
    fn default() -> Self {
        ThresholdPolicy {
            base_country: CountryCode::parse_lenient("USA").expect("USA is three letters"),
            base_amount: Decimal::ONE_HUNDRED,
            rounding: Rounding::default(),
            euro_area: EuroAreaRule::Single,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rounding {
    pub mode: RoundingMode,
    /// Round to a multiple of this many local units (1 = whole units).
    #[serde(with = "crate::decimal_text")]
    pub step: Decimal,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            mode: RoundingMode::Nearest,
            step: Decimal::ONE,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoundingMode {
    /// Nearest multiple of the step, halves away from zero.
    Nearest,
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EuroAreaRule {
    /// Every euro-area country uses the release's euro-area row: one euro threshold.
    Single,
    /// A euro-area country uses its own row where the release lists it.
    OwnRow,
}

impl Rounding {
    pub fn apply(&self, amount: Decimal) -> Decimal {
        let strategy = match self.mode {
            RoundingMode::Nearest => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
            RoundingMode::Down => RoundingStrategy::ToZero,
        };
        let step = if self.step > Decimal::ZERO {
            self.step
        } else {
            Decimal::ONE
        };
        ((amount / step).round_dp_with_strategy(0, strategy) * step).normalize()
    }
}

/// A manager's decision that a country missing from the data is priced like another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparableMapping {
    pub country: CountryCode,
    pub like: CountryCode,
}

/// An approved local Big Mac price for a country missing from the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSubmission {
    pub id: i64,
    pub country: CountryCode,
    pub currency: CurrencyCode,
    pub local_price: Decimal,
    /// Units of the local currency per US dollar.
    pub dollar_ex: Decimal,
    /// The release the price was submitted against; it serves that release and later
    /// ones until a newer approved submission or the country's own row replaces it.
    #[serde(with = "crate::iso_date")]
    pub release: Date,
}

/// Where a country's threshold comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Basis {
    OwnRow,
    EuroArea,
    Comparable { like: CountryCode },
    SubmittedPrice { submission_id: i64 },
}

impl std::fmt::Display for Basis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Basis::OwnRow => f.write_str("own row"),
            Basis::EuroArea => f.write_str("euro area"),
            Basis::Comparable { like } => write!(f, "comparable: {like}"),
            Basis::SubmittedPrice { .. } => f.write_str("submitted price"),
        }
    }
}

/// One country's threshold for one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub iso_a3: CountryCode,
    pub name: String,
    pub currency: CurrencyCode,
    /// The Big Mac price the threshold was computed from (after the basis is applied).
    pub local_price: Decimal,
    /// The rounded monthly amount, in `currency`.
    pub threshold_local: Decimal,
    /// The amount before rounding.
    pub threshold_local_exact: Decimal,
    pub threshold_usd: Decimal,
    /// `None` when the release has no euro-area row.
    pub threshold_eur: Option<Decimal>,
    pub basis: Basis,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("the base country {country} is not in the {release} release")]
    BaseMissing { country: CountryCode, release: Date },
    #[error("{country} has a non-positive {field} ({value}) in the {release} release")]
    NonPositive {
        country: CountryCode,
        field: &'static str,
        value: Decimal,
        release: Date,
    },
}

/// Computes every country's threshold for `release`, sorted by country code: the
/// release's own rows, euro-area members it does not list, then approved price
/// submissions and comparable-country mappings for countries still missing.
pub fn compute_thresholds(
    release: &Release,
    policy: &ThresholdPolicy,
    mappings: &[ComparableMapping],
    submissions: &[PriceSubmission],
) -> Result<Vec<Threshold>, ThresholdError> {
    let base = release
        .price(policy.base_country)
        .ok_or(ThresholdError::BaseMissing {
            country: policy.base_country,
            release: release.date,
        })?;
    for (field, value) in [
        ("local_price", base.local_price),
        ("dollar_ex", base.dollar_ex),
    ] {
        if value <= Decimal::ZERO {
            return Err(ThresholdError::NonPositive {
                country: base.iso_a3,
                field,
                value,
                release: release.date,
            });
        }
    }
    // A row without a usable price prices nothing: its country is left to approved
    // submissions and comparable-country mappings, like a country the data omits.
    let priced = |p: &&BigMacPrice| p.local_price > Decimal::ZERO && p.dollar_ex > Decimal::ZERO;
    let calc = Calculator {
        policy,
        base,
        euro_dollar_ex: release.price(EURO_AREA).filter(priced).map(|p| p.dollar_ex),
    };
    let euro_row = release.price(EURO_AREA).filter(priced);

    let mut out: Vec<Threshold> = Vec::with_capacity(release.prices.len() + 8);
    for price in release.prices.iter().filter(priced) {
        let threshold = match euro_row {
            Some(euro)
                if policy.euro_area == EuroAreaRule::Single
                    && price.currency == CurrencyCode::EUR
                    && price.iso_a3 != EURO_AREA =>
            {
                calc.threshold(
                    price.iso_a3,
                    &price.name,
                    euro.currency,
                    euro.local_price,
                    euro.dollar_ex,
                    Basis::EuroArea,
                )
            }
            _ => calc.threshold(
                price.iso_a3,
                &price.name,
                price.currency,
                price.local_price,
                price.dollar_ex,
                Basis::OwnRow,
            ),
        };
        out.push(threshold);
    }

    let listed = |out: &[Threshold], c: CountryCode| out.iter().any(|t| t.iso_a3 == c);

    if let Some(euro) = euro_row {
        for country in CountryCode::all_iso() {
            if country.in_euro_area_on(release.date) && !listed(&out, country) {
                out.push(calc.threshold(
                    country,
                    country.iso_name().unwrap_or(country.as_str()),
                    euro.currency,
                    euro.local_price,
                    euro.dollar_ex,
                    Basis::EuroArea,
                ));
            }
        }
    }

    // The newest approved submission made for this release or an earlier one.
    let mut usable: Vec<&PriceSubmission> = submissions
        .iter()
        .filter(|s| s.release <= release.date && s.local_price > Decimal::ZERO)
        .filter(|s| s.dollar_ex > Decimal::ZERO)
        .collect();
    usable.sort_by_key(|s| (s.country, std::cmp::Reverse((s.release, s.id))));
    for submission in usable {
        if !listed(&out, submission.country) {
            out.push(
                calc.threshold(
                    submission.country,
                    submission
                        .country
                        .iso_name()
                        .unwrap_or(submission.country.as_str()),
                    submission.currency,
                    submission.local_price,
                    submission.dollar_ex,
                    Basis::SubmittedPrice {
                        submission_id: submission.id,
                    },
                ),
            );
        }
    }

    for mapping in mappings {
        if listed(&out, mapping.country) {
            continue;
        }
        if let Some(like) = out.iter().find(|t| t.iso_a3 == mapping.like).cloned() {
            out.push(Threshold {
                iso_a3: mapping.country,
                name: mapping
                    .country
                    .iso_name()
                    .unwrap_or(mapping.country.as_str())
                    .to_string(),
                basis: Basis::Comparable { like: mapping.like },
                ..like
            });
        }
    }

    out.sort_by_key(|t| t.iso_a3);
    Ok(out)
}

struct Calculator<'a> {
    policy: &'a ThresholdPolicy,
    base: &'a BigMacPrice,
    euro_dollar_ex: Option<Decimal>,
}

impl Calculator<'_> {
    fn threshold(
        &self,
        iso_a3: CountryCode,
        name: &str,
        currency: CurrencyCode,
        local_price: Decimal,
        dollar_ex: Decimal,
        basis: Basis,
    ) -> Threshold {
        let exact = self.policy.base_amount * local_price / self.base.local_price;
        let usd_exact = exact / dollar_ex;
        Threshold {
            iso_a3,
            name: name.to_string(),
            currency,
            local_price,
            threshold_local: self.policy.rounding.apply(exact),
            threshold_local_exact: exact,
            threshold_usd: cents(usd_exact),
            threshold_eur: self.euro_dollar_ex.map(|eur| cents(usd_exact * eur)),
            basis,
        }
    }
}

fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn price(iso: &str, name: &str, cur: &str, local: &str, ex: &str) -> BigMacPrice {
        BigMacPrice {
            iso_a3: CountryCode::parse_lenient(iso).unwrap(),
            name: name.into(),
            currency: CurrencyCode::parse(cur).unwrap(),
            local_price: d(local),
            dollar_ex: d(ex),
        }
    }

    /// The January 2021 rows of the July 2021 file behind Mautic's thresholds.
    fn jan_2021() -> Release {
        Release::new(
            date!(2021 - 01 - 01),
            vec![
                price("USA", "United States", "USD", "5.66", "1"),
                price("IND", "India", "INR", "190", "73.39"),
                price("EUZ", "Euro area", "EUR", "4.25", "0.823011398707872"),
                price("DEU", "Germany", "EUR", "4.46", "0.823011398707872"),
                price("JPN", "Japan", "JPY", "390", "104.295"),
            ],
        )
    }

    fn find<'a>(rows: &'a [Threshold], iso: &str) -> &'a Threshold {
        rows.iter().find(|t| t.iso_a3.as_str() == iso).unwrap()
    }

    #[test]
    fn worked_example_from_the_spec() {
        let rows = compute_thresholds(&jan_2021(), &ThresholdPolicy::default(), &[], &[]).unwrap();
        assert_eq!(find(&rows, "USA").threshold_local, d("100"));
        assert_eq!(find(&rows, "USA").threshold_usd, d("100.00"));
        assert_eq!(find(&rows, "IND").threshold_local, d("3357"));
        assert_eq!(find(&rows, "IND").threshold_usd, d("45.74"));
        assert_eq!(find(&rows, "EUZ").threshold_local, d("75"));
        assert_eq!(find(&rows, "EUZ").threshold_eur, Some(d("75.09")));
        // Germany uses the euro-area row by default ...
        let deu = find(&rows, "DEU");
        assert_eq!(
            (deu.threshold_local, &deu.basis),
            (d("75"), &Basis::EuroArea)
        );
        // ... and Luxembourg, which the release does not list, too.
        assert_eq!(find(&rows, "LUX").threshold_local, d("75"));
    }

    #[test]
    fn own_row_rule_uses_the_countrys_price() {
        let policy = ThresholdPolicy {
            euro_area: EuroAreaRule::OwnRow,
            ..ThresholdPolicy::default()
        };
        let rows = compute_thresholds(&jan_2021(), &policy, &[], &[]).unwrap();
        let deu = find(&rows, "DEU");
        // 100 × 4.46 / 5.66 = 78.80
        assert_eq!((deu.threshold_local, &deu.basis), (d("79"), &Basis::OwnRow));
        assert_eq!(find(&rows, "LUX").basis, Basis::EuroArea);
    }

    #[test]
    fn rounding_modes_and_steps() {
        let r = |mode, step: &str| Rounding {
            mode,
            step: d(step),
        };
        assert_eq!(r(RoundingMode::Nearest, "1").apply(d("3356.89")), d("3357"));
        assert_eq!(r(RoundingMode::Nearest, "1").apply(d("2.5")), d("3"));
        assert_eq!(r(RoundingMode::Down, "1").apply(d("3356.89")), d("3356"));
        assert_eq!(r(RoundingMode::Up, "1").apply(d("75.01")), d("76"));
        assert_eq!(
            r(RoundingMode::Nearest, "100").apply(d("600706.7")),
            d("600700")
        );
        assert_eq!(r(RoundingMode::Up, "5").apply(d("75.09")), d("80"));
    }

    #[test]
    fn missing_countries_by_submission_and_mapping() {
        let npl = CountryCode::parse("NPL").unwrap();
        let bgd = CountryCode::parse("BGD").unwrap();
        let ind = CountryCode::parse("IND").unwrap();
        let submission = PriceSubmission {
            id: 7,
            country: npl,
            currency: CurrencyCode::parse("NPR").unwrap(),
            local_price: d("250"),
            dollar_ex: d("133.2"),
            release: date!(2021 - 01 - 01),
        };
        let mappings = [
            ComparableMapping {
                country: bgd,
                like: ind,
            },
            // A mapping never overrides data: Nepal has an approved price.
            ComparableMapping {
                country: npl,
                like: ind,
            },
        ];
        let rows = compute_thresholds(
            &jan_2021(),
            &ThresholdPolicy::default(),
            &mappings,
            std::slice::from_ref(&submission),
        )
        .unwrap();
        let nepal = find(&rows, "NPL");
        // 100 × 250 / 5.66 = 4416.96
        assert_eq!(nepal.threshold_local, d("4417"));
        assert_eq!(nepal.threshold_usd, d("33.16"));
        assert_eq!(nepal.basis, Basis::SubmittedPrice { submission_id: 7 });
        let bangladesh = find(&rows, "BGD");
        assert_eq!(bangladesh.threshold_local, d("3357"));
        assert_eq!(bangladesh.currency.as_str(), "INR");
        assert_eq!(bangladesh.basis, Basis::Comparable { like: ind });

        // A submission made for a later release does not reach back.
        let later = PriceSubmission {
            release: date!(2021 - 07 - 01),
            ..submission
        };
        let rows =
            compute_thresholds(&jan_2021(), &ThresholdPolicy::default(), &[], &[later]).unwrap();
        assert!(rows.iter().all(|t| t.iso_a3 != npl));
    }

    #[test]
    fn missing_base_country_is_an_error() {
        let policy = ThresholdPolicy {
            base_country: CountryCode::parse("CHE").unwrap(),
            ..ThresholdPolicy::default()
        };
        let err = compute_thresholds(&jan_2021(), &policy, &[], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the base country CHE is not in the 2021-01-01 release"
        );
    }

    #[test]
    fn non_usd_base_scales_every_country() {
        let policy = ThresholdPolicy {
            base_country: CountryCode::parse("IND").unwrap(),
            base_amount: d("3000"),
            ..ThresholdPolicy::default()
        };
        let rows = compute_thresholds(&jan_2021(), &policy, &[], &[]).unwrap();
        assert_eq!(find(&rows, "IND").threshold_local, d("3000"));
        // 3000 × 5.66 / 190 = 89.37
        assert_eq!(find(&rows, "USA").threshold_local, d("89"));
    }

    #[test]
    fn a_row_without_a_usable_price_leaves_its_country_to_a_mapping() {
        let mut release = jan_2021();
        release
            .prices
            .push(price("NPL", "Nepal", "NPR", "0", "117"));
        let release = Release::new(release.date, release.prices);
        let mapping = ComparableMapping {
            country: CountryCode::parse("NPL").unwrap(),
            like: CountryCode::parse("IND").unwrap(),
        };
        let rows =
            compute_thresholds(&release, &ThresholdPolicy::default(), &[mapping], &[]).unwrap();
        assert_eq!(find(&rows, "NPL").threshold_local, d("3357"));
        assert_eq!(find(&rows, "USA").threshold_local, d("100"));
    }
}
