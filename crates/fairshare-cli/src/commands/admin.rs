//! `fairshare config show` and `fairshare audit`.

use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (file, environment and flags merged).
    Show {
        #[arg(long, value_enum, default_value = "toml")]
        format: ConfigFormat,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConfigFormat {
    Toml,
    Json,
}

pub fn config(context: &Context, command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Show { format } = command;
    let mut shown = context.config.clone();
    shown.database_url = super::redact(&shown.database_url);
    // Every secret the configuration can hold is shown as set or not, never itself.
    for secret in [
        &mut shown.sponsorship.github_webhook_secret,
        &mut shown.sponsorship.opencollective_webhook_secret,
        &mut shown.github.webhook_secret,
        &mut shown.gitlab.webhook_secret,
        &mut shown.crowdin.webhook_secret,
        &mut shown.mail.smtp_password,
        &mut shown.server.metrics_token,
    ] {
        if secret.is_some() {
            *secret = Some("***".into());
        }
    }
    if !shown.github_login.client_secret.is_empty() {
        shown.github_login.client_secret = "***".into();
    }
    match format {
        ConfigFormat::Toml => print!("{}", toml::to_string_pretty(&shown)?),
        ConfigFormat::Json => println!("{}", serde_json::to_string_pretty(&shown)?),
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Only entries whose subject starts with this, e.g. `bigmac:`.
    #[arg(long)]
    subject: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: i64,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn audit(context: &Context, args: AuditArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let entries = store.audit_log(args.subject.as_deref(), args.limit).await?;
    Listing {
        columns: names(&["id", "at", "actor", "action", "subject", "details"]),
        rows: entries
            .iter()
            .map(|e| {
                vec![
                    e.id.to_string(),
                    e.at.format(&Rfc3339).unwrap_or_default(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.subject.clone(),
                    e.details.to_string(),
                ]
            })
            .collect(),
        json: &entries,
    }
    .print(args.format)
}
