//! The Economist's Big Mac source data (`big-mac-source-data*.csv`).
//!
//! Columns are found by header name, so both the current file
//! (`name,iso_a3,currency_code,local_price,dollar_ex,GDP_dollar,GDP_local,date`) and the
//! older one without `GDP_local` load; extra columns are ignored. Every row is checked
//! and the first bad one is reported with its file, line and column.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::str::FromStr;

use fairshare_engine::{BigMacPrice, CountryCode, CurrencyCode, Release};
use rust_decimal::Decimal;
use time::Date;

use crate::error::ImportError;
use crate::tabular::csv_error;

/// The public Big Mac source data this binary ships (January 2026 update), MIT licence.
pub const EMBEDDED_NAME: &str = "embedded:big-mac-source-data-v2.csv";
pub const EMBEDDED_CSV: &str = include_str!("../../../data/big-mac/big-mac-source-data-v2.csv");

const REQUIRED: [&str; 6] = [
    "name",
    "iso_a3",
    "currency_code",
    "local_price",
    "dollar_ex",
    "date",
];

pub use fairshare_records::{BigMacFile, SkippedRow};

/// Parses a whole source file. `file` names the input in error messages.
pub fn parse(file: &str, input: impl Read) -> Result<BigMacFile, ImportError> {
    let mut reader = crate::tabular::quote_counted(
        csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All),
        input,
    );
    let headers = reader.headers().map_err(|e| csv_error(file, e))?.clone();
    let mut index = [0usize; 6];
    for (slot, name) in index.iter_mut().zip(REQUIRED) {
        *slot = headers.iter().position(|h| h == name).ok_or_else(|| {
            ImportError::invalid(
                file,
                Some(1),
                Some(name),
                format!(
                    "missing column `{name}` (expected a header with {})",
                    REQUIRED.join(",")
                ),
            )
        })?;
    }
    let [name_i, iso_i, currency_i, price_i, ex_i, date_i] = index;

    let mut by_date: BTreeMap<Date, Vec<BigMacPrice>> = BTreeMap::new();
    let mut seen: HashSet<(Date, CountryCode)> = HashSet::new();
    let mut skipped = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(file, e))?;
        let line = record.position().map(|p| p.line());
        let field = |i: usize, column: &str| -> Result<&str, ImportError> {
            match record.get(i) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(ImportError::invalid(
                    file,
                    line,
                    Some(column),
                    "empty value",
                )),
            }
        };
        let bad =
            |column: &str, message: String| ImportError::invalid(file, line, Some(column), message);

        let name = field(name_i, "name")?.to_string();
        let iso_text = field(iso_i, "iso_a3")?;
        let iso_a3 =
            CountryCode::parse_lenient(iso_text).map_err(|e| bad("iso_a3", e.to_string()))?;
        let currency_text = field(currency_i, "currency_code")?;
        let currency =
            CurrencyCode::parse(currency_text).map_err(|e| bad("currency_code", e.to_string()))?;
        let local_price =
            decimal(field(price_i, "local_price")?).map_err(|m| bad("local_price", m))?;
        let dollar_ex = decimal(field(ex_i, "dollar_ex")?).map_err(|m| bad("dollar_ex", m))?;
        let date_text = field(date_i, "date")?;
        let date = fairshare_engine::iso_date::parse(date_text)
            .ok_or_else(|| bad("date", format!("`{date_text}` is not a date (YYYY-MM-DD)")))?;
        if !seen.insert((date, iso_a3)) {
            return Err(bad(
                "iso_a3",
                format!("{iso_a3} appears twice in the {date} release"),
            ));
        }
        for (column, value) in [("local_price", local_price), ("dollar_ex", dollar_ex)] {
            if value < Decimal::ZERO {
                return Err(bad(column, format!("`{value}` must not be negative")));
            }
        }
        if local_price.is_zero() || dollar_ex.is_zero() {
            // Venezuela 2018-01-01 is published as `0,0`: the release has no price there.
            skipped.push(SkippedRow {
                line: line.unwrap_or_default(),
                reason: format!("{iso_a3} in the {date} release has no price (0)"),
            });
            continue;
        }
        by_date.entry(date).or_default().push(BigMacPrice {
            iso_a3,
            name,
            currency,
            local_price,
            dollar_ex,
        });
    }
    crate::tabular::ended_cleanly(file, &reader)?;
    if by_date.is_empty() {
        return Err(ImportError::invalid(file, None, None, "no data rows"));
    }
    Ok(BigMacFile {
        releases: by_date
            .into_iter()
            .map(|(date, prices)| Release::new(date, prices))
            .collect(),
        skipped,
    })
}

