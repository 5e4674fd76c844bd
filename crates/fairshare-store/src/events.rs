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
        self.events_where(None).await
    }

    /// Events, all or those of one `(platform, account)`.
    async fn events_where(&self, of: Option<(&str, &str)>) -> Result<Vec<StoredEvent>> {
        let (platform, account) = of.unwrap_or(("", ""));
        let rows: Vec<EventRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, platform, delivery_id, action, account, tier_amount, currency, is_yearly, received_at, payload \
                 FROM sponsorship_events WHERE ($1 = '' OR (platform = $1 AND account = $2)) ORDER BY id",
            )
            .bind(platform)
            .bind(account)
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

impl Store {
    /// Turns the GitHub Sponsors webhook events of `sponsor` into the charges they
    /// imply (as the GraphQL importer does, with the same ids, so the two never
    /// double) and stores the new ones. Returns how many were new.
    pub async fn charges_from_webhooks(&self, sponsor: &str, today: time::Date) -> Result<u64> {
        use fairshare_import::github_sponsors::{Activity, charges};
        let events = self
            .events_where(Some(("github_sponsors", sponsor)))
            .await?;
        let mut activities = Vec::new();
        for stored in &events {
            let payload: serde_json::Value =
                serde_json::from_str(&stored.event.payload).unwrap_or_default();
            let sponsorship = &payload["sponsorship"];
            let tier = &sponsorship["tier"];
            let cents = tier["monthly_price_in_cents"].as_i64();
            let one_time = tier["is_one_time"].as_bool().unwrap_or(false);
            let (action, at) = match stored.event.action.as_str() {
                "created" => {
                    let at = sponsorship["created_at"]
                        .as_str()
                        .and_then(|t| {
                            time::OffsetDateTime::parse(
                                t,
                                &time::format_description::well_known::Rfc3339,
                            )
                            .ok()
                        })
                        .map(|t| t.to_offset(time::UtcOffset::UTC).date())
                        .unwrap_or(stored.received_at.date());
                    ("NEW_SPONSORSHIP", at)
                }
                "tier_changed" => ("TIER_CHANGE", stored.received_at.date()),
                "cancelled" => ("CANCELLED_SPONSORSHIP", stored.received_at.date()),
                _ => continue, // pending changes and edits imply no charge
            };
            activities.push(Activity {
                id: stored.event.delivery_id.clone(),
                action: action.to_string(),
                at,
                sponsor: sponsor.to_string(),
                tier: cents.map(|c| (c, one_time)),
            });
        }
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
