//! Listings on standard output as a table (for people), CSV or JSON (for programs).

use std::io::Write;

use clap::ValueEnum;
use comfy_table::{Table, presets};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Rows as text for table and CSV output; `json` is the structured form of the same
/// rows, printed for `--format json`.
pub struct Listing<J: Serialize> {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub json: J,
}

/// Column names from string literals.
pub fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

impl<J: Serialize> Listing<J> {
    pub fn print(&self, format: Format) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        match format {
            Format::Table => {
                let mut table = Table::new();
                table.load_preset(presets::UTF8_FULL_CONDENSED);
                table.set_header(self.columns.clone());
                for row in &self.rows {
                    table.add_row(row.clone());
                }
                writeln!(out, "{table}")?;
            }
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(&self.columns)?;
                for row in &self.rows {
                    writer.write_record(row)?;
                }
                writer.flush()?;
            }
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &self.json)?;
                writeln!(out)?;
            }
        }
        Ok(())
    }
}
