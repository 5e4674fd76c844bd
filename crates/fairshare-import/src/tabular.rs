//! Helpers shared by the CSV importers: header checks and typed fields with errors
//! that name the file, line and column.

use fairshare_engine::IdentityKey;
use time::{Date, OffsetDateTime};

use crate::error::ImportError;

/// A CSV file with a required header, read record by record.
pub struct CsvInput<R: std::io::Read> {
    file: String,
    reader: csv::Reader<R>,
    columns: Vec<usize>,
}

/// One data row with its line number.
pub struct CsvRow<'a> {
    pub file: &'a str,
    pub line: u64,
    record: csv::StringRecord,
    columns: &'a [usize],
    names: &'a [&'a str],
}

impl<R: std::io::Read> CsvInput<R> {
    /// Checks that the header has `expected` columns (in any order; extra ones ignored).
    pub fn open(file: &str, input: R, expected: &[&str]) -> Result<Self, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(input);
        let headers = reader.headers().map_err(|e| csv_error(file, e))?.clone();
        let mut columns = Vec::with_capacity(expected.len());
        for name in expected {
            let index = headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    ImportError::invalid(
                        file,
                        Some(1),
                        Some(name),
                        format!(
                            "missing column `{name}` (the header must be {})",
                            expected.join(",")
                        ),
                    )
                })?;
            columns.push(index);
        }
        Ok(CsvInput {
            file: file.to_string(),
            reader,
            columns,
        })
    }

    /// Calls `each` for every data row; stops at the first error.
    pub fn for_each(
        mut self,
        names: &[&str],
        mut each: impl FnMut(CsvRow<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        for record in self.reader.records() {
            let record = record.map_err(|e| csv_error(&self.file, e))?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let line = record.position().map(|p| p.line()).unwrap_or_default();
            each(CsvRow {
                file: &self.file,
                line,
                record,
                columns: &self.columns,
                names,
            })?;
        }
        Ok(())
    }
}

impl CsvRow<'_> {
    fn index(&self, column: &str) -> usize {
        let i = self
            .names
            .iter()
            .position(|n| *n == column)
            .expect("column declared");
        self.columns[i]
    }

    pub fn error(&self, column: &str, message: impl Into<String>) -> ImportError {
        ImportError::invalid(self.file, Some(self.line), Some(column), message)
    }

    /// The value, or `None` when empty.
    pub fn optional(&self, column: &str) -> Option<&str> {
        self.record
            .get(self.index(column))
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, column: &str) -> Result<&str, ImportError> {
        self.optional(column)
            .ok_or_else(|| self.error(column, "empty value"))
    }

    pub fn date(&self, column: &str) -> Result<Option<Date>, ImportError> {
        self.optional(column)
            .map(|text| {
                parse_date(text).ok_or_else(|| {
                    self.error(column, format!("`{text}` is not a date (YYYY-MM-DD)"))
                })
            })
            .transpose()
    }

    pub fn identity(&self, column: &str) -> Result<IdentityKey, ImportError> {
        let text = self.required(column)?;
        IdentityKey::parse(text).map_err(|e| self.error(column, e.to_string()))
    }
}

pub fn parse_date(text: &str) -> Option<Date> {
    fairshare_engine::iso_date::parse(text)
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    if let Some(date) = parse_date(text) {
        return Some(date.midnight().assume_utc());
    }
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

pub fn csv_error(file: &str, error: csv::Error) -> ImportError {
    let line = error.position().map(|p| p.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        csv::ErrorKind::Io(e) => {
            return ImportError::Io(
                file.to_string(),
                std::io::Error::new(e.kind(), e.to_string()),
            );
        }
        _ => error.to_string(),
    };
    ImportError::invalid(file, line, None, message)
}
