//! Thresholds as the programme uses them: published (frozen) sets, and the manager's
//! answers for countries missing from the Big Mac data — comparable-country mappings
//! and approved price submissions.

use fairshare_engine::bigmac::release_in_force;
use fairshare_engine::requests::Request;
use fairshare_engine::{
    Basis, ComparableMapping, CountryCode, CurrencyCode, PriceSubmission, RequestKind,
    RequestState, Threshold, ThresholdPolicy, Verdict, compute_thresholds,
};
use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column, parse_decimal};

/// Who published a release's thresholds, when, and under which rules.
#[derive(Debug, Clone, Serialize)]
pub struct Publication {
    #[serde(with = "fairshare_engine::iso_date")]
    pub release: Date,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    pub published_by: String,
    pub reason: String,
    pub policy: ThresholdPolicy,
}

/// The thresholds of one release: the frozen published set if there is one, else
/// computed now from the stored data and the current policy.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdSet {
    #[serde(with = "fairshare_engine::iso_date")]
    pub release: Date,
    pub publication: Option<Publication>,
    /// The rules the rows follow (the publication's, once published).
    pub policy: ThresholdPolicy,
    pub rows: Vec<Threshold>,
}

impl ThresholdSet {
    pub fn country(&self, country: CountryCode) -> Option<&Threshold> {
        self.rows.iter().find(|t| t.iso_a3 == country)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MappingRecord {
    pub id: i64,
    pub country: CountryCode,
    pub like: CountryCode,
    pub recorded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// A Big Mac price submitted for a country missing from the data.
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionRecord {
    pub id: i64,
    pub country: CountryCode,
    pub currency: CurrencyCode,
    #[serde(with = "rust_decimal::serde::str")]
    pub local_price: Decimal,
    /// Units of the local currency per US dollar.
    #[serde(with = "rust_decimal::serde::str")]
    pub dollar_ex: Decimal,
    pub evidence: String,
    #[serde(with = "fairshare_engine::iso_date")]
    pub release: Date,
    pub status: RequestState,
    pub submitted_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub comment: Option<String>,
}

/// What a person submits; the release is the one in force when submitted.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub country: CountryCode,
    pub currency: CurrencyCode,
    pub local_price: Decimal,
    pub dollar_ex: Decimal,
    pub evidence: String,
    pub release: Date,
}

/// A published `thresholds` row (amounts as decimal text, the basis as JSON).
#[derive(sqlx::FromRow)]
struct ThresholdRow {
    iso_a3: String,
    name: String,
    currency_code: String,
    local_price: String,
    threshold_local: String,
    threshold_local_exact: String,
    threshold_usd: String,
    threshold_eur: Option<String>,
    basis: String,
}

/// A `price_submissions` row.
#[derive(sqlx::FromRow)]
struct SubmissionRow {
    id: i64,
    iso_a3: String,
    currency_code: String,
    local_price: String,
    dollar_ex: String,
    evidence: String,
    release_date: Date,
    status: String,
    submitted_by: String,
    submitted_at: OffsetDateTime,
    decided_by: Option<String>,
    decided_at: Option<OffsetDateTime>,
    comment: Option<String>,
}

const SUBMISSION_COLUMNS: &str = "id, iso_a3, currency_code, local_price, dollar_ex, evidence, \
     release_date, status, submitted_by, submitted_at, decided_by, decided_at, comment";

impl Store {
    /// The release in force on `on`: the latest stored release dated on or before it,
    /// leaving out partial releases nobody published by hand.
    pub async fn release_in_force(&self, on: Date) -> Result<Option<Date>> {
        let rows: Vec<(Date,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.release_date FROM bigmac_releases r WHERE NOT r.partial \
                 OR EXISTS (SELECT 1 FROM threshold_publications t WHERE t.release_date = r.release_date)",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(release_in_force(rows.into_iter().map(|(d,)| d), on))
    }

    /// The latest stored release dated on or before `on`, partial or not: what an
    /// operator publishing by hand means by "the release of that date".
    pub async fn release_on_or_before(&self, on: Date) -> Result<Option<Date>> {
        Ok(release_in_force(self.release_dates().await?, on))
    }

    /// Stored releases that are partial (`--partial`), oldest first.
    pub async fn partial_releases(&self) -> Result<Vec<Date>> {
        let rows: Vec<(Date,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT release_date FROM bigmac_releases WHERE partial ORDER BY release_date")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }

    pub async fn publication(&self, release: Date) -> Result<Option<Publication>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            release_date: Date,
            published_at: OffsetDateTime,
            published_by: String,
            reason: String,
            policy: String,
        }
        let row: Option<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT release_date, published_at, published_by, reason, policy \
                 FROM threshold_publications WHERE release_date = $1",
            )
            .bind(release)
            .fetch_optional(pool)
            .await?
        });
        row.map(|row| {
            Ok(Publication {
                release: row.release_date,
                published_at: row.published_at,
                published_by: row.published_by,
                reason: row.reason,
                policy: serde_json::from_str(&row.policy)
                    .map_err(|e| StoreError::Corrupt(format!("publication policy: {e}")))?,
            })
        })
        .transpose()
    }

