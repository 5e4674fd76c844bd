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
    #[error("`{0}` is not an amount: write digits with an optional decimal point, like 1234.50")]
    NotAnAmount(String),
    #[error(
        "`{0}` could be misread: write it with a decimal point and no thousands separator, like 1234.50"
    )]
    Ambiguous(String),
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
    ///
    /// One grammar for every amount Fairshare reads: an optional `-`, digits, and an
    /// optional decimal point with digits (`1234.50`). Commas are accepted only as
    /// thousands separators in groups of three *before a decimal point*
    /// (`1,234.50`), where they cannot be misread; `75,00`, `7,500`, `1.234,50`,
    /// spaces, underscores and currency symbols are refused rather than guessed.
    pub fn parse(text: &str, currency: CurrencyCode) -> Result<Money, MoneyError> {
        let amount = parse_amount(text)?;
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
/// An amount in the one grammar of [`Money::parse`]; the text quoted in an error is
/// cut to 80 characters.
pub fn parse_amount(text: &str) -> Result<Decimal, MoneyError> {
    let trimmed = text.trim();
    let unsigned = trimmed.strip_prefix('-').unwrap_or(trimmed);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    // Commas only group thousands before a decimal point: `1,234.50`, never `75,00`.
    let grouped = |whole: &str| {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or("");
        digits(first) && first.len() <= 3 && groups.all(|g| g.len() == 3 && digits(g))
    };
    if unsigned.contains(',') && !(fraction.is_some_and(digits) && grouped(whole)) {
        return Err(MoneyError::Ambiguous(excerpt(text)));
    }
    if !(digits(&whole.replace(',', "")) && fraction.is_none_or(digits)) || unsigned.len() > 40 {
        return Err(MoneyError::NotAnAmount(excerpt(text)));
    }
    let amount: Decimal = unsigned
        .replace(',', "")
        .parse()
        .map_err(|_| MoneyError::NotAnAmount(excerpt(text)))?;
    Ok(if trimmed.starts_with('-') {
        -amount
    } else {
        amount
    })
}

/// At most 80 characters of `text`, then `…`: what an error quotes of a bad value.
pub fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(80).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

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
    fn amounts_follow_one_grammar_and_nothing_is_guessed() {
        let eur = cur("EUR");
        for (text, amount) in [
            ("75", "75"),
            ("75.5", "75.5"),
            (" 1234.50 ", "1234.50"),
            ("1,234.50", "1234.50"),
            ("1,234,567.00", "1234567.00"),
            ("-12.00", "-12.00"),
        ] {
            assert_eq!(
                Money::parse(text, eur).unwrap().amount,
                amount.parse::<Decimal>().unwrap(),
                "{text}"
            );
        }
        for text in [
            "75,00",
            "75,50",
            "7,500",
            "1.234,50",
            "12,34.00",
            "1,2345.00",
        ] {
            assert!(
                matches!(Money::parse(text, eur), Err(MoneyError::Ambiguous(_))),
                "{text} was read"
            );
        }
        for text in [
            "$5.00", "5 000", "1_000", "", "-", ".5", "5.", "1e3", "NaN", "€75", "75 EUR",
        ] {
            assert!(
                matches!(Money::parse(text, eur), Err(MoneyError::NotAnAmount(_))),
                "{text} was read"
            );
        }
        let long = "9".repeat(5000);
        let message = Money::parse(&long, eur).unwrap_err().to_string();
        assert!(message.len() < 200, "errors quote an excerpt: {message}");
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
