//! The European Central Bank's euro foreign exchange reference rates
//! (`eurofxref-hist.csv`): `Date,USD,JPY,…` then one line per day, newest first, units
//! of each currency per 1 EUR; `N/A` where a currency has no rate that day; every line
//! ends with a comma. Source: European Central Bank.

use std::io::Read;
use std::str::FromStr;

use fairshare_engine::CurrencyCode;
use rust_decimal::Decimal;

use crate::error::ImportError;
use crate::tabular::{csv_error, ended_cleanly, parse_date, quote_counted};

/// The full history this binary ships (1999-01-04 to 2026-10-30).
pub const EMBEDDED_NAME: &str = "embedded:eurofxref-hist.csv";
pub const EMBEDDED_CSV: &str = include_str!("../../../data/ecb/ecb-eurofxref-hist.csv");

pub use fairshare_records::Rate;

/// The rates of a download from the ECB: the CSV itself, or `eurofxref-hist.zip`
/// holding it (the form the ECB publishes).
pub fn parse_download(file: &str, bytes: &[u8]) -> Result<Vec<Rate>, ImportError> {
    if !bytes.starts_with(b"PK") {
        return parse(file, bytes);
    }
    let bad = |why: String| ImportError::invalid(file, None, None, why);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable ZIP archive: {e}")))?;
    let name = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .find(|n| n.to_ascii_lowercase().ends_with(".csv"))
        .ok_or_else(|| bad("the archive holds no .csv file".into()))?;
    let entry = archive
        .by_name(&name)
        .map_err(|e| bad(format!("cannot read {name}: {e}")))?;
    // A rates file is a few MiB; anything far larger is not one.
    const MAX_CSV: u64 = 64 << 20;
    if entry.size() > MAX_CSV {
        return Err(bad(format!("{name} is larger than 64 MiB")));
    }
    parse(
        &format!("{file}!{name}"),
        std::io::Read::take(entry, MAX_CSV),
    )
}

/// Every rate of the file; the first bad value stops it with its line and column.
pub fn parse(file: &str, input: impl Read) -> Result<Vec<Rate>, ImportError> {
    // Every row has the header's field count (the trailing comma included): a row
    // with fewer or more is an error naming its line, never a shifted column.
    let mut reader = quote_counted(
        csv::ReaderBuilder::new().has_headers(true).flexible(false),
        input,
    );
    let headers = reader.headers().map_err(|e| csv_error(file, e))?.clone();
    if headers.get(0).map(str::trim) != Some("Date") {
        return Err(ImportError::invalid(
            file,
            Some(1),
            Some("Date"),
            "the first column must be `Date` (an ECB eurofxref-hist file)",
        ));
    }
    let mut currencies = Vec::new();
    for (i, name) in headers.iter().enumerate().skip(1) {
        let name = name.trim();
        if name.is_empty() {
            continue; // the trailing comma
        }
        let code = CurrencyCode::parse(name)
            .map_err(|e| ImportError::invalid(file, Some(1), Some(name), e.to_string()))?;
        currencies.push((i, code));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(file, e))?;
        let line = record.position().map(|p| p.line());
        let day_text = record.get(0).unwrap_or("").trim();
        let day = parse_date(day_text).ok_or_else(|| {
            ImportError::invalid(
                file,
                line,
                Some("Date"),
                format!("`{day_text}` is not a date (YYYY-MM-DD)"),
            )
        })?;
        for (i, currency) in &currencies {
            let value = record.get(*i).unwrap_or("").trim();
            if value.is_empty() || value == "N/A" {
                continue;
            }
            let per_eur = Decimal::from_str(value)
                .ok()
                .filter(|v| *v > Decimal::ZERO)
                .ok_or_else(|| {
                    ImportError::invalid(
                        file,
                        line,
                        Some(currency.as_str()),
                        format!("`{value}` is not a positive rate"),
                    )
                })?;
            out.push(Rate {
                day,
                currency: *currency,
                per_eur: per_eur.normalize(),
            });
        }
    }
    ended_cleanly(file, &reader)?;
    if out.is_empty() {
        return Err(ImportError::invalid(file, None, None, "no rates"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_embedded_history_loads() {
        let rates = parse(EMBEDDED_NAME, EMBEDDED_CSV.as_bytes()).unwrap();
        let usd = rates
            .iter()
            .find(|r| r.day == date!(2026 - 10 - 30) && r.currency.as_str() == "USD")
            .unwrap();
        assert_eq!(usd.per_eur.to_string(), "1.1172");
        assert!(rates.iter().any(|r| r.day == date!(1999 - 01 - 04)));
        assert!(rates.iter().all(|r| r.currency.as_str() != "EUR"));
    }

    #[test]
    fn bad_values_are_located() {
        let text = "Date,USD,JPY,\n2026-10-30,1.1172,N/A,\n2026-10-29,1.11x,175.92,\n";
        let err = parse("rates.csv", text.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err,
            "rates.csv:3, column `USD`: `1.11x` is not a positive rate"
        );
        let err = parse("rates.csv", "Day,USD\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("rates.csv:1, column `Date`"), "{err}");
        let ok = parse(
            "rates.csv",
            "Date,USD,JPY,\n2026-10-30,1.1172,N/A,\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn a_row_with_too_few_or_too_many_fields_is_refused_with_its_line() {
        for row in ["2026-10-29,1.11,", "2026-10-29,1.11,175.92,3,"] {
            let text = format!("Date,USD,JPY,\n2026-10-30,1.1172,N/A,\n{row}\n");
            let err = parse("rates.csv", text.as_bytes()).unwrap_err().to_string();
            assert!(
                err.starts_with("rates.csv:3: expected 4 fields, found"),
                "{err}"
            );
        }
    }
}
