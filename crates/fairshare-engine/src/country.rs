//! Country and currency codes, and euro-area membership.
//!
//! A [`CountryCode`] is an ISO 3166-1 alpha-3 code, or `EUZ`, The Economist's code for
//! the euro area as a whole. A [`CurrencyCode`] is three upper-case letters (ISO 4217
//! shape); which currencies exist is checked where money is handled.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::date;

/// The Economist's code for the euro area row of the Big Mac data.
pub const EURO_AREA: CountryCode = CountryCode(*b"EUZ");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseCodeError {
    #[error("`{0}` is not a three-letter code")]
    Shape(String),
    #[error("`{0}` is not an ISO 3166-1 alpha-3 country code")]
    UnknownCountry(String),
    #[error("`{0}` is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error(
        "`{0}` is an ISO 4217 code for no currency, a precious metal or a fund: payments are in a currency"
    )]
    NotMoney(String),
}

/// An ISO 3166-1 alpha-3 country code (or `EUZ`), always upper case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 3]);

impl CountryCode {
    /// Parses a code found in a data file: three ASCII letters, any case. Data files may
    /// carry codes that are not (or no longer) ISO 3166-1, so the list is not checked.
    pub fn parse_lenient(text: &str) -> Result<Self, ParseCodeError> {
        three_letters(text)
            .map(CountryCode)
            .ok_or_else(|| ParseCodeError::Shape(text.to_string()))
    }

    /// Parses a code typed by a person: it must be ISO 3166-1 alpha-3 or `EUZ`.
    pub fn parse(text: &str) -> Result<Self, ParseCodeError> {
        let code = Self::parse_lenient(text)?;
        if code == EURO_AREA || isocountry::CountryCode::for_alpha3(code.as_str()).is_ok() {
            Ok(code)
        } else {
            Err(ParseCodeError::UnknownCountry(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// The English short name from ISO 3166-1, if the code is in the standard.
    pub fn iso_name(&self) -> Option<&'static str> {
        if *self == EURO_AREA {
            return Some("Euro area");
        }
        isocountry::CountryCode::for_alpha3(self.as_str())
            .ok()
            .map(|c| c.name())
    }

    /// Every ISO 3166-1 alpha-3 code, for country pickers.
    pub fn all_iso() -> Vec<CountryCode> {
        let mut all: Vec<CountryCode> = isocountry::CountryCode::iter()
            .filter_map(|c| Self::parse_lenient(c.alpha3()).ok())
            .collect();
        all.sort_by_key(|c| c.iso_name().unwrap_or_default());
        all
    }

    /// Whether the country had adopted the euro on `on`.
    pub fn in_euro_area_on(&self, on: Date) -> bool {
        EURO_ADOPTION
            .iter()
            .any(|(code, since)| code.as_bytes() == self.0 && *since <= on)
    }
}

/// Members of the euro area and the day each adopted the euro. Used for countries the
/// Big Mac data does not list itself (Luxembourg, Malta, Cyprus, Bulgaria, ...).
const EURO_ADOPTION: &[(&str, Date)] = &[
    ("AUT", date!(1999 - 01 - 01)),
    ("BEL", date!(1999 - 01 - 01)),
    ("DEU", date!(1999 - 01 - 01)),
    ("ESP", date!(1999 - 01 - 01)),
    ("FIN", date!(1999 - 01 - 01)),
    ("FRA", date!(1999 - 01 - 01)),
    ("IRL", date!(1999 - 01 - 01)),
    ("ITA", date!(1999 - 01 - 01)),
    ("LUX", date!(1999 - 01 - 01)),
    ("NLD", date!(1999 - 01 - 01)),
    ("PRT", date!(1999 - 01 - 01)),
    ("GRC", date!(2001 - 01 - 01)),
    ("SVN", date!(2007 - 01 - 01)),
    ("CYP", date!(2008 - 01 - 01)),
    ("MLT", date!(2008 - 01 - 01)),
    ("SVK", date!(2009 - 01 - 01)),
    ("EST", date!(2011 - 01 - 01)),
    ("LVA", date!(2014 - 01 - 01)),
    ("LTU", date!(2015 - 01 - 01)),
    ("HRV", date!(2023 - 01 - 01)),
    ("BGR", date!(2026 - 01 - 01)),
];

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_str())
    }
}

impl fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = ParseCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An ISO 4217-shaped currency code, always upper case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    pub const USD: CurrencyCode = CurrencyCode(*b"USD");
    pub const EUR: CurrencyCode = CurrencyCode(*b"EUR");

    /// Parses a code found in a data file (old codes such as VEF are kept as given).
    pub fn parse(text: &str) -> Result<Self, ParseCodeError> {
        three_letters(text)
            .map(CurrencyCode)
            .ok_or_else(|| ParseCodeError::Shape(text.to_string()))
    }

    /// Parses a code typed by a person: it must be a current ISO 4217 currency.
    pub fn parse_iso(text: &str) -> Result<Self, ParseCodeError> {
        let code = Self::parse(text)?;
        match iso_currency::Currency::from_code(code.as_str()) {
            // Codes with no minor unit (XXX, XAU, XDR, XTS…) are not money anyone pays in.
            Some(currency) if currency.exponent().is_none() => {
                Err(ParseCodeError::NotMoney(text.to_string()))
            }
            Some(_) => Ok(code),
            None => Err(ParseCodeError::UnknownCurrency(text.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CurrencyCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CurrencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn three_letters(text: &str) -> Option<[u8; 3]> {
    let bytes = text.trim().as_bytes();
    match bytes {
        [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Some([
            a.to_ascii_uppercase(),
            b.to_ascii_uppercase(),
            c.to_ascii_uppercase(),
        ]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_checked_against_iso_3166() {
        assert_eq!(CountryCode::parse("ind").unwrap().as_str(), "IND");
        assert_eq!(CountryCode::parse("EUZ").unwrap(), EURO_AREA);
        assert!(matches!(
            CountryCode::parse("XYZ"),
            Err(ParseCodeError::UnknownCountry(_))
        ));
        assert!(matches!(
            CountryCode::parse("IN"),
            Err(ParseCodeError::Shape(_))
        ));
        assert!(CountryCode::parse_lenient("XYZ").is_ok());
        assert_eq!(CountryCode::parse("NPL").unwrap().iso_name(), Some("Nepal"));
    }

    #[test]
    fn euro_adoption_is_dated() {
        let bgr = CountryCode::parse("BGR").unwrap();
        assert!(!bgr.in_euro_area_on(date!(2025 - 12 - 31)));
        assert!(bgr.in_euro_area_on(date!(2026 - 01 - 01)));
        assert!(
            !CountryCode::parse("GBR")
                .unwrap()
                .in_euro_area_on(date!(2026 - 01 - 01))
        );
    }

    #[test]
    fn currency_codes_are_upper_cased() {
        assert_eq!(CurrencyCode::parse("npr").unwrap().as_str(), "NPR");
        assert!(CurrencyCode::parse("EURO").is_err());
        assert_eq!(CurrencyCode::parse_iso("npr").unwrap().as_str(), "NPR");
        assert!(matches!(
            CurrencyCode::parse_iso("XXQ"),
            Err(ParseCodeError::UnknownCurrency(_))
        ));
    }
}
