//! Reference exchange rates (ECB): idempotent imports and the rate table a
//! computation needs.

use fairshare_engine::{CurrencyCode, RateTable};
use fairshare_records::Rate;
use serde::Serialize;
use time::{Date, Duration};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, on_pool, parse_decimal};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RatesImportSummary {
    pub read: usize,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
}

const CHUNK: usize = 300;

impl Store {
    /// Stores rates in one transaction: new days are added, revised values replace
    /// the old ones (and are counted), equal ones are left alone.
    pub async fn import_rates(
        &self,
        input: &str,
        digest: &str,
        rates: &[Rate],
        actor: &str,
    ) -> Result<RatesImportSummary> {
        let mut summary = RatesImportSummary {
            read: rates.len(),
            ..Default::default()
        };
        let mut tx = Tx::begin(self.db()).await?;
        let run_id = tx.start_run("ecb", input, digest, actor).await?;
        let before: i64 = count(&mut tx).await?;
        for chunk in rates.chunks(CHUNK) {
            let changed = on_tx!(&mut tx, conn => {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO exchange_rates (day, currency, per_eur) ");
                insert.push_values(chunk, |mut b, r| {
                    b.push_bind(r.day).push_bind(r.currency.to_string()).push_bind(r.per_eur.to_string());
                });
                insert.push(
                    " ON CONFLICT (currency, day) DO UPDATE SET per_eur = excluded.per_eur \
                     WHERE exchange_rates.per_eur <> excluded.per_eur",
                );
                insert.build().execute(conn).await?.rows_affected()
            });
            summary.changed += changed;
        }
        let after: i64 = count(&mut tx).await?;
        summary.new = (after - before) as u64;
        summary.changed -= summary.new;
        summary.unchanged = rates.len() as u64 - summary.new - summary.changed;
        let details = serde_json::to_value(&summary).unwrap_or_default();
        tx.finish_run(run_id, &details).await?;
        tx.audit(actor, "rates.import", &format!("rates:{input}"), details)
            .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// A Big Mac release's `dollar_ex` (units per USD): the fallback for currencies the
    /// ECB does not publish.
    pub async fn dollar_rates(&self, release: Date) -> Result<fairshare_engine::DollarRates> {
        let data = self.release(release).await?;
        Ok(fairshare_engine::DollarRates {
            release: Some(release),
            per_usd: data
                .map(|r| r.prices.iter().map(|p| (p.currency, p.dollar_ex)).collect())
                .unwrap_or_default(),
        })
    }

    /// The rates of `currencies` from a little before `from` (to cover weekends) to `to`.
    pub async fn rate_table(
        &self,
        currencies: &[CurrencyCode],
        from: Date,
        to: Date,
    ) -> Result<RateTable> {
        let mut table = RateTable::default();
        let start = from - Duration::days(fairshare_engine::rates::MAX_STALENESS_DAYS);
        for currency in currencies.iter().filter(|c| **c != CurrencyCode::EUR) {
            let rows: Vec<(Date, String)> = on_pool!(self.db(), pool => {
                sqlx::query_as(
                    "SELECT day, per_eur FROM exchange_rates WHERE currency = $1 AND day >= $2 AND day <= $3",
                )
                .bind(currency.as_str())
                .bind(start)
                .bind(to)
                .fetch_all(pool)
                .await?
            });
            for (day, rate) in rows {
                table.insert(day, *currency, parse_decimal("per_eur", &rate)?);
            }
        }
        Ok(table)
    }
}

async fn count(tx: &mut Tx) -> Result<i64> {
    let (n,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as("SELECT COUNT(*) FROM exchange_rates").fetch_one(conn).await?
    });
    Ok(n)
}
