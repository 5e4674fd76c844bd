//! Changes an organisation asks for to what decides its money and its credit: HQ
//! country (its threshold), website, email domains (whose work is credited to it) and
//! sponsor accounts (whose payments count for it). Each waits for a reviewer other
//! than the requester; an approval applies the whole change in one transaction —
//! domains replaced with every affected member's activity re-attributed, new sponsor
//! accounts linked — or nothing.

use std::collections::BTreeSet;

use fairshare_engine::requests::Request;
use fairshare_engine::{CountryCode, RequestKind, RequestState, Verdict};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::applications::SponsorAccount;
use crate::directory::{DomainClaim, claim_domain, reattribute, release_domains};
use crate::payments::link_account_in;
use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column};

/// What the organisation asks for: the country and website it should have, its name
/// and domains if they change, and sponsor accounts to link (existing links stay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailsChange {
    /// A new name (an application for an organisation on record may rename it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub country: CountryCode,
    pub website: Option<String>,
    /// The email domains it should have; `None` keeps the current ones.
    pub domains: Option<Vec<String>>,
    pub sponsor_accounts: Vec<SponsorAccount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeRequest {
    pub id: i64,
    pub org: String,
    pub change: DetailsChange,
    pub status: RequestState,
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
}

impl DetailsChange {
    /// The domains asked for, as a reviewer reads them.
    pub fn domains_text(&self) -> String {
        match &self.domains {
            Some(domains) if domains.is_empty() => "none".into(),
            Some(domains) => domains.join(", "),
            None => "unchanged".into(),
        }
    }

    /// Normalises domains and accounts and refuses what could never be right.
    fn checked(mut self) -> Result<DetailsChange> {
        let mut domains = BTreeSet::new();
        for domain in self.domains.iter().flatten() {
            let domain = domain.trim().trim_start_matches('@').to_lowercase();
            if domain.is_empty() {
                continue;
            }
            if !domain.contains('.')
                || !domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                return Err(StoreError::Invalid(format!(
                    "`domains`: `{domain}` is not an email domain (like example.com)"
                )));
            }
            if fairshare_engine::attribution::never_maps(&domain) {
                return Err(StoreError::Invalid(format!(
                    "`domains`: {domain} is a public email provider; its users are not your staff"
                )));
            }
            domains.insert(domain);
        }
        if self.domains.is_some() {
            self.domains = Some(domains.into_iter().collect());
        }
        self.sponsor_accounts = self
            .sponsor_accounts
            .into_iter()
            .map(|account| account.checked("sponsor_accounts"))
            .collect::<Result<_>>()?;
        self.website = crate::optional_web_link("website", self.website.as_deref())?;
        if let Some(name) = &mut self.name {
            *name = name.trim().to_string();
            if name.is_empty() {
                return Err(StoreError::Invalid("`name` cannot be empty".into()));
            }
        }
        Ok(self)
    }
}

/// An `organisation_changes` row with its organisation's slug.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    org: String,
    details: String,
    status: String,
    requested_by: String,
    requested_at: OffsetDateTime,
    decided_by: Option<String>,
    comment: Option<String>,
}

const SELECT: &str = "SELECT c.id, o.slug AS org, c.details, c.status, c.requested_by, c.requested_at, \
     c.decided_by, c.comment FROM organisation_changes c JOIN organisations o ON o.id = c.org_id";

fn request(row: Row) -> Result<ChangeRequest> {
    let change = serde_json::from_str(&row.details).map_err(|e| {
        StoreError::Corrupt(format!(
            "organisation change #{} cannot be read: {e}",
            row.id
        ))
    })?;
    Ok(ChangeRequest {
        status: parse_column("organisation_changes.status", &row.status)?,
        id: row.id,
        org: row.org,
        change,
        requested_by: row.requested_by,
        requested_at: row.requested_at,
        decided_by: row.decided_by,
        comment: row.comment,
    })
}

