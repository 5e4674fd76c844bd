//! Webhook deliveries the database could not take at once — SQLite's write lock held
//! by a long import, PostgreSQL restarting — kept in a directory and stored by a
//! background task. A verified delivery is never refused for a reason of ours: the
//! platforms do not redeliver on their own, so a 500 would lose it.
//!
//! Each delivery is one JSON file, written to a temporary name, flushed to disk and
//! renamed, so a crash leaves either the whole file or none. Storing is idempotent
//! (deliveries are recognised by id and payload), so a file stored twice is harmless.

use std::path::{Path, PathBuf};

use fairshare_store::Store;
use fairshare_store::events::SponsorshipEvent;
use time::Date;

/// The spool directory.
#[derive(Debug)]
pub struct WebhookSpool {
    dir: PathBuf,
}

impl WebhookSpool {
    /// Uses (and creates) `dir`.
    pub fn open(dir: &Path) -> std::io::Result<WebhookSpool> {
        std::fs::create_dir_all(dir)?;
        Ok(WebhookSpool {
            dir: dir.to_path_buf(),
        })
    }

    /// Keeps `event` on disk until [`drain`](Self::drain) stores it.
    pub async fn keep(&self, event: &SponsorshipEvent) -> std::io::Result<()> {
        let body = serde_json::to_vec(event).map_err(std::io::Error::other)?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = format!(
            "{}-{}-{}.json",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (dir, partial, done) = (
            self.dir.clone(),
            self.dir.join(format!(".{name}.partial")),
            self.dir.join(name),
        );
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut file = std::fs::File::create(&partial)?;
            file.write_all(&body)?;
            file.sync_all()?;
            std::fs::rename(&partial, &done)?;
            // The rename itself must reach the disk.
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Stores every kept delivery, oldest first, removing each once stored; stops at
    /// the first the database still refuses (it is tried again next time). Returns
    /// how many were stored.
    pub async fn drain(&self, store: &Store, today: Date) -> usize {
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(error) => {
                tracing::error!(%error, dir = %self.dir.display(), "cannot read the webhook spool");
                return 0;
            }
        };
        names.sort();
        let mut stored = 0;
        for path in names {
            let event: SponsorshipEvent = match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(event) => event,
                Err(error) => {
                    // Never deleted: an operator can read it; it is not retried.
                    let aside = path.with_extension("unreadable");
                    tracing::error!(%error, file = %path.display(), "a spooled webhook cannot be read; set aside");
                    let _ = std::fs::rename(&path, aside);
                    continue;
                }
            };
            match store.receive_sponsorship_event(&event, today).await {
                Ok(_) => {
                    stored += 1;
                    if let Err(error) = std::fs::remove_file(&path) {
                        tracing::error!(%error, file = %path.display(), "cannot remove a stored spooled webhook");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "the database still refuses spooled webhooks; trying again later");
                    break;
                }
            }
        }
        if stored > 0 {
            tracing::info!(stored, "spooled webhook deliveries stored");
        }
        stored
    }
}
