use fairshare_engine::{ActivityKind, CountryCode};
use fairshare_engine::{Refusal, RequestState, Verdict};
use fairshare_records::OrgRecord;
use fairshare_store::StoreError;
use fairshare_store::accounts::{Grant, Role};
use fairshare_store::claims::ClaimForm;
use time::Duration;
use time::macros::date;

fn org(slug: &str) -> OrgRecord {
    OrgRecord {
        line: 2,
        slug: slug.into(),
        name: slug.to_uppercase(),
        country: Some(CountryCode::parse("DEU").unwrap()),
        website: None,
        domains: vec![format!("{slug}.example")],
    }
}

#[tokio::test]
async fn users_sessions_and_claims_on_every_backend() {
    for t in fairshare_testkit::stores().await {
        let store = &t.store;
        store
            .import_orgs("orgs", "d", &[org("acme")], "tester")
            .await
            .unwrap();
        let admin = Grant {
            role: Role::OrgAdmin,
            scope: "acme".into(),
        };
        let id = store
            .add_user(
                "Ana@Acme.example",
                "hash",
                std::slice::from_ref(&admin),
                "tester",
            )
            .await
            .unwrap();
        assert!(
            matches!(
                store.add_user("ana@acme.example", "h", &[], "tester").await,
                Err(StoreError::Conflict(_))
            ),
            "{}: emails are unique, case aside",
            t.backend
        );
        let missing = Grant {
            role: Role::OrgAdmin,
            scope: "nobody".into(),
        };
        assert!(
            store
                .add_user("x@y.z", "h", &[missing], "tester")
                .await
                .is_err()
        );
        assert_eq!(
            store.login_secret("ANA@acme.example").await.unwrap(),
            Some((id, "hash".into()))
        );
        assert_eq!(store.holders(Role::OrgAdmin, "acme").await.unwrap(), 1);
        store
            .grant(
                id,
                &Grant {
                    role: Role::TeamLead,
                    scope: "events".into(),
                },
                "tester",
            )
            .await
            .unwrap();

        store
            .open_session(id, "tokenhash", "csrf", Duration::days(1))
            .await
            .unwrap();
        store
            .open_session(id, "old", "csrf", Duration::days(-1))
            .await
            .unwrap();
        let session = store.session_user("tokenhash").await.unwrap().unwrap();
        assert_eq!(session.csrf, "csrf");
        assert!(session.user.has(Role::TeamLead) && session.user.organisations() == ["acme"]);
        assert!(
            store.session_user("old").await.unwrap().is_none(),
            "expired"
        );
        store.close_session("tokenhash").await.unwrap();
        assert!(store.session_user("tokenhash").await.unwrap().is_none());

        for client in ["10.0.0.1", "10.0.0.1", "10.0.0.2"] {
            store
                .record_failed_login("ana@acme.example", client)
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .recent_failed_logins("Ana@acme.example", Duration::minutes(15))
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            store
                .recent_failures_from("10.0.0.1", Duration::minutes(15))
                .await
                .unwrap(),
            2,
            "per client as well as per account"
        );

        let claim = ClaimForm {
            person: "bo@acme.example".into(),
            person_name: "Bo".into(),
            kind: ActivityKind::TalkGiven,
            day: date!(2026 - 10 - 14),
            team: "events".into(),
            evidence: "https://acme.example/talk".into(),
            description: "A talk".into(),
        };
        let mut code = claim.clone();
        code.kind = ActivityKind::Commit;
        assert!(
            store.submit_claim("acme", &code, "ana").await.is_err(),
            "commits are not claimed"
        );
        let cid = store.submit_claim("acme", &claim, "ana").await.unwrap();
        let pending = store
            .claims(None, Some(&["events".to_string()]))
            .await
            .unwrap();
        assert_eq!(pending.len(), 1, "{}", t.backend);
        assert!(
            store
                .claims(None, Some(&["legal".to_string()]))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            matches!(
                store
                    .decide_claim(cid, Verdict::Approve, "", "ana", |_| true)
                    .await,
                Err(StoreError::Refused(Refusal::OwnRequest { .. }))
            ),
            "not one's own claim"
        );
        assert!(matches!(
            store
                .decide_claim(cid, Verdict::Approve, "", "lead", |team| team == "legal")
                .await,
            Err(StoreError::Refused(Refusal::OutOfScope { .. }))
        ));
        store
            .decide_claim(cid, Verdict::Approve, "seen", "lead", |team| {
                team == "events"
            })
            .await
            .unwrap();
        let rules = fairshare_engine::scoring::ScoringRules::default();
        let (scored, details) = store
            .explain(
                "acme",
                fairshare_engine::Month::of(date!(2026 - 10 - 01)),
                &rules,
            )
            .await
            .unwrap();
        assert_eq!(
            scored.score.score,
            rust_decimal::Decimal::from(8),
            "{}",
            t.backend
        );
        assert!(details.values().any(|d| d.source == "claim"));
        assert_eq!(
            store.claims(Some("acme"), None).await.unwrap()[0].status,
            RequestState::Approved
        );
    }
}

