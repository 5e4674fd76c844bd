//! Sign in with GitHub (OAuth web flow): a random `state` kept in a short-lived cookie,
//! the code exchanged for a token, the user's numeric id and verified primary email
//! read from the API. Accounts are found by GitHub id, else by that email (then
//! linked), else created as `member`. Off unless `[github_login]` is configured.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use fairshare_import::http::ApiClient;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{cookie, encode, random_token, same_secret, start_session};
use crate::error::AppError;
use crate::pages::error_page;

/// Where GitHub's OAuth endpoints are (configurable so tests use a local mock).
#[derive(Clone, Debug)]
pub struct GithubLogin {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub api_url: String,
}

const STATE_COOKIE: &str = "fairshare_oauth_state";

fn state_cookie(value: &str, max_age: i64) -> String {
    format!("{STATE_COOKIE}={value}; Path=/login/github; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

fn configured(state: &AppState) -> Result<&GithubLogin, AppError> {
    state
        .github_login
        .as_deref()
        .ok_or_else(|| AppError::NotFound("sign-in with GitHub is not configured here".into()))
}

/// `/login/github`: off to GitHub, with a fresh `state`.
pub async fn start(State(state): State<AppState>) -> Response {
    let github = match configured(&state) {
        Ok(github) => github,
        Err(e) => return error_page(e),
    };
    let nonce = random_token();
    let redirect = state.mailer.link("/login/github/callback");
    let url = format!(
        "{}?client_id={}&redirect_uri={}&scope=read%3Auser%20user%3Aemail&state={nonce}",
        github.authorize_url,
        encode(&github.client_id),
        encode(&redirect)
    );
    (
        [(header::SET_COOKIE, state_cookie(&nonce, 600))],
        Redirect::to(&url),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct GithubUser {
    id: i64,
    /// The login contributions carry (`github:login`); absent from some answers.
    #[serde(default)]
    login: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// `/login/github/callback`: checks `state`, exchanges the code, signs in.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let matches = cookie(&headers, STATE_COOKIE)
        .is_some_and(|expected| !expected.is_empty() && same_secret(&callback.state, &expected));
    if !matches || callback.code.is_empty() {
        return error_page(AppError::Forbidden(
            "this sign-in did not start here, or it took too long: try again".into(),
        ));
    }
    let result: Result<i64, AppError> = async {
        let github = configured(&state)?;
        let failed =
            |e: fairshare_import::ImportError| AppError::BadRequest(format!("GitHub: {e}"));
        let mut accept = axum::http::HeaderMap::new();
        accept.insert(header::ACCEPT, "application/json".parse().expect("header"));
        let oauth =
            ApiClient::new("GitHub", &github.token_url, None, accept.clone()).map_err(failed)?;
        let answer: TokenAnswer = oauth
            .post(
                &github.token_url,
                &serde_json::json!({
                    "client_id": github.client_id,
                    "client_secret": github.client_secret,
                    "code": callback.code,
                }),
            )
            .await
            .map_err(failed)?;
        let token = answer.access_token.ok_or_else(|| {
            AppError::BadRequest(format!(
                "GitHub refused the sign-in: {}",
                answer
                    .error_description
                    .unwrap_or_else(|| "no reason given".into())
            ))
        })?;
        let api = ApiClient::new("GitHub", &github.api_url, Some(token), accept).map_err(failed)?;
        let (user, _): (GithubUser, _) = api.get("/user").await.map_err(failed)?;
        let (emails, _): (Vec<GithubEmail>, _) = api.get("/user/emails").await.map_err(failed)?;
        let email = emails
            .into_iter()
            .find(|e| e.primary && e.verified)
            .ok_or_else(|| {
                AppError::BadRequest("your GitHub account has no verified primary email".into())
            })?
            .email;
        let account = state
            .store
            .github_account(&user.id.to_string(), &email)
            .await?;
        // GitHub vouches that the verified address and the login are one person's:
        // their contributions join up.
        if let Some(login) = user.login.as_deref() {
            let keys = (
                fairshare_engine::IdentityKey::from_email(&email),
                fairshare_engine::IdentityKey::new(fairshare_engine::IdentityKind::Github, login),
            );
            if let (Ok(address), Ok(github)) = keys {
                state
                    .store
                    .link_identities(&address, &github, "GitHub sign-in", &email)
                    .await?;
            }
        }
        Ok(account)
    }
    .await;
    let user = match result {
        Ok(user) => user,
        Err(e) => return error_page(e),
    };
    let session = match start_session(&state, user, &headers).await {
        Ok(cookie) => cookie,
        Err(e) => return error_page(e.into()),
    };
    let mut response = Redirect::to("/account").into_response();
    let cookies = response.headers_mut();
    for cookie in [session, state_cookie("", 0)] {
        if let Ok(value) = cookie.parse() {
            cookies.append(header::SET_COOKIE, value);
        }
    }
    response
}
