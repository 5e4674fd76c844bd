//! Fairshare's storage, the only place that writes SQL.
//!
//! [`Store`] wraps a [`Db`], a connection pool to SQLite (the default: one file, no
//! set-up) or PostgreSQL (production, several app instances). Both backends share one
//! schema with a migration folder each (`migrations/sqlite`, `migrations/postgres`) and
//! the same SQL text wherever the dialects agree; [`on_pool!`] runs one body against
//! whichever pool is open. One module per aggregate (see ARCHITECTURE.md's codemap).
//!
//! The store loads, asks the engine, writes: every programme decision (thresholds,
//! scores, eligibility, the next partner status, the ranking order, who may decide a
//! request) is made by `fairshare-engine`; status columns are parsed into the engine's
//! enums here, once ([`parse_column`]). It takes the importers' records from
//! `fairshare-records` and never depends on the importers.
//!
//! Conventions: amounts are stored as exact decimal text, dates as `DATE`
//! (ISO text on SQLite), timestamps in UTC. A published result is never updated.

pub mod accounts;
pub mod activities;
pub mod applications;
pub mod audit;
pub mod backup;
pub mod bigmac;
pub mod claims;
pub mod clock;
pub mod compliance;
pub mod corrections;
mod db;
pub mod directory;
pub mod events;
pub mod identity_requests;
pub mod jobs;
pub mod locks;
pub mod mail_queue;
pub mod org_changes;
pub mod payments;
pub mod people;
pub mod public;
pub mod rates;
mod report;
pub mod review;
pub mod rollups;
pub mod rules;
pub mod scores;
pub mod thresholds;
mod tx;

pub use audit::AuditEntry;
pub use bigmac::{BigMacImportSummary, FrozenRow, ReleaseChecks};
pub use db::{Backend, Db};
pub use thresholds::{MappingRecord, NewSubmission, Publication, SubmissionRecord, ThresholdSet};

/// Runs `$body` with `$pool` bound to the open pool, whichever backend it is.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The actor may not do this (someone else's organisation).
    #[error("{0}")]
    Forbidden(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The engine refused a decision on a reviewed request.
    #[error(transparent)]
    Refused(#[from] fairshare_engine::Refusal),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The application's handle on its database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    clock: clock::Clock,
}

impl Store {
    /// Opens (creating an SQLite file if needed) and migrates the database at `url`:
    /// `postgres://…`, `sqlite://PATH`, `sqlite::memory:` or a plain file path.
    pub async fn open(url: &str) -> Result<Store> {
        let db = Db::connect(url).await?;
        db.migrate().await?;
        let store = Store {
            db,
            clock: clock::Clock::system(),
        };
        store.ensure_rollups_built().await?;
        Ok(store)
    }

    /// Opens a PostgreSQL database with every table inside `schema` (created if
    /// missing): used to give each test its own namespace.
    pub async fn open_postgres_schema(url: &str, schema: &str) -> Result<Store> {
        let db = Db::connect_postgres_schema(url, schema).await?;
        db.migrate().await?;
        let store = Store {
            db,
            clock: clock::Clock::system(),
        };
        store.ensure_rollups_built().await?;
        Ok(store)
    }

    /// The same store reading time from `clock` (a shifted or manual clock).
    pub fn with_clock(mut self, clock: clock::Clock) -> Store {
        self.clock = clock;
        self
    }

    /// The program's clock (see [`clock::Clock`]).
    pub fn clock(&self) -> &clock::Clock {
        &self.clock
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub async fn close(&self) {
        on_pool!(&self.db, pool => pool.close().await)
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(&self.db, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}

/// Reads an ISO day (`YYYY-MM-DD`) stored as text, naming the column if it is not one.
pub(crate) fn parse_day(column: &str, text: &str) -> Result<time::Date> {
    time::Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| StoreError::Corrupt(format!("{column} `{text}` is not a day")))
}

pub(crate) fn parse_decimal(column: &str, text: &str) -> Result<rust_decimal::Decimal> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} `{text}` is not a decimal")))
}

/// An optional link field (`website`): empty is none; anything else must be a web
/// link (`links::web_link`), or the error names `field`.
pub(crate) fn optional_web_link(field: &str, value: Option<&str>) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(link) => fairshare_engine::links::web_link(link)
            .map(Some)
            .map_err(|why| StoreError::Invalid(format!("`{field}`: {why}"))),
    }
}

/// Row ids as an SQL list (`1, 2, 3`) for `IN (…)`: ids are integers, never text from
/// outside, so they are safe to write into the statement.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text from outside as a `LIKE` pattern that matches it literally (`%` and `_` are
/// escaped with `\`; statements say `ESCAPE '\'`), with `%` added where asked.
pub(crate) fn like_pattern(text: &str, starts_with: bool) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if starts_with {
        format!("{escaped}%")
    } else {
        format!("%{escaped}%")
    }
}

/// Reads a stored state or kind column (`status`, `kind`…) into the engine's type: the
/// one place status text becomes a value, so nothing else compares status strings.
pub(crate) fn parse_column<T>(column: &str, text: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
