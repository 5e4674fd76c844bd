//! `fairshare apply` and `fairshare applications list|show|decide|confirm`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use fairshare_engine::IdentityKey;
use fairshare_store::applications::{Applicant, ApplicationForm, Verdict as Decision};

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(clap::Args)]
pub struct ApplyArgs {
    #[arg(long, value_name = "SLUG")]
    org: String,
    /// The application: organisation details, HQ country, sponsor account, staff, contact.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
}

pub async fn apply(context: &Context, args: ApplyArgs) -> anyhow::Result<()> {
    let name = args.file.display().to_string();
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {name}"))?;
    let form: ApplicationForm =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    if form.org != args.org {
        bail!(
            "{name}: `org` is `{}` but --org is `{}`",
            form.org,
            args.org
        );
    }
    let form = form.checked().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    fairshare_ingest::ensure_embedded_rates(&store).await?;
    let evaluation = store
        .evaluate_application(&form, context.today(), &programme)
        .await?;
    let submitted = store
        .submit_application(&form, Applicant::Operator, &evaluation, &context.actor)
        .await?;
    let id = submitted.application;
    if let Some(change) = submitted.change {
        println!(
            "organisation change #{change} (sponsor account, name, country or website) waits for a reviewer: /admin/changes"
        );
    }
    println!(
        "application #{id} for {} submitted; evaluation attached: {}",
        form.org,
        if evaluation.eligible {
            "eligible"
        } else {
            "not eligible yet"
        }
    );
    for reason in evaluation
        .financial
        .reasons
        .iter()
        .chain(&evaluation.practical.reasons)
    {
        println!("  {reason}");
    }
    if !form.staff.is_empty() {
        println!(
            "{} staff members must each confirm: fairshare applications confirm {id} --identity HANDLE",
            form.staff.len()
        );
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum ApplicationsCommand {
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    Show {
        id: i64,
    },
    /// Approve, reject or defer, with a comment (someone other than the applicant).
    Decide {
        id: i64,
        #[arg(long, group = "decision")]
        approve: bool,
        #[arg(long, group = "decision")]
        reject: bool,
        #[arg(long, group = "decision")]
        defer: bool,
        #[arg(long)]
        comment: String,
    },
    /// A listed staff member confirms (or declines) working for the organisation.
    Confirm {
        id: i64,
        #[arg(long)]
        identity: String,
        #[arg(long)]
        decline: bool,
    },
}

pub async fn run(context: &Context, command: ApplicationsCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    match command {
        ApplicationsCommand::List { format } => {
            let list = store.applications().await?;
            Listing {
                columns: names(&[
                    "id",
                    "org",
                    "status",
                    "eligible",
                    "submitted_by",
                    "submitted_at",
                    "decided_by",
                    "comment",
                ]),
                rows: list
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.org.clone(),
                            a.status.to_string(),
                            a.eligible.to_string(),
                            a.submitted_by.clone(),
                            a.submitted_at.to_string(),
                            a.decided_by.clone().unwrap_or_default(),
                            a.comment.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
                json: &list,
            }
            .print(format)?;
        }
        ApplicationsCommand::Show { id } => {
            let application = store.application(id).await?;
            println!("{}", serde_json::to_string_pretty(&application)?);
        }
        ApplicationsCommand::Decide {
            id,
            approve,
            reject,
            defer,
            comment,
        } => {
            let decision = match (approve, reject, defer) {
                (true, _, _) => Decision::Approve,
                (_, true, _) => Decision::Reject,
                (_, _, true) => Decision::Defer,
                _ => bail!("say --approve, --reject or --defer"),
            };
            // Judged on today's facts, as in the console.
            let rules = context.rules(&store).await?;
            fairshare_ingest::ensure_embedded_rates(&store).await?;
            store
                .evaluate_open_application_again(id, context.today(), &rules, &context.actor)
                .await?;
            store
                .decide_application(id, decision, &comment, &context.actor)
                .await?;
            let status = store.application(id).await?.status;
            println!("application #{id} {status} by {}: {comment}", context.actor);
        }
        ApplicationsCommand::Confirm {
            id,
            identity,
            decline,
        } => {
            let key = IdentityKey::parse(&identity)?;
            store
                .confirm_staff(id, &key, !decline, &context.actor)
                .await?;
            println!(
                "{key} {} application #{id}",
                if decline { "declined" } else { "confirmed" }
            );
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ProfileArgs {
    #[arg(long, value_name = "SLUG")]
    org: String,
    /// What the organisation does, shown on its public page.
    #[arg(long)]
    description: Option<String>,
    /// A service offered (repeat for several; replaces the list).
    #[arg(long = "service", value_name = "NAME")]
    services: Vec<String>,
    /// A language the organisation works in (repeat; replaces the list).
    #[arg(long = "language", value_name = "NAME")]
    languages: Vec<String>,
    /// A region served (repeat; replaces the list).
    #[arg(long = "region", value_name = "NAME")]
    regions: Vec<String>,
}

/// `fairshare profile`: what an organisation shows on its public page. Lists not given
/// keep their values.
pub async fn profile(context: &Context, args: ProfileArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let mut profile = store.partner_profile_of(&args.org).await?;
    if let Some(description) = args.description {
        profile.description = description;
    }
    for (given, field) in [
        (args.services, &mut profile.services),
        (args.languages, &mut profile.languages),
        (args.regions, &mut profile.regions),
    ] {
        if !given.is_empty() {
            *field = given;
        }
    }
    store
        .set_profile(&args.org, &profile, &context.actor)
        .await?;
    println!("{}: profile saved", args.org);
    Ok(())
}
