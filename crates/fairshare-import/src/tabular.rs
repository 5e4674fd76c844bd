//! Helpers shared by the CSV importers: header checks and typed fields with errors
//! that name the file, line and column.

use fairshare_engine::IdentityKey;
use time::{Date, OffsetDateTime};

use crate::error::ImportError;

/// A CSV file with a required header, read record by record.
pub struct CsvInput<R: std::io::Read> {
    file: String,
    reader: csv::Reader<QuoteCount<R>>,
    columns: Vec<usize>,
}

/// Follows the quotes a CSV reader reads. Quotes come in pairs in a well-formed file
/// (around a field, or doubled inside one); a file that ends between the two of a pair
/// ends inside a quoted field, which the csv crate would close silently, keeping a
/// cut-off value. Remembers the line where that field opened.
pub struct QuoteCount<R> {
    inner: R,
    /// Lines start at 1 (the header) and count every newline, as the csv crate does.
    line: u64,
    inside: bool,
    /// The previous byte closed a quoted field: a quote right after it is a doubled
    /// quote inside the same field, not a new one.
    just_closed: bool,
    opened_at: u64,
}

impl<R: std::io::Read> std::io::Read for QuoteCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for byte in &buf[..n] {
            let reopened = *byte == b'"' && self.just_closed;
            self.just_closed = false;
            match byte {
                b'\n' => self.line += 1,
                b'"' if self.inside => {
                    self.inside = false;
                    self.just_closed = true;
                }
                b'"' => {
                    self.inside = true;
                    if !reopened {
                        self.opened_at = self.line;
                    }
                }
                _ => {}
            }
        }
        Ok(n)
    }
}

/// A reader built by `builder` that notices a file ending inside a quoted field: call
/// [`ended_cleanly`] once every record is read.
pub fn quote_counted<R: std::io::Read>(
    builder: &csv::ReaderBuilder,
    input: R,
) -> csv::Reader<QuoteCount<R>> {
    builder.from_reader(QuoteCount {
        inner: input,
        line: 1,
        inside: false,
        just_closed: false,
        opened_at: 0,
    })
}

/// An error naming the line where the quoted field opened, when the file ended
/// inside it.
pub fn ended_cleanly<R: std::io::Read>(
    file: &str,
    reader: &csv::Reader<QuoteCount<R>>,
) -> Result<(), ImportError> {
    let quotes = reader.get_ref();
    if quotes.inside {
        return Err(ImportError::invalid(
            file,
            Some(quotes.opened_at),
            None,
            "the file ends inside a quoted field: a closing `\"` is missing, so the last value may be cut off",
        ));
    }
    Ok(())
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
        let mut reader = quote_counted(
            csv::ReaderBuilder::new()
                .has_headers(true)
                .trim(csv::Trim::All)
                .flexible(false),
            input,
        );
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
        ended_cleanly(&self.file, &self.reader)
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
