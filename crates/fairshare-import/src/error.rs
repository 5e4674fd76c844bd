//! Import errors that say exactly where the bad input is: file, line and column.

use std::fmt;

/// Where in an input a problem was found. Lines are 1-based and count the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}: cannot read: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
}

impl ImportError {
    pub fn invalid(
        file: &str,
        line: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ImportError::Invalid {
            location: Location {
                file: file.to_string(),
                line,
                column: column.map(str::to_string),
            },
            message: short_quotes(&message.into()),
        }
    }
}

/// The message with every `quoted` value cut to an excerpt, and the whole cut to a few
/// hundred characters (a parser's own message may quote a value too): an error names
/// the bad value, it never echoes a 50 MB field back to a terminal or a log.
fn short_quotes(message: &str) -> String {
    const LONGEST: usize = 480;
    let mut out = String::with_capacity(message.len().min(1024));
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&fairshare_engine::money::excerpt(part));
        } else {
            out.push_str(part);
        }
    }
    if out.chars().count() > LONGEST {
        out = out.chars().take(LONGEST).chain(['…']).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_quoted_value_is_cut_to_an_excerpt() {
        let value = "9".repeat(1_000_000);
        let error = ImportError::invalid(
            "a.csv",
            Some(2),
            Some("amount"),
            format!("`{value}` is not a number"),
        );
        let text = error.to_string();
        assert!(text.len() < 200, "{} bytes", text.len());
        assert!(text.ends_with("…` is not a number"), "{text}");
    }
}
