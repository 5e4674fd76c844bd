//! Monthly financial compliance (SPEC §3): a month is compliant when the payments
//! dated in it, converted at their dates into the threshold's currency, reach the
//! threshold in force (less a configurable tolerance). A yearly sponsorship counts one
//! twelfth in each of the twelve months from its own; refunds are negative payments.

use rust_decimal::Decimal;
use serde::Serialize;
use time::Date;

use crate::money::Money;
use crate::month::Month;
use crate::rates::{Conversion, DollarRates, RateError, RateTable};

/// How long one payment keeps an organisation covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// The month of its date.
    Month,
    /// Twelve months from the month of its date, one twelfth each.
    Year,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub id: i64,
    #[serde(with = "crate::iso_date")]
    pub date: Date,
    /// Negative for a refund.
    pub money: Money,
    pub coverage: Coverage,
}

/// What one month asked of the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub month: Month,
    pub required: Money,
    /// Big Mac `dollar_ex` of the release in force, for currencies the ECB lacks.
    pub fallback: DollarRates,
}

/// One payment's share counted in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counted {
    pub payment: i64,
    pub conversion: Conversion,
    /// The part of the converted amount counted in this month (a twelfth for yearly).
    #[serde(with = "crate::decimal_text")]
    pub counted: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthCompliance {
    pub month: Month,
    /// In the threshold's currency, rounded to its minor unit.
    pub paid: Money,
    pub required: Money,
    pub compliant: bool,
    /// Consecutive compliant months ending with this one (0 when not compliant).
    pub streak: u32,
    pub payments: Vec<Counted>,
}

/// Computes each required month, in order. `tolerance` is a fraction (0.02 = 2 %).
pub fn compliance(
    payments: &[Payment],
    requirements: &[Requirement],
    rates: &RateTable,
    tolerance: Decimal,
) -> Result<Vec<MonthCompliance>, RateError> {
    let mut out: Vec<MonthCompliance> = Vec::with_capacity(requirements.len());
    for requirement in requirements {
        let currency = requirement.required.currency;
        let mut paid = Decimal::ZERO;
        let mut counted = Vec::new();
        for payment in payments {
            let start = Month::of(payment.date);
            let share = match payment.coverage {
                Coverage::Month if start == requirement.month => Decimal::ONE,
                Coverage::Year
                    if start <= requirement.month && requirement.month < nth_month(start, 12) =>
                {
                    Decimal::ONE / Decimal::from(12)
                }
                _ => continue,
            };
            let conversion =
                rates.convert(payment.money, currency, payment.date, &requirement.fallback)?;
            let part = conversion.to.amount * share;
            paid += part;
            counted.push(Counted {
                payment: payment.id,
                conversion,
                counted: part,
            });
        }
        let paid = Money::new(paid, currency).rounded();
        let needed = requirement.required.amount * (Decimal::ONE - tolerance);
        let compliant = paid.amount >= needed && requirement.required.amount > Decimal::ZERO;
        let previous = out
            .last()
            .filter(|p| p.month.next() == requirement.month)
            .map_or(0, |p| p.streak);
        out.push(MonthCompliance {
            month: requirement.month,
            paid,
            required: requirement.required,
            compliant,
            streak: if compliant { previous + 1 } else { 0 },
            payments: counted,
        });
    }
    Ok(out)
}

fn nth_month(month: Month, n: usize) -> Month {
    (0..n).fold(month, |m, _| m.next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::country::CurrencyCode;
    use time::macros::date;

    fn cur(c: &str) -> CurrencyCode {
        CurrencyCode::parse(c).unwrap()
    }

    fn money(a: &str, c: &str) -> Money {
        Money::parse(a, cur(c)).unwrap()
    }

    fn months(from: &str, to: &str, required: Money) -> Vec<Requirement> {
        from.parse::<Month>()
            .unwrap()
            .through(to.parse().unwrap())
            .map(|month| Requirement {
                month,
                required,
                fallback: DollarRates::default(),
            })
            .collect()
    }

    #[test]
    fn yearly_refunds_tolerance_and_streaks() {
        let mut rates = RateTable::default();
        rates.insert(date!(2026 - 02 - 02), cur("USD"), "1.25".parse().unwrap());
        let payments = [
            Payment {
                id: 1,
                date: date!(2026 - 01 - 05),
                money: money("75.00", "EUR"),
                coverage: Coverage::Month,
            },
            Payment {
                id: 2,
                date: date!(2026 - 02 - 03),
                money: money("93.75", "USD"),
                coverage: Coverage::Month,
            }, // 75 EUR at 1.25
            Payment {
                id: 3,
                date: date!(2026 - 03 - 01),
                money: money("900.00", "EUR"),
                coverage: Coverage::Year,
            },
            Payment {
                id: 4,
                date: date!(2026 - 05 - 10),
                money: money("-75.00", "EUR"),
                coverage: Coverage::Month,
            },
        ];
        let report = compliance(
            &payments,
            &months("2026-01", "2026-06", money("75", "EUR")),
            &rates,
            Decimal::ZERO,
        )
        .unwrap();
        let row = |m: &str| report.iter().find(|r| r.month.to_string() == m).unwrap();
        assert!(row("2026-01").compliant);
        assert_eq!(row("2026-02").paid.to_string(), "EUR 75.00");
        assert_eq!(
            row("2026-03").paid.to_string(),
            "EUR 75.00",
            "a twelfth of 900"
        );
        assert_eq!(row("2026-04").streak, 4);
        assert_eq!(
            (
                row("2026-05").paid.to_string(),
                row("2026-05").compliant,
                row("2026-05").streak
            ),
            ("EUR 0.00".into(), false, 0)
        );
        assert_eq!(row("2026-06").streak, 1);

        let short = [Payment {
            id: 9,
            date: date!(2026 - 01 - 05),
            money: money("73.50", "EUR"),
            coverage: Coverage::Month,
        }];
        let strict = compliance(
            &short,
            &months("2026-01", "2026-01", money("75", "EUR")),
            &rates,
            Decimal::ZERO,
        )
        .unwrap();
        assert!(!strict[0].compliant);
        let lenient = compliance(
            &short,
            &months("2026-01", "2026-01", money("75", "EUR")),
            &rates,
            "0.02".parse().unwrap(),
        )
        .unwrap();
        assert!(
            lenient[0].compliant,
            "2 % tolerance covers exchange-rate noise"
        );
    }

    #[test]
    fn a_missing_rate_is_an_error_not_zero() {
        let payments = [Payment {
            id: 1,
            date: date!(2026 - 01 - 05),
            money: money("100", "USD"),
            coverage: Coverage::Month,
        }];
        let err = compliance(
            &payments,
            &months("2026-01", "2026-01", money("3357", "INR")),
            &RateTable::default(),
            Decimal::ZERO,
        );
        assert!(matches!(err, Err(RateError::Missing { .. })));
    }
}
