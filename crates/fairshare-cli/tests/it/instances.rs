//! Two `serve` processes on one PostgreSQL database, as a deployment behind a load
//! balancer runs them: a session, a publication and a settings change made on one are
//! seen by the other within a second, and neither serves a stale cached page after it.

use std::time::{Duration, Instant};

use crate::accounts::{add_user, inputs_of, json_of, request, run_on, sign_in, status, top_two};
use crate::site::{TODAY, start};

/// Asks `address` for `path` until `seen` holds, for at most `limit`; how long it took.
fn until(
    address: &str,
    path: &str,
    cookie: &str,
    limit: Duration,
    seen: impl Fn(&str) -> bool,
) -> Option<Duration> {
    let began = Instant::now();
    loop {
        let page = request(address, "GET", path, &format!("Cookie: {cookie}\r\n"), "");
        if seen(&page) {
            return Some(began.elapsed());
        }
        if began.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn two_servers_on_one_postgres_database_see_each_others_changes_within_a_second() {
    let Some(t) = fairshare_testkit::postgres().await else {
        eprintln!("no PostgreSQL configured: two instances need one database server");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    run_on(dir.path(), &t.url, &["demo"]);
    let (a, _) = top_two(dir.path(), &t.url);
    add_user(dir.path(), &t.url, "admin@example.org", "admin");
    add_user(
        dir.path(),
        &t.url,
        "owner@example.org",
        &format!("org_admin:{a}"),
    );
    let one = start(dir.path(), &t.url, TODAY.1);
    let two = start(dir.path(), &t.url, TODAY.1);
    let (one, two) = (one.address.clone(), two.address.clone());
    // Allowed: the one-second look at the data version, plus a request's own time.
    let second = Duration::from_millis(1500);

    // A session opened on one is a session on two.
    let admin = sign_in(&one, "admin@example.org");
    let account = request(
        &two,
        "GET",
        "/account",
        &format!("Cookie: {}\r\n", admin.0),
        "",
    );
    assert!(account.contains("admin@example.org"), "{account}");

    // A profile published on one: two had the page cached and shows the new one.
    let api = format!("/api/v1/partners/{a}");
    let before = json_of(&request(&two, "GET", &api, "", ""));
    assert_ne!(before["profile"]["description"], "Published on one");
    let owner = sign_in(&one, "owner@example.org");
    let edit = request(
        &one,
        "POST",
        "/portal/profile",
        &format!("Cookie: {}\r\n", owner.0),
        &format!("csrf={}&org={a}&description=Published+on+one", owner.1),
    );
    assert_eq!(status(&edit), 303, "{edit}");
    let took = until(&two, &api, "", second, |page| {
        page.contains("Published on one")
    });
    assert!(
        took.is_some(),
        "two still serves the old profile after {second:?}"
    );
    let page = format!("/partners/{a}");
    assert!(until(&two, &page, "", second, |p| p.contains("Published on one")).is_some());

    // New rules recorded on two are the rules one shows and applies.
    let settings = request(
        &two,
        "GET",
        "/admin/settings",
        &format!("Cookie: {}\r\n", admin.0),
        "",
    );
    let mut fields = inputs_of(&settings);
    fields.retain(|(n, _)| n != "weight.review" && n != "reason");
    fields.push(("weight.review".into(), "20".into()));
    fields.push(("reason".into(), "Reviews+are+scarce".into()));
    for (name, value) in [
        ("rounding_mode", "nearest"),
        ("euro_area", "single"),
        ("impact", ""),
    ] {
        fields.push((name.into(), value.into()));
    }
    let form = fields
        .iter()
        .map(|(n, v)| format!("{n}={}", v.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&");
    let recorded = request(
        &two,
        "POST",
        "/admin/settings",
        &format!("Cookie: {}\r\n", admin.0),
        &format!("csrf={}&{form}", admin.1),
    );
    assert_eq!(status(&recorded), 303, "{recorded}");
    let shown = until(&one, "/admin/settings", &admin.0, second, |p| {
        p.contains("<code>scoring.weights.review</code>: 2 → 20")
    });
    assert!(
        shown.is_some(),
        "one does not show the rules recorded on two"
    );

    // Signing out on two ends the session on one.
    let out = request(
        &two,
        "POST",
        "/logout",
        &format!("Cookie: {}\r\n", admin.0),
        &format!("csrf={}", admin.1),
    );
    assert_eq!(status(&out), 303, "{out}");
    let after = request(
        &one,
        "GET",
        "/account",
        &format!("Cookie: {}\r\n", admin.0),
        "",
    );
    assert_eq!(
        status(&after),
        303,
        "one still honours a session ended on two"
    );
}
