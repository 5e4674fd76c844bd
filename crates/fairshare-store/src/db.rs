//! Connection pools for both backends and their embedded migrations.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, SqlSafeStr};

use crate::{Result, StoreError};

/// (version, description, SQL) of every migration, per backend. Both lists must name
/// the same versions: a test checks it.
pub(crate) const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "contributions",
        include_str!("../migrations/sqlite/0002_contributions.sql"),
    ),
    (
        3,
        "sponsorship",
        include_str!("../migrations/sqlite/0003_sponsorship.sql"),
    ),
    (
        4,
        "sponsorship events",
        include_str!("../migrations/sqlite/0004_sponsorship_events.sql"),
    ),
    (
        5,
        "corrections",
        include_str!("../migrations/sqlite/0005_corrections.sql"),
    ),
    (
        6,
        "applications",
        include_str!("../migrations/sqlite/0006_applications.sql"),
    ),
    (
        7,
        "rankings",
        include_str!("../migrations/sqlite/0007_rankings.sql"),
    ),
    (
        8,
        "review indexes",
        include_str!("../migrations/sqlite/0008_review_indexes.sql"),
    ),
    (
        9,
        "public profiles",
        include_str!("../migrations/sqlite/0009_public_profiles.sql"),
    ),
    (
        10,
        "accounts",
        include_str!("../migrations/sqlite/0010_accounts.sql"),
    ),
    (
        11,
        "claims",
        include_str!("../migrations/sqlite/0011_claims.sql"),
    ),
    (
        12,
        "account tokens",
        include_str!("../migrations/sqlite/0012_account_tokens.sql"),
    ),
    (
        13,
        "github login",
        include_str!("../migrations/sqlite/0013_github_login.sql"),
    ),
    (
        14,
        "programme rules",
        include_str!("../migrations/sqlite/0014_programme_rules.sql"),
    ),
    (
        15,
        "organisation changes",
        include_str!("../migrations/sqlite/0015_organisation_changes.sql"),
    ),
    (
        16,
        "sponsorship event fields",
        include_str!("../migrations/sqlite/0016_sponsorship_event_fields.sql"),
    ),
    (
        17,
        "sign-in throttle",
        include_str!("../migrations/sqlite/0017_sign_in_throttle.sql"),
    ),
    (
        18,
        "locks",
        include_str!("../migrations/sqlite/0018_locks.sql"),
    ),
    (
        19,
        "event fingerprints",
        include_str!("../migrations/sqlite/0019_event_fingerprints.sql"),
    ),
    (
        20,
        "partial releases",
        include_str!("../migrations/sqlite/0020_partial_releases.sql"),
    ),
    (
        21,
        "scheduler",
        include_str!("../migrations/sqlite/0021_scheduler.sql"),
    ),
    (
        22,
        "rollups",
        include_str!("../migrations/sqlite/0022_rollups.sql"),
    ),
    (
        23,
        "organisation reads",
        include_str!("../migrations/sqlite/0023_org_reads.sql"),
    ),
    (
        24,
        "people's requests",
        include_str!("../migrations/sqlite/0024_people_requests.sql"),
    ),
    (
        25,
        "identity requests",
        include_str!("../migrations/sqlite/0025_identity_requests.sql"),
    ),
];
pub(crate) const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "contributions",
        include_str!("../migrations/postgres/0002_contributions.sql"),
    ),
    (
        3,
        "sponsorship",
        include_str!("../migrations/postgres/0003_sponsorship.sql"),
    ),
    (
        4,
        "sponsorship events",
        include_str!("../migrations/postgres/0004_sponsorship_events.sql"),
    ),
    (
        5,
        "corrections",
        include_str!("../migrations/postgres/0005_corrections.sql"),
    ),
    (
        6,
        "applications",
        include_str!("../migrations/postgres/0006_applications.sql"),
    ),
    (
        7,
        "rankings",
        include_str!("../migrations/postgres/0007_rankings.sql"),
    ),
    (
        8,
        "review indexes",
        include_str!("../migrations/postgres/0008_review_indexes.sql"),
    ),
    (
        9,
        "public profiles",
        include_str!("../migrations/postgres/0009_public_profiles.sql"),
    ),
    (
        10,
        "accounts",
        include_str!("../migrations/postgres/0010_accounts.sql"),
    ),
    (
        11,
        "claims",
        include_str!("../migrations/postgres/0011_claims.sql"),
    ),
    (
        12,
        "account tokens",
        include_str!("../migrations/postgres/0012_account_tokens.sql"),
    ),
    (
        13,
        "github login",
        include_str!("../migrations/postgres/0013_github_login.sql"),
    ),
    (
        14,
        "programme rules",
        include_str!("../migrations/postgres/0014_programme_rules.sql"),
    ),
    (
        15,
        "organisation changes",
        include_str!("../migrations/postgres/0015_organisation_changes.sql"),
    ),
    (
        16,
        "sponsorship event fields",
        include_str!("../migrations/postgres/0016_sponsorship_event_fields.sql"),
    ),
    (
        17,
        "sign-in throttle",
        include_str!("../migrations/postgres/0017_sign_in_throttle.sql"),
    ),
    (
        18,
        "locks",
        include_str!("../migrations/postgres/0018_locks.sql"),
    ),
    (
        19,
        "event fingerprints",
        include_str!("../migrations/postgres/0019_event_fingerprints.sql"),
    ),
    (
        20,
        "partial releases",
        include_str!("../migrations/postgres/0020_partial_releases.sql"),
    ),
    (
        21,
        "scheduler",
        include_str!("../migrations/postgres/0021_scheduler.sql"),
    ),
    (
        22,
        "rollups",
        include_str!("../migrations/postgres/0022_rollups.sql"),
    ),
    (
        23,
        "organisation reads",
        include_str!("../migrations/postgres/0023_org_reads.sql"),
    ),
    (
        24,
        "people's requests",
        include_str!("../migrations/postgres/0024_people_requests.sql"),
    ),
    (
        25,
        "identity requests",
        include_str!("../migrations/postgres/0025_identity_requests.sql"),
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The newest schema version this binary knows for `backend`.
pub(crate) fn latest_version(backend: Backend) -> i64 {
    let migrations = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    migrations.iter().map(|(v, _, _)| *v).max().unwrap_or(0)
}

/// How long an SQLite writer waits for the write lock before giving up.
pub const SQLITE_BUSY_WAIT: Duration = Duration::from_secs(60);

/// An open pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            return Ok(Db::Postgres(pg_pool(options).await?));
        }
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Writers take turns: one waits this long for another's write to finish
            // (imports write in one transaction; see ARCHITECTURE, "Writers").
            .busy_timeout(SQLITE_BUSY_WAIT)
            .foreign_keys(true)
            // 32 MiB of page cache per connection: index maintenance during bulk imports
            // otherwise thrashes SQLite's 2 MiB default.
            .pragma("cache_size", "-32768")
            // No memory map: pages read through it count in the process's resident
            // memory (hundreds of MB on a large database); read through the kernel's
            // page cache instead, memory stays bounded by the caches above.
            .pragma("mmap_size", "0")
            .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Invalid(format!("cannot open SQLite database `{url}`: {e}"))
            })?;
        Ok(Db::Sqlite(pool))
    }

    pub async fn connect_postgres_schema(url: &str, schema: &str) -> Result<Db> {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::Invalid(format!("bad schema name `{schema}`")));
        }
        let admin = pg_pool(PgConnectOptions::from_str(url)?).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        Ok(Db::Postgres(pg_pool(options).await?))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(pool) => migrator(SQLITE_MIGRATIONS).run(pool).await?,
            Db::Postgres(pool) => migrator(POSTGRES_MIGRATIONS).run(pool).await?,
        }
        Ok(())
    }
}

