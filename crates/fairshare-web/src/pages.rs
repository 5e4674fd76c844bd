//! Server-rendered pages. Each works without JavaScript; the look lives in
//! `assets/style.css`, embedded at build time.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use fairshare_engine::{Basis, CountryCode, RoundingMode, Threshold};

use crate::AppState;
use crate::error::AppError;
use crate::format::{cents, grouped};
use crate::lookup::{parse_country, threshold_set};

pub(crate) const STYLESHEET: &str = include_str!("../assets/style.css");

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    message: String,
}

/// Nothing at this address: the error page, or for the JSON API, its JSON error.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::api::ApiError(AppError::NotFound(format!(
            "no API operation at {}: see /api/v1/openapi.json",
            uri.path()
        )))
        .into_response();
    }
    render(
        StatusCode::NOT_FOUND,
        &ErrorPage {
            title: "Page not found".into(),
            message: "There is no page at this address.".into(),
        },
    )
}

pub(crate) fn error_page(error: AppError) -> Response {
    let (status, title, message) = match error {
        AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Check the address", m),
        AppError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
        AppError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
        AppError::Conflict(m) => (StatusCode::CONFLICT, "Not possible now", m),
        AppError::SignIn(next) => return AppError::SignIn(next).into_response(),
        AppError::Internal(detail) => {
            tracing::error!(%detail, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not answer this request. Please try again later.".to_string(),
            )
        }
    };
    render(
        status,
        &ErrorPage {
            title: title.into(),
            message,
        },
    )
}

/// A page as a string, for the cache; a template error is ours (500).
pub(crate) fn render_string(page: &impl Template) -> Result<String, AppError> {
    page.render_with_values(&crate::chrome::current().values())
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render_with_values(&crate::chrome::current().values()) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// One option of the country picker.
struct CountryOption {
    code: String,
    name: String,
    selected: bool,
}

struct ReleaseOption {
    value: String,
    label: String,
    selected: bool,
}

/// One row of the all-countries table, formatted.
struct Row {
    code: String,
    name: String,
    currency: String,
    local: String,
    usd: String,
    eur: String,
    basis: String,
}

/// The answer for the chosen country.
struct Answer {
    name: String,
    currency: String,
    local: String,
    usd: String,
    eur: Option<String>,
    computation: String,
    basis_note: String,
}

#[derive(Template)]
#[template(path = "thresholds.html")]
struct ThresholdsPage {
    title: &'static str,
    release: String,
    published: Option<String>,
    base: String,
    countries: Vec<CountryOption>,
    releases: Vec<ReleaseOption>,
    answer: Option<Answer>,
    missing: Option<String>,
    rows: Vec<Row>,
}

pub async fn thresholds(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match thresholds_page(&state, &params).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(error) => error_page(error),
    }
}

async fn thresholds_page(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<ThresholdsPage, AppError> {
    let chosen = match params.get("country").filter(|c| !c.is_empty()) {
        Some(text) => Some(parse_country("country", text)?),
        None => None,
    };
    let requested_release = params.get("release").filter(|r| !r.is_empty());
    let set = threshold_set(state, requested_release.map(String::as_str)).await?;
    let policy = &set.policy;

    let mut countries: Vec<CountryOption> = set
        .rows
        .iter()
        .map(|t| (t.iso_a3, t.name.clone()))
        .chain(
            CountryCode::all_iso()
                .into_iter()
                .filter(|c| set.country(*c).is_none())
                .map(|c| (c, c.iso_name().unwrap_or(c.as_str()).to_string())),
        )
        .map(|(code, name)| CountryOption {
            selected: Some(code) == chosen,
            code: code.to_string(),
            name,
        })
        .collect();
    countries.sort_by(|a, b| a.name.cmp(&b.name));

    let base_row = set.country(policy.base_country);
    let base_currency = base_row.map(|t| t.currency.to_string()).unwrap_or_default();
    let base_price = base_row.map(|t| t.local_price).unwrap_or_default();
    let base = format!(
        "{} {} in {}",
        base_currency,
        grouped(policy.base_amount),
        base_row
            .map(|t| t.name.as_str())
            .unwrap_or(policy.base_country.as_str())
    );

    let answer = chosen.and_then(|c| set.country(c)).map(|t| {
        let unit = if policy.rounding.step == rust_decimal::Decimal::ONE {
            "whole unit".to_string()
        } else {
            format!("multiple of {}", grouped(policy.rounding.step))
        };
        let rounding = match policy.rounding.mode {
            RoundingMode::Nearest => format!("rounded to the nearest {unit}"),
            RoundingMode::Up => format!("rounded up to a {unit}"),
            RoundingMode::Down => format!("rounded down to a {unit}"),
        };
        Answer {
            name: t.name.clone(),
            currency: t.currency.to_string(),
            local: grouped(t.threshold_local),
            usd: cents(t.threshold_usd),
            eur: t.threshold_eur.map(cents),
            computation: format!(
                "{base_currency} {} × {} {} ÷ {base_currency} {} = {} {}, {rounding} → {} {}",
                grouped(policy.base_amount),
                t.currency,
                grouped(t.local_price),
                grouped(base_price),
                t.currency,
                grouped(t.threshold_local_exact.round_dp(2)),
                t.currency,
                grouped(t.threshold_local),
            ),
            basis_note: basis_note(t, &set.rows),
        }
    });
    let missing = chosen.filter(|c| set.country(*c).is_none()).map(|c| {
        format!(
            "{} is not in the Big Mac data of the {} release. A programme manager can price it \
             like a comparable country, or your organisation can submit the local price of a \
             Big Mac with evidence; once approved, its threshold appears here.",
            c.iso_name().unwrap_or(c.as_str()),
            set.release
        )
    });

    let in_force = state.store.release_in_force(state.today()).await?;
    let releases = state
        .store
        .release_dates()
        .await?
        .into_iter()
        .rev()
        .map(|d| ReleaseOption {
            value: d.to_string(),
            label: if Some(d) == in_force {
                format!("{d} (in force)")
            } else {
                d.to_string()
            },
            selected: d == set.release && requested_release.is_some(),
        })
        .collect();

    Ok(ThresholdsPage {
        title: "Threshold calculator",
        release: set.release.to_string(),
        published: set
            .publication
            .as_ref()
            .map(|p| p.published_at.date().to_string()),
        base,
        countries,
        releases,
        answer,
        missing,
        rows: set
            .rows
            .iter()
            .map(|t| Row {
                code: t.iso_a3.to_string(),
                name: t.name.clone(),
                currency: t.currency.to_string(),
                local: grouped(t.threshold_local),
                usd: cents(t.threshold_usd),
                eur: t.threshold_eur.map(cents).unwrap_or_else(|| "—".into()),
                basis: t.basis.to_string(),
            })
            .collect(),
    })
}

fn basis_note(t: &Threshold, rows: &[Threshold]) -> String {
    let name_of = |code: CountryCode| {
        rows.iter()
            .find(|r| r.iso_a3 == code)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    match &t.basis {
        Basis::OwnRow => format!("Based on the price of a Big Mac in {}.", t.name),
        Basis::EuroArea => format!(
            "{} uses the euro: the programme asks one amount across the euro area, from the \
             euro-area average Big Mac price.",
            t.name
        ),
        Basis::Comparable { like } => format!(
            "{} is not in the Big Mac data; a programme manager set it to be priced like {}.",
            t.name,
            name_of(*like)
        ),
        Basis::SubmittedPrice { .. } => format!(
            "{} is not in the Big Mac data; this uses a local Big Mac price submitted with \
             evidence and approved by a programme manager.",
            t.name
        ),
    }
}
