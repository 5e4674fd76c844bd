//! `fairshare scores` (every organisation's score for a month) and `fairshare explain`
//! (the activities behind one organisation's score, with their points and caps).

use clap::ValueEnum;
use fairshare_engine::{ActivityKind, Month};

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(clap::Args)]
pub struct ScoresArgs {
    /// The month to score (UTC), e.g. 2026-10.
    #[arg(long, value_name = "YYYY-MM")]
    month: Month,
    /// Show a column for every activity kind, not only the kinds that earned points.
    #[arg(long)]
    all_kinds: bool,
    /// How to print the listing.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn scores(context: &Context, args: ScoresArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    let rules = programme.scoring.clone();
    let scores = store.month_scores(args.month, &rules).await?;
    // Only the kinds anyone earned points for, unless every kind is asked for: most
    // programmes credit a handful of the 21.
    let kinds: Vec<ActivityKind> = ActivityKind::ALL
        .into_iter()
        .filter(|kind| {
            args.all_kinds
                || scores
                    .iter()
                    .any(|s| s.score.by_kind.get(kind).is_some_and(|p| !p.is_zero()))
        })
        .collect();
    let mut columns = names(&["org", "score", "members", "activities"]);
    columns.extend(kinds.iter().map(|k| format!("kind:{}", k.as_str())));
    Listing {
        columns,
        rows: scores
            .iter()
            .map(|s| {
                let mut row = vec![
                    s.org.clone(),
                    s.score.score.normalize().to_string(),
                    s.score.members.to_string(),
                    s.score.activities.to_string(),
                ];
                row.extend(kinds.iter().map(|k| {
                    s.score
                        .by_kind
                        .get(k)
                        .map(|p| p.normalize().to_string())
                        .unwrap_or_else(|| "0".into())
                }));
                row
            })
            .collect(),
        json: &scores,
    }
    .print(args.format)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The organisation, by its slug (as in its address, /partners/SLUG).
    #[arg(long, value_name = "SLUG")]
    org: String,
    /// The month whose score to explain (UTC), e.g. 2026-10.
    #[arg(long, value_name = "YYYY-MM")]
    month: Month,
    /// Text for a person, JSON for a program.
    #[arg(long, value_enum, default_value = "text")]
    format: ExplainFormat,
}

