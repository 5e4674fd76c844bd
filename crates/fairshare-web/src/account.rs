//! Accounts on the site: sign up, sign in (throttled) and out, the account page, and
//! the application form (an applicant becomes its organisation's first administrator).
//! Every state change checks the session's anti-forgery token.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use fairshare_store::StoreError;
use fairshare_store::accounts::Role;
use fairshare_store::applications::Applicant;
use time::Duration;

use crate::AppState;
use crate::auth::{
    Denied, Viewer, hash_password, random_token, require, require_form, same_origin,
    session_cookie, start_session, verify_password,
};
use crate::error::AppError;
use crate::pages::{error_page, render_string};

/// Failed sign-ins allowed per address in `THROTTLE_WINDOW` before refusing for a while.
pub(crate) const MOST_FAILURES: i64 = 5;
pub(crate) const THROTTLE_WINDOW: Duration = Duration::minutes(15);

pub(crate) fn page(result: Result<String, AppError>) -> Response {
    match result {
        Ok(html) => (
            [(header::CACHE_CONTROL, "private, no-store")],
            axum::response::Html(html),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: &'static str,
    github: bool,
    next: String,
    email: String,
    message: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: String,
}

/// Only local paths: a sign-in link must not send people to another site.
fn local(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/account".to_string()
    }
}

pub async fn login_form(State(state): State<AppState>, Query(next): Query<Next>) -> Response {
    page(render_string(&LoginPage {
        title: "Sign in",
        github: state.github_login.is_some(),
        next: local(&next.next),
        email: String::new(),
        message: None,
    }))
}

#[derive(serde::Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> crate::error::Result {
    if !same_origin(&headers) {
        return Ok(Denied::Forbidden.into_response());
    }
    let next = local(&form.next);
    let refuse = |status: StatusCode, message: &str| {
        let mut response = page(render_string(&LoginPage {
            title: "Sign in",
            github: state.github_login.is_some(),
            next: next.clone(),
            email: form.email.clone(),
            message: Some(message.to_string()),
        }));
        *response.status_mut() = status;
        response
    };
    let result: Result<Response, StoreError> = async {
        if state
            .store
            .recent_failed_logins(&form.email, THROTTLE_WINDOW)
            .await?
            >= MOST_FAILURES
        {
            return Ok(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed attempts for this address. Try again in 15 minutes.",
            ));
        }
        let secret = state.store.login_secret(&form.email).await?;
        let password = form.password.clone();
        // Hashing is slow on purpose: off the async workers. Unknown addresses are
        // checked against a dummy hash so that timing does not reveal which exist.
        let (user, hash) = match secret {
            Some((user, hash)) => (Some(user), hash),
            None => (None, DUMMY_HASH.clone()),
        };
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        let Some(user) = user.filter(|_| verified) else {
            state.store.record_failed_login(&form.email).await?;
            return Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "The email or the password is wrong.",
            ));
        };
        let cookie = start_session(&state, user, &headers).await?;
        Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
    }
    .await;
    Ok(result.unwrap_or_else(|e| error_page(e.into())))
}

/// A hash of a random password nobody knows.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_token()).unwrap_or_default());

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> crate::error::Result {
    let hash = viewer.1.clone();
    require_form(viewer, "/", |_| true, &form.csrf)?;
    if let Some(hash) = hash
        && let Err(e) = state.store.close_session(&hash).await
    {
        return Err(e.into());
    }
    Ok((
        [(header::SET_COOKIE, session_cookie("", &headers, 0))],
        Redirect::to("/"),
    )
        .into_response())
}

/// `fairshare users add` hashes here, so that the CLI and the web agree on the scheme.
pub fn hash_for_new_user(password: &str) -> Result<String, String> {
    if password.chars().count() < 12 {
        return Err("a password needs at least 12 characters".into());
    }
    hash_password(password)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    title: &'static str,
    email: String,
    csrf: String,
    roles: Vec<String>,
    portal: bool,
    console: bool,
    verifier: bool,
    verified: bool,
}

/// `/account`: who is signed in, with which roles, where to go, and signing out.
pub async fn account(viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/account", |_| true)?;
    Ok(page(render_string(&AccountPage {
        title: "Your account",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        roles: user
            .user
            .grants
            .iter()
            .map(|g| {
                let role = g.role.as_str().replace('_', " ");
                if g.scope.is_empty() {
                    role
                } else {
                    format!("{role} of {}", g.scope)
                }
            })
            .collect(),
        portal: user.user.has(Role::OrgAdmin) || user.user.can_review(),
        console: user.user.can_review(),
        verifier: crate::console::verifier(&user),
        verified: user.user.verified,
    })))
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    title: &'static str,
    email: String,
    message: Option<String>,
}