/// The embedded data set, parsed.
pub fn embedded() -> BigMacFile {
    parse(EMBEDDED_NAME, EMBEDDED_CSV.as_bytes()).expect("the embedded Big Mac data is valid")
}

/// The source writes some prices in scientific notation (`4e+06`).
fn decimal(text: &str) -> Result<Decimal, String> {
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str(text)
    };
    parsed
        .map(|v| v.normalize())
        .map_err(|_| format!("`{text}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn embedded_data_loads_every_release() {
        let file = embedded();
        let releases = file.releases;
        assert_eq!(
            file.skipped,
            vec![SkippedRow {
                line: 1297,
                reason: "VEN in the 2018-01-01 release has no price (0)".into()
            }]
        );
        assert_eq!(releases.len(), 43);
        assert_eq!(releases.last().unwrap().date, date!(2026 - 01 - 01));
        let tur = releases
            .iter()
            .find(|r| r.date == date!(2002 - 04 - 01))
            .unwrap()
            .price(CountryCode::parse("TUR").unwrap())
            .unwrap();
        assert_eq!(tur.local_price, Decimal::from(4_000_000));
    }

    #[test]
    fn older_column_set_loads() {
        let csv = "name,iso_a3,currency_code,local_price,dollar_ex,GDP_dollar,date\n\
                   India,IND,INR,190,73.39,,2021-01-01\n";
        let releases = parse("old.csv", csv.as_bytes()).unwrap().releases;
        assert_eq!(releases[0].prices[0].local_price, Decimal::from(190));
    }

    fn error_of(csv: &str) -> String {
        parse("bad.csv", csv.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn bad_rows_name_file_line_and_column() {
        let head = "name,iso_a3,currency_code,local_price,dollar_ex,date\n";
        let ok = "India,IND,INR,190,73.39,2021-01-01\n";
        assert_eq!(
            error_of(&format!("{head}{ok}Japan,JPN,JPY,abc,104,2021-01-01\n")),
            "bad.csv:3, column `local_price`: `abc` is not a number"
        );
        assert_eq!(
            error_of(&format!("{head}{ok}Japan,JPN,JPY,390,104,2021-13-01\n")),
            "bad.csv:3, column `date`: `2021-13-01` is not a date (YYYY-MM-DD)"
        );
        assert_eq!(
            error_of(&format!("{head}Japan,JP,JPY,390,104,2021-01-01\n")),
            "bad.csv:2, column `iso_a3`: `JP` is not a three-letter code"
        );
        assert_eq!(
            error_of(&format!("{head}Japan,JPN,JPY,-1,104,2021-01-01\n")),
            "bad.csv:2, column `local_price`: `-1` must not be negative"
        );
        assert_eq!(
            error_of(&format!("{head}{ok}{ok}")),
            "bad.csv:3, column `iso_a3`: IND appears twice in the 2021-01-01 release"
        );
        assert_eq!(
            error_of(&format!("{head}{ok}Japan,JPN,JPY,390\n")),
            "bad.csv:3: expected 6 fields, found 4"
        );
        assert_eq!(
            error_of("name,iso_a3,local_price,dollar_ex,date\n"),
            "bad.csv:1, column `currency_code`: missing column `currency_code` (expected a header with name,iso_a3,currency_code,local_price,dollar_ex,date)"
        );
        assert_eq!(error_of(head), "bad.csv: no data rows");
    }
}
