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

/// Every test's scenario ends with the rollups checked against its activities: a
/// write path that forgets them fails the test that took it.
impl Drop for TestStore {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let url = self.url.clone();
        // A runtime of its own: `drop` may run inside the test's runtime, which
        // cannot be blocked on.
        let checks = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the rollup check");
            runtime.block_on(async {
                let store = Store::open(&url).await?;
                let checks = store.verify_rollups().await;
                store.close().await;
                checks
            })
        })
        .join()
        .expect("the rollup check ran");
        match checks {
            Ok(checks) => {
                let wrong: Vec<_> = checks.iter().filter(|c| !c.agrees()).collect();
                assert!(
                    wrong.is_empty(),
                    "{}: the rollups differ from the activities after this test: {wrong:#?}",
                    self.backend
                );
            }
            Err(e) => panic!("{}: the rollups could not be checked: {e}", self.backend),
        }
    }
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

fn sample(name: &str) -> String {
    let path = format!(
        "{}/../../testdata/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A Slack workspace export (ZIP bytes) built from the real sample files: channel
/// `random` with a join, a message and a thread; the first user's profile email is
/// `first_user_email`.
pub fn slack_export(first_user_email: &str) -> Vec<u8> {
    use std::io::Write;
    let json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&sample(name)).expect("sample JSON")
    };
    let mut users = json("slack/users.json");
    users[0]["profile"]["email"] = serde_json::json!(first_user_email);
    let ids: Vec<String> = users
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut thread = json("slack/zulip-normal_thread.messages.json");
    for (i, message) in thread
        .as_array_mut()
        .expect("messages")
        .iter_mut()
        .enumerate()
    {
        // `channel_name` is added by Zulip's importer, not a Slack export field.
        message
            .as_object_mut()
            .expect("message")
            .remove("channel_name");
        message["user"] = serde_json::json!(ids[i % ids.len()]);
    }
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, body) in [
            ("channels.json", sample("slack/channels.json")),
            ("users.json", users.to_string()),
            (
                "random/2017-06-25.json",
                sample("slack/random/2017-06-25.json"),
            ),
            ("random/2015-06-12.json", thread.to_string()),
        ] {
            zip.start_file(name, options).expect("zip entry");
            zip.write_all(body.as_bytes()).expect("zip write");
        }
        zip.finish().expect("zip finish");
    }
    buffer.into_inner()
}
