//! Proving an email address and resetting a forgotten password, both by emailed
//! single-use links (the store keeps only the token's hash). Answers never reveal
//! whether an address has an account.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fairshare_store::StoreError;
use fairshare_store::accounts::TokenPurpose;
use time::Duration;

use crate::AppState;
use crate::account::{CsrfForm, THROTTLE_WINDOW, hash_for_new_user, page};
use crate::auth::{Denied, Viewer, random_token, require_form, same_origin, token_hash};
use crate::error::AppError;
use crate::pages::{error_page, render_string};

/// How long a password reset link works.
const RESET_LIFETIME: Duration = Duration::hours(1);
/// Reset links sent to one address per `THROTTLE_WINDOW`.
const MOST_RESET_LINKS: i64 = 3;

/// Emails a single-use link: confirm the address (valid 2 days) or reset the password
/// (valid 1 hour). Nothing happens, silently, for an address without an account.
pub(crate) async fn send_token(
    state: &AppState,
    email: &str,
    purpose: TokenPurpose,
) -> Result<(), AppError> {
    let token = random_token();
    let lifetime = match purpose {
        TokenPurpose::Verify => Duration::days(2),
        TokenPurpose::Reset => RESET_LIFETIME,
    };
    if state
        .store
        .issue_token(email, &token_hash(&token), purpose, lifetime)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let (subject, body) = match purpose {
        TokenPurpose::Verify => (
            "Confirm your email address",
            format!(
                "Confirm your address for your Fairshare account:\r\n\r\n{}\r\n\r\nThe link works once, for two days.",
                state.mailer.link(&format!("/verify?token={token}"))
            ),
        ),
        TokenPurpose::Reset => (
            "Reset your password",
            format!(
                "Someone asked to reset the password of your Fairshare account. If it was you:\r\n\r\n{}\r\n\r\nThe link works once, for one hour. If it was not you, ignore this message.",
                state.mailer.link(&format!("/reset?token={token}"))
            ),
        ),
    };
    deliver(state, &email.trim().to_lowercase(), subject, &body).await
}

/// Sends a message to one account's address; a failure is logged and is the page's
/// error.
pub(crate) async fn deliver(
    state: &AppState,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), AppError> {
    state.mailer.send(to, subject, body).await.map_err(|e| {
        tracing::error!(%to, error = %e, "a message could not be sent");
        AppError::Internal(format!("the message could not be sent ({e})"))
    })
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    title: &'static str,
    message: String,
    link: Option<(String, String)>,
}

pub(crate) fn notice(
    status: StatusCode,
    title: &'static str,
    message: impl Into<String>,
    link: Option<(&str, &str)>,
) -> Response {
    let mut response = page(render_string(&NoticePage {
        title,
        message: message.into(),
        link: link.map(|(href, text)| (href.to_string(), text.to_string())),
    }));
    *response.status_mut() = status;
    response
}

#[derive(serde::Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `/verify?token=`: the emailed link that proves the address, and signs its
/// owner in (a new account's first sign-in: signing up never opens a session, so
/// that it answers the same whether or not the address had an account).
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state
        .store
        .redeem_token(&token_hash(&query.token), TokenPurpose::Verify, None)
        .await
    {
        Ok(user) => {
            let cookie = match crate::auth::start_session(&state, user, &headers).await {
                Ok(cookie) => cookie,
                Err(e) => return error_page(e.into()),
            };
            let mut response = notice(
                StatusCode::OK,
                "Address confirmed",
                "Your email address is confirmed, and you are signed in.",
                Some(("/account", "Your account")),
            );
            if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
                response
                    .headers_mut()
                    .append(axum::http::header::SET_COOKIE, value);
            }
            response
        }
        Err(StoreError::Invalid(m)) => notice(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            m,
            Some(("/account", "Your account")),
        ),
        Err(e) => error_page(e.into()),
    }
}

pub async fn resend_verification(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> crate::error::Result {
    let user = require_form(viewer, "/account", |_| true, &form.csrf)?;
    match send_token(&state, &user.user.email, TokenPurpose::Verify).await {
        Ok(()) => Ok(notice(
            StatusCode::OK,
            "Link sent",
            format!("We sent a new link to {}.", user.user.email),
            Some(("/account", "Your account")),
        )),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    title: &'static str,
}

pub async fn forgot_form() -> Response {
    page(render_string(&ForgotPage {
        title: "Forgotten password",
    }))
}

#[derive(serde::Deserialize)]
pub struct ForgotForm {
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !same_origin(&headers) {
        return Denied::Forbidden.into_response();
    }
    // A few links per address and quarter of an hour, so that nobody floods an
    // inbox. Asking is not a failed sign-in: it never locks the owner out.
    match state
        .store
        .recent_tokens(
            &form.email,
            TokenPurpose::Reset,
            RESET_LIFETIME,
            THROTTLE_WINDOW,
        )
        .await
    {
        Ok(n) if n >= MOST_RESET_LINKS => {}
        Ok(_) => {
            if let Err(e) = send_token(&state, &form.email, TokenPurpose::Reset).await {
                return error_page(e);
            }
        }
        Err(e) => return error_page(e.into()),
    }
    notice(
        StatusCode::OK,
        "Check your email",
        "If an account uses this address, we sent it a link to set a new password. It works once, for one hour.",
        None,
    )
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    title: &'static str,
    token: String,
    message: Option<String>,
}

pub async fn reset_form(Query(query): Query<TokenQuery>) -> Response {
    page(render_string(&ResetPage {
        title: "Set a new password",
        token: query.token,
        message: None,
    }))
}

#[derive(serde::Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if !same_origin(&headers) {
        return Denied::Forbidden.into_response();
    }
    let password = form.password.clone();
    let hash = match tokio::task::spawn_blocking(move || hash_for_new_user(&password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(message)) => {
            let mut response = page(render_string(&ResetPage {
                title: "Set a new password",
                token: form.token.clone(),
                message: Some(message),
            }));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
        Err(_) => return error_page(AppError::Internal("hashing failed".into())),
    };
    match state
        .store
        .redeem_token(&token_hash(&form.token), TokenPurpose::Reset, Some(&hash))
        .await
    {
        Ok(_) => notice(
            StatusCode::OK,
            "Password changed",
            "Your new password is set, and every session of your account was signed out.",
            Some(("/login", "Sign in")),
        ),
        Err(StoreError::Invalid(m)) => notice(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            m,
            Some(("/forgot", "Ask for a new link")),
        ),
        Err(e) => error_page(e.into()),
    }
}