pub async fn signup_form() -> Response {
    page(render_string(&SignupPage {
        title: "Create an account",
        email: String::new(),
        message: None,
    }))
}

#[derive(serde::Deserialize)]
pub struct Signup {
    email: String,
    password: String,
}

/// Anyone may create an account (role `member`); roles beyond it come from applying
/// for an organisation or from a programme manager.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Signup>,
) -> Response {
    if !same_origin(&headers) {
        return Denied::Forbidden.into_response();
    }
    let refuse = |message: String| {
        let mut response = page(render_string(&SignupPage {
            title: "Create an account",
            email: form.email.clone(),
            message: Some(message),
        }));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    let password = form.password.clone();
    let hash = match tokio::task::spawn_blocking(move || hash_for_new_user(&password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(message)) => return refuse(message),
        Err(_) => return error_page(AppError::Internal("hashing failed".into())),
    };
    let grants = [fairshare_store::accounts::Grant {
        role: Role::Member,
        scope: String::new(),
    }];
    let user = match state
        .store
        .add_user(&form.email, &hash, &grants, &form.email)
        .await
    {
        Ok(user) => user,
        Err(StoreError::Invalid(m) | StoreError::Conflict(m)) => return refuse(m),
        Err(e) => return error_page(e.into()),
    };
    if let Err(e) = crate::recovery::send_token(
        &state,
        &form.email,
        fairshare_store::accounts::TokenPurpose::Verify,
    )
    .await
    {
        return error_page(e);
    }
    let cookie = match start_session(&state, user, &headers).await {
        Ok(cookie) => cookie,
        Err(e) => return error_page(e.into()),
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to("/account")).into_response()
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    title: &'static str,
    email: String,
    csrf: String,
    countries: Vec<(String, String)>,
}

pub async fn apply_form(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/apply", |_| true)?;
    let countries = crate::lookup::threshold_set(&state, None)
        .await?
        .rows
        .iter()
        .map(|t| (t.iso_a3.to_string(), t.name.clone()))
        .collect();
    Ok(page(render_string(&ApplyPage {
        title: "Apply to become a partner",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        countries,
    })))
}

#[derive(serde::Deserialize)]
pub struct ApplicationSubmission {
    #[serde(default)]
    csrf: String,
    org: String,
    name: String,
    country: String,
    #[serde(default)]
    website: String,
    contact: String,
    description: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    account: String,
    /// One person per line: `Name <email or source:handle>`.
    #[serde(default)]
    staff: String,
}

/// The application form. It creates a new organisation (the applicant becomes its
/// first administrator) or comes from an administrator of one on record; sponsor
/// accounts and any change to an organisation on record wait for a reviewer. Needs a
/// confirmed address. Nothing is written unless all of it is.
pub async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ApplicationSubmission>,
) -> crate::error::Result {
    let user = require_form(viewer, "/apply", |_| true, &form.csrf)?;
    if !user.user.verified {
        return Err(AppError::Forbidden(
            "Confirm your email address first: follow the link we sent you (or send a new one from your account page).".into(),
        ));
    }
    let slug = form.org.trim().to_lowercase();
    let country = crate::lookup::parse_country("country", &form.country)?;
    let staff = form
        .staff
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, handle) = line
                .rsplit_once('<')
                .map(|(n, h)| (n.trim(), h.trim_end_matches('>').trim()))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("staff: write `Name <email>`, not `{line}`"))
                })?;
            Ok(fairshare_store::applications::StaffMember {
                name: name.to_string(),
                handle: handle.to_string(),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let application = fairshare_store::applications::ApplicationForm {
        org: slug.clone(),
        name: form.name,
        country,
        website: Some(form.website),
        contact: form.contact,
        description: form.description,
        sponsorship: (!form.account.trim().is_empty()).then(|| {
            fairshare_store::applications::SponsorAccount {
                platform: form.platform,
                account: form.account,
            }
        }),
        staff,
    }
    .checked()?;
    let store = &state.store;
    let rules = state.rules().await?;
    let evaluation = store
        .evaluate_application(&application, state.today(), &rules)
        .await?;
    let applicant = Applicant::Account {
        user: user.user.id,
        administers: user.user.organisations().contains(&slug.as_str()),
    };
    store
        .submit_application(&application, applicant, &evaluation, &user.user.email)
        .await?;
    Ok(Redirect::to(&format!("/portal?org={slug}")).into_response())
}
