//! Applications at the web's edge: an application creates an organisation or comes
//! from its administrator, never captures one; what decides money or credit waits for
//! a reviewer; links are only ever http(s); nobody judges their own organisation.

use axum::http::StatusCode;
use fairshare_store::StoreError;
use fairshare_store::accounts::{Grant, Role};
use fairshare_store::claims::ClaimForm;

use crate::roles::{Session, confirmed, people, sign_in_as, status};
use crate::states;

fn application(session: &Session, org: &str, extra: &str) -> String {
    format!(
        "csrf={}&org={org}&name=Pwned+Inc&country=USA&website=https%3A%2F%2Fpwned.example&contact=a%40pwned.example&description=We+help{extra}",
        session.csrf
    )
}

#[tokio::test]
async fn an_application_never_takes_over_an_organisation_on_record() {
    for (state, t) in states().await {
        people(&state).await; // acme and globex, imported: no web administrator
        let outsider = confirmed(&state, "mallory@evil.example", &[]).await;
        let answer = status(
            &state,
            "POST",
            "/apply",
            Some(&outsider),
            &application(&outsider, "acme", "&platform=opencollective&account=acme"),
        )
        .await;
        assert_eq!(answer, StatusCode::FORBIDDEN, "{}", t.backend);
        let acme = state.store.organisation("acme").await.unwrap();
        assert_eq!(
            (acme.name.as_str(), acme.country.as_deref()),
            ("ACME", Some("DEU")),
            "{}: nothing rewritten",
            t.backend
        );
        assert!(
            state
                .store
                .latest_application_of("acme")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            state
                .store
                .details_changes(Some("acme"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn applying_needs_a_confirmed_address() {
    for (state, t) in states().await {
        let fresh = sign_in_as(&state, "new@newco.example", &[]).await;
        let answer = status(
            &state,
            "POST",
            "/apply",
            Some(&fresh),
            &application(&fresh, "newco", ""),
        )
        .await;
        assert_eq!(answer, StatusCode::FORBIDDEN, "{}", t.backend);
        assert!(matches!(
            state.store.organisation("newco").await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn a_new_organisations_sponsor_account_waits_for_a_reviewer() {
    for (state, t) in states().await {
        let founder = confirmed(&state, "founder@newco.example", &[]).await;
        let answer = status(
            &state,
            "POST",
            "/apply",
            Some(&founder),
            &application(
                &founder,
                "newco",
                "&platform=opencollective&account=%40SomeoneElse",
            ),
        )
        .await;
        assert_eq!(answer, StatusCode::SEE_OTHER, "{}", t.backend);
        let newco = state.store.organisation("newco").await.unwrap();
        assert_eq!(newco.name, "Pwned Inc");
        assert!(
            state
                .store
                .sponsor_accounts_of(newco.id, "opencollective")
                .await
                .unwrap()
                .is_empty(),
            "{}: no payments count before a reviewer links the account",
            t.backend
        );
        let changes = state.store.details_changes(Some("newco")).await.unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change.sponsor_accounts[0].account, "someoneelse");
        assert_eq!(
            state.store.holders(Role::OrgAdmin, "newco").await.unwrap(),
            1
        );
    }
}

#[tokio::test]
async fn an_administrators_application_asks_a_reviewer_for_its_changes_and_a_refused_one_changes_nothing()
 {
    for (state, t) in states().await {
        people(&state).await;
        let grant = [Grant {
            role: Role::OrgAdmin,
            scope: "acme".into(),
        }];
        let admin = confirmed(&state, "boss@acme.org", &grant).await;
        let first = status(
            &state,
            "POST",
            "/apply",
            Some(&admin),
            &application(&admin, "acme", ""),
        )
        .await;
        assert_eq!(first, StatusCode::SEE_OTHER, "{}", t.backend);
        let acme = state.store.organisation("acme").await.unwrap();
        assert_eq!(
            acme.name, "ACME",
            "{}: the rename waits for a reviewer",
            t.backend
        );
        let change = &state.store.details_changes(Some("acme")).await.unwrap()[0];
        assert_eq!(change.change.name.as_deref(), Some("Pwned Inc"));
        assert_eq!(change.change.country.as_str(), "USA");

        let again = status(
            &state,
            "POST",
            "/apply",
            Some(&admin),
            &application(&admin, "acme", "&platform=github_sponsors&account=other"),
        )
        .await;
        assert_eq!(
            again,
            StatusCode::CONFLICT,
            "{}: one under review",
            t.backend
        );
        let changes = state.store.details_changes(Some("acme")).await.unwrap();
        assert_eq!(
            changes.len(),
            1,
            "{}: the refused one recorded nothing",
            t.backend
        );
        assert_eq!(changes[0].id, change.id);
    }
}

#[tokio::test]
async fn unsafe_links_and_unknown_platforms_are_refused_at_the_form() {
    for (state, t) in states().await {
        let founder = confirmed(&state, "founder@newco.example", &[]).await;
        for extra in [
            "&website=javascript%3Aalert(1)",
            "&website=data%3Atext%2Fhtml%2Chi",
            "&website=%2F%2Fevil.example",
            "&platform=paypal&account=me",
        ] {
            let form = application(&founder, "newco", "")
                .replace("&website=https%3A%2F%2Fpwned.example", "")
                + extra;
            let answer = status(&state, "POST", "/apply", Some(&founder), &form).await;
            assert_eq!(answer, StatusCode::BAD_REQUEST, "{} {extra}", t.backend);
        }
        assert!(matches!(
            state.store.organisation("newco").await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[test]
fn the_policy_markdown_keeps_only_web_and_mail_links() {
    let html = fairshare_web::markdown_html(
        "[a](javascript:alert(1)) [b](https://ok.example) [c](mailto:p@x.org) ![i](data:image/png;base64,AA)",
    );
    assert!(!html.contains("javascript:"), "{html}");
    assert!(!html.contains("data:"), "{html}");
    assert!(html.contains("href=\"https://ok.example\""));
    assert!(html.contains("href=\"mailto:p@x.org\""));
    assert!(
        html.contains(">a<") || html.contains("a "),
        "the text stays: {html}"
    );
}

#[tokio::test]
async fn a_team_lead_never_verifies_a_claim_of_their_own_organisation() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        // A lead of the product team who works at acme (acme.org is acme's domain).
        let grant = [Grant {
            role: Role::TeamLead,
            scope: "product".into(),
        }];
        let lead = sign_in_as(&state, "lead@acme.org", &grant).await;
        let claim = state
            .store
            .submit_claim(
                "acme",
                &ClaimForm {
                    person: "someone@acme.org".into(),
                    person_name: "Someone".into(),
                    kind: fairshare_engine::ActivityKind::TalkGiven,
                    day: time::macros::date!(2026 - 11 - 01),
                    team: "product".into(),
                    evidence: "https://events.example/talk".into(),
                    description: "A talk".into(),
                },
                "a@example.org",
            )
            .await
            .unwrap();
        let form = |s: &Session| format!("csrf={}&decision=approve&comment=fine", s.csrf);
        let own = status(
            &state,
            "POST",
            &format!("/admin/claims/{claim}/decide"),
            Some(&lead),
            &form(&lead),
        )
        .await;
        assert_eq!(
            own,
            StatusCode::FORBIDDEN,
            "{}: conflict of interest",
            t.backend
        );
        let by_other_lead = status(
            &state,
            "POST",
            &format!("/admin/claims/{claim}/decide"),
            Some(&sessions[4]),
            &form(&sessions[4]),
        )
        .await;
        assert_eq!(by_other_lead, StatusCode::SEE_OTHER, "{}", t.backend);
    }
}

#[tokio::test]
async fn staff_proven_by_their_mailbox_apply_for_an_organisation_without_an_administrator() {
    for (state, t) in states().await {
        let initech = fairshare_import::record::OrgRecord {
            line: 2,
            slug: "initech".into(),
            name: "Initech".into(),
            country: Some("USA".parse().unwrap()),
            website: None,
            domains: vec!["initech.example".into()],
        };
        state
            .store
            .import_orgs("orgs.csv", "d", &[initech], "test")
            .await
            .unwrap();
        let outsider = confirmed(&state, "someone@elsewhere.example", &[]).await;
        let refused = status(
            &state,
            "POST",
            "/apply",
            Some(&outsider),
            &application(&outsider, "initech", ""),
        )
        .await;
        assert_eq!(refused, StatusCode::FORBIDDEN, "{}", t.backend);
        let staff = confirmed(&state, "dev@initech.example", &[]).await;
        let applied = status(
            &state,
            "POST",
            "/apply",
            Some(&staff),
            &application(&staff, "initech", ""),
        )
        .await;
        assert_eq!(applied, StatusCode::SEE_OTHER, "{}", t.backend);
        assert_eq!(
            state
                .store
                .holders(Role::OrgAdmin, "initech")
                .await
                .unwrap(),
            1
        );
        // Now it has an administrator: a colleague asks them.
        let colleague = confirmed(&state, "ops@initech.example", &[]).await;
        let second = status(
            &state,
            "POST",
            "/apply",
            Some(&colleague),
            &application(&colleague, "initech", ""),
        )
        .await;
        assert_eq!(second, StatusCode::FORBIDDEN, "{}", t.backend);
    }
}