    /// The thresholds of `release`: frozen if published, else computed with `policy`.
    pub async fn thresholds(
        &self,
        release: Date,
        policy: &ThresholdPolicy,
    ) -> Result<ThresholdSet> {
        if let Some(publication) = self.publication(release).await? {
            let rows: Vec<ThresholdRow> = on_pool!(self.db(), pool => {
                sqlx::query_as(
                    "SELECT iso_a3, name, currency_code, local_price, threshold_local, \
                     threshold_local_exact, threshold_usd, threshold_eur, basis \
                     FROM published_thresholds WHERE release_date = $1 ORDER BY iso_a3",
                )
                .bind(release)
                .fetch_all(pool)
                .await?
            });
            return Ok(ThresholdSet {
                release,
                policy: publication.policy.clone(),
                publication: Some(publication),
                rows: rows.iter().map(threshold_from_row).collect::<Result<_>>()?,
            });
        }
        Ok(ThresholdSet {
            release,
            publication: None,
            policy: policy.clone(),
            rows: self.compute(release, policy).await?,
        })
    }

    async fn compute(&self, release: Date, policy: &ThresholdPolicy) -> Result<Vec<Threshold>> {
        let data = self
            .release(release)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no Big Mac release dated {release}")))?;
        let mappings: Vec<ComparableMapping> = self
            .mappings()
            .await?
            .into_iter()
            .map(|m| ComparableMapping {
                country: m.country,
                like: m.like,
            })
            .collect();
        let submissions: Vec<PriceSubmission> = self
            .submissions()
            .await?
            .into_iter()
            .filter(|s| s.status == RequestState::Approved)
            .map(|s| PriceSubmission {
                id: s.id,
                country: s.country,
                currency: s.currency,
                local_price: s.local_price,
                dollar_ex: s.dollar_ex,
                release: s.release,
            })
            .collect();
        compute_thresholds(&data, policy, &mappings, &submissions)
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// Freezes the thresholds of `release` under `policy`. Publishing twice is refused.
    pub async fn publish_thresholds(
        &self,
        release: Date,
        policy: &ThresholdPolicy,
        actor: &str,
        reason: &str,
    ) -> Result<ThresholdSet> {
        let rows = self.compute(release, policy).await?;
        let policy_json = serde_json::to_string(policy).unwrap_or_default();
        let mut tx = Tx::begin(self.db()).await?;
        on_tx!(&mut tx, conn => {
            let inserted = sqlx::query(
                "INSERT INTO threshold_publications \
                 (release_date, published_at, published_by, reason, policy) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (release_date) DO NOTHING",
            )
            .bind(release)
            .bind(crate::now())
            .bind(actor)
            .bind(reason)
            .bind(&policy_json)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::Conflict(format!(
                    "the thresholds of the {release} release are already published"
                )));
            }
            for chunk in rows.chunks(200) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO published_thresholds (release_date, iso_a3, name, currency_code, \
                     local_price, threshold_local, threshold_local_exact, threshold_usd, \
                     threshold_eur, basis) ",
                );
                insert.push_values(chunk, |mut row, t| {
                    row.push_bind(release)
                        .push_bind(t.iso_a3.to_string())
                        .push_bind(t.name.clone())
                        .push_bind(t.currency.to_string())
                        .push_bind(t.local_price.to_string())
                        .push_bind(t.threshold_local.to_string())
                        .push_bind(t.threshold_local_exact.to_string())
                        .push_bind(t.threshold_usd.to_string())
                        .push_bind(t.threshold_eur.map(|v| v.to_string()))
                        .push_bind(serde_json::to_string(&t.basis).unwrap_or_default());
                });
                insert.build().execute(&mut *conn).await?;
            }
        });
        tx.audit(
            actor,
            "thresholds.publish",
            &format!("bigmac:release:{release}"),
            serde_json::json!({ "reason": reason, "policy": policy, "countries": rows.len() }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(%release, actor, countries = rows.len(), "thresholds published");
        self.thresholds(release, policy).await
    }

    /// Publishes the release in force on `today` unless it already is. Returns the
    /// release date when it published now.
    pub async fn publish_release_in_force(
        &self,
        today: Date,
        policy: &ThresholdPolicy,
        actor: &str,
    ) -> Result<Option<Date>> {
        let Some(release) = self.release_in_force(today).await? else {
            return Ok(None);
        };
        if self.publication(release).await?.is_some() {
            return Ok(None);
        }
        match self
            .publish_thresholds(release, policy, actor, "release in force")
            .await
        {
            Ok(_) => Ok(Some(release)),
            // Another instance published it first: the same outcome.
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Active comparable-country mappings.
    pub async fn mappings(&self) -> Result<Vec<MappingRecord>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            iso_a3: String,
            like_iso_a3: String,
            recorded_by: String,
            recorded_at: OffsetDateTime,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, iso_a3, like_iso_a3, recorded_by, recorded_at FROM comparable_countries \
                 WHERE removed_at IS NULL ORDER BY iso_a3",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(MappingRecord {
                    id: row.id,
                    country: stored_country(&row.iso_a3)?,
                    like: stored_country(&row.like_iso_a3)?,
                    recorded_by: row.recorded_by,
                    recorded_at: row.recorded_at,
                })
            })
            .collect()
    }

    /// Prices `country` like `like` from now on, replacing any earlier mapping.
    pub async fn map_country(
        &self,
        country: CountryCode,
        like: CountryCode,
        actor: &str,
    ) -> Result<MappingRecord> {
        if country == like {
            return Err(StoreError::Invalid(format!(
                "{country} cannot be mapped to itself"
            )));
        }
        let latest = self.latest_release().await?;
        let data = self
            .release(latest)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no Big Mac release dated {latest}")))?;
        if data.price(country).is_some() {
            return Err(StoreError::Invalid(format!(
                "{country} has its own row in the {latest} release; a mapping would not be used"
            )));
        }
        if data.price(like).is_none() {
            return Err(StoreError::Invalid(format!(
                "{like} is not in the {latest} release, so it cannot serve as a comparable country"
            )));
        }
        let mut tx = Tx::begin(self.db()).await?;
        retire_mapping(&mut tx, country, actor).await?;
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO comparable_countries (iso_a3, like_iso_a3, recorded_by, recorded_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(country.as_str())
            .bind(like.as_str())
            .bind(actor)
            .bind(crate::now())
            .execute(&mut *conn)
            .await?;
        });
        tx.audit(
            actor,
            "bigmac.map",
            &format!("bigmac:country:{country}"),
            serde_json::json!({ "like": like }),
        )
        .await?;
        tx.commit().await?;
        self.mappings()
            .await?
            .into_iter()
            .find(|m| m.country == country)
            .ok_or_else(|| StoreError::Corrupt("mapping vanished".into()))
    }

    pub async fn unmap_country(&self, country: CountryCode, actor: &str) -> Result<()> {
        let mut tx = Tx::begin(self.db()).await?;
        if retire_mapping(&mut tx, country, actor).await? == 0 {
            return Err(StoreError::NotFound(format!(
                "{country} has no comparable country"
            )));
        }
        tx.audit(
            actor,
            "bigmac.unmap",
            &format!("bigmac:country:{country}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn submissions(&self) -> Result<Vec<SubmissionRecord>> {
        let rows: Vec<SubmissionRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SUBMISSION_COLUMNS} FROM price_submissions ORDER BY id"
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(submission_from_row).collect()
    }

    pub async fn submission(&self, id: i64) -> Result<SubmissionRecord> {
        let row: Option<SubmissionRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SUBMISSION_COLUMNS} FROM price_submissions WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.map(submission_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("no price submission #{id}")))
    }

    /// Records a pending price submission for a country the release does not list.
    pub async fn submit_price(&self, new: NewSubmission, actor: &str) -> Result<SubmissionRecord> {
        let data = self.release(new.release).await?.ok_or_else(|| {
            StoreError::NotFound(format!("no Big Mac release dated {}", new.release))
        })?;
        if data.price(new.country).is_some() {
            return Err(StoreError::Invalid(format!(
                "{} has its own price in the {} release",
                new.country, new.release
            )));
        }
        for (field, value) in [("price", new.local_price), ("rate", new.dollar_ex)] {
            if value <= Decimal::ZERO {
                return Err(StoreError::Invalid(format!(
                    "{field} must be greater than zero, not {value}"
                )));
            }
        }
        fairshare_engine::links::web_link(&new.evidence).map_err(|why| {
            StoreError::Invalid(format!(
                "evidence must be a link to a receipt, menu or photo: {why}"
            ))
        })?;
        let mut tx = Tx::begin(self.db()).await?;
        let id: i64 = on_tx!(&mut tx, conn => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO price_submissions (iso_a3, currency_code, local_price, dollar_ex, \
                 evidence, release_date, status, submitted_by, submitted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) RETURNING id",
            )
            .bind(new.country.as_str())
            .bind(new.currency.as_str())
            .bind(new.local_price.to_string())
            .bind(new.dollar_ex.to_string())
            .bind(&new.evidence)
            .bind(new.release)
            .bind(actor)
            .bind(crate::now())
            .fetch_one(&mut *conn)
            .await?;
            id
        });
        tx.audit(
            actor,
            "bigmac.submit",
            &format!("bigmac:submission:{id}"),
            serde_json::json!({
                "country": new.country, "currency": new.currency,
                "price": new.local_price.to_string(), "rate": new.dollar_ex.to_string(),
                "evidence": new.evidence, "release": new.release.to_string(),
            }),
        )
        .await?;
        tx.commit().await?;
        self.submission(id).await
    }

    /// Approves or rejects a pending submission. The submitter cannot decide their own.
    pub async fn decide_submission(
        &self,
        id: i64,
        verdict: Verdict,
        actor: &str,
        comment: Option<&str>,
    ) -> Result<SubmissionRecord> {
        let current = self.submission(id).await?;
        // A price moves the threshold of every organisation headquartered in its
        // country, and the submitter's own: those are the ones it concerns.
        let mut concerns = self.ties_of(&current.submitted_by).await?;
        let in_country: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT slug FROM organisations WHERE country = $1")
                .bind(current.country.as_str())
                .fetch_all(pool)
                .await?
        });
        concerns.extend(in_country.into_iter().map(|(slug,)| slug));
        let status = self
            .decide_as(
                &Request {
                    kind: RequestKind::PriceSubmission,
                    id,
                    state: current.status,
                    submitted_by: &current.submitted_by,
                    concerns: &concerns,
                },
                actor,
                verdict,
            )
            .await?;
        let mut tx = Tx::begin(self.db()).await?;
        on_tx!(&mut tx, conn => {
            let changed = sqlx::query(
                "UPDATE price_submissions SET status = $1, decided_by = $2, decided_at = $3, \
                 comment = $4 WHERE id = $5 AND status = 'pending'",
            )
            .bind(status.as_str())
            .bind(actor)
            .bind(crate::now())
            .bind(comment)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(StoreError::Conflict(format!("price submission #{id} was decided meanwhile")));
            }
        });
        tx.audit(
            actor,
            if status == RequestState::Approved {
                "bigmac.approve"
            } else {
                "bigmac.reject"
            },
            &format!("bigmac:submission:{id}"),
            serde_json::json!({ "comment": comment }),
        )
        .await?;
        tx.commit().await?;
        self.submission(id).await
    }

    async fn latest_release(&self) -> Result<Date> {
        self.release_dates()
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound("no Big Mac data is stored".into()))
    }
}

