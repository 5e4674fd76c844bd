//! Sponsorship events received by webhook: each delivery stored once, as received,
//! with the fields the programme reads (action, sponsor account, tier).

use fairshare_records::github_sponsors::{activity_of, charges};
use time::{Date, OffsetDateTime};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, on_pool};

pub use fairshare_records::SponsorshipEvent;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(flatten)]
    pub event: SponsorshipEvent,
}

/// A `sponsorship_events` row.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    platform: String,
    delivery_id: String,
    action: String,
    account: Option<String>,
    tier_amount: Option<String>,
    currency: Option<String>,
    is_yearly: Option<String>,
    one_time: Option<String>,
    started_on: Option<Date>,
    received_at: OffsetDateTime,
    payload: String,
}

impl Store {
    /// Stores an event unless it was stored before — the same delivery, or the same
    /// payload replayed under a new delivery id; returns whether it was new.
    pub async fn record_sponsorship_event(&self, event: &SponsorshipEvent) -> Result<bool> {
        let mut tx = Tx::begin(self.db()).await?;
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO sponsorship_events (platform, delivery_id, action, account, tier_amount, currency, is_yearly, one_time, started_on, received_at, payload, fingerprint) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
            )
            .bind(&event.platform)
            .bind(&event.delivery_id)
            .bind(&event.action)
            .bind(&event.account)
            .bind(&event.tier_amount)
            .bind(&event.currency)
            .bind(event.is_yearly.map(|y| y.to_string()))
            .bind(event.one_time.map(|y| y.to_string()))
            .bind(event.started_on)
            .bind(crate::now())
            .bind(&event.payload)
            .bind(fingerprint(&event.payload))
            .execute(conn)
            .await?
            .rows_affected()
        });
        if inserted > 0 {
            tx.audit("webhook", &format!("sponsorship.{}", event.action), &format!("sponsor:{}:{}", event.platform, event.account.as_deref().unwrap_or("?")), serde_json::json!({
                "delivery": event.delivery_id, "tier_amount": event.tier_amount, "currency": event.currency,
            })).await?;
        }
        tx.commit().await?;
        Ok(inserted > 0)
    }

    pub async fn sponsorship_events(&self) -> Result<Vec<StoredEvent>> {
        self.events_where(None).await
    }

    /// Events, all or those of one `(platform, account)`.
    async fn events_where(&self, of: Option<(&str, &str)>) -> Result<Vec<StoredEvent>> {
        let (platform, account) = of.unwrap_or(("", ""));
        let rows: Vec<EventRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, platform, delivery_id, action, account, tier_amount, currency, is_yearly, one_time, started_on, received_at, payload \
                 FROM sponsorship_events WHERE ($1 = '' OR (platform = $1 AND account = $2)) ORDER BY id",
            )
            .bind(platform)
            .bind(account)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| StoredEvent {
                id: row.id,
                received_at: row.received_at,
                event: SponsorshipEvent {
                    platform: row.platform,
                    delivery_id: row.delivery_id,
                    action: row.action,
                    account: row.account,
                    tier_amount: row.tier_amount,
                    currency: row.currency,
                    is_yearly: row.is_yearly.map(|y| y == "true"),
                    one_time: row.one_time.map(|y| y == "true"),
                    started_on: row.started_on,
                    payload: row.payload,
                },
            })
            .collect())
    }
}

impl Store {
    /// Stores one webhook delivery and, for a GitHub sponsorship, the charges its
    /// events imply. Returns whether the delivery was new.
    pub async fn receive_sponsorship_event(
        &self,
        event: &SponsorshipEvent,
        today: time::Date,
    ) -> Result<bool> {
        let new = self.record_sponsorship_event(event).await?;
        if event.platform == "github_sponsors"
            && let Some(sponsor) = event.account.as_deref()
        {
            self.charges_from_webhooks(sponsor, today).await?;
        }
        Ok(new)
    }

    /// Turns the GitHub Sponsors webhook events of `sponsor` into the charges they
    /// imply (as the GraphQL importer does, with the same ids, so the two never
    /// double) and stores the new ones. Returns how many were new.
    pub async fn charges_from_webhooks(&self, sponsor: &str, today: time::Date) -> Result<u64> {
        let events = self
            .events_where(Some(("github_sponsors", sponsor)))
            .await?;
        let activities: Vec<_> = events
            .iter()
            .filter_map(|stored| activity_of(&stored.event, sponsor, stored.received_at.date()))
            .collect();
        let (records, _) = charges(&activities, today);
        if records.is_empty() || self.payments_known("github_sponsors_api", &records).await? {
            return Ok(0); // nothing new: no run, no audit entry
        }
        let summary = self
            .import_payments(
                "github_sponsors_api",
                &format!("webhooks {sponsor}"),
                "",
                &records,
                "webhook",
            )
            .await?;
        Ok(summary.new)
    }
}

/// SHA-256 of a payload's canonical JSON (keys sorted, no spacing), so that the same
/// event reads the same however it was spaced; a payload that is not JSON is hashed
/// as it is.
fn fingerprint(payload: &str) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::from_str::<serde_json::Value>(payload)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| payload.to_string());
    hex::encode(Sha256::digest(canonical.as_bytes()))
}
