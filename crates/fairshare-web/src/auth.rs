//! Signing in: argon2id password hashes, session cookies (a random token; the store
//! keeps only its SHA-256), the signed-in user as an extractor, role checks, and
//! protection against forged requests (a per-session token in every form, and a
//! same-origin check on sign-in, which has no session yet).

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fairshare_store::accounts::SessionUser;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::AppState;

pub const SESSION_COOKIE: &str = "fairshare_session";
/// How long a session lasts without signing in again.
pub const SESSION_DAYS: i64 = 14;

/// An argon2id hash (PHC string) of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// 32 random bytes as hex: session tokens and anti-forgery tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A cookie of the request, by name.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session cookie; `Secure` when the request came over HTTPS (directly or, as a
/// proxy says, `X-Forwarded-Proto: https`).
pub fn session_cookie(token: &str, headers: &HeaderMap, max_age_seconds: i64) -> String {
    cookie_header(SESSION_COOKIE, token, headers, max_age_seconds)
}

/// A `Set-Cookie` value for this site's cookies: `HttpOnly`, `SameSite=Lax`, and
/// `Secure` behind HTTPS.
fn cookie_header(name: &str, token: &str, headers: &HeaderMap, max_age_seconds: i64) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Opens a session for `user` (a new token, a new anti-forgery token) and returns the
/// `Set-Cookie` value that carries it: every way of signing in ends here.
pub async fn start_session(
    state: &AppState,
    user: i64,
    headers: &HeaderMap,
) -> Result<String, fairshare_store::StoreError> {
    let token = random_token();
    state
        .store
        .open_session(
            user,
            &token_hash(&token),
            &random_token(),
            time::Duration::days(SESSION_DAYS),
        )
        .await?;
    Ok(session_cookie(&token, headers, SESSION_DAYS * 86_400))
}

/// Where a request comes from, for throttling: the connection's peer address, or —
/// when the deployment says a reverse proxy stands in front (`trust_proxy`) — the
/// last address the proxy appended to `X-Forwarded-For`.
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        let forwarded = state
            .limits
            .trust_proxy
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .next_back()
                    .map(|ip| ip.trim().to_string())
            })
            .flatten()
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string());
        Ok(ClientAddress(
            forwarded.or(peer).unwrap_or_else(|| "local".into()),
        ))
    }
}

/// The cookie that marks a browser its account signed in from before.
pub const DEVICE_COOKIE: &str = "fairshare_device";

/// The device cookie (a year; only its hash is stored).
pub fn device_cookie(token: &str, headers: &HeaderMap) -> String {
    cookie_header(DEVICE_COOKIE, token, headers, 365 * 86_400)
}

/// The signed-in user, if any.
pub struct Viewer(pub Option<SessionUser>, pub Option<String>);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Viewer(None, None));
        };
        let hash = token_hash(&token);
        match state.store.session_user(&hash).await {
            Ok(user) => Ok(Viewer(user, Some(hash))),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
            }
        }
    }
}

/// Why a request may not go on.
pub enum Denied {
    /// Not signed in: to the sign-in page, then back.
    SignIn(String),
    /// Signed in, not allowed.
    Forbidden,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        crate::error::AppError::from(self).into_response()
    }
}

/// The user, if `allowed` says yes.
pub fn require(
    viewer: Viewer,
    here: &str,
    allowed: impl Fn(&SessionUser) -> bool,
) -> Result<SessionUser, Denied> {
    match viewer.0 {
        None => Err(Denied::SignIn(here.to_string())),
        Some(user) if allowed(&user) => {
            // A signed-in page: its header links to what the person may use.
            crate::chrome::signed_in(&user);
            Ok(user)
        }
        Some(_) => Err(Denied::Forbidden),
    }
}

/// A state-changing request: a signed-in user `allowed` here, whose form carries the
/// session's anti-forgery token.
pub fn require_form(
    viewer: Viewer,
    here: &str,
    allowed: impl Fn(&SessionUser) -> bool,
    csrf: &str,
) -> Result<SessionUser, Denied> {
    let user = require(viewer, here, allowed)?;
    check_csrf(&user, csrf)?;
    Ok(user)
}

/// A state-changing form must carry the session's token.
pub fn check_csrf(user: &SessionUser, submitted: &str) -> Result<(), Denied> {
    if same_secret(submitted, &user.csrf) {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

/// Whether `given` equals `secret`, in a time that does not depend on where they
/// differ (webhook tokens, anti-forgery tokens, OAuth `state`).
pub(crate) fn same_secret(given: &str, secret: &str) -> bool {
    // Compare MACs of both, so the comparison takes the same time whatever differs.
    let tag = |text: &str| {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(b"fairshare-token-compare").expect("any key length");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes()
    };
    tag(given) == tag(secret)
}

/// Sign-in has no session yet: refuse posts that a browser says came from elsewhere.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin" || v == "none");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_ok = match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest == host),
        (Some(_), None) => false,
    };
    site_ok && origin_ok
}

/// Percent-encodes a path for a query parameter.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn forged_origins_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "example.org".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://example.org".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.test".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