fn stored_country(text: &str) -> Result<CountryCode> {
    CountryCode::parse_lenient(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn threshold_from_row(row: &ThresholdRow) -> Result<Threshold> {
    let basis = &row.basis;
    Ok(Threshold {
        iso_a3: stored_country(&row.iso_a3)?,
        name: row.name.clone(),
        currency: CurrencyCode::parse(&row.currency_code)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        local_price: parse_decimal("local_price", &row.local_price)?,
        threshold_local: parse_decimal("threshold_local", &row.threshold_local)?,
        threshold_local_exact: parse_decimal("threshold_local_exact", &row.threshold_local_exact)?,
        threshold_usd: parse_decimal("threshold_usd", &row.threshold_usd)?,
        threshold_eur: row
            .threshold_eur
            .as_deref()
            .map(|v| parse_decimal("threshold_eur", v))
            .transpose()?,
        basis: serde_json::from_str::<Basis>(basis)
            .map_err(|e| StoreError::Corrupt(format!("basis `{basis}`: {e}")))?,
    })
}

fn submission_from_row(row: SubmissionRow) -> Result<SubmissionRecord> {
    Ok(SubmissionRecord {
        id: row.id,
        country: stored_country(&row.iso_a3)?,
        currency: CurrencyCode::parse(&row.currency_code)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        local_price: parse_decimal("local_price", &row.local_price)?,
        dollar_ex: parse_decimal("dollar_ex", &row.dollar_ex)?,
        evidence: row.evidence,
        release: row.release_date,
        status: parse_column("price_submissions.status", &row.status)?,
        submitted_by: row.submitted_by,
        submitted_at: row.submitted_at,
        decided_by: row.decided_by,
        decided_at: row.decided_at,
        comment: row.comment,
    })
}

/// Ends `country`'s active mapping; returns how many were ended (0 or 1).
async fn retire_mapping(tx: &mut Tx, country: CountryCode, actor: &str) -> Result<u64> {
    Ok(on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE comparable_countries SET removed_at = $1, removed_by = $2 \
             WHERE iso_a3 = $3 AND removed_at IS NULL",
        )
        .bind(crate::now())
        .bind(actor)
        .bind(country.as_str())
        .execute(conn)
        .await?
        .rows_affected()
    }))
}
