//! One module per command group. Commands parse and check their arguments, call the
//! store and the engine, and print; they hold no domain rules of their own.

pub mod admin;
pub mod applications;
pub mod backup;
pub mod bigmac;
pub mod corrections;
pub mod demo;
pub mod import;
pub mod ledger;
pub mod payments;
pub mod rates;
pub mod report;
pub mod rollups;
pub mod rules;
pub mod scores;
pub mod serve;
pub mod sources;
pub mod thresholds;
pub mod users;

use anyhow::Context as _;
use fairshare_store::{Store, StoreError};
use time::Date;

use crate::config::Config;

pub struct Context {
    pub config: Config,
    /// Recorded in the audit log for every change.
    pub actor: String,
}

/// An unknown organisation slug gets the closest ones on record ("did you mean …"),
/// read only when the command already failed on it.
pub async fn suggest_organisations(context: &Context, error: anyhow::Error) -> anyhow::Error {
    let Some(slug) = error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<StoreError>() {
            Some(StoreError::NotFound(message)) => message
                .strip_prefix("no organisation `")
                .and_then(|rest| rest.strip_suffix('`'))
                .map(str::to_string),
            _ => None,
        })
    else {
        return error;
    };
    let Ok(store) = context.store().await else {
        return error;
    };
    let Ok(organisations) = store.organisation_statuses().await else {
        return error;
    };
    let mut close: Vec<(f64, String)> = organisations
        .into_iter()
        .map(|o| (strsim::jaro_winkler(&slug, &o.slug), o.slug))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let names: Vec<String> = close
        .into_iter()
        .take(3)
        .map(|(_, s)| format!("`{s}`"))
        .collect();
    if names.is_empty() {
        error
    } else {
        anyhow::anyhow!("{error:#}; did you mean {}?", names.join(" or "))
    }
}

impl Context {
    /// Opens and migrates the configured database and makes sure the Big Mac data set
    /// embedded in this binary is stored.
    pub async fn store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.config.database_url)
            .await
            .with_context(|| format!("opening the database {}", redact(&self.config.database_url)))?
            .with_clock(self.clock());
        fairshare_ingest::ensure_embedded_bigmac(&store)
            .await
            .context("storing the embedded Big Mac data")?;
        Ok(store)
    }

    /// The programme's rules in force: the newest version recorded in the console,
    /// else the configuration's.
    pub async fn rules(&self, store: &Store) -> anyhow::Result<fairshare_engine::ProgrammeRules> {
        Ok(store.rules_in_force(&self.config.rules()?).await?)
    }

    /// Today in UTC, or `FAIRSHARE_TODAY` (YYYY-MM-DD) when set: for demos, tests and
    /// catching up on past months.
    pub fn today(&self) -> Date {
        self.clock().today()
    }

    /// The program's clock: real time, or from `FAIRSHARE_TODAY` on with real hours.
    pub fn clock(&self) -> fairshare_store::clock::Clock {
        match std::env::var("FAIRSHARE_TODAY")
            .ok()
            .and_then(|d| parse_date(&d).ok())
        {
            Some(today) => fairshare_store::clock::Clock::starting_on(today),
            None => fairshare_store::clock::Clock::system(),
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Parses a `YYYY-MM-DD` argument.
pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/fs"),
            "postgres://app:***@db:5432/fs"
        );
        assert_eq!(
            super::redact("sqlite://fairshare.db"),
            "sqlite://fairshare.db"
        );
    }
}
