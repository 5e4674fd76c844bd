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
    ClientAddress, DEVICE_COOKIE, Denied, Viewer, cookie, device_cookie, hash_password,
    random_token, require, require_form, same_origin, session_cookie, start_session, token_hash,
    verify_password,
};
use crate::error::AppError;
use crate::pages::{error_page, render_string};

/// Failed sign-ins allowed per account in `THROTTLE_WINDOW`, from devices it never
/// signed in from, before those are refused for a while.
pub(crate) const MOST_FAILURES: i64 = 5;
/// Failed sign-ins allowed per client address in `THROTTLE_WINDOW`, whatever
/// accounts it tries.
pub(crate) const MOST_FAILURES_PER_CLIENT: i64 = 20;
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

/// Where to go after signing in: only a path of this site, in plain printable ASCII
/// (browsers drop tabs and newlines, so `/\t/evil.example` would become
/// `//evil.example`, another site); anything else goes to the account page.
pub(crate) fn local(next: &str) -> String {
    let same_site = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if same_site {
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
    ClientAddress(client): ClientAddress,
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
    let store = &state.store;
    if store.recent_failures_from(&client, THROTTLE_WINDOW).await? >= MOST_FAILURES_PER_CLIENT {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins from your network. Try again in 15 minutes.",
        ));
    }
    let secret = store.login_secret(&form.email).await?;
    let device = cookie(&headers, DEVICE_COOKIE);
    // An account under attack stays open to the devices its owner signed in from
    // before: a third party's wrong guesses never lock the owner out of those.
    let known_device = match (&secret, &device) {
        (Some((user, _)), Some(device)) => {
            store.is_known_device(*user, &token_hash(device)).await?
        }
        _ => false,
    };
    if !known_device
        && store
            .recent_failed_logins(&form.email, THROTTLE_WINDOW)
            .await?
            >= MOST_FAILURES
    {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts for this address. Sign in from a device you used before, try again in 15 minutes, or set a new password with \u{201c}Forgotten password\u{201d}.",
        ));
    }
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
        store.record_failed_login(&form.email, &client).await?;
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "The email or the password is wrong.",
        ));
    };
    let session = start_session(&state, user, &headers).await?;
    let device_token = device.filter(|_| known_device).unwrap_or_else(random_token);
    store
        .remember_device(user, &token_hash(&device_token))
        .await?;
    let mut response = Redirect::to(&next).into_response();
    for value in [session, device_cookie(&device_token, &headers)] {
        if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
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
    /// Each kind of mail: (category, what it is, wanted).
    mail: Vec<(&'static str, &'static str, bool)>,
}

/// `/account`: who is signed in, with which roles, where to go, which mail they
/// receive, and signing out.
pub async fn account(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/account", |_| true)?;
    let off = state.store.opt_outs(&user.user.email).await?;
    Ok(page(render_string(&AccountPage {
        mail: fairshare_store::mail_queue::CATEGORIES
            .iter()
            .map(|(category, words)| (*category, *words, !off.iter().any(|o| o == category)))
            .collect(),
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
/// for an organisation or from a programme manager. The answer is the same whether or
/// not the address already has an account: a new account gets a link that confirms
/// the address and signs in; an existing one's owner is told by email that someone
/// tried, and how to sign in or reset the password.
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
    let email = match fairshare_engine::identity::normalise_email(&form.email) {
        Ok(email) => email,
        Err(e) => return refuse(format!("`email`: {e}")),
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
    let sent = match state.store.add_user(&email, &hash, &grants, &email).await {
        Ok(_) => {
            crate::recovery::send_token(
                &state,
                &email,
                fairshare_store::accounts::TokenPurpose::Verify,
            )
            .await
        }
        Err(StoreError::Conflict(_)) => tell_owner_of_signup(&state, &email).await,
        Err(StoreError::Invalid(m)) => return refuse(m),
        Err(e) => return error_page(e.into()),
    };
    if let Err(e) = sent {
        return error_page(e);
    }
    crate::recovery::notice(
        StatusCode::OK,
        "Check your email",
        format!(
            "We sent a message to {email}. Follow its link to confirm the address and sign in; it works once, for two days."
        ),
        None,
    )
}

/// Someone signed up with an address that has an account: its owner hears of it.
async fn tell_owner_of_signup(state: &AppState, email: &str) -> Result<(), AppError> {
    let body = format!(
        "Someone tried to create a Fairshare account with this address, which already has one.\r\n\r\nIf it was you, sign in: {}\r\nForgotten the password? Set a new one: {}\r\n\r\nIf it was not you, nothing changed and you can ignore this message.",
        state.mailer.link("/login"),
        state.mailer.link("/forgot"),
    );
    crate::recovery::deliver(state, email, "Your Fairshare account", &body).await
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    title: &'static str,
    email: String,
    csrf: String,
    countries: Vec<(String, String)>,
    /// The country chosen to see its amount (kept selected in the application form).
    country: String,
    /// That country's monthly amount, in words.
    amount: Option<String>,
}

pub async fn apply_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<crate::site::CountryQuery>,
) -> crate::error::Result {
    let user = require(viewer, "/apply", |_| true)?;
    // Every country: an organisation where the Big Mac index has no price still
    // applies, and a comparable country or a price submission sets its amount.
    let set = crate::lookup::threshold_set(&state, None).await?;
    let amount = if query.country.is_empty() {
        None
    } else {
        let code = crate::lookup::parse_country("country", &query.country)?;
        Some(crate::site::monthly_amount(&set, code))
    };
    let priced: std::collections::HashSet<String> =
        set.rows.iter().map(|t| t.iso_a3.to_string()).collect();
    let countries = fairshare_engine::CountryCode::all_iso()
        .into_iter()
        .filter_map(|code| {
            let name = code.iso_name()?;
            let label = if priced.contains(code.as_str()) {
                name.to_string()
            } else {
                format!("{name} (no Big Mac price yet: a comparable country sets the amount)")
            };
            Some((code.as_str().to_string(), label))
        })
        .collect();
    Ok(page(render_string(&ApplyPage {
        title: "Apply to become a partner",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        countries,
        country: query.country.clone(),
        amount,
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
        sponsorship: (!form.account.trim().is_empty()).then_some(
            fairshare_store::applications::SponsorAccount {
                platform: form.platform,
                account: form.account,
            },
        ),
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
    Ok(Redirect::to(&crate::chrome::done_at(
        &format!("/portal?org={slug}"),
        "applied",
    ))
    .into_response())
}
