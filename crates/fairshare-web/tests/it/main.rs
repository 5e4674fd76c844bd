//! The router driven in-process (no sockets) on a real store of each backend.

mod applications;
mod connections;
mod console;
mod limits;
mod me;
mod probes;
mod roles;
mod sign_in;
mod webhooks;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fairshare_engine::ProgrammeRules;
use fairshare_web::{AppState, router};
use http_body_util::BodyExt;
use time::macros::date;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn get(state: &AppState, uri: &str) -> Reply {
    let response = router(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Every backend's store with the embedded data and the July 2021 file, on 2026-11-22.
async fn states() -> Vec<(AppState, fairshare_testkit::TestStore)> {
    let mut out = Vec::new();
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/big-mac/big-mac-source-data-2021-07.csv"
        );
        let bytes = std::fs::read(path).unwrap();
        let file = fairshare_import::bigmac::parse("2021-07.csv", bytes.as_slice()).unwrap();
        let digest = fairshare_import::content_digest(&bytes);
        t.store
            .import_bigmac("2021-07.csv", &digest, &file, None, "test")
            .await
            .unwrap();
        let mut state = AppState::new(t.store.clone(), ProgrammeRules::default());
        state.today = Arc::new(|| date!(2026 - 11 - 22));
        out.push((state, t));
    }
    out
}

#[tokio::test]
async fn api_lists_and_looks_up_thresholds() {
    for (state, t) in states().await {
        let all = get(&state, "/api/v1/thresholds").await;
        assert_eq!(all.status, StatusCode::OK, "{}", t.backend);
        assert!(all.content_type.starts_with("application/json"));
        let json = all.json();
        assert_eq!(json["release"]["release"], "2026-01-01");
        assert!(json["thresholds"].as_array().unwrap().len() >= 71);

        let india = get(&state, "/api/v1/thresholds/IND?release=2021-01-01")
            .await
            .json();
        assert_eq!(india["threshold"]["threshold_local"], "3357");
        assert_eq!(india["threshold"]["currency_code"], "INR");
        assert_eq!(india["threshold"]["threshold_usd"], "45.74");
        assert_eq!(india["release"]["release"], "2021-01-01");
        let usa = get(&state, "/api/v1/thresholds/usa?release=2021-01-01")
            .await
            .json();
        assert_eq!(usa["threshold"]["threshold_local"], "100");
        let germany = get(&state, "/api/v1/thresholds/DEU?release=2021-03-15")
            .await
            .json();
        assert_eq!(
            germany["threshold"]["threshold_local"], "75",
            "release in force on a date"
        );
        assert_eq!(germany["threshold"]["basis"], "euro area");
    }
}

#[tokio::test]
async fn api_errors_are_json_with_the_right_status() {
    for (state, _t) in states().await {
        for (uri, status, needle) in [
            (
                "/api/v1/thresholds/XYZ",
                StatusCode::NOT_FOUND,
                "unknown country `XYZ`",
            ),
            (
                "/api/v1/thresholds/NPL",
                StatusCode::NOT_FOUND,
                "NPL has no threshold",
            ),
            (
                "/api/v1/thresholds/12",
                StatusCode::BAD_REQUEST,
                "`iso_a3` must be",
            ),
            (
                "/api/v1/thresholds?release=2021-13-01",
                StatusCode::BAD_REQUEST,
                "`release` must be a date",
            ),
            (
                "/api/v1/thresholds?release=1999-01-01",
                StatusCode::NOT_FOUND,
                "no Big Mac release",
            ),
            (
                "/api/v1/thresholds?relase=2021-01-01",
                StatusCode::BAD_REQUEST,
                "unknown parameter `relase`",
            ),
        ] {
            let reply = get(&state, uri).await;
            assert_eq!(reply.status, status, "{uri}: {}", reply.body);
            let json = reply.json();
            assert_eq!(json["error"]["status"], status.as_u16());
            let message = json["error"]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{uri}: {message}");
        }
    }
}

#[tokio::test]
async fn calculator_page_works_without_javascript() {
    for (state, t) in states().await {
        let page = get(&state, "/thresholds?country=IND&release=2021-01-01").await;
        assert_eq!(page.status, StatusCode::OK, "{}", t.backend);
        assert!(page.content_type.starts_with("text/html"));
        let body = &page.body;
        assert!(body.contains("<form class=\"calculator\" method=\"get\" action=\"/thresholds\">"));
        assert!(body.contains("<label for=\"country\">"));
        assert!(
            body.contains("<span class=\"currency\">INR</span> 3,357"),
            "{body}"
        );
        assert!(body.contains("USD 45.74"));
        assert!(body.contains("USD 100 × INR 190 ÷ USD 5.66 = INR 3,356.89"));
        assert!(body.contains("<option value=\"IND\" selected>India</option>"));
        assert!(!body.contains("<script"), "no JavaScript needed");

        let euro = get(&state, "/thresholds?country=LUX&release=2021-01-01")
            .await
            .body;
        assert!(euro.contains("<span class=\"currency\">EUR</span> 75"));
        assert!(euro.contains("uses the euro"));

        let missing = get(&state, "/thresholds?country=NPL").await;
        assert_eq!(missing.status, StatusCode::OK);
        assert!(missing.body.contains("Nepal is not in the Big Mac data"));

        let bad = get(&state, "/thresholds?country=!!").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            bad.body
                .contains("must be an ISO 3166-1 alpha-3 country code")
        );
    }
}

#[tokio::test]
async fn health_assets_and_not_found() {
    let (state, _t) = states().await.remove(0);
    let health = get(&state, "/healthz").await;
    assert_eq!(
        (health.status, health.json()["status"].clone()),
        (StatusCode::OK, "ok".into())
    );
    let css = get(&state, "/assets/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type.starts_with("text/css"));
    let home = get(&state, "/").await;
    assert!(home.body.contains("href=\"/thresholds\""));
    let missing = get(&state, "/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));
}

/// Commits by `identity` ("Ada Lovelace") on 2026-10-05, one per external id, titled
/// "Commit ID", imported as a source would.
async fn commits(state: &AppState, identity: &str, ids: &[&str]) {
    use fairshare_import::{ActivityRecord, PersonRef, Skips};
    let key = fairshare_engine::IdentityKey::parse(identity).unwrap();
    let mut ingest = state
        .store
        .begin_ingest("test", "commits.jsonl", &ids.join(","), "test", &[])
        .await
        .unwrap();
    let records: Vec<ActivityRecord> = ids
        .iter()
        .map(|id| {
            let mut record = ActivityRecord::new(
                (*id).into(),
                fairshare_engine::ActivityKind::Commit,
                PersonRef::new(key.clone(), Some("Ada Lovelace")),
                time::macros::datetime!(2026-10-05 10:00 UTC),
            );
            record.title = Some(format!("Commit {id}"));
            record
        })
        .collect();
    ingest.add(&records).await.unwrap();
    ingest.finish(&Skips::default()).await.unwrap();
}
