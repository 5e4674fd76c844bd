//! What no URL can do: grow the page cache past its budget, make a cold page render
//! once per waiting visitor, ask for a report window outside ten years of the past,
//! or make the API break its own contract.

use std::sync::Arc;

use axum::http::StatusCode;
use fairshare_web::Limits;

use crate::{get, states};

#[tokio::test]
async fn the_page_cache_stays_within_its_byte_budget_whatever_is_asked() {
    let (mut state, _t) = states().await.remove(0);
    let budget = 256 * 1024;
    state.limits = Arc::new(Limits {
        cache_bytes: budget,
        ..Limits::default()
    });
    for i in 0..150 {
        let ignored = get(&state, &format!("/report?utm={i}")).await;
        assert_eq!(ignored.status, StatusCode::OK);
        let window = get(&state, &format!("/report?days={}", i + 1)).await;
        assert_eq!(window.status, StatusCode::OK);
        assert!(
            state.cache.bytes() <= budget,
            "{} bytes",
            state.cache.bytes()
        );
    }
    assert!(state.cache.bytes() > 0, "pages are cached");
}

#[tokio::test]
async fn unknown_parameters_share_one_cache_entry() {
    let (state, _t) = states().await.remove(0);
    get(&state, "/report").await;
    let one = state.cache.bytes();
    for i in 0..20 {
        get(&state, &format!("/report?tracking={i}&more=x")).await;
    }
    assert_eq!(state.cache.bytes(), one);
}

#[tokio::test]
async fn visitors_missing_the_same_page_at_once_wait_for_one_render() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (state, _t) = states().await.remove(0);
    let renders = Arc::new(AtomicUsize::new(0));
    let visits: Vec<_> = (0..10)
        .map(|_| {
            let (state, renders) = (state.clone(), renders.clone());
            tokio::spawn(async move {
                let page = state
                    .cache
                    .get_or_render(&state, "/slow", |_| async move {
                        renders.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        Ok(("the page".to_string(), "text/plain"))
                    })
                    .await;
                page.map(|p| p.body).ok()
            })
        })
        .collect();
    for visit in visits {
        assert_eq!(visit.await.unwrap().as_deref(), Some(&b"the page"[..]));
    }
    assert_eq!(
        renders.load(Ordering::SeqCst),
        1,
        "one render for ten visitors"
    );
}

#[tokio::test]
async fn report_windows_outside_ten_years_of_the_past_are_refused_as_json() {
    for (state, t) in states().await {
        for query in [
            "from=2026-01-01&to=9999-12-31",
            "from=0001-01-01&to=2026-01-01",
            "from=2010-01-01&to=2026-01-01",
            "from=2026-11-01&to=2026-12-31",
            "days=0",
            "days=99999999999999999999",
        ] {
            let reply = get(&state, &format!("/api/v1/report?{query}")).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{} {query}: {}",
                t.backend,
                reply.body
            );
            assert_eq!(reply.json()["error"]["status"], 400);
            let page = get(&state, &format!("/report?{query}")).await;
            assert_eq!(
                page.status,
                StatusCode::BAD_REQUEST,
                "{} {query}",
                t.backend
            );
        }
    }
}

#[tokio::test]
async fn the_report_api_writes_dates_as_the_contract_says() {
    for (state, t) in states().await {
        let reply = get(&state, "/api/v1/report?from=2026-10-01&to=2026-10-31").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", t.backend);
        let json = reply.json();
        assert_eq!(json["from"], "2026-10-01", "{}", t.backend);
        assert_eq!(json["to"], "2026-10-31");
        for point in json["trend"].as_array().unwrap() {
            let from = point["from"].as_str().expect("a YYYY-MM-DD string");
            assert!(
                time::Date::parse(
                    from,
                    time::macros::format_description!("[year]-[month]-[day]")
                )
                .is_ok()
            );
        }
    }
}

#[test]
fn secrets_in_addresses_never_reach_the_logs() {
    let uri: axum::http::Uri = "/webhooks/opencollective?token=s3cret-oc&x=1"
        .parse()
        .unwrap();
    let logged = fairshare_web::redacted(&uri);
    assert_eq!(logged, "/webhooks/opencollective?token=REDACTED&x=1");
    let uri: axum::http::Uri = "/login/github/callback?code=abc&state=def".parse().unwrap();
    assert!(!fairshare_web::redacted(&uri).contains("abc"));
    assert!(!fairshare_web::redacted(&uri).contains("def"));
}

#[tokio::test]
async fn an_extreme_setting_is_refused_and_every_page_still_works() {
    for (state, t) in states().await {
        let sessions = crate::roles::people(&state).await;
        let (admin, org_admin) = (&sessions[0], &sessions[2]);
        for (field, value) in [
            ("weight.review", "79228162514264337593543950335"),
            ("weight.review", "0.0000000000000000000000000001"),
            ("cap.review", "4294967295"),
            ("impact", "core+%3D+79228162514264337593543950335"),
        ] {
            let form = format!("csrf={}&reason=test&{field}={value}", admin.csrf);
            let answer =
                crate::roles::status(&state, "POST", "/admin/settings", Some(admin), &form).await;
            assert_eq!(
                answer,
                StatusCode::BAD_REQUEST,
                "{} {field}={value}",
                t.backend
            );
        }
        for page in ["/portal?org=acme", "/portal/breakdown?org=acme"] {
            let answer = crate::roles::status(&state, "GET", page, Some(org_admin), "").await;
            assert_eq!(answer, StatusCode::OK, "{} {page}", t.backend);
        }
    }
}
