//! `fairshare report`: the community report offline, the same as the site's `/report`
//! (HTML self-contained with its SVG charts, or JSON, or CSV).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::ValueEnum;
use time::Date;

use super::{Context, parse_date};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Json,
    Csv,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The last N days up to yesterday (default 90).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    days: Option<u32>,
    /// First day of the window (with --to).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date, requires = "to")]
    from: Option<Date>,
    /// Last day of the window, included (with --from).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date, requires = "from")]
    to: Option<Date>,
    #[arg(long, value_enum, default_value = "html")]
    format: ReportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub async fn run(context: &Context, args: ReportArgs) -> anyhow::Result<()> {
    let (from, to) = match (args.from, args.to) {
        (Some(from), Some(to)) => (from, to),
        _ => fairshare_web::report::last_days(
            context.today(),
            args.days
                .map(i64::from)
                .unwrap_or(fairshare_web::report::DEFAULT_DAYS),
        ),
    };
    let store = context.store().await?;
    let report = store.community_report(from, to).await?;
    let text = match args.format {
        ReportFormat::Html => fairshare_web::report::report_html(&report, true),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Csv => fairshare_web::report::report_csv(&report),
    };
    match args.output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(())
}
