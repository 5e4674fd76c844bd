//! `fairshare rollups verify` (recount every rollup from the activities and report any
//! difference) and `fairshare rollups rebuild` (count them again from scratch).

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(clap::Subcommand)]
pub enum RollupsCommand {
    /// Recount every rollup from the activities; non-zero if any differs.
    Verify {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Empty every rollup and count it again from the activities (one transaction).
    Rebuild {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub async fn run(context: &Context, command: RollupsCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    match command {
        RollupsCommand::Verify { format } => {
            let checks = store.verify_rollups().await?;
            Listing {
                columns: names(&["table", "rows", "missing", "unexpected", "examples"]),
                rows: checks
                    .iter()
                    .map(|c| {
                        vec![
                            c.table.clone(),
                            c.expected_rows.to_string(),
                            c.missing.to_string(),
                            c.unexpected.to_string(),
                            c.examples.join("; "),
                        ]
                    })
                    .collect(),
                json: &checks,
            }
            .print(format)?;
            let wrong: Vec<&str> = checks
                .iter()
                .filter(|c| !c.agrees())
                .map(|c| c.table.as_str())
                .collect();
            if !wrong.is_empty() {
                anyhow::bail!(
                    "the rollups differ from the activities in {}: run `fairshare rollups rebuild`",
                    wrong.join(", ")
                );
            }
            Ok(())
        }
        RollupsCommand::Rebuild { format } => {
            let summary = store.rebuild_rollups().await?;
            Listing {
                columns: names(&["table", "rows"]),
                rows: summary
                    .rows
                    .iter()
                    .map(|(table, n)| vec![table.clone(), n.to_string()])
                    .collect(),
                json: &summary,
            }
            .print(format)
        }
    }
}
