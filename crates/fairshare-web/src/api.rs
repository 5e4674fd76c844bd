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
use crate::error::AppError;
use crate::lookup::{parse_country, threshold_set};
use crate::site::page_key;

/// An [`AppError`] answered as the API's JSON error body, with the same status.
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self.0 {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            AppError::Conflict(m) => (StatusCode::CONFLICT, m),
            AppError::SignIn(_) => (StatusCode::UNAUTHORIZED, "sign in first".to_string()),
            AppError::Internal(detail) => {
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
) -> Result<Response, ApiError> {
    reject_unknown(&params, &["release"])?;
    let set = threshold_set(&state, params.get("release").map(String::as_str)).await?;
    let rows: Vec<ThresholdJson> = set.rows.iter().map(ThresholdJson::from).collect();
    Ok(Json(json!({ "release": ReleaseJson::from(&set), "thresholds": rows })).into_response())
}

pub async fn threshold(
    State(state): State<AppState>,
    Path(iso_a3): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    reject_unknown(&params, &["release"])?;
    let country = parse_country("iso_a3", &iso_a3)?;
    let set = threshold_set(&state, params.get("release").map(String::as_str)).await?;
    let row = set.country(country).ok_or_else(|| {
        AppError::NotFound(format!(
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

fn reject_unknown(params: &HashMap<String, String>, known: &[&str]) -> Result<(), AppError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(AppError::BadRequest(format!(
            "unknown parameter `{key}` (expected: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
pub struct Page {
    page: Option<String>,
    per_page: Option<String>,
}

/// `?page=` (from 1) and `?per_page=` (1–500, default 100).
fn paginate<T: Serialize>(items: Vec<T>, page: &Page) -> Result<serde_json::Value, AppError> {
    let per_page = crate::lookup::whole_number("per_page", page.per_page.as_deref(), 100, 500)?;
    let page_number = crate::lookup::whole_number("page", page.page.as_deref(), 1, usize::MAX)?;
    let total = items.len();
    let shown: Vec<T> = items
        .into_iter()
        .skip((page_number - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(json!({ "page": page_number, "per_page": per_page, "total": total, "items": shown }))
}

fn parse_month(text: &str) -> Result<fairshare_engine::Month, AppError> {
    text.parse()
        .map_err(|_| AppError::BadRequest(format!("`month` must be YYYY-MM, not `{text}`")))
}

/// A JSON body served through the page cache, with an ETag.
async fn cached_json<F, Fut>(
    state: &AppState,
    key: String,
    headers: &axum::http::HeaderMap,
    make: F,
) -> Response
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, AppError>>,
{
    match state
        .cache
        .get_or_render(state, &key, |state| async {
            make(state)
                .await
                .map(|v| (v.to_string(), "application/json"))
        })
        .await
    {
        Ok(page) => crate::site::send(page, headers, crate::site::REVALIDATE),
        Err(e) => ApiError(e).into_response(),
    }
}

/// `GET /api/v1/partners`: the partners of the latest published ranking, in rank order.
pub async fn partners(
    State(state): State<AppState>,
    Query(page): Query<Page>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    cached_json(
        &state,
        page_key(uri.path(), &page),
        &headers,
        |st| async move {
            let (month, partners) = st.store.latest_partners().await?;
            let mut body = paginate(partners, &page)?;
            body["month"] = json!(month.map(|m| m.to_string()));
            Ok(body)
        },
    )
    .await
}

/// `GET /api/v1/partners/{slug}`: a partner's public page as data.
pub async fn partner(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    cached_json(
        &state,
        page_key(uri.path(), &()),
        &headers,
        |st| async move {
            let page = crate::lookup::partner_page(&st, &slug).await?;
            Ok(serde_json::to_value(page).unwrap_or_default())
        },
    )
    .await
}

/// `GET /api/v1/rankings`: the months with a published ranking, newest first.
pub async fn rankings(
    State(state): State<AppState>,
    Query(page): Query<Page>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    cached_json(
        &state,
        page_key(uri.path(), &page),
        &headers,
        |st| async move {
            let months: Vec<String> = st
                .store
                .ranking_months()
                .await?
                .into_iter()
                .rev()
                .map(|m| m.to_string())
                .collect();
            paginate(months, &page)
        },
    )
    .await
}

/// `GET /api/v1/rankings/{month}`: a published ranking, frozen as published.
pub async fn ranking(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Query(page): Query<Page>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    cached_json(
        &state,
        page_key(uri.path(), &page),
        &headers,
        |st| async move {
            let month = parse_month(&month)?;
            let ranking = st.store.ranking(month).await?.ok_or_else(|| {
                AppError::NotFound(format!("no ranking was published for {month}"))
            })?;
            let mut body = paginate(ranking.entries.clone(), &page)?;
            body["month"] = json!(month.to_string());
            body["published_at"] = json!(
                ranking
                    .published_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            );
            body["rules"] = ranking.rules.clone();
            Ok(body)
        },
    )
    .await
}

/// `GET /api/v1/report`: the community report (`?days=` or `?from=&to=`).
pub async fn report(
    State(state): State<AppState>,
    Query(window): Query<crate::site::Window>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    cached_json(
        &state,
        page_key(uri.path(), &window),
        &headers,
        |st| async move {
            let (from, to) = crate::site::report_window(&window, st.today())?;
            let report = st.store.community_report(from, to).await?;
            Ok(serde_json::to_value(report).unwrap_or_default())
        },
    )
    .await
}

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}
