//! `fairshare payments …` (manual entries, removals, sponsor accounts, what is not
//! linked, payments seen twice) and `fairshare compliance`.

use anyhow::bail;
use clap::{Subcommand, ValueEnum};
use fairshare_engine::compliance::Coverage;
use fairshare_engine::{CurrencyCode, Money, Month};
use time::Date;

use super::{Context, parse_date};
use crate::output::{Format, Listing, names};

#[derive(Clone, Copy, ValueEnum)]
pub enum Platform {
    Opencollective,
    GithubSponsors,
}

impl Platform {
    fn name(self) -> &'static str {
        match self {
            Platform::Opencollective => "opencollective",
            Platform::GithubSponsors => "github_sponsors",
        }
    }
}

#[derive(Subcommand)]
pub enum PaymentsCommand {
    /// Record a payment made outside the platforms (invoice, bank transfer).
    Add {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        currency: String,
        #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
        date: Date,
        #[arg(long)]
        reference: String,
        /// The payment covers twelve months (one twelfth each).
        #[arg(long)]
        yearly: bool,
    },
    /// Take a payment out of every computation, saying why (it stays on record).
    Remove {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Link a sponsor account to an organisation: its payments count for it.
    Link {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long, value_enum)]
        platform: Platform,
        #[arg(long)]
        account: String,
    },
    /// An organisation's payments.
    List {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
        from: Option<Date>,
        #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
        to: Option<Date>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Sponsor accounts that paid but belong to no organisation yet.
    Unlinked {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Sponsorship events received by webhook (created, tier changes, cancellations).
    Events {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Money seen twice: GitHub Sponsors payouts listed again by Open Collective.
    Duplicates {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub async fn run(context: &Context, command: PaymentsCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    match command {
        PaymentsCommand::Add {
            org,
            amount,
            currency,
            date,
            reference,
            yearly,
        } => {
            let money = Money::parse(&amount, CurrencyCode::parse_iso(&currency)?)
                .map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
            if !money.amount.is_sign_positive() || money.amount.is_zero() {
                anyhow::bail!(
                    "--amount: {amount} must be more than zero (refunds come from the platforms' exports)"
                );
            }
            let coverage = if yearly {
                Coverage::Year
            } else {
                Coverage::Month
            };
            let id = store
                .add_payment(&org, money, date, coverage, &reference, &context.actor)
                .await?;
            println!("payment #{id}: {money} from {org} on {date} recorded");
        }
        PaymentsCommand::Remove { id, reason } => {
            store.remove_payment(id, &reason, &context.actor).await?;
            println!("payment #{id} removed: {reason}");
        }
        PaymentsCommand::Link {
            org,
            platform,
            account,
        } => {
            store
                .link_account(&org, platform.name(), &account, &context.actor)
                .await?;
            println!(
                "{} account `{account}` now counts for {org}",
                platform.name()
            );
        }
        PaymentsCommand::List {
            org,
            from,
            to,
            format,
        } => {
            let from = from.unwrap_or(Date::MIN);
            let until = to.map(|d| d.next_day().unwrap_or(d)).unwrap_or(Date::MAX);
            let payments = store.org_payments(&org, from, until).await?;
            Listing {
                columns: names(&[
                    "id",
                    "date",
                    "amount",
                    "currency",
                    "coverage",
                    "source",
                    "account",
                    "reference",
                ]),
                rows: payments
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            p.date.to_string(),
                            p.money.rounded().amount.to_string(),
                            p.money.currency.to_string(),
                            p.coverage.clone(),
                            p.source.clone(),
                            p.account.clone().unwrap_or_default(),
                            p.reference.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
                json: &payments,
            }
            .print(format)?;
        }
        PaymentsCommand::Unlinked { format } => {
            let accounts = store.unlinked_accounts().await?;
            Listing {
                columns: names(&["platform", "account", "payments", "last_payment"]),
                rows: accounts
                    .iter()
                    .map(|a| {
                        vec![
                            a.platform.clone(),
                            a.account.clone(),
                            a.payments.to_string(),
                            a.last_payment.to_string(),
                        ]
                    })
                    .collect(),
                json: &accounts,
            }
            .print(format)?;
        }
        PaymentsCommand::Events { format } => {
            let events = store.sponsorship_events().await?;
            Listing {
                columns: names(&[
                    "id",
                    "received_at",
                    "platform",
                    "action",
                    "account",
                    "tier_amount",
                    "currency",
                ]),
                rows: events
                    .iter()
                    .map(|e| {
                        vec![
                            e.id.to_string(),
                            e.received_at.to_string(),
                            e.event.platform.clone(),
                            e.event.action.clone(),
                            e.event.account.clone().unwrap_or_default(),
                            e.event.tier_amount.clone().unwrap_or_default(),
                            e.event.currency.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
                json: &events,
            }
            .print(format)?;
        }
        PaymentsCommand::Duplicates { format } => {
            let pairs = store.duplicate_payments().await?;
            Listing {
                columns: names(&[
                    "open_collective_id",
                    "github_sponsors_id",
                    "amount",
                    "currency",
                    "oc_date",
                    "ghs_date",
                    "sponsor",
                ]),
                rows: pairs
                    .iter()
                    .map(|p| {
                        vec![
                            p.open_collective.id.to_string(),
                            p.github_sponsors.id.to_string(),
                            p.github_sponsors.money.rounded().amount.to_string(),
                            p.github_sponsors.money.currency.to_string(),
                            p.open_collective.date.to_string(),
                            p.github_sponsors.date.to_string(),
                            p.github_sponsors.account.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
                json: &pairs,
            }
            .print(format)?;
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ComplianceArgs {
    #[arg(long, value_name = "SLUG")]
    org: String,
    /// First month (default: twelve months before the last complete one).
    #[arg(long, value_name = "YYYY-MM")]
    from: Option<Month>,
    /// Last month (default: the last complete month).
    #[arg(long, value_name = "YYYY-MM")]
    to: Option<Month>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn compliance(context: &Context, args: ComplianceArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    fairshare_ingest::ensure_embedded_rates(&store).await?;
    let to = args
        .to
        .unwrap_or_else(|| Month::of(context.today()).previous());
    let from = args
        .from
        .unwrap_or_else(|| (0..11).fold(to, |m, _| m.previous()));
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let months = store
        .org_compliance(
            &args.org,
            from,
            to,
            &programme.thresholds,
            programme.tolerance,
            &mut Default::default(),
        )
        .await?;
    Listing {
        columns: names(&[
            "month",
            "paid",
            "required",
            "currency",
            "compliant",
            "streak",
        ]),
        rows: months
            .iter()
            .map(|m| {
                vec![
                    m.month.to_string(),
                    m.paid.amount.to_string(),
                    m.required.rounded().amount.to_string(),
                    m.required.currency.to_string(),
                    m.compliant.to_string(),
                    m.streak.to_string(),
                ]
            })
            .collect(),
        json: &months,
    }
    .print(args.format)
}
