//! `fairshare users`: accounts for the web (add with roles, confirm, list).

use std::io::BufRead;

use anyhow::{Context as _, bail};
use fairshare_store::accounts::{Grant, Role};

use super::Context;
use crate::output::{Format, Listing, names};

#[derive(clap::Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input (one line), never from an
    /// argument, so it does not end up in the shell's history.
    Add {
        /// The address the user signs in with.
        #[arg(long)]
        email: String,
        /// A role, `admin`, `reviewer`, `member`, `org_admin:SLUG` or `team_lead:TEAM`
        /// (repeat for several).
        #[arg(long = "role", value_name = "ROLE[:SCOPE]", required = true)]
        roles: Vec<String>,
        /// Mark the address as confirmed: you know it is theirs, so no confirmation
        /// mail is needed.
        #[arg(long)]
        confirmed: bool,
    },
    /// Mark a user's address as confirmed (audited), for one who cannot receive the
    /// confirmation mail.
    Confirm {
        /// The user's address.
        #[arg(long)]
        email: String,
    },
    /// Every user with their roles.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn grant(text: &str) -> anyhow::Result<Grant> {
    let (role, scope) = text.split_once(':').unwrap_or((text, ""));
    let role: Role = role
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--role {text}: {e}"))?;
    if role.needs_scope() && scope.trim().is_empty() {
        bail!("--role {text}: {role} needs a scope, e.g. {role}:acme");
    }
    Ok(Grant {
        role,
        scope: scope.trim().to_string(),
    })
}

pub async fn run(context: &Context, command: UsersCommand) -> anyhow::Result<()> {
    let store = context.store().await?;
    match command {
        UsersCommand::Add {
            email,
            roles,
            confirmed,
        } => {
            let grants = roles
                .iter()
                .map(|r| grant(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let hash = fairshare_web::account::hash_for_new_user(password)
                .map_err(|e| anyhow::anyhow!(e))?;
            let id = store
                .add_user(&email, &hash, &grants, &context.actor)
                .await?;
            if confirmed {
                store.confirm_email(&email, &context.actor).await?;
            }
            let state = if confirmed { ", address confirmed" } else { "" };
            println!("user #{id} {email} added{state}");
            Ok(())
        }
        UsersCommand::Confirm { email } => {
            store.confirm_email(&email, &context.actor).await?;
            println!("{email}: address confirmed");
            Ok(())
        }
        UsersCommand::List { format } => {
            let users = store.users().await?;
            Listing {
                columns: names(&["id", "email", "roles", "confirmed", "disabled"]),
                rows: users
                    .iter()
                    .map(|u| {
                        vec![
                            u.id.to_string(),
                            u.email.clone(),
                            u.grants
                                .iter()
                                .map(|g| {
                                    if g.scope.is_empty() {
                                        g.role.to_string()
                                    } else {
                                        format!("{}:{}", g.role, g.scope)
                                    }
                                })
                                .collect::<Vec<_>>()
                                .join(" "),
                            u.verified.to_string(),
                            u.disabled.to_string(),
                        ]
                    })
                    .collect(),
                json: &users,
            }
            .print(format)
        }
    }
}
