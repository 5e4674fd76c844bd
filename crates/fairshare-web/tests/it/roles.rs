//! Who reaches what, in-process, on every backend: each signed-in page × every role,
//! and the reviewer decisions with the status rule (403 who, 409 state).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fairshare_import::record::OrgRecord;
use fairshare_store::accounts::{Grant, Role, TokenPurpose};
use fairshare_web::auth::{SESSION_COOKIE, random_token, token_hash};
use fairshare_web::{AppState, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::states;

/// The people of the matrix, in its column order (after anonymous).
const WHO: [&str; 6] = ["admin", "reviewer", "a", "b", "lead", "member"];

/// A signed-in person: their session cookie and anti-forgery token.
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// Two organisations (`acme`, `globex`) and one user per role, each signed in.
pub(crate) async fn people(state: &AppState) -> Vec<Session> {
    let org = |line, slug: &str, domain: &str| OrgRecord {
        line,
        slug: slug.into(),
        name: slug.to_uppercase(),
        country: Some("DEU".parse().unwrap()),
        website: None,
        domains: vec![domain.into()],
    };
    state
        .store
        .import_orgs(
            "orgs.csv",
            "digest",
            &[org(2, "acme", "acme.org"), org(3, "globex", "globex.org")],
            "test",
        )
        .await
        .unwrap();
    let grant = |role, scope: &str| Grant {
        role,
        scope: scope.into(),
    };
    let roles = [
        grant(Role::Admin, ""),
        grant(Role::Reviewer, ""),
        grant(Role::OrgAdmin, "acme"),
        grant(Role::OrgAdmin, "globex"),
        grant(Role::TeamLead, "product"),
        grant(Role::Member, ""),
    ];
    let mut sessions = Vec::new();
    for (who, grant) in WHO.iter().zip(roles) {
        sessions.push(sign_in_as(state, &format!("{who}@example.org"), &[grant]).await);
    }
    sessions
}

/// A user with `grants`, signed in.
pub(crate) async fn sign_in_as(state: &AppState, email: &str, grants: &[Grant]) -> Session {
    let user = state
        .store
        .add_user(email, "not a hash", grants, "test")
        .await
        .unwrap();
    let (token, csrf) = (random_token(), random_token());
    state
        .store
        .open_session(user, &token_hash(&token), &csrf, time::Duration::hours(1))
        .await
        .unwrap();
    Session {
        cookie: format!("{SESSION_COOKIE}={token}"),
        csrf,
    }
}

/// A signed-in account whose address is confirmed, with `grants`.
pub(crate) async fn confirmed(state: &AppState, email: &str, grants: &[Grant]) -> Session {
    let session = sign_in_as(state, email, grants).await;
    let token = random_token();
    state
        .store
        .issue_token(
            email,
            &token_hash(&token),
            TokenPurpose::Verify,
            time::Duration::hours(1),
        )
        .await
        .unwrap();
    state
        .store
        .redeem_token(&token_hash(&token), TokenPurpose::Verify, None)
        .await
        .unwrap();
    session
}

/// What a request answered: its status, where it redirects, and its body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) location: String,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

/// A request through the router, as `session` when given (`form` is a POST's body).
pub(crate) async fn fetch(
    state: &AppState,
    method: &str,
    uri: &str,
    session: Option<&Session>,
    form: &str,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(session) = session {
        request = request.header(header::COOKIE, &session.cookie);
    }
    if method == "POST" {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::from(form.to_string())).unwrap())
        .await
        .unwrap();
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let (location, content_type) = (
        header_text(header::LOCATION),
        header_text(header::CONTENT_TYPE),
    );
    let status = response.status();
    // Read the body whole, so that a page that fails while rendering fails here.
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        location,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) async fn status(
    state: &AppState,
    method: &str,
    uri: &str,
    session: Option<&Session>,
    form: &str,
) -> StatusCode {
    fetch(state, method, uri, session, form).await.status
}

