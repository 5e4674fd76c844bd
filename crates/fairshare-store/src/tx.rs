//! A transaction on either backend, for work that spans many statements and awaits
//! (an ingest session, a merge). Helpers take `&mut Tx` and dispatch with `on_tx!`.

use crate::{Backend, Db, Result};

pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::tx::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::tx::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a writer that finds it taken waits its turn (the busy timeout) instead of
    /// failing at its first write because another wrote since it began reading.
    pub async fn begin(db: &Db) -> Result<Tx> {
        Ok(match db {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Appends an audit entry.
    pub async fn audit(
        &mut self,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO audit_log (at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(crate::now())
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(details.to_string())
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    /// Writes a reviewer's decision on a waiting request in `table` (one of the
    /// requests tables: claims, organisation changes, disputes, account links): its
    /// new state, who decided, when, and the comment (an empty one is none). Returns
    /// whether the request was still waiting.
    pub async fn settle(
        &mut self,
        table: &'static str,
        id: i64,
        state: fairshare_engine::RequestState,
        actor: &str,
        comment: &str,
    ) -> Result<bool> {
        let changed = on_tx!(self, conn => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET status = $1, decided_by = $2, decided_at = $3, comment = $4 \
                 WHERE id = $5 AND status = 'pending'"
            )))
            .bind(state.as_str())
            .bind(actor)
            .bind(crate::now())
            .bind(Some(comment.trim()).filter(|c| !c.is_empty()))
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Records an import run and returns its id.
    pub async fn start_run(
        &mut self,
        source: &str,
        input: &str,
        digest: &str,
        actor: &str,
    ) -> Result<i64> {
        let (id,): (i64,) = on_tx!(self, conn => {
            sqlx::query_as(
                "INSERT INTO import_runs (source, input_name, digest, actor, started_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(source)
            .bind(input)
            .bind(digest)
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        Ok(id)
    }

    pub async fn finish_run(&mut self, run_id: i64, summary: &serde_json::Value) -> Result<()> {
        on_tx!(self, conn => {
            sqlx::query("UPDATE import_runs SET summary = $1 WHERE id = $2")
                .bind(summary.to_string())
                .bind(run_id)
                .execute(conn)
                .await?;
        });
        Ok(())
    }
}
