//! `fairshare corrections add|list|remove`: excluding activities from scoring, with
//! reasons, audited and visible to the organisation concerned.

use clap::Subcommand;

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(Subcommand)]
pub enum CorrectionsCommand {
    /// Exclude an activity from scoring (trivial, automated or duplicated).
    Add {
        activity: fairshare_engine::ActivityId,
        #[arg(long)]
        reason: String,
    },
    /// Corrections, newest first.
    List {
        #[arg(long, value_name = "SLUG")]
        org: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Count the activity again; the correction stays on record.
    Remove {
        id: i64,
        #[arg(long, default_value = "withdrawn")]
        reason: String,
    },
}

pub async fn run(context: &Context, command: CorrectionsCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    match command {
        CorrectionsCommand::Add { activity, reason } => {
            let id = store
                .add_correction(activity, &reason, &context.actor)
                .await?;
            println!("correction #{id}: activity #{activity} is excluded from scoring ({reason})");
        }
        CorrectionsCommand::Remove { id, reason } => {
            store.remove_correction(id, &reason, &context.actor).await?;
            println!("correction #{id} removed: the activity counts again");
        }
        CorrectionsCommand::List { org, format } => {
            let list = store.corrections(org.as_deref()).await?;
            Listing {
                columns: names(&[
                    "id", "activity", "org", "kind", "reason", "by", "at", "removed",
                ]),
                rows: list
                    .iter()
                    .map(|c| {
                        vec![
                            c.id.to_string(),
                            c.activity_id.to_string(),
                            c.org.clone(),
                            c.kind.clone(),
                            c.reason.clone(),
                            c.created_by.clone(),
                            c.created_at.to_string(),
                            c.removed.to_string(),
                        ]
                    })
                    .collect(),
                json: &list,
            }
            .print(format)?;
        }
    }
    Ok(())
}