#[tokio::test]
async fn every_signed_in_page_answers_each_role_on_every_backend() {
    // route → expected status for anonymous, then each of `WHO`.
    let matrix: [(&str, [u16; 7]); 16] = [
        ("/me", [303, 200, 200, 200, 200, 200, 200]),
        ("/apply", [303, 200, 200, 200, 200, 200, 200]),
        ("/account", [303, 200, 200, 200, 200, 200, 200]),
        ("/admin", [303, 200, 200, 403, 403, 403, 403]),
        ("/admin/claims", [303, 200, 200, 403, 403, 200, 403]),
        ("/admin/corrections", [303, 200, 200, 403, 403, 403, 403]),
        (
            "/admin/audit?subject=org%3A",
            [303, 200, 200, 403, 403, 403, 403],
        ),
        ("/admin/changes", [303, 200, 200, 403, 403, 403, 403]),
        ("/admin/settings", [303, 200, 200, 403, 403, 403, 403]),
        ("/admin/prices", [303, 200, 200, 403, 403, 403, 403]),
        ("/admin/runs", [303, 200, 200, 403, 403, 403, 403]),
        ("/admin/organisations", [303, 200, 200, 403, 403, 403, 403]),
        ("/admin/members", [303, 200, 200, 403, 403, 403, 403]),
        ("/portal", [303, 200, 200, 200, 200, 403, 403]),
        ("/portal?org=acme", [303, 200, 200, 200, 403, 403, 403]),
        (
            "/portal/breakdown?org=acme",
            [303, 200, 200, 200, 403, 403, 403],
        ),
    ];
    for (state, t) in states().await {
        let sessions = people(&state).await;
        for (path, expected) in matrix {
            let anonymous = status(&state, "GET", path, None, "").await;
            assert_eq!(
                anonymous.as_u16(),
                expected[0],
                "{} anonymous {path}",
                t.backend
            );
            for (i, session) in sessions.iter().enumerate() {
                let got = status(&state, "GET", path, Some(session), "").await;
                assert_eq!(
                    got.as_u16(),
                    expected[i + 1],
                    "{} {} {path}",
                    t.backend,
                    WHO[i]
                );
            }
        }
    }
}

#[tokio::test]
async fn a_change_request_is_decided_once_and_never_by_its_requester() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        let (reviewer, org_admin) = (&sessions[1], &sessions[2]);
        let ask = format!(
            "csrf={}&org=acme&country=IND&website=&domains=acme.org&sponsor_accounts=",
            org_admin.csrf
        );
        let asked = status(&state, "POST", "/portal/details", Some(org_admin), &ask).await;
        assert_eq!(asked, StatusCode::SEE_OTHER, "{}", t.backend);
        let first = state.store.details_changes(Some("acme")).await.unwrap()[0].id;

        // A reviewer who is also the organisation's admin asks, and may not decide it.
        let grants = [
            Grant {
                role: Role::Reviewer,
                scope: String::new(),
            },
            Grant {
                role: Role::OrgAdmin,
                scope: "acme".into(),
            },
        ];
        let dual = sign_in_as(&state, "dual@example.org", &grants).await;
        let own_ask = ask.replace(&org_admin.csrf, &dual.csrf);
        assert_eq!(
            status(&state, "POST", "/portal/details", Some(&dual), &own_ask).await,
            StatusCode::SEE_OTHER
        );
        let own = state.store.details_changes(Some("acme")).await.unwrap()[0].id;
        let own_form = format!("csrf={}&decision=approve&comment=mine", dual.csrf);
        let refused = status(
            &state,
            "POST",
            &format!("/admin/changes/{own}/decide"),
            Some(&dual),
            &own_form,
        )
        .await;
        assert_eq!(refused, StatusCode::FORBIDDEN, "{}: four eyes", t.backend);
        // The newer request replaced the first one, which can no longer be decided.
        let replaced = status(
            &state,
            "POST",
            &format!("/admin/changes/{first}/decide"),
            Some(reviewer),
            &format!("csrf={}&decision=approve&comment=ok", reviewer.csrf),
        )
        .await;
        assert_eq!(replaced, StatusCode::CONFLICT, "{}", t.backend);
        let id = own;
        let decide = format!("/admin/changes/{id}/decide");
        let form =
            |s: &Session, decision: &str| format!("csrf={}&decision={decision}&comment=ok", s.csrf);

        // Not a reviewer: 403 by role. A decision the form does not know: 400.
        let by_org = status(
            &state,
            "POST",
            &decide,
            Some(org_admin),
            &form(org_admin, "approve"),
        )
        .await;
        assert_eq!(by_org, StatusCode::FORBIDDEN, "{}", t.backend);
        let unknown = status(
            &state,
            "POST",
            &decide,
            Some(reviewer),
            &form(reviewer, "defer"),
        )
        .await;
        assert_eq!(
            unknown,
            StatusCode::BAD_REQUEST,
            "{}: only applications defer",
            t.backend
        );

        let approved = status(
            &state,
            "POST",
            &decide,
            Some(reviewer),
            &form(reviewer, "approve"),
        )
        .await;
        assert_eq!(approved, StatusCode::SEE_OTHER, "{}", t.backend);
        let again = status(
            &state,
            "POST",
            &decide,
            Some(reviewer),
            &form(reviewer, "reject"),
        )
        .await;
        assert_eq!(again, StatusCode::CONFLICT, "{}: decided once", t.backend);
        let missing = status(
            &state,
            "POST",
            "/admin/changes/999999/decide",
            Some(reviewer),
            &form(reviewer, "reject"),
        )
        .await;
        assert_eq!(missing, StatusCode::NOT_FOUND, "{}", t.backend);
    }
}
