//! Sponsorship events received by webhook: each delivery stored once, as received,
//! with the fields the programme reads (action, sponsor account, tier).

use serde::Serialize;
use time::OffsetDateTime;

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, on_pool};

/// What a webhook said, normalised by the web layer.
#[derive(Debug, Clone, Serialize)]
pub struct SponsorshipEvent {
    pub platform: String,
    /// The platform's delivery id: a redelivery is recognised and stored once.
    pub delivery_id: String,
    /// `created`, `tier_changed`, `cancelled`, `pending_cancellation`, `pending_tier_change`, …
    pub action: String,
    pub account: Option<String>,
    /// The tier's monthly amount as a decimal string, e.g. `"45.00"`.
    pub tier_amount: Option<String>,
    pub currency: Option<String>,
    pub is_yearly: Option<bool>,
    pub payload: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(flatten)]
    pub event: SponsorshipEvent,
}

type EventRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    OffsetDateTime,
    String,
);

impl Store {
    /// Stores an event unless this delivery was stored before; returns whether it was new.
    pub async fn record_sponsorship_event(&self, event: &SponsorshipEvent) -> Result<bool> {
        let mut tx = Tx::begin(self.db()).await?;
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO sponsorship_events (platform, delivery_id, action, account, tier_amount, currency, is_yearly, received_at, payload) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (platform, delivery_id) DO NOTHING",
            )
            .bind(&event.platform)
            .bind(&event.delivery_id)
            .bind(&event.action)
            .bind(&event.account)
            .bind(&event.tier_amount)
            .bind(&event.currency)
            .bind(event.is_yearly.map(|y| y.to_string()))
            .bind(crate::now())
            .bind(&event.payload)
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
        let rows: Vec<EventRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, platform, delivery_id, action, account, tier_amount, currency, is_yearly, received_at, payload \
                 FROM sponsorship_events ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    platform,
                    delivery_id,
                    action,
                    account,
                    tier_amount,
                    currency,
                    is_yearly,
                    received_at,
                    payload,
                )| StoredEvent {
                    id,
                    received_at,
                    event: SponsorshipEvent {
                        platform,
                        delivery_id,
                        action,
                        account,
                        tier_amount,
                        currency,
                        is_yearly: is_yearly.map(|y| y == "true"),
                        payload,
                    },
                },
            )
            .collect())
    }
}
