//! Serde for exact decimals in settings and stored JSON: written as strings
//! (`"100"`), read from strings or whole numbers. Fractional numbers written without
//! quotes are refused, because a float cannot carry an exact amount.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserializer, Serializer, de};

pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(DecimalVisitor)
}

struct DecimalVisitor;

impl de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal amount written as a string, such as \"100\" or \"2.5\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        Decimal::from_str(v.trim()).map_err(|_| E::custom(format!("`{v}` is not a decimal amount")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        Err(E::custom(format!(
            "write the amount {v} in quotes (\"{v}\") so it stays exact"
        )))
    }
}

#[cfg(test)]
mod tests {
    use crate::ThresholdPolicy;

    #[test]
    fn settings_accept_strings_and_integers_but_not_floats() {
        let p: ThresholdPolicy = serde_json::from_str(r#"{"base_amount": "150.5"}"#).unwrap();
        assert_eq!(p.base_amount.to_string(), "150.5");
        let p: ThresholdPolicy = serde_json::from_str(r#"{"base_amount": 120}"#).unwrap();
        assert_eq!(p.base_amount.to_string(), "120");
        let err = serde_json::from_str::<ThresholdPolicy>(r#"{"base_amount": 1.5}"#).unwrap_err();
        assert!(err.to_string().contains("in quotes"), "{err}");
        let err = serde_json::from_str::<ThresholdPolicy>(r#"{"base_amuont": 1}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `base_amuont`"),
            "{err}"
        );
    }
}
