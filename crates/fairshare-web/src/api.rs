//! The JSON API (`/api/v1/…`) and the health check. Errors are JSON bodies
//! `{"error": {"status": 400, "message": "…"}}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fairshare_engine::Threshold;
use fairshare_store::{Publication, ThresholdSet};
use serde::Serialize;
use serde_json::json;
use time::Date;

use crate::AppState;
use crate::lookup::{LookupError, parse_country, threshold_set};

impl IntoResponse for LookupError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            LookupError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            LookupError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            LookupError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                )
            }
        };
        let body = json!({ "error": { "status": status.as_u16(), "message": message } });
        (status, Json(body)).into_response()
    }
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": "database unreachable" })),
            )
                .into_response()
        }
    }
}

/// One threshold as the API shows it: amounts as decimal strings, never floats.
#[derive(Serialize)]
struct ThresholdJson<'a> {
    iso_a3: &'a str,
    name: &'a str,
    currency_code: &'a str,
    local_price: String,
    threshold_local: String,
    threshold_local_unrounded: String,
    threshold_usd: String,
    threshold_eur: Option<String>,
    basis: String,
    basis_detail: &'a fairshare_engine::Basis,
}

impl<'a> From<&'a Threshold> for ThresholdJson<'a> {
    fn from(t: &'a Threshold) -> Self {
        ThresholdJson {
            iso_a3: t.iso_a3.as_str(),
            name: &t.name,
            currency_code: t.currency.as_str(),
            local_price: t.local_price.to_string(),
            threshold_local: t.threshold_local.to_string(),
            threshold_local_unrounded: t.threshold_local_exact.round_dp(6).normalize().to_string(),
            threshold_usd: t.threshold_usd.to_string(),
            threshold_eur: t.threshold_eur.map(|v| v.to_string()),
            basis: t.basis.to_string(),
            basis_detail: &t.basis,
        }
    }
}

#[derive(Serialize)]
struct ReleaseJson<'a> {
    #[serde(with = "fairshare_engine::iso_date")]
    release: Date,
    published: bool,
    publication: Option<&'a Publication>,
    policy: &'a fairshare_engine::ThresholdPolicy,
}

impl<'a> From<&'a ThresholdSet> for ReleaseJson<'a> {
    fn from(set: &'a ThresholdSet) -> Self {
        ReleaseJson {
            release: set.release,
            published: set.publication.is_some(),
            publication: set.publication.as_ref(),
            policy: &set.policy,
        }
    }
}

pub async fn thresholds(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, LookupError> {
    reject_unknown(&params, &["release"])?;
    let set = threshold_set(&state, params.get("release").map(String::as_str)).await?;
    let rows: Vec<ThresholdJson> = set.rows.iter().map(ThresholdJson::from).collect();
    Ok(Json(json!({ "release": ReleaseJson::from(&set), "thresholds": rows })).into_response())
}

pub async fn threshold(
    State(state): State<AppState>,
    Path(iso_a3): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, LookupError> {
    reject_unknown(&params, &["release"])?;
    let country = parse_country("iso_a3", &iso_a3)?;
    let set = threshold_set(&state, params.get("release").map(String::as_str)).await?;
    let row = set.country(country).ok_or_else(|| {
        LookupError::NotFound(format!(
            "{country} has no threshold in the {} release: it is not in the Big Mac data and has \
             no comparable country or approved price yet",
            set.release
        ))
    })?;
    Ok(
        Json(json!({ "release": ReleaseJson::from(&set), "threshold": ThresholdJson::from(row) }))
            .into_response(),
    )
}

fn reject_unknown(params: &HashMap<String, String>, known: &[&str]) -> Result<(), LookupError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(LookupError::BadRequest(format!(
            "unknown parameter `{key}` (expected: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}
