//! Big Mac releases and prices: idempotent, all-or-nothing imports that never touch a
//! release whose thresholds were published.

use std::collections::{BTreeMap, HashMap, HashSet};

use fairshare_engine::bigmac::{Completeness, check_release};
use fairshare_engine::{BigMacPrice, CountryCode, CurrencyCode, Release};
use fairshare_records::BigMacFile;
use serde::Serialize;
use time::Date;

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_decimal};

/// A row of an imported file that restates a published release: kept as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrozenRow {
    #[serde(with = "fairshare_engine::iso_date")]
    pub release: Date,
    pub iso_a3: String,
    /// What differs, e.g. `local_price 5.66 → 4.89`, or `not in the published data`.
    pub difference: String,
}

/// What a Big Mac import did.
#[derive(Debug, Clone, Serialize)]
pub struct BigMacImportSummary {
    pub run_id: i64,
    pub input_name: String,
    /// This exact file had been imported before.
    pub already_imported: bool,
    pub releases: usize,
    pub releases_new: usize,
    pub rows_read: usize,
    pub rows_new: usize,
    pub rows_changed: usize,
    pub rows_unchanged: usize,
    pub frozen: Vec<FrozenRow>,
    /// Releases stored as partial (`--partial`): never in force until published.
    pub partial: Vec<String>,
    /// `line: reason` of each row the file gives without a price.
    pub skipped: Vec<String>,
}

/// What a Big Mac file is checked against before anything of it is stored.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseChecks {
    /// The base country of the rules: a release without it prices nothing.
    pub base_country: CountryCode,
    /// The operator accepts releases with markedly fewer countries than the one
    /// before (`--partial`); they are stored but never in force until published.
    pub partial: bool,
}

const INSERT_CHUNK: usize = 200;

/// A `bigmac_prices` row as stored (amounts as decimal text).
#[derive(sqlx::FromRow)]
struct PriceRow {
    iso_a3: String,
    name: String,
    currency_code: String,
    local_price: String,
    dollar_ex: String,
}

