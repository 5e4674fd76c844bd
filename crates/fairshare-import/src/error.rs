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
            message: message.into(),
        }
    }
}
