//! `fairshare thresholds`: every country's fair monthly amount for a release, from
//! the store or straight from a file (`--data`), and `thresholds publish`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use fairshare_engine::bigmac::release_in_force;
use fairshare_engine::{CountryCode, Threshold, compute_thresholds};
use fairshare_store::ThresholdSet;
use serde::Serialize;
use time::Date;

use super::{Context, parse_date};
use crate::output::{Format, Listing, names};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// The release in force on this date (default: today).
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    release: Option<Date>,
    /// Compute from this Big Mac CSV instead of the database; nothing is stored.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Only this country (ISO 3166-1 alpha-3).
    #[arg(long, value_name = "ISO")]
    country: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Subcommand)]
enum Action {
    /// Freeze a release's thresholds: later data or policy changes never alter them.
    Publish {
        /// The latest release dated on or before this day (default: today), partial
        /// ones included: publishing by hand is how a partial release comes into force.
        #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
        release: Option<Date>,
        #[arg(long, default_value = "published by a programme manager")]
        reason: String,
    },
}

/// The exact CSV columns, in order.
const COLUMNS: [&str; 8] = [
    "iso_a3",
    "name",
    "currency_code",
    "local_price",
    "threshold_local",
    "threshold_usd",
    "threshold_eur",
    "basis",
];

#[derive(Serialize)]
struct JsonOutput<'a> {
    #[serde(with = "fairshare_engine::iso_date")]
    release: Date,
    published: bool,
    publication: Option<&'a fairshare_store::Publication>,
    policy: &'a fairshare_engine::ThresholdPolicy,
    thresholds: Vec<&'a Threshold>,
}

pub async fn run(context: &Context, args: Args) -> anyhow::Result<()> {
    if let Some(Action::Publish { release, reason }) = args.action {
        let store = context.store().await?;
        let programme = context.rules(&store).await?;
        let on = release.unwrap_or_else(|| context.today());
        let release = store
            .release_on_or_before(on)
            .await?
            .with_context(|| format!("no Big Mac release is dated on or before {on}"))?;
        let set = store
            .publish_thresholds(release, &programme.thresholds, &context.actor, &reason)
            .await?;
        println!(
            "published the thresholds of the {} release for {} countries",
            set.release,
            set.rows.len()
        );
        return Ok(());
    }

    let country = args
        .country
        .as_deref()
        .map(CountryCode::parse)
        .transpose()?;
    let on = args.release.unwrap_or_else(|| context.today());
    let set = match &args.data {
        Some(path) => from_file(context, path, on)?,
        None => {
            let store = context.store().await?;
            let programme = context.rules(&store).await?;
            if args.release.is_none() {
                store
                    .publish_release_in_force(on, &programme.thresholds, "fairshare")
                    .await?;
            }
            let release = store
                .release_in_force(on)
                .await?
                .with_context(|| format!("no Big Mac release was in force on {on}"))?;
            store.thresholds(release, &programme.thresholds).await?
        }
    };
    let rows: Vec<&Threshold> = match country {
        Some(country) => match set.country(country) {
            Some(row) => vec![row],
            None => bail!(
                "{country} has no threshold in the {} release: it is not in the Big Mac data; \
                 map it to a comparable country (fairshare bigmac map {country} --like ISO) or \
                 submit a local price (fairshare bigmac submit {country} …)",
                set.release
            ),
        },
        None => set.rows.iter().collect(),
    };
    if args.format == Format::Table {
        let status = match &set.publication {
            Some(p) => format!("published {} by {}", p.published_at.date(), p.published_by),
            None => "not published: provisional".to_string(),
        };
        eprintln!("Big Mac release {} ({status})", set.release);
    }
    Listing {
        columns: names(&COLUMNS),
        rows: rows.iter().map(|t| csv_row(t)).collect(),
        json: JsonOutput {
            release: set.release,
            published: set.publication.is_some(),
            publication: set.publication.as_ref(),
            policy: &set.policy,
            thresholds: rows.clone(),
        },
    }
    .print(args.format)
}

/// Thresholds straight from a file, with the configured policy; the database is not
/// opened.
fn from_file(context: &Context, path: &PathBuf, on: Date) -> anyhow::Result<ThresholdSet> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {name}"))?;
    let parsed = fairshare_import::bigmac::parse(&name, std::io::BufReader::new(file))?;
    let date = release_in_force(parsed.releases.iter().map(|r| r.date), on)
        .with_context(|| format!("{name} has no release dated on or before {on}"))?;
    let release = parsed
        .releases
        .iter()
        .find(|r| r.date == date)
        .context("release vanished")?;
    let policy = context.config.thresholds.clone();
    let rows = compute_thresholds(release, &policy, &[], &[])
        .with_context(|| format!("computing thresholds from {name}"))?;
    Ok(ThresholdSet {
        release: date,
        publication: None,
        policy,
        rows,
    })
}

fn csv_row(t: &Threshold) -> Vec<String> {
    vec![
        t.iso_a3.to_string(),
        t.name.clone(),
        t.currency.to_string(),
        t.local_price.to_string(),
        t.threshold_local.to_string(),
        format!("{:.2}", t.threshold_usd),
        t.threshold_eur
            .map(|v| format!("{v:.2}"))
            .unwrap_or_default(),
        t.basis.to_string(),
    ]
}
