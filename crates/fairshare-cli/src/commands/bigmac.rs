//! `fairshare bigmac …`: import The Economist's data, list releases, and answer for
//! countries missing from it (comparable-country mappings, price submissions).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use fairshare_engine::{CountryCode, CurrencyCode};
use fairshare_store::{BigMacImportSummary, NewSubmission, ReleaseChecks, SubmissionRecord};
use rust_decimal::Decimal;
use time::Date;

use super::{Context, parse_date};
use crate::output::{Format, Listing, names};

#[derive(Subcommand)]
pub enum BigmacCommand {
    /// Store the releases of a Big Mac source-data CSV (idempotent, all-or-nothing).
    /// A release without the base country is refused, and so is one with markedly
    /// fewer countries than the release before it unless `--partial` is given.
    Import {
        file: PathBuf,
        /// Accept releases with markedly fewer countries than the one before: they are
        /// stored as partial and never come into force until published by hand
        /// (`fairshare thresholds publish --release DATE`).
        #[arg(long)]
        partial: bool,
    },
    /// List the stored releases.
    Releases {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Price a country missing from the data like a comparable one.
    Map {
        country: String,
        #[arg(long, value_name = "ISO")]
        like: String,
    },
    /// Remove a country's comparable-country mapping.
    Unmap { country: String },
    /// List comparable-country mappings.
    Mappings {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Submit a local Big Mac price for a country missing from the data.
    Submit {
        country: String,
        /// Price of a Big Mac in local currency.
        #[arg(long)]
        price: Decimal,
        /// ISO 4217 code of the local currency.
        #[arg(long)]
        currency: String,
        /// Units of the local currency per US dollar.
        #[arg(long)]
        rate: Decimal,
        /// Link to the evidence: a menu, receipt or photo.
        #[arg(long)]
        evidence: String,
        /// Submit against the release in force on this date (default: today).
        #[arg(long, value_parser = parse_date)]
        release: Option<Date>,
    },
    /// Approve a pending price submission (someone other than the submitter).
    Approve {
        id: i64,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject a pending price submission, saying why.
    Reject {
        id: i64,
        #[arg(long)]
        comment: String,
    },
    /// List price submissions.
    Submissions {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub async fn run(context: &Context, command: BigmacCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    match command {
        BigmacCommand::Import { file, partial } => {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {name}"))?;
            let parsed = fairshare_import::bigmac::parse(&name, bytes.as_slice())?;
            let digest = fairshare_import::content_digest(&bytes);
            let checks = ReleaseChecks {
                base_country: programme.thresholds.base_country,
                partial,
            };
            let import = store.import_bigmac(&name, &digest, &parsed, Some(checks), &context.actor);
            let summary = store
                .exclusively(fairshare_store::locks::Exclusive::Import, import)
                .await?;
            print_summary(&summary);
            // The import is stored whatever happens next: publishing is a separate step
            // that `serve` and `thresholds publish` retry.
            match store
                .publish_release_in_force(context.today(), &programme.thresholds, "fairshare")
                .await
            {
                Ok(Some(release)) => {
                    println!("published the thresholds of the {release} release, now in force")
                }
                Ok(None) => {}
                Err(error) => eprintln!(
                    "warning: the import is stored, but the thresholds in force could not be published: {error}"
                ),
            }
        }
        BigmacCommand::Releases { format } => {
            let in_force = store.release_in_force(context.today()).await?;
            let mut rows = Vec::new();
            let mut json = Vec::new();
            let partial = store.partial_releases().await?;
            for date in store.release_dates().await? {
                let countries = store
                    .release(date)
                    .await?
                    .map(|r| r.prices.len())
                    .unwrap_or(0);
                let publication = store.publication(date).await?;
                let published = publication
                    .as_ref()
                    .map(|p| format!("{} by {}", p.published_at.date(), p.published_by))
                    .unwrap_or_default();
                rows.push(vec![
                    date.to_string(),
                    countries.to_string(),
                    partial.contains(&date).to_string(),
                    (Some(date) == in_force).to_string(),
                    published,
                ]);
                json.push(serde_json::json!({
                    "release": date.to_string(),
                    "countries": countries,
                    "partial": partial.contains(&date),
                    "in_force": Some(date) == in_force,
                    "publication": publication,
                }));
            }
            Listing {
                columns: names(&["release", "countries", "partial", "in_force", "published"]),
                rows,
                json,
            }
            .print(format)?;
        }
        BigmacCommand::Map { country, like } => {
            let country = CountryCode::parse(&country)?;
            let like = CountryCode::parse(&like)?;
            let mapping = store.map_country(country, like, &context.actor).await?;
            println!(
                "{} is now priced like {} (recorded by {})",
                mapping.country, mapping.like, mapping.recorded_by
            );
        }
        BigmacCommand::Unmap { country } => {
            let country = CountryCode::parse(&country)?;
            store.unmap_country(country, &context.actor).await?;
            println!("{country} no longer has a comparable country");
        }
        BigmacCommand::Mappings { format } => {
            let mappings = store.mappings().await?;
            Listing {
                columns: names(&["country", "like", "recorded_by", "recorded_at"]),
                rows: mappings
                    .iter()
                    .map(|m| {
                        vec![
                            m.country.to_string(),
                            m.like.to_string(),
                            m.recorded_by.clone(),
                            m.recorded_at.to_string(),
                        ]
                    })
                    .collect(),
                json: &mappings,
            }
            .print(format)?;
        }
        BigmacCommand::Submit {
            country,
            price,
            currency,
            rate,
            evidence,
            release,
        } => {
            let on = release.unwrap_or_else(|| context.today());
            let release = store
                .release_in_force(on)
                .await?
                .with_context(|| format!("no Big Mac release was in force on {on}"))?;
            let submission = store
                .submit_price(
                    NewSubmission {
                        country: CountryCode::parse(&country)?,
                        currency: CurrencyCode::parse_iso(&currency)?,
                        local_price: price,
                        dollar_ex: rate,
                        evidence,
                        release,
                    },
                    &context.actor,
                )
                .await?;
            println!(
                "price submission #{} for {} recorded ({} {} at {} per USD, release {}); \
                 it counts once someone else approves it: fairshare bigmac approve {}",
                submission.id,
                submission.country,
                submission.currency,
                submission.local_price,
                submission.dollar_ex,
                submission.release,
                submission.id
            );
        }
        BigmacCommand::Approve { id, comment } => {
            let s = store
                .decide_submission(
                    id,
                    fairshare_engine::Verdict::Approve,
                    &context.actor,
                    comment.as_deref(),
                )
                .await?;
            println!(
                "price submission #{} for {} approved by {}",
                s.id, s.country, context.actor
            );
        }
        BigmacCommand::Reject { id, comment } => {
            if comment.trim().is_empty() {
                bail!("say why the submission is rejected (--comment)");
            }
            let s = store
                .decide_submission(
                    id,
                    fairshare_engine::Verdict::Reject,
                    &context.actor,
                    Some(&comment),
                )
                .await?;
            println!(
                "price submission #{} for {} rejected by {}",
                s.id, s.country, context.actor
            );
        }
        BigmacCommand::Submissions { format } => {
            let submissions = store.submissions().await?;
            Listing {
                columns: names(&[
                    "id",
                    "country",
                    "currency",
                    "price",
                    "rate",
                    "release",
                    "status",
                    "submitted_by",
                    "decided_by",
                    "evidence",
                ]),
                rows: submissions.iter().map(submission_row).collect(),
                json: &submissions,
            }
            .print(format)?;
        }
    }
    Ok(())
}

fn submission_row(s: &SubmissionRecord) -> Vec<String> {
    vec![
        s.id.to_string(),
        s.country.to_string(),
        s.currency.to_string(),
        s.local_price.to_string(),
        s.dollar_ex.to_string(),
        s.release.to_string(),
        serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        s.submitted_by.clone(),
        s.decided_by.clone().unwrap_or_default(),
        s.evidence.clone(),
    ]
}

fn print_summary(s: &BigMacImportSummary) {
    for line in fairshare_ingest::sources::bigmac_lines(s) {
        println!("{line}");
    }
}
