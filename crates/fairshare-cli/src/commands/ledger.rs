//! `fairshare activities` (counts grouped by org, member, kind, source, team, month)
//! and `fairshare members …` (show, merge, split, undo, history).

use anyhow::bail;
use clap::Subcommand;
use fairshare_engine::IdentityKey;
use fairshare_store::activities::{ActivityFilter, GroupKey};
use time::{Date, Duration};

use super::{Context, parse_date};
use crate::output::{Format, Listing, names};

#[derive(clap::Args)]
pub struct ActivitiesArgs {
    /// First day included (UTC).
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    from: Option<Date>,
    /// Last day included (UTC).
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    to: Option<Date>,
    /// Only activities credited to this organisation (or `unaffiliated`).
    #[arg(long, value_name = "SLUG")]
    org: Option<String>,
    /// Comma-separated: org, member, kind, source, team, month.
    #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
    group_by: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn activities(context: &Context, args: ActivitiesArgs) -> anyhow::Result<()> {
    let mut keys = Vec::new();
    for name in &args.group_by {
        match GroupKey::parse(name) {
            Some(key) if !keys.contains(&key) => keys.push(key),
            Some(_) => bail!("`{name}` is given twice in --group-by"),
            None => bail!(
                "unknown --group-by key `{name}` (use org, member, kind, source, team, month)"
            ),
        }
    }
    if let (Some(from), Some(to)) = (args.from, args.to)
        && to < from
    {
        bail!("--to {to} is before --from {from}");
    }
    let store = context.store().await?;
    let filter = ActivityFilter {
        from: args.from.map(|d| d.midnight().assume_utc()),
        until: args
            .to
            .map(|d| (d + Duration::days(1)).midnight().assume_utc()),
        org: args.org.clone(),
    };
    let rows = store.count_activities(&filter, &keys).await?;
    let mut columns: Vec<String> = keys.iter().map(|k| k.name().to_string()).collect();
    columns.extend(names(&["activities", "members"]));
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut object = serde_json::Map::new();
            for (key, value) in keys.iter().zip(&row.keys) {
                object.insert(key.name().to_string(), value.clone().into());
            }
            object.insert("activities".into(), row.activities.into());
            object.insert("members".into(), row.members.into());
            object.into()
        })
        .collect();
    Listing {
        columns,
        rows: rows
            .iter()
            .map(|row| {
                let mut cells = row.keys.clone();
                cells.push(row.activities.to_string());
                cells.push(row.members.to_string());
                cells
            })
            .collect(),
        json,
    }
    .print(args.format)
}

#[derive(Subcommand)]
pub enum MembersCommand {
    /// A member's identities, affiliations and credited activities.
    Show {
        /// Member id (#12) or an identity (email or source:handle).
        member: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Merge member B into member A (B's identities, affiliations and activities move).
    Merge {
        a: String,
        b: String,
        #[arg(long, default_value = "same person")]
        reason: String,
    },
    /// Move one identity (and its activities) out into a new member.
    Split {
        identity: String,
        #[arg(long, default_value = "not the same person")]
        reason: String,
    },
    /// Undo a merge or split by its change id.
    Undo { change: i64 },
    /// Every merge and split, with its change id.
    History {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Record that a person agreed to be named on the public pages (audited).
    OptIn { member: String },
    /// Withdraw that consent: the person is no longer named anywhere public.
    OptOut { member: String },
}

pub async fn members(context: &Context, command: MembersCommand) -> anyhow::Result<()> {
    let store = context.store().await?;

    match command {
        MembersCommand::Show { member, format } => {
            let id = store.find_member(&member).await?;
            let detail = store.member(id).await?;
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(());
            }
            let mut rows = vec![
                vec![
                    "member".to_string(),
                    format!("#{} {}", detail.id, detail.display_name),
                ],
                vec!["bot".into(), detail.is_bot.to_string()],
            ];
            for identity in &detail.identities {
                rows.push(vec!["identity".into(), identity.clone()]);
            }
            for a in &detail.affiliations {
                let span = format!(
                    "{} from {} until {} ({})",
                    a.org,
                    a.from
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "the start".into()),
                    a.until
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "now".into()),
                    a.source
                );
                rows.push(vec!["affiliation".into(), span]);
            }
            for (org, n) in &detail.activities_by_org {
                rows.push(vec!["activities".into(), format!("{n} credited to {org}")]);
            }
            Listing {
                columns: names(&["field", "value"]),
                rows,
                json: &detail,
            }
            .print(format)
        }
        MembersCommand::Merge { a, b, reason } => {
            let into = store.find_member(&a).await?;
            let from = store.find_member(&b).await?;
            let change = store
                .merge_members(from, into, &context.actor, &reason)
                .await?;
            println!(
                "member #{from} merged into #{into} (change {change}; undo with `fairshare members undo {change}`)"
            );
            Ok(())
        }
        MembersCommand::Split { identity, reason } => {
            let key = IdentityKey::parse(&identity)?;
            let (member, change) = store.split_identity(&key, &context.actor, &reason).await?;
            println!(
                "{key} is now member #{member} (change {change}; undo with `fairshare members undo {change}`)"
            );
            Ok(())
        }
        MembersCommand::OptIn { member } => consent(context, &store, &member, true).await,
        MembersCommand::OptOut { member } => consent(context, &store, &member, false).await,
        MembersCommand::Undo { change } => {
            store.undo_member_change(change, &context.actor).await?;
            println!("member change {change} undone");
            Ok(())
        }
        MembersCommand::History { format } => {
            let changes = store.member_changes().await?;
            Listing {
                columns: names(&[
                    "change", "at", "actor", "action", "from", "to", "reason", "undone",
                ]),
                rows: changes
                    .iter()
                    .map(|c| {
                        vec![
                            c.id.to_string(),
                            c.at.to_string(),
                            c.actor.clone(),
                            c.action.clone(),
                            format!("#{}", c.from_member),
                            format!("#{}", c.to_member),
                            c.reason.clone(),
                            c.undone.to_string(),
                        ]
                    })
                    .collect(),
                json: &changes,
            }
            .print(format)
        }
    }
}

async fn consent(
    context: &Context,
    store: &fairshare_store::Store,
    member: &str,
    listed: bool,
) -> anyhow::Result<()> {
    let id = store.find_member(member).await?;
    store.set_listed(id, listed, &context.actor).await?;
    if listed {
        println!("member #{id} may be named on the public pages");
    } else {
        println!("member #{id} is no longer named on the public pages");
    }
    Ok(())
}
