//! `fairshare rates …`: the ECB reference rates (embedded; newer files imported) and
//! conversions with them.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use fairshare_engine::{CurrencyCode, DollarRates, Money, RateBasis};
use time::Date;

use super::{Context, parse_date};

#[derive(Subcommand)]
pub enum RatesCommand {
    /// Store an ECB eurofxref-hist.csv (idempotent; revised values replace old ones).
    Import { file: PathBuf },
    /// Convert an amount at the reference rate of a day (default: today).
    Convert {
        amount: String,
        from: String,
        to: String,
        #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
        date: Option<Date>,
    },
}

pub async fn run(context: &Context, command: RatesCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    fairshare_ingest::ensure_embedded_rates(&store).await?;
    match command {
        RatesCommand::Import { file } => {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {name}"))?;
            let rates = fairshare_import::ecb::parse(&name, bytes.as_slice())?;
            let digest = fairshare_import::content_digest(&bytes);
            let s = store
                .exclusively(
                    fairshare_store::locks::Exclusive::Import,
                    store.import_rates(&name, &digest, &rates, &context.actor),
                )
                .await?;
            println!(
                "{name}: {} rates read: {} new, {} revised, {} unchanged",
                s.read, s.new, s.changed, s.unchanged
            );
        }
        RatesCommand::Convert {
            amount,
            from,
            to,
            date,
        } => {
            let from = CurrencyCode::parse_iso(&from)?;
            let to = CurrencyCode::parse_iso(&to)?;
            let money = Money::parse(&amount, from)?;
            let on = date.unwrap_or_else(|| context.today());
            let table = store.rate_table(&[from, to], on, on).await?;
            let fallback = match store.release_in_force(on).await? {
                Some(release) => store.dollar_rates(release).await?,
                None => DollarRates::default(),
            };
            let c = table.convert(money, to, on, &fallback)?;
            let basis = match c.basis {
                RateBasis::Same => "same currency".to_string(),
                RateBasis::Ecb { date } => format!("ECB reference rate of {date}"),
                RateBasis::BigMac { release } => {
                    format!("Big Mac dollar_ex of the {release} release (no ECB rate)")
                }
            };
            println!(
                "{} = {} (rate {}, {basis})",
                c.from,
                c.to,
                c.rate.round_dp(6).normalize()
            );
        }
    }
    Ok(())
}
