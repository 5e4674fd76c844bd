//! `/readyz` and `/metrics`: ready when the schema is current; metrics only for the
//! holder of the configured token, with job runs read from the database.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fairshare_engine::ProgrammeRules;
use fairshare_store::jobs::Trigger;
use fairshare_web::{AppState, Machine, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn metrics(state: &AppState, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get("/metrics");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn metrics_need_their_token_and_count_runs_on_every_backend() {
    for t in fairshare_testkit::stores().await {
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        assert_eq!(
            super::get(&state, "/readyz").await.status,
            StatusCode::OK,
            "{}",
            t.backend
        );
        assert_eq!(
            metrics(&state, None).await.0,
            StatusCode::NOT_FOUND,
            "{}: off",
            t.backend
        );
        state.machine = Arc::new(Machine {
            metrics_token: Some("t0k".into()),
            ..Default::default()
        });
        let run = t
            .store
            .start_job_run("source:code", Trigger::Schedule, "test")
            .await
            .unwrap();
        t.store.finish_job_run(run, Err("no answer")).await.unwrap();
        assert_eq!(
            metrics(&state, None).await.0,
            StatusCode::UNAUTHORIZED,
            "{}",
            t.backend
        );
        assert_eq!(
            metrics(&state, Some("guess")).await.0,
            StatusCode::UNAUTHORIZED,
            "{}",
            t.backend
        );
        let (status, text) = metrics(&state, Some("t0k")).await;
        assert_eq!(status, StatusCode::OK, "{}", t.backend);
        assert!(
            text.contains("fairshare_job_runs_total{job=\"source:code\",outcome=\"failed\"} 1"),
            "{}: {text}",
            t.backend
        );
        assert!(
            text.contains(
                "fairshare_job_run_seconds_total{job=\"source:code\",outcome=\"failed\"}"
            ),
            "{}",
            t.backend
        );
        assert!(
            text.contains("fairshare_http_requests_total{class=\"4xx\"}"),
            "{}",
            t.backend
        );
        assert!(
            text.contains("fairshare_waiting{kind=\"application\"} 0"),
            "{}",
            t.backend
        );
    }
}