impl Store {
    /// Records a change for a reviewer to decide; audited. One pending change per
    /// organisation: a new request replaces the pending one.
    pub async fn request_details_change(
        &self,
        org: &str,
        change: DetailsChange,
        actor: &str,
    ) -> Result<i64> {
        let org_id = self.org_id(org).await?;
        let mut tx = Tx::begin(self.db()).await?;
        let id = record_change(&mut tx, org_id, org, change, actor).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One organisation's requests, or every pending one; newest first.
    pub async fn details_changes(&self, org: Option<&str>) -> Result<Vec<ChangeRequest>> {
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE ($1 = '' AND c.status = 'pending') OR o.slug = $1 ORDER BY c.id DESC"
            )))
            .bind(org.unwrap_or(""))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(request).collect()
    }

    /// One change request.
    pub async fn details_change(&self, id: i64) -> Result<ChangeRequest> {
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .next()
            .map(request)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("no organisation change #{id}")))
    }

    /// Approves (applying it whole) or rejects a pending change. Nobody decides their
    /// own request.
    pub async fn decide_details_change(
        &self,
        id: i64,
        verdict: Verdict,
        comment: &str,
        actor: &str,
    ) -> Result<()> {
        let request = self.details_change(id).await?;
        let status = self
            .decide_as(
                &Request {
                    kind: RequestKind::OrganisationChange,
                    id,
                    state: request.status,
                    submitted_by: &request.requested_by,
                    concerns: std::slice::from_ref(&request.org),
                },
                actor,
                verdict,
            )
            .await?;
        let approve = status == RequestState::Approved;
        let org_id = self.org_id(&request.org).await?;
        let change = &request.change;
        let mut tx = Tx::begin(self.db()).await?;
        let mut reattributed = 0;
        if approve {
            on_tx!(&mut tx, conn => {
                sqlx::query("UPDATE organisations SET country = $1, website = $2, name = COALESCE($3, name) WHERE id = $4")
                    .bind(change.country.as_str())
                    .bind(&change.website)
                    .bind(&change.name)
                    .bind(org_id)
                    .execute(conn)
                    .await?;
            });
            let mut changed = BTreeSet::new();
            if let Some(domains) = &change.domains {
                release_domains(&mut tx, org_id, domains, &mut changed).await?;
            }
            for domain in change.domains.iter().flatten() {
                match claim_domain(&mut tx, org_id, domain).await? {
                    DomainClaim::AlreadyOwn => {}
                    DomainClaim::Claimed => {
                        changed.insert(domain.clone());
                    }
                    DomainClaim::TakenBy(slug) => {
                        return Err(StoreError::Conflict(format!(
                            "{domain} belongs to organisation `{slug}`: settle that first"
                        )));
                    }
                }
            }
            let members = crate::directory::members_with_email_domains(&mut tx, &changed).await?;
            reattributed = reattribute(&mut tx, &members).await?;
            for account in &change.sponsor_accounts {
                link_account_in(&mut tx, org_id, &account.platform, &account.account).await?;
            }
        }
        tx.settle("organisation_changes", id, status, actor, comment)
            .await?;
        tx.audit(
            actor,
            if approve {
                "organisations.change_approve"
            } else {
                "organisations.change_reject"
            },
            &format!("org:{}", request.org),
            serde_json::json!({ "request": id, "reattributed": reattributed, "comment": comment.trim() }),
        )
        .await?;
        tx.commit().await
    }
}

/// Records `change` for a reviewer to decide, inside `tx`; audited. One pending
/// change per organisation: a new request replaces the pending one.
pub(crate) async fn record_change(
    tx: &mut Tx,
    org_id: i64,
    org: &str,
    change: DetailsChange,
    actor: &str,
) -> Result<i64> {
    let change = change.checked()?;
    let details =
        serde_json::to_string(&change).map_err(|e| StoreError::Invalid(format!("change: {e}")))?;
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE organisation_changes SET status = 'rejected', decided_by = $1, decided_at = $2, \
             comment = 'replaced by a newer request' WHERE org_id = $3 AND status = 'pending'",
        )
        .bind(actor)
        .bind(crate::now())
        .bind(org_id)
        .execute(conn)
        .await?;
    });
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO organisation_changes (org_id, details, status, requested_by, requested_at) \
             VALUES ($1, $2, 'pending', $3, $4) RETURNING id",
        )
        .bind(org_id)
        .bind(&details)
        .bind(actor)
        .bind(crate::now())
        .fetch_one(conn)
        .await?
    });
    tx.audit(
        actor,
        "organisations.change_request",
        &format!("org:{org}"),
        serde_json::json!({ "request": id, "change": change }),
    )
    .await?;
    Ok(id)
}
