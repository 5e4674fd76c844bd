//! The console's lists and one-click corrections, in-process on every backend:
//! searched, sorted, paged and exported as a reviewer works through them.

use crate::roles::{Session, fetch, people};
use crate::{commits, states};

/// The reviewer of `people`'s sessions.
fn reviewer(sessions: &[Session]) -> &Session {
    &sessions[1]
}

#[tokio::test]
async fn the_audit_log_is_narrowed_by_who_and_what_paged_and_exported() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        for i in 0..60 {
            state
                .store
                .add_user(
                    &format!("bulk{i}@example.org"),
                    "not a hash",
                    &[],
                    "bulk@example.org",
                )
                .await
                .unwrap();
        }
        let get = |uri: &'static str| fetch(&state, "GET", uri, Some(reviewer(&sessions)), "");
        let first = get("/admin/audit?who=BULK&action=users.add").await;
        assert!(
            first.body.contains("60 rows, page 1 of 2"),
            "{}: {}",
            t.backend,
            first.body
        );
        let second = get("/admin/audit?who=BULK&action=users.add&page=2").await;
        assert!(second.body.contains("page 2 of 2"), "{}", t.backend);
        assert!(second.body.contains("rel=\"prev\""), "{}", t.backend);

        let none = get("/admin/audit?who=bulk&from=2999-01-01").await;
        assert!(none.body.contains("Nothing matches"), "{}", t.backend);
        let bad = get("/admin/audit?from=yesterday").await;
        assert_eq!(bad.status.as_u16(), 400, "{}", t.backend);
        assert!(
            bad.body.contains("`from`"),
            "{}: the field is named",
            t.backend
        );

        let csv = get("/admin/audit?who=bulk&format=csv").await;
        assert!(csv.content_type.starts_with("text/csv"), "{}", t.backend);
        assert_eq!(
            csv.body.lines().count(),
            61,
            "{}: a header and every entry",
            t.backend
        );
        let json = get("/admin/audit?who=bulk&format=json").await;
        let entries: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(entries.as_array().unwrap().len(), 60, "{}", t.backend);
    }
}

#[tokio::test]
async fn organisations_are_searched_sorted_and_exported() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        let get = |uri: &'static str| fetch(&state, "GET", uri, Some(reviewer(&sessions)), "");
        let found = get("/admin/organisations?q=glob").await;
        assert!(
            found.body.contains("GLOBEX") && !found.body.contains("ACME"),
            "{}",
            t.backend
        );
        let csv = get("/admin/organisations?sort=name&order=desc&format=csv").await;
        let rows: Vec<&str> = csv.body.lines().collect();
        assert!(
            rows[0].starts_with("Organisation,Slug,Country,Status"),
            "{}",
            t.backend
        );
        assert!(
            rows[1].starts_with("GLOBEX") && rows[2].starts_with("ACME"),
            "{}: {rows:?}",
            t.backend
        );
    }
}

#[tokio::test]
async fn a_reviewer_excludes_an_activity_from_its_month_with_one_click() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        commits(&state, "ada@acme.org", &["one", "two"]).await;
        let month = "/portal/breakdown?org=acme&month=2026-10";

        let admin_view = fetch(&state, "GET", month, Some(&sessions[2]), "").await;
        assert!(
            !admin_view.body.contains("Exclude #"),
            "{}: only reviewers exclude",
            t.backend
        );
        let review_view = fetch(&state, "GET", month, Some(reviewer(&sessions)), "").await;
        let ids: Vec<&str> = review_view
            .body
            .split("name=\"activity\" value=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(
            ids.len(),
            2,
            "{}: an Exclude button for each activity",
            t.backend
        );

        let form = |id: &str| {
            format!(
                "csrf={}&reason=bot+traffic&back=%2Fportal%2Fbreakdown%3Forg%3Dacme%26month%3D2026-10&activity={id}",
                reviewer(&sessions).csrf
            )
        };
        let form_one = form(ids[0]);
        let done = fetch(
            &state,
            "POST",
            "/admin/corrections/add",
            Some(reviewer(&sessions)),
            &form_one,
        )
        .await;
        assert_eq!(done.status.as_u16(), 303, "{}: {}", t.backend, done.body);
        assert_eq!(
            done.location,
            format!("{month}&done=corrected"),
            "{}",
            t.backend
        );
        let after = fetch(&state, "GET", month, Some(&sessions[2]), "").await;
        assert!(
            after.body.contains("bot traffic"),
            "{}: the organisation sees why",
            t.backend
        );

        let elsewhere =
            form(ids[1]).replace("%2Fportal%2Fbreakdown", "https%3A%2F%2Fevil.example%2F");
        let refused = fetch(
            &state,
            "POST",
            "/admin/corrections/add",
            Some(reviewer(&sessions)),
            &elsewhere,
        )
        .await;
        assert!(
            refused.location.starts_with("/admin/corrections"),
            "{}: never sent off the site ({})",
            t.backend,
            refused.location
        );
    }
}
