//! Locks that serialise work across processes and instances sharing one database:
//! the monthly review and republishing run one at a time, wherever they are started.
//! PostgreSQL holds a session advisory lock on one connection (released if the
//! process dies); SQLite, whose instances share a file on one machine, leases a row
//! in `locks` that expires should its holder die.

use std::future::Future;
use std::time::Duration;

use sqlx::Connection as _;

use crate::{Db, Result, Store, StoreError};

/// How long one waits for a lock before saying the work is busy.
const WAIT: Duration = Duration::from_secs(120);
/// How long an SQLite lease lasts if its holder never releases it (a crash).
const LEASE: time::Duration = time::Duration::minutes(10);

/// Work that runs alone.
#[derive(Debug, Clone, Copy)]
pub enum Exclusive {
    /// Reviewing or republishing a month.
    Review,
}

impl Exclusive {
    fn name(self) -> &'static str {
        match self {
            Exclusive::Review => "review",
        }
    }

    /// The advisory lock key on PostgreSQL ("fsreview" in ASCII).
    fn key(self) -> i64 {
        match self {
            Exclusive::Review => 0x6673_7265_7669_6577,
        }
    }
}

impl Store {
    /// Runs `work` while holding `lock`: others asking for it wait (up to two
    /// minutes, then a conflict), in this process or any other.
    pub async fn exclusively<T>(
        &self,
        lock: Exclusive,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.db() {
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let acquired = tokio::time::timeout(
                    WAIT,
                    sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(lock.key())
                        .execute(&mut *conn),
                )
                .await;
                match acquired {
                    Ok(done) => {
                        done?;
                    }
                    Err(_) => {
                        // The wait was abandoned mid-statement: drop the connection.
                        let _ = conn.detach().close().await;
                        return Err(busy(lock));
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
                    .await?
                    .rows_affected();
                    if taken == 1 {
                        break;
                    }
                    if started.elapsed() > WAIT {
                        return Err(busy(lock));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let result = work.await;
                sqlx::query("DELETE FROM locks WHERE name = $1 AND holder = $2")
                    .bind(lock.name())
                    .bind(&holder)
                    .execute(pool)
                    .await?;
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
