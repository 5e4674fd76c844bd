//! Sponsorship payments: imports from the platforms' exports, manual entries and
//! removals (audited), sponsor accounts linked to organisations, and the payments an
//! organisation made. A payment's organisation is looked up through its account at
//! query time, so linking an account later needs no rewrite.

use std::collections::HashMap;

use fairshare_engine::compliance::{Coverage, Payment};
use fairshare_engine::{CurrencyCode, Money};
use fairshare_records::GITHUB_SPONSORS_ON_OPEN_COLLECTIVE;
use fairshare_records::PaymentRecord;
use serde::Serialize;
use time::{Date, Duration};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_decimal};

#[derive(Debug, Clone, Default, Serialize)]
pub struct PaymentImportSummary {
    pub read: usize,
    pub new: u64,
    pub already_known: u64,
}

/// A stored payment, as listings show it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentRow {
    pub id: i64,
    pub source: String,
    pub platform: Option<String>,
    pub account: Option<String>,
    /// The organisation it counts for, if any.
    pub org: Option<String>,
    #[serde(with = "fairshare_engine::iso_date")]
    pub date: Date,
    pub money: Money,
    pub coverage: String,
    pub reference: Option<String>,
}

/// A sponsor account that pays but belongs to no organisation yet.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UnlinkedAccount {
    pub platform: String,
    pub account: String,
    pub payments: i64,
    #[serde(with = "fairshare_engine::iso_date")]
    pub last_payment: Date,
}

/// The same money seen on both platforms: GitHub Sponsors paid it out to Open
/// Collective, which lists it as a contribution from `github-sponsors`.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicatePair {
    pub open_collective: PaymentRow,
    pub github_sponsors: PaymentRow,
}

/// A `payments` row with the organisation it counts for.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    source: String,
    platform: Option<String>,
    account: Option<String>,
    org: Option<String>,
    paid_on: Date,
    amount: String,
    currency: String,
    coverage: String,
    reference: Option<String>,
}

const SELECT: &str = "SELECT p.id, p.source, p.platform, p.account, o.slug AS org, p.paid_on, p.amount, p.currency, p.coverage, p.reference \
     FROM payments p LEFT JOIN sponsor_accounts s ON s.platform = p.platform AND s.account = p.account \
     LEFT JOIN organisations o ON o.id = COALESCE(p.org_id, s.org_id)";