#[tokio::test]
async fn recorded_rules_win_over_the_configured_ones_on_every_backend() {
    use fairshare_engine::ProgrammeRules;
    for t in fairshare_testkit::stores().await {
        let store = &t.store;
        let configured = ProgrammeRules::default();
        assert_eq!(store.rules_in_force(&configured).await.unwrap(), configured);
        let mut stricter = configured.clone();
        stricter.eligibility.min_monthly_score = 40.into();
        let refused = store
            .record_rules(&stricter, &configured, " ", "manager")
            .await;
        assert!(matches!(refused, Err(StoreError::Invalid(m)) if m.contains("reason")));
        let mut broken = stricter.clone();
        broken.eligibility.months = 0;
        let refused = store
            .record_rules(&broken, &configured, "why", "manager")
            .await;
        assert!(matches!(refused, Err(StoreError::Invalid(m)) if m.contains("eligibility.months")));
        let id = store
            .record_rules(&stricter, &configured, "raise the bar", "manager")
            .await
            .unwrap()
            .expect("recorded");
        assert_eq!(
            store
                .record_rules(&stricter, &stricter, "again", "manager")
                .await
                .unwrap(),
            None,
            "identical rules record nothing"
        );
        assert_eq!(store.rules_in_force(&configured).await.unwrap(), stricter);
        let versions = store.recorded_rules(10).await.unwrap();
        assert_eq!(versions.len(), 1, "{}", t.backend);
        assert_eq!(
            (versions[0].id, versions[0].reason.as_str()),
            (id, "raise the bar")
        );
        let audit = store.audit_log(Some("rules:"), 5).await.unwrap();
        assert_eq!(audit[0].action, "rules.change");
        assert_eq!(
            audit[0].details["changes"][0]["setting"],
            "eligibility.min_monthly_score"
        );
    }
}

