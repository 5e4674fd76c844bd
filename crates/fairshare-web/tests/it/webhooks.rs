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

fn platform_sample(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../testdata/samples/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Posts a delivery; returns its status and JSON answer.
async fn deliver(
    state: &AppState,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::post(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn gitlab_hooks_need_their_token_and_store_each_thing_once() {
    for t in fairshare_testkit::stores().await {
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        let merge_request = platform_sample("gitlab/webhook.merge-request-hook.example.json");
        let hook = |event: &'static str, token: &'static str| {
            vec![("x-gitlab-event", event), ("x-gitlab-token", token)]
        };
        let (status, _) = deliver(
            &state,
            "/webhooks/gitlab",
            &hook("Merge Request Hook", "s3cret"),
            merge_request.clone(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "off until a secret is set"
        );
        state.webhooks = Arc::new(WebhookSecrets {
            gitlab: Some("s3cret".into()),
            ..Default::default()
        });
        for refused in [
            hook("Merge Request Hook", "guess"),
            vec![("x-gitlab-event", "Merge Request Hook")],
        ] {
            let (status, _) =
                deliver(&state, "/webhooks/gitlab", &refused, merge_request.clone()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", t.backend);
        }
        let opened = hook("Merge Request Hook", "s3cret");
        let (status, answer) =
            deliver(&state, "/webhooks/gitlab", &opened, merge_request.clone()).await;
        assert_eq!(
            (status, answer["new"].as_u64()),
            (StatusCode::ACCEPTED, Some(1)),
            "{answer}"
        );
        let (_, again) = deliver(&state, "/webhooks/gitlab", &opened, merge_request).await;
        assert_eq!(
            again["already_known"], 1,
            "{}: a redelivery stores nothing",
            t.backend
        );
        let notes = hook("Note Hook", "s3cret");
        for (name, new) in [
            ("gitlab/webhook.note-hook.merge-request.example.json", 1),
            ("gitlab/webhook.note-hook.issue.example.json", 1),
        ] {
            let (_, answer) =
                deliver(&state, "/webhooks/gitlab", &notes, platform_sample(name)).await;
            assert_eq!(answer["new"], new, "{name}: {answer}");
        }
        let (_, issue) = deliver(
            &state,
            "/webhooks/gitlab",
            &hook("Issue Hook", "s3cret"),
            platform_sample("gitlab/webhook.issue-hook.example.json"),
        )
        .await;
        assert_eq!(issue["new"], 1, "{issue}");
        let (_, push) = deliver(
            &state,
            "/webhooks/gitlab",
            &hook("Push Hook", "s3cret"),
            platform_sample("gitlab/webhook.push-hook.example.json"),
        )
        .await;
        assert_eq!(push["status"], "stored", "{push}");
        let (status, ignored) = deliver(
            &state,
            "/webhooks/gitlab",
            &hook("Pipeline Hook", "s3cret"),
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(
            (status, ignored["status"].as_str()),
            (StatusCode::ACCEPTED, Some("ignored"))
        );
        let (status, _) = deliver(&state, "/webhooks/gitlab", &opened, b"not json".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn gitlab_hooks_of_other_projects_are_ignored() {
    let t = fairshare_testkit::sqlite().await;
    let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
    state.webhooks = Arc::new(WebhookSecrets {
        gitlab: Some("s3cret".into()),
        ..Default::default()
    });
    state.contribution_webhooks = Arc::new(fairshare_web::ContributionWebhooks {
        gitlab_projects: vec!["acme/app".into()],
        ..Default::default()
    });
    let (status, answer) = deliver(
        &state,
        "/webhooks/gitlab",
        &[
            ("x-gitlab-event", "Issue Hook"),
            ("x-gitlab-token", "s3cret"),
        ],
        platform_sample("gitlab/webhook.issue-hook.example.json"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("not one of the programme's GitLab projects")
    );
}

#[tokio::test]
async fn crowdin_deliveries_carry_their_token_and_count_once() {
    for t in fairshare_testkit::stores().await {
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        state.webhooks = Arc::new(WebhookSecrets {
            crowdin: Some("s3cret".into()),
            ..Default::default()
        });
        let body = platform_sample("crowdin/webhook.suggestion.added.json");
        let (status, _) = deliver(&state, "/webhooks/crowdin?token=guess", &[], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", t.backend);
        let (status, _) = deliver(&state, "/webhooks/crowdin", &[], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, answer) =
            deliver(&state, "/webhooks/crowdin?token=s3cret", &[], body.clone()).await;
        assert_eq!(
            (status, answer["new"].as_u64()),
            (StatusCode::ACCEPTED, Some(1)),
            "{answer}"
        );
        // The same translation exported later is the same translation.
        let (_, updated) = deliver(
            &state,
            "/webhooks/crowdin",
            &[("authorization", "Bearer s3cret")],
            platform_sample("crowdin/webhook.translation.updated.json"),
        )
        .await;
        assert_eq!(
            (updated["new"].as_u64(), updated["already_known"].as_u64()),
            (Some(0), Some(1)),
            "{updated}"
        );
    }
}

#[tokio::test]
async fn github_discussion_deliveries_credit_posts_and_chosen_answers() {
    for t in fairshare_testkit::stores().await {
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        state.webhooks = Arc::new(WebhookSecrets {
            github: Some("s3cret".into()),
            ..Default::default()
        });
        for (event, name, new) in [
            ("discussion", "discussion.created.payload.json", 1),
            (
                "discussion_comment",
                "discussion_comment.created.payload.json",
                1,
            ),
            // The answer is a comment not seen before, and a solution.
            ("discussion", "discussion.answered.payload.json", 2),
            ("discussion", "discussion.answered.payload.json", 0),
        ] {
            let body = platform_sample(&format!("github-discussions/{name}"));
            let signature = sign("s3cret", &body);
            let (status, answer) = deliver(
                &state,
                "/webhooks/github",
                &[
                    ("x-github-event", event),
                    ("x-github-delivery", "d-1"),
                    ("x-hub-signature-256", signature.as_str()),
                ],
                body,
            )
            .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{name}");
            assert_eq!(answer["new"], new, "{}: {name}: {answer}", t.backend);
        }
    }
}
