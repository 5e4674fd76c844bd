//! `fairshare backup`, `fairshare restore` and `fairshare check`: a consistent copy of a
//! running SQLite database, bringing one back after checking it, and the checks alone.
//! PostgreSQL is backed up with pg_dump (README, "Backups"); `check` works on both.

use std::path::PathBuf;

use anyhow::bail;

use super::Context;
use crate::config::sqlite_file;

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The copy to write (must not exist). Safe while `serve` and imports run.
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// A copy written by `fairshare backup`. Stop `serve` first.
    file: PathBuf,
}

pub async fn backup(context: &Context, args: BackupArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    store.backup_to(&args.file).await?;
    let report = fairshare_store::backup::check_backup(&args.file)
        .await?
        .sound(&format!("the copy {}", args.file.display()))?;
    println!(
        "backed up to {} (schema version {}; integrity checked)",
        args.file.display(),
        report.schema_version
    );
    Ok(())
}

pub async fn restore(context: &Context, args: RestoreArgs) -> anyhow::Result<()> {
    let Some(database) = sqlite_file(&context.config.database_url) else {
        bail!(
            "`fairshare restore` replaces an SQLite database; restore PostgreSQL with \
             pg_restore (see the README, \"Backups\")"
        );
    };
    let restored = fairshare_store::backup::restore_sqlite(&args.file, &database).await?;
    // Opening migrates a copy made by an older Fairshare; then check it as it is now.
    let store = context.store().await?;
    let report = store.check().await?.sound("the restored database")?;
    println!(
        "restored {} from {} (schema version {} → {}; integrity checked)",
        database.display(),
        args.file.display(),
        restored.schema_version,
        report.schema_version
    );
    Ok(())
}

pub async fn check(context: &Context) -> anyhow::Result<()> {
    let store = context.store().await?;
    let report = store.check().await?.sound("the database")?;
    println!(
        "the database is sound (schema version {})",
        report.schema_version
    );
    Ok(())
}
