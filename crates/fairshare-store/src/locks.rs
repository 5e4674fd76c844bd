//! Locks that serialise work across processes and instances sharing one database:
//! the monthly review and republishing run one at a time, and so do imports (a second
//! one waits for the first instead of failing), wherever they are started.
//! PostgreSQL holds a session advisory lock on one connection (released if the
//! process dies); SQLite, whose instances share a file on one machine, leases a row
//! in `locks` that expires should its holder die.

use std::future::Future;
use std::time::Duration;

use sqlx::Connection as _;

use crate::{Db, Store, StoreError};

/// How long an SQLite lease lasts if its holder dies without releasing it; a living
/// holder renews it every `LEASE / 4`, however long its work takes.
const LEASE: time::Duration = time::Duration::minutes(2);

/// Work that runs alone.
#[derive(Debug, Clone, Copy)]
pub enum Exclusive {
    /// Reviewing or republishing a month.
    Review,
    /// An import: all-or-nothing in one transaction, so two at once would only
    /// wait for each other's locks.
    Import,
}

impl Exclusive {
    fn name(self) -> &'static str {
        match self {
            Exclusive::Review => "review",
            Exclusive::Import => "import",
        }
    }

    /// The advisory lock key on PostgreSQL ("fsreview", "fsimport" in ASCII).
    fn key(self) -> i64 {
        match self {
            Exclusive::Review => 0x6673_7265_7669_6577,
            Exclusive::Import => 0x6673_696d_706f_7274,
        }
    }

    /// How long one waits for the lock before saying the work is busy: a review is
    /// quick; an import may follow another that reads a large history.
    fn patience(self) -> Duration {
        match self {
            Exclusive::Review => Duration::from_secs(120),
            Exclusive::Import => Duration::from_secs(6 * 3600),
        }
    }
}

impl Store {
    /// Runs `work` while holding `lock`: others asking for it wait (see
    /// [`Exclusive::patience`], then a conflict), in this process or any other.
    pub async fn exclusively<T, E: From<StoreError>>(
        &self,
        lock: Exclusive,
        work: impl Future<Output = std::result::Result<T, E>>,
    ) -> std::result::Result<T, E> {
        match self.db() {
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(StoreError::from)?;
                let acquired = tokio::time::timeout(
                    lock.patience(),
                    sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(lock.key())
                        .execute(&mut *conn),
                )
                .await;
                match acquired {
                    Ok(done) => {
                        done.map_err(StoreError::from)?;
                    }
                    Err(_) => {
                        // The wait was abandoned mid-statement: drop the connection.
                        let _ = conn.detach().close().await;
                        return Err(busy(lock).into());
                    }
                }
                let result = work.await;
                let released = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(lock.key())
                    .execute(&mut *conn)
                    .await;
                if released.is_err() {
                    // Closing the session releases its locks.
                    let _ = conn.detach().close().await;
                }
                result
            }
            Db::Sqlite(pool) => {
                let holder = format!("{}-{}", std::process::id(), holder_number());
                let started = std::time::Instant::now();
                loop {
                    let now = crate::now();
                    let taken = sqlx::query(
                        "INSERT INTO locks (name, holder, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                         WHERE locks.expires_at < $4",
                    )
                    .bind(lock.name())
                    .bind(&holder)
                    .bind(now + LEASE)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map_err(StoreError::from)?
                    .rows_affected();
                    if taken == 1 {
                        break;
                    }
                    if started.elapsed() > lock.patience() {
                        return Err(busy(lock).into());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // Renew the lease while the work runs, so a long import keeps it and a
                // dead holder's lease lapses within minutes.
                let renewal = {
                    let (pool, holder) = (pool.clone(), holder.clone());
                    tokio::spawn(async move {
                        let every = Duration::from_secs(LEASE.whole_seconds().unsigned_abs() / 4);
                        loop {
                            tokio::time::sleep(every).await;
                            let _ = sqlx::query(
                                "UPDATE locks SET expires_at = $1 WHERE name = $2 AND holder = $3",
                            )
                            .bind(crate::now() + LEASE)
                            .bind(lock.name())
                            .bind(&holder)
                            .execute(&pool)
                            .await;
                        }
                    })
                };
                let result = work.await;
                renewal.abort();
                sqlx::query("DELETE FROM locks WHERE name = $1 AND holder = $2")
                    .bind(lock.name())
                    .bind(&holder)
                    .execute(pool)
                    .await
                    .map_err(StoreError::from)?;
                result
            }
        }
    }
}

fn busy(lock: Exclusive) -> StoreError {
    StoreError::Conflict(format!(
        "another {} is running: try again in a few minutes",
        lock.name()
    ))
}

/// Tells apart holders within one process.
fn holder_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
