//! Backups of an SQLite database, taken while it is in use, and the checks a copy must
//! pass before it replaces one. PostgreSQL is backed up with its own tools
//! (`pg_dump`/`pg_restore`, see the README); [`Store::check`] works on both.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::{Db, Result, Store, StoreError};

/// What a check of a database found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// The newest migration applied.
    pub schema_version: i64,
    /// The newest migration this binary knows.
    pub known_version: i64,
    /// Everything wrong; empty when the database is sound.
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report, or an error saying what `subject` fails.
    pub fn sound(self, subject: &str) -> Result<CheckReport> {
        if self.is_sound() {
            Ok(self)
        } else {
            Err(StoreError::Invalid(format!(
                "{subject} fails its check: {}",
                self.problems.join("; ")
            )))
        }
    }
}

impl Store {
    /// A consistent copy of this SQLite database at `to` (`VACUUM INTO`: one read
    /// transaction, so writers carry on and the copy is of one moment). `to` must not
    /// exist yet.
    pub async fn backup_to(&self, to: &Path) -> Result<()> {
        let Db::Sqlite(pool) = self.db() else {
            return Err(StoreError::Invalid(
                "`fairshare backup` copies SQLite databases; back up PostgreSQL with pg_dump \
                 (see the README, \"Backups\")"
                    .into(),
            ));
        };
        if to.exists() {
            return Err(StoreError::Conflict(format!(
                "{} exists already: a backup never overwrites a file",
                to.display()
            )));
        }
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", to.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// The database's schema version and, on SQLite, its integrity and foreign keys.
    pub async fn check(&self) -> Result<CheckReport> {
        let (applied, known) = match self.db() {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let mut report = check_sqlite(&mut conn).await?;
                report.known_version = crate::db::latest_version(crate::Backend::Sqlite);
                return Ok(report);
            }
            Db::Postgres(pool) => {
                let (applied,): (Option<i64>,) =
                    sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                        .fetch_one(pool)
                        .await?;
                (
                    applied.unwrap_or(0),
                    crate::db::latest_version(crate::Backend::Postgres),
                )
            }
        };
        let mut problems = Vec::new();
        if applied != known {
            problems.push(format!(
                "the schema is at version {applied}; this binary expects {known}"
            ));
        }
        Ok(CheckReport {
            schema_version: applied,
            known_version: known,
            problems,
        })
    }
}

/// Integrity, foreign keys and schema version of an SQLite database.
async fn check_sqlite(conn: &mut SqliteConnection) -> Result<CheckReport> {
    let mut problems = Vec::new();
    let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await?;
    if integrity.iter().any(|(line,)| line != "ok") {
        problems.extend(
            integrity
                .into_iter()
                .take(10)
                .map(|(line,)| format!("integrity: {line}")),
        );
    }
    let dangling: Vec<(String, Option<i64>, String)> =
        sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
            .fetch_all(&mut *conn)
            .await?;
    for (table, row, parent) in dangling.iter().take(10) {
        problems.push(format!(
            "{table} row {} points to a missing {parent} row",
            row.map(|r| r.to_string()).unwrap_or_default()
        ));
    }
    let has_migrations: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let applied = match has_migrations {
        Some(_) => {
            let (applied,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut *conn)
                    .await?;
            applied.unwrap_or(0)
        }
        None => {
            problems.push("not a Fairshare database: it has no migration history".into());
            0
        }
    };
    let known = crate::db::latest_version(crate::Backend::Sqlite);
    if applied > known {
        problems.push(format!(
            "it was written by a newer Fairshare (schema version {applied}; this binary knows {known})"
        ));
    }
    Ok(CheckReport {
        schema_version: applied,
        known_version: known,
        problems,
    })
}

/// Checks the SQLite file `backup` without changing it: a sound Fairshare database
/// this binary can open (older schemas are brought up to date on restore).
pub async fn check_backup(backup: &Path) -> Result<CheckReport> {
    if !backup.is_file() {
        return Err(StoreError::NotFound(format!(
            "no file {}",
            backup.display()
        )));
    }
    let options = SqliteConnectOptions::new()
        .filename(backup)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| {
            StoreError::Invalid(format!(
                "{} is not an SQLite database: {e}",
                backup.display()
            ))
        })?;
    let report = check_sqlite(&mut conn).await.map_err(|e| match e {
        StoreError::Sql(e) => StoreError::Invalid(format!(
            "{} is not a readable database: {e}",
            backup.display()
        )),
        other => other,
    })?;
    let _ = conn.close().await;
    Ok(report)
}

/// Replaces the SQLite database at `database` with the checked copy `backup`: copied
/// next to it, flushed, then renamed over it, so a crash leaves one or the other whole.
/// The old database's journal files go first: they belong to the file being replaced.
/// Nothing may have the database open (stop `serve` first).
pub async fn restore_sqlite(backup: &Path, database: &Path) -> Result<CheckReport> {
    let report = check_backup(backup)
        .await?
        .sound(&format!("{} is not restored: it", backup.display()))?;
    let staging = database.with_extension("restoring");
    let io = |what: &str, e: std::io::Error| StoreError::Invalid(format!("{what}: {e}"));
    std::fs::copy(backup, &staging).map_err(|e| io("copying the backup", e))?;
    std::fs::File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("flushing the copy", e))?;
    for suffix in ["-wal", "-shm"] {
        let journal = format!("{}{suffix}", database.display());
        match std::fs::remove_file(&journal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&format!("removing {journal}"), e)),
        }
    }
    std::fs::rename(&staging, database).map_err(|e| io("replacing the database", e))?;
    Ok(report)
}
