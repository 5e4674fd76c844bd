//! Exact money: a decimal amount with its ISO 4217 currency. Never floating point.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::country::CurrencyCode;

/// An exact amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "crate::decimal_text")]
    pub amount: Decimal,
    pub currency: CurrencyCode,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an amount")]
    NotAnAmount(String),
    #[error("{amount} has more decimals than {currency} allows ({digits})")]
    TooPrecise {
        amount: String,
        currency: CurrencyCode,
        digits: u32,
    },
    #[error("cannot add {0} to {1}: different currencies")]
    Mixed(CurrencyCode, CurrencyCode),
}

impl Money {
    pub fn new(amount: Decimal, currency: CurrencyCode) -> Money {
        Money { amount, currency }
    }

    pub fn zero(currency: CurrencyCode) -> Money {
        Money {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// Parses an amount as written (`75.00`, `-12.5`, `1000`), refusing more decimals
    /// than the currency has (JPY 0, KWD 3, most 2): such an amount was mistyped.
    pub fn parse(text: &str, currency: CurrencyCode) -> Result<Money, MoneyError> {
        let cleaned = text.trim().replace([',', '_'], "");
        let amount: Decimal = cleaned
            .parse()
            .map_err(|_| MoneyError::NotAnAmount(text.to_string()))?;
        let digits = minor_units(currency);
        if amount.normalize().scale() > digits {
            return Err(MoneyError::TooPrecise {
                amount: text.to_string(),
                currency,
                digits,
            });
        }
        Ok(Money { amount, currency })
    }

    /// Rounded to the currency's minor unit, halves away from zero: the one place
    /// where money is rounded.
    pub fn rounded(self) -> Money {
        let digits = minor_units(self.currency);
        let mut amount = self
            .amount
            .round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(digits);
        Money {
            amount,
            currency: self.currency,
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Mixed(other.currency, self.currency));
        }
        Ok(Money {
            amount: self.amount + other.amount,
            currency: self.currency,
        })
    }
}

/// Digits after the decimal point in the currency's minor unit (2 when unknown).
pub fn minor_units(currency: CurrencyCode) -> u32 {
    iso_currency::Currency::from_code(currency.as_str())
        .and_then(|c| c.exponent())
        .map(u32::from)
        .unwrap_or(2)
}

impl fmt::Display for Money {
    /// `EUR 75.00`, `JPY 1,200`, `KWD 3.500`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rounded = self.rounded();
        // A rounded zero shows without a sign.
        let amount = if rounded.amount.is_zero() {
            rounded.amount.abs()
        } else {
            rounded.amount
        };
        write!(f, "{} {}", self.currency, grouped(amount))
    }
}

/// `1234567.5` → `1,234,567.5`: thousands separated, the decimals as they are.
pub fn grouped(amount: Decimal) -> String {
    let text = amount.abs().to_string();
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, d)| (w, Some(d)));
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    if amount.is_sign_negative() && !amount.is_zero() {
        out.push('-');
    }
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(d) = fraction {
        out.push('.');
        out.push_str(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> CurrencyCode {
        CurrencyCode::parse(c).unwrap()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(minor_units(cur("JPY")), 0);
        assert_eq!(minor_units(cur("KWD")), 3);
        assert_eq!(minor_units(cur("EUR")), 2);
        assert_eq!(
            Money::parse("1200", cur("JPY")).unwrap().to_string(),
            "JPY 1,200"
        );
        assert_eq!(
            Money::parse("3.5", cur("KWD")).unwrap().to_string(),
            "KWD 3.500"
        );
        assert_eq!(
            Money::parse("-75", cur("EUR")).unwrap().to_string(),
            "EUR -75.00"
        );
        assert_eq!(
            Money::parse("1,234.5", cur("USD")).unwrap().to_string(),
            "USD 1,234.50"
        );
    }

    #[test]
    fn mistyped_amounts_are_refused() {
        assert_eq!(
            Money::parse("12.5", cur("JPY")).unwrap_err().to_string(),
            "12.5 has more decimals than JPY allows (0)"
        );
        assert!(Money::parse("12.345", cur("EUR")).is_err());
        assert!(
            Money::parse("12.3400", cur("EUR")).is_ok(),
            "trailing zeros are fine"
        );
        assert!(matches!(
            Money::parse("twelve", cur("EUR")),
            Err(MoneyError::NotAnAmount(_))
        ));
    }

    #[test]
    fn rounding_happens_in_one_place() {
        let third = Money::new(Decimal::from(100) / Decimal::from(3), cur("EUR"));
        assert_eq!(third.rounded().amount.to_string(), "33.33");
        let half = Money::new("0.125".parse().unwrap(), cur("USD"));
        assert_eq!(half.rounded().amount.to_string(), "0.13");
        let mixed = Money::zero(cur("EUR")).checked_add(Money::zero(cur("USD")));
        assert!(mixed.is_err());
    }
}