impl Store {
    /// Stores a platform export in one transaction; a transaction id is stored once.
    pub async fn import_payments(
        &self,
        source: &str,
        input: &str,
        digest: &str,
        records: &[PaymentRecord],
        actor: &str,
    ) -> Result<PaymentImportSummary> {
        let mut summary = PaymentImportSummary {
            read: records.len(),
            ..Default::default()
        };
        refuse_conflicting_ids(input, records)?;
        let mut tx = Tx::begin(self.db()).await?;
        let run_id = tx.start_run(source, input, digest, actor).await?;
        for (n, chunk) in records.chunks(300).enumerate() {
            refuse_conflicts_with_stored(&mut tx, source, input, n * 300, chunk).await?;
            let inserted = on_tx!(&mut tx, conn => {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO payments (source, external_id, platform, account, paid_on, amount, currency, \
                     coverage, description, run_id, created_by, created_at) ",
                );
                insert.push_values(chunk, |mut b, r| {
                    b.push_bind(source.to_string())
                        .push_bind(r.external_id.clone())
                        .push_bind(r.platform.clone())
                        .push_bind(r.account.clone())
                        .push_bind(r.date)
                        .push_bind(r.money.amount.to_string())
                        .push_bind(r.money.currency.to_string())
                        .push_bind(coverage_text(r.coverage))
                        .push_bind(r.description.clone())
                        .push_bind(run_id)
                        .push_bind(actor.to_string())
                        .push_bind(crate::now());
                });
                insert.push(" ON CONFLICT (source, external_id) DO NOTHING");
                insert.build().execute(conn).await?.rows_affected()
            });
            summary.new += inserted;
        }
        summary.already_known = records.len() as u64 - summary.new;
        let details = serde_json::to_value(&summary).unwrap_or_default();
        tx.finish_run(run_id, &details).await?;
        tx.audit(
            actor,
            "payments.import",
            &format!("payments:{input}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Records a payment received outside the platforms (invoice, bank transfer).
    pub async fn add_payment(
        &self,
        org_slug: &str,
        money: Money,
        date: Date,
        coverage: Coverage,
        reference: &str,
        actor: &str,
    ) -> Result<i64> {
        let org = self.org_id(org_slug).await?;
        let mut tx = Tx::begin(self.db()).await?;
        let external = format!(
            "manual:{org}:{date}:{}:{}:{}",
            money.amount,
            money.currency,
            crate::now().unix_timestamp_nanos()
        );
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO payments (source, external_id, org_id, paid_on, amount, currency, coverage, reference, created_by, created_at) \
                 VALUES ('manual', $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&external)
            .bind(org)
            .bind(date)
            .bind(money.amount.to_string())
            .bind(money.currency.to_string())
            .bind(coverage_text(coverage))
            .bind(reference)
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        tx.audit(actor, "payments.add", &format!("org:{org_slug}"), serde_json::json!({
            "payment": id, "amount": money.amount.to_string(), "currency": money.currency, "date": date.to_string(), "reference": reference,
        })).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Takes a payment out of every computation, with the reason; it stays on record.
    pub async fn remove_payment(&self, id: i64, reason: &str, actor: &str) -> Result<()> {
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid("say why the payment is removed".into()));
        }
        let mut tx = Tx::begin(self.db()).await?;
        let changed = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE payments SET removed_at = $1, removed_by = $2, removed_reason = $3 WHERE id = $4 AND removed_at IS NULL")
                .bind(crate::now())
                .bind(actor)
                .bind(reason)
                .bind(id)
                .execute(conn)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "no payment #{id} (or it was removed already)"
            )));
        }
        tx.audit(
            actor,
            "payments.remove",
            &format!("payment:{id}"),
            serde_json::json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await
    }

    /// Links a sponsor account to an organisation: its payments count for it.
    pub async fn link_account(
        &self,
        org_slug: &str,
        platform: &str,
        account: &str,
        actor: &str,
    ) -> Result<()> {
        let account = normalised_account(account);
        let org = self.org_id(org_slug).await?;
        let mut tx = Tx::begin(self.db()).await?;
        if link_account_in(&mut tx, org, platform, &account).await? {
            tx.audit(
                actor,
                "accounts.link",
                &format!("org:{org_slug}"),
                serde_json::json!({ "platform": platform, "account": account }),
            )
            .await?;
        }
        tx.commit().await
    }

    pub async fn unlinked_accounts(&self) -> Result<Vec<UnlinkedAccount>> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT p.platform, p.account, COUNT(*) AS payments, MAX(p.paid_on) AS last_payment FROM payments p \
                 LEFT JOIN sponsor_accounts s ON s.platform = p.platform AND s.account = p.account \
                 WHERE p.org_id IS NULL AND s.org_id IS NULL AND p.removed_at IS NULL AND p.account IS NOT NULL \
                 AND NOT (p.platform = 'opencollective' AND p.account = $1) \
                 GROUP BY p.platform, p.account ORDER BY p.platform, p.account",
            )
            .bind(GITHUB_SPONSORS_ON_OPEN_COLLECTIVE)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Payments counted for an organisation, dated in `[from, until)`, not removed.
    pub async fn org_payments(
        &self,
        org_slug: &str,
        from: Date,
        until: Date,
    ) -> Result<Vec<PaymentRow>> {
        let org_id = self.org_id(org_slug).await?;
        // Payments reach an organisation directly or through its sponsor accounts:
        // each path on its own index (a condition on the joined organisation would read
        // every payment).
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE p.id IN (\
                 SELECT id FROM payments WHERE org_id = $1 AND paid_on >= $2 AND paid_on < $3 \
                 UNION SELECT d.id FROM sponsor_accounts a JOIN payments d ON d.platform = a.platform AND d.account = a.account \
                 WHERE a.org_id = $1 AND d.org_id IS NULL AND d.paid_on >= $2 AND d.paid_on < $3) \
                 AND p.removed_at IS NULL ORDER BY p.paid_on, p.id"
            )))
            .bind(org_id)
            .bind(from)
            .bind(until)
            .fetch_all(pool)
            .await?
        });
        let rows: Vec<PaymentRow> = rows.into_iter().map(payment_row).collect::<Result<_>>()?;
        // Charges implied by GitHub's API give way to the dashboard export's real
        // transactions for the same sponsor and month.
        let exported: std::collections::HashSet<(Option<String>, fairshare_engine::Month)> = rows
            .iter()
            .filter(|p| p.source == "github_sponsors")
            .map(|p| (p.account.clone(), fairshare_engine::Month::of(p.date)))
            .collect();
        Ok(rows
            .into_iter()
            .filter(|p| {
                p.source != "github_sponsors_api"
                    || !exported.contains(&(p.account.clone(), fairshare_engine::Month::of(p.date)))
            })
            .collect())
    }

    /// Open Collective contributions from `github-sponsors` that match a GitHub Sponsors
    /// payment of the same amount within a week: one payment seen twice.
    pub async fn duplicate_payments(&self) -> Result<Vec<DuplicatePair>> {
        let load = |platform: &'static str, oc: bool| async move {
            let condition = if oc {
                "p.platform = 'opencollective' AND p.account = $1"
            } else {
                "p.platform = $1"
            };
            let value = if oc {
                GITHUB_SPONSORS_ON_OPEN_COLLECTIVE
            } else {
                platform
            };
            let rows: Vec<Row> = on_pool!(self.db(), pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE {condition} AND p.removed_at IS NULL ORDER BY p.paid_on")))
                    .bind(value)
                    .fetch_all(pool)
                    .await?
            });
            rows.into_iter()
                .map(payment_row)
                .collect::<Result<Vec<_>>>()
        };
        let oc = load("opencollective", true).await?;
        let mut gh = load("github_sponsors", false).await?;
        let mut pairs = Vec::new();
        for payment in oc {
            if let Some(i) = gh.iter().position(|g| {
                g.money == payment.money && (g.date - payment.date).abs() <= Duration::days(7)
            }) {
                pairs.push(DuplicatePair {
                    open_collective: payment,
                    github_sponsors: gh.remove(i),
                });
            }
        }
        Ok(pairs)
    }

    /// Whether every record is stored already under `source`.
    pub async fn payments_known(&self, source: &str, records: &[PaymentRecord]) -> Result<bool> {
        for chunk in records.chunks(300) {
            let (known,): (i64,) = on_pool!(self.db(), pool => {
                let mut query = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM payments WHERE source = ");
                query.push_bind(source.to_string()).push(" AND external_id IN (");
                let mut list = query.separated(", ");
                for r in chunk {
                    list.push_bind(r.external_id.clone());
                }
                list.push_unseparated(")");
                query.build_query_as().fetch_one(pool).await?
            });
            if known as usize != chunk.len() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The accounts on `platform` linked to organisation `org`.
    pub async fn sponsor_accounts_of(&self, org: i64, platform: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT account FROM sponsor_accounts WHERE org_id = $1 AND platform = $2 ORDER BY account")
                .bind(org)
                .bind(platform)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(a,)| a).collect())
    }

    pub(crate) async fn org_id(&self, slug: &str) -> Result<i64> {
        let found: Option<(i64,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id FROM organisations WHERE slug = $1").bind(slug).fetch_optional(pool).await?
        });
        found
            .map(|(id,)| id)
            .ok_or_else(|| StoreError::NotFound(format!("no organisation `{slug}`")))
    }
}

