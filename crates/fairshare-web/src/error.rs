//! [`AppError`], the one error every handler returns, and the one rule mapping what
//! went wrong to an HTTP status:
//!
//! | status | when |
//! |---|---|
//! | 303 to `/login` | not signed in ([`Denied::SignIn`]) |
//! | 400 | invalid input: a parameter or form field, named in the message |
//! | 403 | signed in but not allowed: the wrong role or organisation, a request of one's own to decide, a claim outside one's teams |
//! | 404 | nothing there |
//! | 409 | a conflict with the current state: already decided, already published, already a partner, a domain another organisation holds |
//! | 500 | our fault: logged, never shown |
//!
//! Pages render it as the friendly error page ([`AppError`]'s `IntoResponse`); the
//! JSON API wraps it in [`crate::api::ApiError`] for the JSON error body.

use axum::response::{IntoResponse, Redirect, Response};
use fairshare_store::StoreError;

use crate::auth::{Denied, encode};

#[derive(Debug)]
pub enum AppError {
    /// Not signed in: to the sign-in page, then back to this address.
    SignIn(String),
    /// A malformed parameter or field: 400.
    BadRequest(String),
    /// Signed in, but not allowed: 403.
    Forbidden(String),
    /// Well-formed, but nothing there: 404.
    NotFound(String),
    /// Refused by the current state of things: 409.
    Conflict(String),
    /// Our fault: 500. The detail is logged, not shown.
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(message) => AppError::NotFound(message),
            StoreError::Invalid(message) => AppError::BadRequest(message),
            StoreError::Conflict(message) => AppError::Conflict(message),
            StoreError::Forbidden(message) => AppError::Forbidden(message),
            StoreError::Refused(refusal) if refusal.is_forbidden() => {
                AppError::Forbidden(refusal.to_string())
            }
            StoreError::Refused(refusal) => AppError::Conflict(refusal.to_string()),
            other @ (StoreError::Sql(_) | StoreError::Migrate(_) | StoreError::Corrupt(_)) => {
                AppError::Internal(other.to_string())
            }
        }
    }
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::SignIn(next) => AppError::SignIn(next),
            Denied::Forbidden => AppError::Forbidden("Your account may not see this page.".into()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::SignIn(next) => {
                Redirect::to(&format!("/login?next={}", encode(&next))).into_response()
            }
            other => crate::pages::error_page(other),
        }
    }
}

/// What a handler returns.
pub type Result<T = Response, E = AppError> = std::result::Result<T, E>;