#[tokio::test]
async fn detail_changes_wait_for_someone_else_and_apply_whole_on_every_backend() {
    use fairshare_store::applications::SponsorAccount;
    use fairshare_store::org_changes::DetailsChange;
    for t in fairshare_testkit::stores().await {
        let store = &t.store;
        store
            .import_orgs("orgs", "d", &[org("acme"), org("beta")], "tester")
            .await
            .unwrap();
        let change = |domains: &[&str], account: &str| DetailsChange {
            name: None,
            country: CountryCode::parse("IND").unwrap(),
            website: Some("https://acme.example".into()),
            domains: Some(domains.iter().map(|d| d.to_string()).collect()),
            sponsor_accounts: vec![SponsorAccount {
                platform: "opencollective".into(),
                account: account.into(),
            }],
        };
        let refused = store
            .request_details_change("acme", change(&["gmail.com"], "acme"), "ana")
            .await;
        assert!(matches!(refused, Err(StoreError::Invalid(m)) if m.contains("public email")));
        // Claiming beta's domain is accepted as a request but cannot be applied: the
        // whole change is refused, the account link included.
        let id = store
            .request_details_change("acme", change(&["beta.example"], "@Acme-OC"), "ana")
            .await
            .unwrap();
        let own = store
            .decide_details_change(id, Verdict::Approve, "", "ana")
            .await;
        assert!(
            matches!(own, Err(StoreError::Refused(Refusal::OwnRequest { .. }))),
            "{}",
            t.backend
        );
        let clash = store
            .decide_details_change(id, Verdict::Approve, "", "rita")
            .await;
        assert!(matches!(clash, Err(StoreError::Conflict(m)) if m.contains("beta")));
        let acme = store.organisation("acme").await.unwrap();
        assert_eq!(acme.country.as_deref(), Some("DEU"), "nothing applied");
        assert!(
            store
                .sponsor_accounts_of(acme.id, "opencollective")
                .await
                .unwrap()
                .is_empty()
        );
        // A newer request replaces the pending one; approving it applies it whole.
        let id = store
            .request_details_change(
                "acme",
                change(&["acme.example", "acme.test"], "@Acme-OC"),
                "ana",
            )
            .await
            .unwrap();
        let changes = store.details_changes(Some("acme")).await.unwrap();
        assert_eq!(
            changes
                .iter()
                .map(|c| c.status.as_str())
                .collect::<Vec<_>>(),
            ["pending", "rejected"]
        );
        store
            .decide_details_change(id, Verdict::Approve, "ok", "rita")
            .await
            .unwrap();
        let acme = store.organisation("acme").await.unwrap();
        assert_eq!(acme.country.as_deref(), Some("IND"));
        assert_eq!(acme.domains, ["acme.example", "acme.test"]);
        assert_eq!(
            store
                .sponsor_accounts_of(acme.id, "opencollective")
                .await
                .unwrap(),
            ["acme-oc"]
        );
        assert!(
            store.details_changes(None).await.unwrap().is_empty(),
            "none pending"
        );
    }
}

#[tokio::test]
async fn nobody_decides_for_an_organisation_they_are_tied_to_on_every_backend() {
    use fairshare_store::applications::{Applicant, ApplicationForm};
    use fairshare_store::org_changes::DetailsChange;
    for t in fairshare_testkit::stores().await {
        let store = &t.store;
        store
            .import_orgs("orgs", "d", &[org("acme")], "tester")
            .await
            .unwrap();
        let reviewer = [Grant {
            role: Role::Reviewer,
            scope: String::new(),
        }];
        // Tied by the email domain (acme.example is acme's), and by administering it.
        store
            .add_user("rev@acme.example", "x", &reviewer, "tester")
            .await
            .unwrap();
        let admin = store
            .add_user("boss@elsewhere.example", "x", &reviewer, "tester")
            .await
            .unwrap();
        let grant = Grant {
            role: Role::OrgAdmin,
            scope: "acme".into(),
        };
        store.grant(admin, &grant, "tester").await.unwrap();

        let change = DetailsChange {
            name: None,
            country: CountryCode::parse("IND").unwrap(),
            website: None,
            domains: None,
            sponsor_accounts: Vec::new(),
        };
        let id = store
            .request_details_change("acme", change, "someone@else.example")
            .await
            .unwrap();
        let form = ApplicationForm {
            org: "acme".into(),
            name: "ACME".into(),
            country: CountryCode::parse("DEU").unwrap(),
            website: None,
            contact: "a@acme.example".into(),
            description: "d".into(),
            sponsorship: None,
            staff: Vec::new(),
        };
        let evaluation = store
            .evaluate_newcomer(form.country, date!(2026 - 11 - 22), &Default::default())
            .await
            .unwrap();
        let application = store
            .submit_application(
                &form,
                Applicant::Operator,
                &evaluation,
                "someone@else.example",
            )
            .await
            .unwrap()
            .application;
        for tied in ["rev@acme.example", "boss@elsewhere.example"] {
            let change = store
                .decide_details_change(id, Verdict::Reject, "no", tied)
                .await;
            assert!(
                matches!(
                    change,
                    Err(StoreError::Refused(Refusal::ConflictOfInterest { .. }))
                ),
                "{} {tied}: {change:?}",
                t.backend
            );
            let decided = store
                .decide_application(application, Verdict::Reject, "no", tied)
                .await;
            assert!(
                matches!(
                    decided,
                    Err(StoreError::Refused(Refusal::ConflictOfInterest { .. }))
                ),
                "{} {tied}: {decided:?}",
                t.backend
            );
        }
        store
            .decide_details_change(id, Verdict::Reject, "no", "rita@neutral.example")
            .await
            .unwrap();
    }
}
