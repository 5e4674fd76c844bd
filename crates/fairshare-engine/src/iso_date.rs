//! Serde for dates as `YYYY-MM-DD` (the `time` crate's default is a tuple).
//! Use `#[serde(with = "fairshare_engine::iso_date")]`.

time::serde::format_description!(format, Date, "[year]-[month]-[day]");

pub use format::{deserialize, serialize};

/// Parses `YYYY-MM-DD` (surrounding spaces allowed): the one date syntax of inputs.
pub fn parse(text: &str) -> Option<time::Date> {
    time::Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use time::Date;
    use time::macros::date;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Dated {
        #[serde(with = "crate::iso_date")]
        on: Date,
    }

    #[test]
    fn dates_are_iso_text() {
        let json = serde_json::to_string(&Dated {
            on: date!(2026 - 01 - 01),
        })
        .unwrap();
        assert_eq!(json, r#"{"on":"2026-01-01"}"#);
        assert_eq!(
            serde_json::from_str::<Dated>(&json).unwrap().on,
            date!(2026 - 01 - 01)
        );
    }
}

/// The same for `Option<Date>` (`null` when absent).
pub mod option {
    time::serde::format_description!(format, Date, "[year]-[month]-[day]");
    pub use format::option::{deserialize, serialize};
}
