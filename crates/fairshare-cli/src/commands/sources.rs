//! `fairshare sources` (every source with its state) and `fairshare sync` (run the due
//! or named sources once, for those who prefer cron to the scheduler inside `serve`).

use fairshare_store::jobs::Trigger;

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(clap::Args)]
pub struct SourcesArgs {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(clap::Args)]
pub struct SyncArgs {
    /// Sources to run whatever their schedule (default: the ones due now).
    names: Vec<String>,
}

/// The scheduler of `store`, with the configuration's sources stored.
pub async fn scheduler_of(
    settings: fairshare_scheduler::Settings,
    store: fairshare_store::Store,
    mailer: std::sync::Arc<fairshare_web::mail::Mailer>,
) -> anyhow::Result<fairshare_scheduler::Scheduler> {
    let scheduler = fairshare_scheduler::Scheduler::new(store, settings, mailer);
    scheduler.prepare().await.map_err(anyhow::Error::msg)?;
    Ok(scheduler)
}

async fn scheduler(context: &Context) -> anyhow::Result<fairshare_scheduler::Scheduler> {
    let store = context.store().await?;
    let mailer = std::sync::Arc::new(
        context
            .config
            .mail
            .mailer(&context.config.server.bind, &context.config.site)?,
    );
    scheduler_of(context.config.scheduler_settings()?, store, mailer).await
}

pub async fn sources(context: &Context, args: SourcesArgs) -> anyhow::Result<()> {
    let scheduler = scheduler(context).await?;
    let sources = scheduler.store().sources().await?;
    let when = |at: Option<time::OffsetDateTime>| {
        at.map(fairshare_web::minute).unwrap_or_else(|| "—".into())
    };
    Listing {
        columns: names(&[
            "name",
            "kind",
            "every",
            "team",
            "from",
            "state",
            "last run",
            "outcome",
            "next run",
            "last error",
        ]),
        rows: sources
            .iter()
            .map(|s| {
                let last = s.last_run.as_ref();
                vec![
                    s.definition.name.clone(),
                    s.definition.settings.kind().into(),
                    s.definition.every.to_string(),
                    s.definition.team.clone().unwrap_or_default(),
                    format!("{:?}", s.origin).to_lowercase(),
                    if !s.definition.enabled {
                        "disabled".into()
                    } else if s.paused {
                        "paused".into()
                    } else if s.failures_in_a_row > 0 {
                        format!("failing ({} in a row)", s.failures_in_a_row)
                    } else {
                        "active".into()
                    },
                    when(last.map(|r| r.started_at)),
                    last.map(|r| r.outcome.clone()).unwrap_or_default(),
                    when(s.next_run),
                    last.and_then(|r| r.error.clone()).unwrap_or_default(),
                ]
            })
            .collect(),
        json: &sources,
    }
    .print(args.format)
}

pub async fn sync(context: &Context, args: SyncArgs) -> anyhow::Result<()> {
    let scheduler = scheduler(context).await?;
    let ran = if args.names.is_empty() {
        scheduler.run_sources(None, Trigger::Schedule).await
    } else {
        scheduler
            .run_sources(Some(&args.names), Trigger::Manual)
            .await
    };
    if ran.is_empty() {
        println!("no source is due");
    }
    let mut failed = 0;
    for outcome in &ran {
        match &outcome.result {
            Ok(summary) => {
                println!("{}: ok", outcome.job);
                for line in summary.lines() {
                    println!("  {line}");
                }
            }
            Err(error) => {
                failed += 1;
                println!("{}: FAILED: {error}", outcome.job);
            }
        }
    }
    // Mail the sync caused (alerts) goes out with it.
    fairshare_scheduler::send_queued(&scheduler).await;
    if failed > 0 {
        anyhow::bail!("{failed} of {} sources failed", ran.len());
    }
    Ok(())
}
