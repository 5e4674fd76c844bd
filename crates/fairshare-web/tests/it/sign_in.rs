//! Sign-in that cannot be turned against its users: where it sends people after,
//! and throttling that stops guessing without letting anyone lock an owner out.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use fairshare_store::accounts::{Grant, Role};
use fairshare_web::account::hash_for_new_user;
use fairshare_web::{AppState, Limits, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::states;

const PASSWORD: &str = "the owner's long password";

/// A state that throttles by `X-Forwarded-For` (as behind a proxy), with one account.
async fn with_owner() -> Vec<(AppState, fairshare_testkit::TestStore)> {
    let mut out = Vec::new();
    for (mut state, t) in states().await {
        state.limits = Arc::new(Limits {
            trust_proxy: true,
            ..Limits::default()
        });
        let hash = hash_for_new_user(PASSWORD).unwrap();
        let member = [Grant {
            role: Role::Member,
            scope: String::new(),
        }];
        state
            .store
            .add_user("owner@example.org", &hash, &member, "test")
            .await
            .unwrap();
        out.push((state, t));
    }
    out
}

async fn post(
    state: &AppState,
    uri: &str,
    client: &str,
    cookie: Option<&str>,
    form: &str,
) -> Response {
    let mut request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::from(form.to_string())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Response::from_parts(parts, Body::from(bytes))
}

async fn sign_in(
    state: &AppState,
    client: &str,
    cookie: Option<&str>,
    password: &str,
    next: &str,
) -> Response {
    let form = format!(
        "email=owner%40example.org&password={}&next={next}",
        password.replace(' ', "+").replace('\'', "%27")
    );
    post(state, "/login", client, cookie, &form).await
}

fn location(response: &Response) -> &str {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// The device cookie a successful sign-in set, as a `Cookie` header value.
fn device(response: &Response) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("fairshare_device="))
        .and_then(|c| c.split(';').next())
        .expect("a device cookie")
        .to_string()
}

#[tokio::test]
async fn after_signing_in_nobody_is_sent_to_another_site() {
    let (state, _t) = with_owner().await.remove(0);
    for (next, expected) in [
        ("%2Fportal%3Forg%3Dacme", "/portal?org=acme"),
        ("%2F%09%2Fevil.example", "/account"),
        ("%2F%0A%2Fevil.example", "/account"),
        ("%2F%2Fevil.example", "/account"),
        ("%2F%5Cevil.example", "/account"),
        ("https%3A%2F%2Fevil.example", "/account"),
        ("%2F%00", "/account"),
        ("%2F%C3%A9t%C3%A9", "/account"),
    ] {
        let response = sign_in(&state, "10.0.0.1", None, PASSWORD, next).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), expected, "{next}");
    }
}

#[tokio::test]
async fn asking_for_reset_links_never_locks_the_owner_out() {
    for (state, t) in with_owner().await {
        for _ in 0..8 {
            let asked = post(
                &state,
                "/forgot",
                "10.6.6.6",
                None,
                "email=owner%40example.org",
            )
            .await;
            assert_eq!(asked.status(), StatusCode::OK, "{}", t.backend);
        }
        let owner = sign_in(&state, "10.0.0.1", None, PASSWORD, "").await;
        assert_eq!(owner.status(), StatusCode::SEE_OTHER, "{}", t.backend);
    }
}

#[tokio::test]
async fn a_third_partys_wrong_guesses_never_lock_the_owner_out_of_a_device_they_used() {
    for (state, t) in with_owner().await {
        let first = sign_in(&state, "10.0.0.1", None, PASSWORD, "").await;
        assert_eq!(first.status(), StatusCode::SEE_OTHER, "{}", t.backend);
        let known = device(&first);
        for _ in 0..6 {
            let guess = sign_in(&state, "10.6.6.6", None, "wrong guess of a password", "").await;
            assert!(
                [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&guess.status()),
                "{}",
                t.backend
            );
        }
        let stranger = sign_in(&state, "10.7.7.7", None, PASSWORD, "").await;
        assert_eq!(
            stranger.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}: an unknown device waits, even with the right password",
            t.backend
        );
        let owner = sign_in(&state, "10.0.0.1", Some(&known), PASSWORD, "").await;
        assert_eq!(
            owner.status(),
            StatusCode::SEE_OTHER,
            "{}: the owner's device still signs in",
            t.backend
        );
    }
}

#[tokio::test]
async fn one_client_cannot_guess_across_many_accounts() {
    for (state, t) in with_owner().await {
        let mut refused = None;
        for i in 0..30 {
            let form = format!("email=user{i}%40example.org&password=guess+number+{i}");
            let answer = post(&state, "/login", "10.6.6.6", None, &form)
                .await
                .status();
            if answer == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(i);
                break;
            }
            assert_eq!(answer, StatusCode::UNAUTHORIZED, "{}", t.backend);
        }
        assert_eq!(refused, Some(20), "{}: throttled per client", t.backend);
        let elsewhere = sign_in(&state, "10.0.0.1", None, PASSWORD, "").await;
        assert_eq!(
            elsewhere.status(),
            StatusCode::SEE_OTHER,
            "{}: other clients are not",
            t.backend
        );
    }
}
