//! Webhooks: authenticated deliveries are stored once; forged ones are 401 and store nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fairshare_engine::ProgrammeRules;
use fairshare_web::{AppState, WebhookSecrets, router};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tower::ServiceExt;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../testdata/samples/github-webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post(
    state: &AppState,
    uri: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> StatusCode {
    let mut request = Request::post(uri);
    for (k, v) in headers {
        request = request.header(*k, v.as_str());
    }
    router(state.clone())
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn github_sponsors_deliveries_are_verified_and_stored_once() {
    for t in fairshare_testkit::stores().await {
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        state.webhooks = Arc::new(WebhookSecrets {
            github_sponsors: Some("s3cret".into()),
            opencollective: Some("tok".into()),
            ..Default::default()
        });
        let body = sample("sponsorship.created.payload.json");
        let headers = |signature: String, delivery: &str| {
            vec![
                ("x-github-event", "sponsorship".to_string()),
                ("x-github-delivery", delivery.to_string()),
                ("x-hub-signature-256", signature),
                ("content-type", "application/json".to_string()),
            ]
        };
        // Forged: signed with another secret, or the body changed after signing.
        assert_eq!(
            post(
                &state,
                "/webhooks/github-sponsors",
                &headers(sign("guess", &body), "d1"),
                body.clone()
            )
            .await,
            StatusCode::UNAUTHORIZED
        );
        let mut tampered = body.clone();
        tampered.extend_from_slice(b" ");
        assert_eq!(
            post(
                &state,
                "/webhooks/github-sponsors",
                &headers(sign("s3cret", &body), "d1"),
                tampered
            )
            .await,
            StatusCode::UNAUTHORIZED
        );
        let unsigned = vec![
            ("x-github-event", "sponsorship".to_string()),
            ("x-github-delivery", "d1".to_string()),
        ];
        assert_eq!(
            post(&state, "/webhooks/github-sponsors", &unsigned, body.clone()).await,
            StatusCode::UNAUTHORIZED
        );
        assert!(
            t.store.sponsorship_events().await.unwrap().is_empty(),
            "{}: nothing stored",
            t.backend
        );

        assert_eq!(
            post(
                &state,
                "/webhooks/github-sponsors",
                &headers(sign("s3cret", &body), "d1"),
                body.clone()
            )
            .await,
            StatusCode::ACCEPTED
        );
        assert_eq!(
            post(
                &state,
                "/webhooks/github-sponsors",
                &headers(sign("s3cret", &body), "d1"),
                body.clone()
            )
            .await,
            StatusCode::ACCEPTED
        );
        // A captured body replayed under a new delivery id is the same event.
        assert_eq!(
            post(
                &state,
                "/webhooks/github-sponsors",
                &headers(sign("s3cret", &body), "replayed-with-a-new-id"),
                body.clone()
            )
            .await,
            StatusCode::ACCEPTED
        );
        let change = sample("sponsorship.downgraded.payload.json");
        assert_eq!(
            post(
                &state,
                "/webhooks/github-sponsors",
                &headers(sign("s3cret", &change), "d2"),
                change
            )
            .await,
            StatusCode::ACCEPTED
        );
        let events = t.store.sponsorship_events().await.unwrap();
        assert_eq!(
            events.len(),
            2,
            "{}: a redelivery or a replay is stored once",
            t.backend
        );
        assert_eq!(events[0].event.action, "created");
        assert_eq!(events[0].event.account.as_deref(), Some("monalisa"));
        assert_eq!(events[0].event.tier_amount.as_deref(), Some("5.00"));
        assert_eq!(events[1].event.action, "pending_tier_change");
        // The created monthly sponsorship implies charges from its start (2019-12-20),
        // stored as payments of the sponsor's account; the pending change implies none.
        let again = t
            .store
            .charges_from_webhooks("monalisa", time::macros::date!(2026 - 11 - 22))
            .await
            .unwrap();
        assert_eq!(again, 0, "already derived when the delivery arrived");
        let unlinked = t.store.unlinked_accounts().await.unwrap();
        let monalisa = unlinked
            .iter()
            .find(|a| a.account == "monalisa")
            .expect("charges stored");
        assert!(monalisa.payments >= 12, "{}: {monalisa:?}", t.backend);

        // Open Collective: a token in the URL.
        let oc = serde_json::json!({"id": 991, "type": "collective.member.created", "data": {"member": {"memberCollective": {"slug": "Acme"}}, "order": {"totalAmount": 7500, "currency": "EUR", "interval": "month"}}});
        let oc = serde_json::to_vec(&oc).unwrap();
        assert_eq!(
            post(
                &state,
                "/webhooks/opencollective?token=nope",
                &[],
                oc.clone()
            )
            .await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&state, "/webhooks/opencollective", &[], oc.clone()).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&state, "/webhooks/opencollective?token=tok", &[], oc).await,
            StatusCode::ACCEPTED
        );
        let events = t.store.sponsorship_events().await.unwrap();
        assert_eq!(
            events.last().unwrap().event.tier_amount.as_deref(),
            Some("75.00")
        );
        assert_eq!(
            events.last().unwrap().event.account.as_deref(),
            Some("acme")
        );
    }
}

#[tokio::test]
async fn unconfigured_webhooks_are_off() {
    let t = fairshare_testkit::sqlite().await;
    let state = AppState::new(t.store.clone(), ProgrammeRules::default());
    assert_eq!(
        post(&state, "/webhooks/github-sponsors", &[], b"{}".to_vec()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn github_repository_deliveries_are_verified_and_counted_once() {
    for t in fairshare_testkit::stores().await {
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        assert_eq!(
            post(&state, "/webhooks/github", &[], b"{}".to_vec()).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: off until a secret is set",
            t.backend
        );
        state.webhooks = Arc::new(WebhookSecrets {
            github: Some("s3cret".into()),
            ..Default::default()
        });
        let body = sample("pull_request_review.submitted.payload.json");
        let headers = |signature: String, delivery: &str| {
            vec![
                ("x-github-event", "pull_request_review".to_string()),
                ("x-github-delivery", delivery.to_string()),
                ("x-hub-signature-256", signature),
            ]
        };
        assert_eq!(
            post(
                &state,
                "/webhooks/github",
                &headers(sign("guess", &body), "d1"),
                body.clone()
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "{}",
            t.backend
        );
        for delivery in ["d1", "d1", "d2"] {
            assert_eq!(
                post(
                    &state,
                    "/webhooks/github",
                    &headers(sign("s3cret", &body), delivery),
                    body.clone()
                )
                .await,
                StatusCode::ACCEPTED,
                "{}",
                t.backend
            );
        }
        let reviews = t.store.audit_log(Some("import:github:"), 10).await.unwrap();
        let new: Vec<i64> = reviews
            .iter()
            .map(|a| a.details["new"].as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(new, vec![0, 0, 1], "{}: stored once", t.backend);
    }
}