impl Store {
    /// Stores every release of `file` in one transaction. Rows equal to what is stored
    /// are left alone (re-imports change nothing); a release whose thresholds were
    /// published keeps its stored rows and the differences are reported as `frozen`.
    pub async fn import_bigmac(
        &self,
        input_name: &str,
        digest: &str,
        file: &BigMacFile,
        checks: Option<ReleaseChecks>,
        actor: &str,
    ) -> Result<BigMacImportSummary> {
        let mut summary = BigMacImportSummary {
            run_id: 0,
            input_name: input_name.to_string(),
            already_imported: false,
            releases: file.releases.len(),
            releases_new: 0,
            rows_read: file.releases.iter().map(|r| r.prices.len()).sum(),
            rows_new: 0,
            rows_changed: 0,
            rows_unchanged: 0,
            frozen: Vec::new(),
            partial: Vec::new(),
            skipped: file
                .skipped
                .iter()
                .map(|s| format!("line {}: {}", s.line, s.reason))
                .collect(),
        };
        summary.already_imported = self.digest_imported("bigmac", digest).await?;
        let mut tx = Tx::begin(self.db()).await?;
        let run_id = tx.start_run("bigmac", input_name, digest, actor).await?;
        summary.run_id = run_id;
        on_tx!(&mut tx, conn => {
            let published: HashSet<Date> =
                sqlx::query_as::<_, (Date,)>("SELECT release_date FROM threshold_publications")
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|(d,)| d)
                    .collect();
            // Each stored release's size and completeness, updated as this file's
            // releases are taken in date order, to find "the release before".
            let mut sizes: BTreeMap<Date, (usize, Completeness)> = sqlx::query_as::<_, (Date, bool, i64)>(
                "SELECT r.release_date, r.partial, COUNT(p.iso_a3) FROM bigmac_releases r \
                 LEFT JOIN bigmac_prices p ON p.release_date = r.release_date \
                 GROUP BY r.release_date, r.partial",
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(date, partial, count)| {
                let completeness = if partial { Completeness::Partial } else { Completeness::Complete };
                (date, (count as usize, completeness))
            })
            .collect();

            for release in &file.releases {
                let stored: HashMap<String, PriceRow> = if sizes.contains_key(&release.date) {
                    sqlx::query_as::<_, PriceRow>(
                        "SELECT iso_a3, name, currency_code, local_price, dollar_ex \
                         FROM bigmac_prices WHERE release_date = $1",
                    )
                    .bind(release.date)
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|row| (row.iso_a3.clone(), row))
                    .collect()
                } else {
                    sqlx::query("INSERT INTO bigmac_releases (release_date, first_run_id) VALUES ($1, $2)")
                        .bind(release.date)
                        .bind(run_id)
                        .execute(&mut *conn)
                        .await?;
                    summary.releases_new += 1;
                    HashMap::new()
                };
                let is_published = published.contains(&release.date);
                let mut to_write: Vec<&BigMacPrice> = Vec::new();
                for price in &release.prices {
                    match stored.get(price.iso_a3.as_str()) {
                        Some(row) => {
                            let difference = describe_difference(row, price)?;
                            if difference.is_empty() {
                                summary.rows_unchanged += 1;
                            } else if is_published {
                                summary.frozen.push(FrozenRow {
                                    release: release.date,
                                    iso_a3: price.iso_a3.to_string(),
                                    difference,
                                });
                            } else {
                                summary.rows_changed += 1;
                                to_write.push(price);
                            }
                        }
                        None if is_published => summary.frozen.push(FrozenRow {
                            release: release.date,
                            iso_a3: price.iso_a3.to_string(),
                            difference: "not in the published data".to_string(),
                        }),
                        None => {
                            summary.rows_new += 1;
                            to_write.push(price);
                        }
                    }
                }
                if let Some(checks) = checks.filter(|_| !is_published && !to_write.is_empty()) {
                    // The release as it will be stored: its rows, restated by this file.
                    let mut outcome: BTreeMap<CountryCode, BigMacPrice> = stored
                        .values()
                        .map(|row| price_from_row(row).map(|p| (p.iso_a3, p)))
                        .collect::<Result<_>>()?;
                    for price in &to_write {
                        outcome.insert(price.iso_a3, (*price).clone());
                    }
                    let outcome = Release::new(release.date, outcome.into_values().collect());
                    let previous = sizes
                        .range(..release.date)
                        .rev()
                        .find(|(_, (_, c))| *c == Completeness::Complete)
                        .map(|(date, (count, _))| (*date, *count));
                    let completeness =
                        check_release(&outcome, checks.base_country, previous, checks.partial)
                            .map_err(|problem| StoreError::Invalid(format!("{input_name}: {problem}")))?;
                    if completeness == Completeness::Partial {
                        summary.partial.push(release.date.to_string());
                    }
                    let was = sizes.insert(release.date, (outcome.prices.len(), completeness));
                    // A new release is stored complete; only a change of state is written.
                    if was.map_or(Completeness::Complete, |(_, c)| c) != completeness {
                        sqlx::query("UPDATE bigmac_releases SET partial = $1 WHERE release_date = $2")
                            .bind(completeness == Completeness::Partial)
                            .bind(release.date)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                for chunk in to_write.chunks(INSERT_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO bigmac_prices \
                         (release_date, iso_a3, name, currency_code, local_price, dollar_ex, run_id) ",
                    );
                    insert.push_values(chunk, |mut row, price| {
                        row.push_bind(release.date)
                            .push_bind(price.iso_a3.to_string())
                            .push_bind(price.name.clone())
                            .push_bind(price.currency.to_string())
                            .push_bind(price.local_price.to_string())
                            .push_bind(price.dollar_ex.to_string())
                            .push_bind(run_id);
                    });
                    insert.push(
                        " ON CONFLICT (release_date, iso_a3) DO UPDATE SET \
                         name = excluded.name, currency_code = excluded.currency_code, \
                         local_price = excluded.local_price, dollar_ex = excluded.dollar_ex, \
                         run_id = excluded.run_id",
                    );
                    insert.build().execute(&mut *conn).await?;
                }
            }
        });
        let details = serde_json::to_value(&summary).unwrap_or_default();
        tx.finish_run(run_id, &details).await?;
        tx.audit(
            actor,
            "bigmac.import",
            &format!("bigmac:{input_name}"),
            details,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            input = input_name,
            run_id = summary.run_id,
            rows_new = summary.rows_new,
            rows_changed = summary.rows_changed,
            frozen = summary.frozen.len(),
            "big mac data imported"
        );
        Ok(summary)
    }

    /// Every stored release date, oldest first.
    pub async fn release_dates(&self) -> Result<Vec<Date>> {
        let rows: Vec<(Date,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT release_date FROM bigmac_releases ORDER BY release_date")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }

    pub async fn release(&self, date: Date) -> Result<Option<Release>> {
        let rows: Vec<PriceRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT iso_a3, name, currency_code, local_price, dollar_ex \
                 FROM bigmac_prices WHERE release_date = $1 ORDER BY iso_a3",
            )
            .bind(date)
            .fetch_all(pool)
            .await?
        });
        if rows.is_empty() {
            return Ok(None);
        }
        let prices = rows
            .into_iter()
            .map(|row| price_from_row(&row))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Release::new(date, prices)))
    }
}

fn price_from_row(row: &PriceRow) -> Result<BigMacPrice> {
    Ok(BigMacPrice {
        iso_a3: CountryCode::parse_lenient(&row.iso_a3)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: row.name.clone(),
        currency: CurrencyCode::parse(&row.currency_code)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        local_price: parse_decimal("local_price", &row.local_price)?,
        dollar_ex: parse_decimal("dollar_ex", &row.dollar_ex)?,
    })
}

/// Empty when the stored row says the same as the file's.
fn describe_difference(stored: &PriceRow, price: &BigMacPrice) -> Result<String> {
    let old = price_from_row(stored)?;
    let mut parts = Vec::new();
    if old.name != price.name {
        parts.push(format!("name {} → {}", old.name, price.name));
    }
    if old.currency != price.currency {
        parts.push(format!(
            "currency_code {} → {}",
            old.currency, price.currency
        ));
    }
    if old.local_price != price.local_price {
        parts.push(format!(
            "local_price {} → {}",
            old.local_price, price.local_price
        ));
    }
    if old.dollar_ex != price.dollar_ex {
        parts.push(format!("dollar_ex {} → {}", old.dollar_ex, price.dollar_ex));
    }
    Ok(parts.join(", "))
}
