//! Reading request parameters into store look-ups, with errors that say which
//! parameter was wrong. Shared by the pages and the API.

use fairshare_engine::{CountryCode, ParseCodeError};
use fairshare_store::ThresholdSet;
use time::Date;

use crate::AppState;
use crate::error::AppError;

pub fn parse_date(name: &str, text: &str) -> Result<Date, AppError> {
    fairshare_engine::iso_date::parse(text).ok_or_else(|| {
        AppError::BadRequest(format!(
            "`{name}` must be a date as YYYY-MM-DD, not `{text}`"
        ))
    })
}

/// A whole number from 1 to `most` (a page number, a page size), `default` when absent.
pub fn whole_number(
    name: &str,
    text: Option<&str>,
    default: usize,
    most: usize,
) -> Result<usize, AppError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=most).contains(n))
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "`{name}` must be a whole number from 1 to {most}, not `{t}`"
                ))
            }),
    }
}

pub fn parse_country(name: &str, text: &str) -> Result<CountryCode, AppError> {
    CountryCode::parse(text).map_err(|e| match e {
        ParseCodeError::Shape(_) => AppError::BadRequest(format!(
            "`{name}` must be an ISO 3166-1 alpha-3 country code such as IND, not `{text}`"
        )),
        ParseCodeError::UnknownCountry(_)
        | ParseCodeError::UnknownCurrency(_)
        | ParseCodeError::NotMoney(_) => AppError::NotFound(format!("unknown country `{text}`")),
    })
}

/// The thresholds of the release in force on `release` (a date), or today.
pub async fn threshold_set(
    state: &AppState,
    release: Option<&str>,
) -> Result<ThresholdSet, AppError> {
    let on = match release.filter(|r| !r.is_empty()) {
        Some(text) => parse_date("release", text)?,
        None => state.today(),
    };
    let release =
        state.store.release_in_force(on).await?.ok_or_else(|| {
            AppError::NotFound(format!("no Big Mac release was in force on {on}"))
        })?;
    Ok(state
        .store
        .thresholds(release, &state.rules().await?.thresholds)
        .await?)
}

/// A partner's public page, or 404 for an organisation that is not (and was not) one.
pub async fn partner_page(
    state: &AppState,
    slug: &str,
) -> Result<fairshare_store::public::PartnerPage, AppError> {
    state
        .store
        .partner_page(slug, state.today())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("`{slug}` is not a community partner")))
}