pub async fn explain(context: &Context, args: ExplainArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    let rules = programme.scoring.clone();
    let (scored, details) = store.explain(&args.org, args.month, &rules).await?;
    let excluded: Vec<_> = store
        .corrections(Some(&args.org))
        .await?
        .into_iter()
        .filter(|c| !c.removed && details.contains_key(&c.activity_id))
        .collect();
    if args.format == ExplainFormat::Json {
        let items: Vec<serde_json::Value> = scored
            .score
            .items
            .iter()
            .map(|i| serde_json::json!({ "scored": i, "activity": details.get(&i.id) }))
            .collect();
        let out = serde_json::json!({
            "org": scored.org, "month": args.month, "score": scored.score.score.normalize().to_string(),
            "members": scored.score.members, "activities": scored.score.activities,
            "by_kind": scored.score.by_kind, "rules": rules, "items": items, "excluded": excluded,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} in {}: {} points from {} activities by {} members",
        scored.org,
        args.month,
        scored.score.score.normalize(),
        scored.score.activities,
        scored.score.members
    );
    for (kind, points) in &scored.score.by_kind {
        println!(
            "  {kind}: {} points (weight {}, at most {} per member)",
            points.normalize(),
            rules.weight(*kind).normalize(),
            rules.cap(*kind)
        );
    }
    for item in &scored.score.items {
        let d = details.get(&item.id);
        let note = if item.capped {
            format!("0 (cap of {} {} reached)", rules.cap(item.kind), item.kind)
        } else if item.impact != rust_decimal::Decimal::ONE {
            format!(
                "{} (× {} impact)",
                item.points.normalize(),
                item.impact.normalize()
            )
        } else {
            item.points.normalize().to_string()
        };
        println!(
            "#{} {} {} {} by {} — {} [{}]",
            item.id,
            d.map(|d| d.occurred_at.date().to_string())
                .unwrap_or_default(),
            item.kind,
            d.and_then(|d| d.title.clone()).unwrap_or_default(),
            d.map(|d| d.member.clone()).unwrap_or_default(),
            note,
            d.map(|d| format!("{}, {}", d.source, d.attribution))
                .unwrap_or_default(),
        );
    }
    for c in &excluded {
        println!(
            "#{} {} — excluded by {}: {}",
            c.activity_id, c.kind, c.created_by, c.reason
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// The organisation, by its slug (as in its address, /partners/SLUG).
    #[arg(long, value_name = "SLUG")]
    org: String,
    /// Evaluate as on this day (default: today): the months before its month count.
    #[arg(long, value_parser = super::parse_date, value_name = "YYYY-MM-DD")]
    as_of: Option<time::Date>,
    /// Text for a person, JSON for a program.
    #[arg(long, value_enum, default_value = "text")]
    format: ExplainFormat,
}

pub async fn evaluate(context: &Context, args: EvaluateArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    fairshare_ingest::ensure_embedded_rates(&store).await?;
    let as_of = args.as_of.unwrap_or_else(|| context.today());
    let eligibility = &programme.eligibility;
    let evaluation = store.evaluate(&args.org, as_of, &programme).await?;
    if args.format == ExplainFormat::Json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
        return Ok(());
    }
    let verdict = |passed: bool| if passed { "pass" } else { "fail" };
    println!(
        "{} on {as_of}: {}",
        args.org,
        if evaluation.eligible {
            "eligible"
        } else {
            "not eligible"
        }
    );
    println!(
        "financial ({} complete months compliant in a row): {}",
        eligibility.months,
        verdict(evaluation.financial.passed)
    );
    for m in &evaluation.financial.months {
        println!(
            "  {}: paid {} of {} — {}",
            m.month,
            m.paid,
            m.required.rounded(),
            verdict(m.compliant)
        );
    }
    for reason in &evaluation.financial.reasons {
        println!("  because {reason}");
    }
    println!(
        "practical (score ≥ {} and ≥ {} active members each month): {}",
        eligibility.min_monthly_score.normalize(),
        eligibility.min_members,
        verdict(evaluation.practical.passed)
    );
    for m in &evaluation.practical.months {
        println!(
            "  {}: score {}, {} members, {} activities — {}",
            m.month,
            m.score.normalize(),
            m.members,
            m.activities,
            verdict(m.passed)
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ReviewArgs {
    /// The month to review and publish (UTC); it must be over.
    #[arg(long, value_name = "YYYY-MM")]
    month: Month,
    /// Publish the month's ranking again (audited; needs --reason).
    #[arg(long, requires = "reason")]
    republish: bool,
    /// Why the month is published again (kept in the audit log).
    #[arg(long)]
    reason: Option<String>,
}

pub async fn review_month(context: &Context, args: ReviewArgs) -> anyhow::Result<()> {
    if args.month >= Month::of(context.today()) {
        anyhow::bail!(
            "{} is not complete yet: review a month once it is over",
            args.month
        );
    }
    let store = context.store().await?;
    let rules = context.rules(&store).await?;
    fairshare_ingest::ensure_embedded_rates(&store).await?;
    let republish = args
        .republish
        .then(|| args.reason.clone().unwrap_or_default());
    let outcome = store
        .review_month(args.month, &rules, republish.as_deref(), &context.actor)
        .await?;
    if outcome.already_reviewed {
        println!(
            "{} was reviewed already: its ranking is published and frozen (nothing changed)",
            args.month
        );
        return Ok(());
    }
    for change in &outcome.changes {
        println!("{change}");
    }
    println!(
        "ranking of {} published: {} partners",
        args.month, outcome.ranked
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct RankingArgs {
    /// The published month to show, e.g. 2026-10.
    #[arg(long, value_name = "YYYY-MM")]
    month: Month,
    /// How to print the listing.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn ranking(context: &Context, args: RankingArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let ranking = store.ranking(args.month).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no ranking is published for {} (fairshare review-month --month {})",
            args.month,
            args.month
        )
    })?;
    Listing {
        columns: names(&["rank", "org", "score", "members", "previous_rank"]),
        rows: ranking
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.rank.to_string(),
                    e.org.clone(),
                    e.score.normalize().to_string(),
                    e.members.to_string(),
                    e.previous_rank.map(|r| r.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
        json: &ranking,
    }
    .print(args.format)
}
