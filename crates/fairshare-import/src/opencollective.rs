//! Open Collective's GraphQL API v2: a collective's incoming contributions (and their
//! refunds) with the order's frequency, amount and currency, paged by offset. Records
//! carry the same ids as the CSV export (`oc:` + the transaction id's first 8
//! characters, Open Collective's `shortId`), so both imports never double a payment.

use fairshare_engine::compliance::Coverage;
use fairshare_engine::{CurrencyCode, Money};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient, header};
use crate::record::{PaymentRecord, Skips};

pub const DEFAULT_API: &str = "https://api.opencollective.com";
const QUERY: &str = include_str!("opencollective_graphql.graphql");
const PAGE: i64 = 100;

#[derive(Deserialize)]
struct Data {
    account: Option<Account>,
}

#[derive(Deserialize)]
struct Account {
    transactions: Transactions,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transactions {
    total_count: i64,
    nodes: Vec<Lenient<Transaction>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    id: String,
    kind: String,
    #[serde(rename = "type")]
    direction: String,
    #[serde(default)]
    is_refund: bool,
    created_at: String,
    #[serde(default)]
    description: Option<String>,
    amount: Amount,
    from_account: Option<Slug>,
    #[serde(default)]
    order: Option<Order>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Amount {
    value_in_cents: i64,
    currency: String,
}

#[derive(Deserialize)]
struct Slug {
    slug: String,
}

#[derive(Deserialize)]
struct Order {
    frequency: Option<String>,
}

/// Every incoming contribution of `collective`, all pages.
pub async fn read(
    api: &str,
    collective: &str,
    token: Option<String>,
) -> Result<(Vec<PaymentRecord>, Skips), ImportError> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some((k, v)) = token.as_deref().and_then(|t| header("personal-token", t)) {
        headers.insert(k, v);
    }
    let client = ApiClient::new("Open Collective", api, None, headers)?;
    let mut out = Vec::new();
    let mut skips = Skips::default();
    let mut offset = 0;
    loop {
        let data: Option<Data> = client
            .graphql(
                "graphql/v2",
                QUERY,
                json!({ "slug": collective, "offset": offset, "limit": PAGE }),
            )
            .await?;
        let transactions = data
            .and_then(|d| d.account)
            .ok_or_else(|| {
                client.error(
                    "graphql/v2",
                    format!("no Open Collective account `{collective}`"),
                )
            })?
            .transactions;
        let count = transactions.nodes.len() as i64;
        let page = format!("graphql/v2 offset {offset}");
        for t in transactions.nodes {
            let Some(t) = t.read("Open Collective transaction", &page, &mut skips) else {
                continue;
            };
            let credit = t.direction == "CREDIT";
            if !credit && !t.is_refund {
                skips.add("debit that is not a refund");
                continue;
            }
            let Some(from) = t.from_account else {
                skips.add("contribution without a contributor");
                continue;
            };
            let currency = CurrencyCode::parse_iso(&t.amount.currency)
                .map_err(|e| client.error("graphql/v2", format!("transaction {}: {e}", t.id)))?;
            let mut amount = Decimal::new(t.amount.value_in_cents, 2);
            if t.is_refund && amount.is_sign_positive() {
                amount = -amount;
            }
            let at = OffsetDateTime::parse(&t.created_at, &Rfc3339).map_err(|_| {
                client.error(
                    "graphql/v2",
                    format!(
                        "transaction {}: `createdAt` is not an RFC 3339 time: `{}`",
                        t.id, t.created_at
                    ),
                )
            })?;
            let yearly = t
                .order
                .and_then(|o| o.frequency)
                .is_some_and(|f| f == "YEARLY");
            let _ = &t.kind;
            out.push(PaymentRecord {
                line: 0,
                external_id: format!("oc:{}", t.id.chars().take(8).collect::<String>()),
                platform: "opencollective".into(),
                account: from.slug.to_lowercase(),
                date: at.to_offset(time::UtcOffset::UTC).date(),
                money: Money::new(amount, currency),
                coverage: if yearly {
                    Coverage::Year
                } else {
                    Coverage::Month
                },
                description: t.description,
            });
        }
        offset += count;
        if count == 0 || offset >= transactions.total_count {
            break;
        }
    }
    Ok((out, skips))
}