impl PaymentRow {
    pub fn to_engine(&self) -> Payment {
        Payment {
            id: self.id,
            date: self.date,
            money: self.money,
            coverage: if self.coverage == "year" {
                Coverage::Year
            } else {
                Coverage::Month
            },
        }
    }
}

/// What a transaction id stands for: a second row with the same id must say the same.
struct Content {
    platform: String,
    account: String,
    date: Date,
    amount: rust_decimal::Decimal,
    currency: String,
    coverage: String,
}

impl Content {
    fn of(r: &PaymentRecord) -> Content {
        Content {
            platform: r.platform.clone(),
            account: r.account.clone(),
            date: r.date,
            amount: r.money.amount,
            currency: r.money.currency.to_string(),
            coverage: coverage_text(r.coverage).to_string(),
        }
    }
}

impl PartialEq for Content {
    /// `75.5` and `75.50` are one amount.
    fn eq(&self, other: &Content) -> bool {
        (
            &self.platform,
            &self.account,
            self.date,
            &self.currency,
            &self.coverage,
        ) == (
            &other.platform,
            &other.account,
            other.date,
            &other.currency,
            &other.coverage,
        ) && self.amount.normalize() == other.amount.normalize()
    }
}

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} by `{}` on {}",
            self.amount,
            self.currency,
            fairshare_engine::money::excerpt(&self.account),
            self.date
        )
    }
}

/// Names a record of an input: its line in a file, its position in an API read.
fn record_place(input: &str, index: usize, r: &PaymentRecord) -> String {
    if r.line > 0 {
        format!("{input}:{}", r.line)
    } else {
        format!("{input}, item {}", index + 1)
    }
}

