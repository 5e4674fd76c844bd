//! `fairshare rules`: the programme's rules in force (show), the versions recorded
//! (history), and recording a new version from a file (record) — the same store path
//! as the console's settings page, audited with each changed setting.

use anyhow::Context as _;
use fairshare_engine::ProgrammeRules;

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(clap::Subcommand)]
pub enum RulesCommand {
    /// Every setting in force and where it comes from. `--format json` prints the
    /// rules as one document that `rules record` takes back.
    Show {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The recorded versions, newest first, with what each changed.
    History {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Record new rules from a JSON file (as `rules show --format json` prints them).
    Record {
        #[arg(long, value_name = "FILE")]
        file: std::path::PathBuf,
        /// Why the rules change (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(context: &Context, command: RulesCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    let configured = context.config.rules()?;
    match command {
        RulesCommand::Show { format } => {
            let recorded = store.recorded_rules(1).await?.pop();
            let source = recorded.as_ref().map_or_else(
                || "configuration".to_string(),
                |r| format!("recorded #{} by {}", r.id, r.recorded_by),
            );
            let rules = recorded.map(|r| r.rules).unwrap_or(configured);
            Listing {
                columns: names(&["setting", "value", "source"]),
                rows: rules
                    .settings()
                    .into_iter()
                    .map(|(setting, value)| vec![setting, value, source.clone()])
                    .collect(),
                json: &rules,
            }
            .print(format)
        }
        RulesCommand::History { format } => {
            let versions = store.recorded_rules(1000).await?;
            let rows = versions
                .iter()
                .enumerate()
                .map(|(i, version)| {
                    let before = versions.get(i + 1).map_or(&configured, |v| &v.rules);
                    let changes = version
                        .rules
                        .changes_since(before)
                        .iter()
                        .map(|c| {
                            format!(
                                "{}: {} → {}",
                                c.setting,
                                c.before.as_deref().unwrap_or("—"),
                                c.after.as_deref().unwrap_or("—")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    vec![
                        version.id.to_string(),
                        version.recorded_at.to_string(),
                        version.recorded_by.clone(),
                        version.reason.clone(),
                        changes,
                    ]
                })
                .collect();
            Listing {
                columns: names(&["id", "recorded_at", "recorded_by", "reason", "changes"]),
                rows,
                json: &versions,
            }
            .print(format)
        }
        RulesCommand::Record { file, reason } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rules: ProgrammeRules = serde_json::from_str(&text)
                .with_context(|| format!("{}: not the rules' JSON", file.display()))?;
            let current = store.rules_in_force(&configured).await?;
            match store
                .record_rules(&rules, &current, &reason, &context.actor)
                .await
                .with_context(|| file.display().to_string())?
            {
                Some(id) => {
                    for change in rules.changes_since(&current) {
                        println!(
                            "{}: {} → {}",
                            change.setting,
                            change.before.as_deref().unwrap_or("—"),
                            change.after.as_deref().unwrap_or("—")
                        );
                    }
                    println!("recorded the rules as version #{id}, in force from now on");
                }
                None => println!("these are the rules in force already: nothing recorded"),
            }
            Ok(())
        }
    }
}