/// Statements slower than this are logged at info: a server's operators see them, a
/// command-line user (warnings only) is not told that a large month took a second.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
const SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Info;

async fn pg_pool(options: PgConnectOptions) -> Result<PgPool> {
    // Our statements are short and many: compiling them (JIT) costs more than it saves
    // (20 ms on a page's query that reads a few thousand counts).
    let options = options
        .options([("jit", "off")])
        .log_slow_statements(SLOW_STATEMENT_LEVEL, SLOW_STATEMENT);
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Invalid(format!("cannot connect to PostgreSQL: {e}")))
}

fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let versions = |list: &[(i64, &str, &str)]| -> Vec<(i64, String)> {
            list.iter().map(|(v, d, _)| (*v, d.to_string())).collect()
        };
        assert_eq!(versions(SQLITE_MIGRATIONS), versions(POSTGRES_MIGRATIONS));
        let on_disk = |dir: &str| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let root = env!("CARGO_MANIFEST_DIR");
        let sqlite = on_disk(&format!("{root}/migrations/sqlite"));
        assert_eq!(sqlite, on_disk(&format!("{root}/migrations/postgres")));
        assert_eq!(
            sqlite.len(),
            SQLITE_MIGRATIONS.len(),
            "a migration file is not embedded"
        );
    }
}