/// Two rows of one input with the same transaction id must be the same payment: a
/// platform never reuses an id, so different content means a corrupt or edited export.
fn refuse_conflicting_ids(input: &str, records: &[PaymentRecord]) -> Result<()> {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (index, r) in records.iter().enumerate() {
        let earlier_index = *first.entry(r.external_id.as_str()).or_insert(index);
        if earlier_index == index {
            continue;
        }
        let earlier = &records[earlier_index];
        let (was, is) = (Content::of(earlier), Content::of(r));
        if was != is {
            return Err(StoreError::Conflict(format!(
                "{} and {} carry the same transaction id `{}` with different content ({was} / {is}); nothing was imported",
                record_place(input, earlier_index, earlier),
                record_place(input, index, r),
                fairshare_engine::money::excerpt(&r.external_id),
            )));
        }
    }
    Ok(())
}

/// A transaction id stored by an earlier import must come back with the same content.
async fn refuse_conflicts_with_stored(
    tx: &mut Tx,
    source: &str,
    input: &str,
    offset: usize,
    chunk: &[PaymentRecord],
) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Stored {
        external_id: String,
        platform: Option<String>,
        account: Option<String>,
        paid_on: Date,
        amount: String,
        currency: String,
        coverage: String,
        input_name: Option<String>,
    }
    let stored: Vec<Stored> = on_tx!(tx, conn => {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT p.external_id, p.platform, p.account, p.paid_on, p.amount, p.currency, p.coverage, r.input_name \
             FROM payments p LEFT JOIN import_runs r ON r.id = p.run_id WHERE p.source = ",
        );
        query.push_bind(source.to_string()).push(" AND p.external_id IN (");
        let mut list = query.separated(", ");
        for r in chunk {
            list.push_bind(r.external_id.clone());
        }
        list.push_unseparated(")");
        query.build_query_as().fetch_all(conn).await?
    });
    let stored: HashMap<String, Stored> = stored
        .into_iter()
        .map(|row| (row.external_id.clone(), row))
        .collect();
    for (i, r) in chunk.iter().enumerate() {
        let Some(row) = stored.get(&r.external_id) else {
            continue;
        };
        let was = Content {
            platform: row.platform.clone().unwrap_or_default(),
            account: row.account.clone().unwrap_or_default(),
            date: row.paid_on,
            amount: parse_decimal("payments.amount", &row.amount)?,
            currency: row.currency.clone(),
            coverage: row.coverage.clone(),
        };
        let is = Content::of(r);
        if was != is {
            return Err(StoreError::Conflict(format!(
                "{} carries transaction id `{}`, already stored from {} with different content ({was} / {is}); nothing was imported",
                record_place(input, offset + i, r),
                fairshare_engine::money::excerpt(&r.external_id),
                row.input_name.as_deref().unwrap_or("an earlier import"),
            )));
        }
    }
    Ok(())
}

fn coverage_text(coverage: Coverage) -> &'static str {
    match coverage {
        Coverage::Month => "month",
        Coverage::Year => "year",
    }
}

fn payment_row(row: Row) -> Result<PaymentRow> {
    let currency =
        CurrencyCode::parse(&row.currency).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(PaymentRow {
        money: Money::new(parse_decimal("amount", &row.amount)?, currency),
        id: row.id,
        source: row.source,
        platform: row.platform,
        account: row.account,
        org: row.org,
        date: row.paid_on,
        coverage: row.coverage,
        reference: row.reference,
    })
}

/// Links `account` (normalised) to `org` within `tx`; whether it was new. An account
/// another organisation has is refused.
pub(crate) async fn link_account_in(
    tx: &mut Tx,
    org: i64,
    platform: &str,
    account: &str,
) -> Result<bool> {
    if platform == "opencollective" && account == GITHUB_SPONSORS_ON_OPEN_COLLECTIVE {
        return Err(StoreError::Invalid(format!(
            "`{account}` on Open Collective is GitHub Sponsors' payout account, shared by every GitHub sponsor: link the sponsor's GitHub login instead"
        )));
    }
    let existing: Option<(i64,)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT org_id FROM sponsor_accounts WHERE platform = $1 AND account = $2")
            .bind(platform)
            .bind(account)
            .fetch_optional(conn)
            .await?
    });
    match existing {
        Some((other,)) if other == org => return Ok(false),
        Some(_) => {
            return Err(StoreError::Conflict(format!(
                "{platform} account `{account}` belongs to another organisation"
            )));
        }
        None => {}
    }
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO sponsor_accounts (platform, account, org_id) VALUES ($1, $2, $3)")
            .bind(platform)
            .bind(account)
            .bind(org)
            .execute(conn)
            .await?;
    });
    Ok(true)
}

/// How sponsor accounts are stored: no `@`, lower case.
pub(crate) fn normalised_account(account: &str) -> String {
    account.trim().trim_start_matches('@').to_lowercase()
}
