//! Test support: a fresh, migrated [`Store`] on every backend the machine offers.
//!
//! SQLite always (a file in a temporary directory); PostgreSQL when
//! `FAIRSHARE_TEST_POSTGRES_URL` is set, each store in a schema of its own so tests
//! never see each other's rows.

use std::sync::atomic::{AtomicU32, Ordering};

use fairshare_store::Store;

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_ENV: &str = "FAIRSHARE_TEST_POSTGRES_URL";

/// A store for one test. Keeps its temporary directory alive.
pub struct TestStore {
    pub store: Store,
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    /// The URL the CLI would open, with the schema for PostgreSQL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh store on each available backend.
pub async fn stores() -> Vec<TestStore> {
    let mut all = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        all.push(pg);
    }
    all
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("fairshare.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url).await.expect("open SQLite store");
    TestStore {
        store,
        backend: "sqlite",
        url,
        _dir: Some(dir),
    }
}

/// A store in a new schema of the test PostgreSQL server, if one is configured.
pub async fn postgres() -> Option<TestStore> {
    let url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
    let schema = unique_schema();
    let store = Store::open_postgres_schema(&url, &schema)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={url}: {e}"));
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(TestStore {
        store,
        backend: "postgres",
        url: format!("{url}{separator}options=-c%20search_path%3D{schema}"),
        _dir: None,
    })
}

fn unique_schema() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Builds the deterministic test repository of `fixtures/make-repo.sh` in `dir`
/// (needs the `git` command, used only to build fixtures and as a test oracle).
pub fn make_git_fixture(dir: &std::path::Path) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/make-repo.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("run make-repo.sh");
    assert!(status.success(), "make-repo.sh failed");
}
