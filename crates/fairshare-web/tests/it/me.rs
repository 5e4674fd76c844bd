//! A contributor's own area on every backend: their contributions, a dispute of where
//! they are credited (settled by a reviewer), everything held about them, and being
//! forgotten with the anonymous counts kept.

use fairshare_engine::Month;

use crate::roles::{confirmed, fetch, people};
use crate::{commits, states};

#[tokio::test]
async fn a_contributor_disputes_the_credit_of_their_work_and_a_reviewer_settles_it() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        commits(&state, "ada@acme.org", &["one", "two"]).await;
        let ada = confirmed(&state, "ada@acme.org", &[]).await;

        let mine = fetch(&state, "GET", "/me", Some(&ada), "").await;
        assert!(
            mine.body.contains("Commit one"),
            "{}: {}",
            t.backend,
            mine.body
        );
        assert!(
            mine.body.contains("the email address"),
            "{}: the reason in words",
            t.backend
        );

        let form = format!("csrf={}&org=acme&reason=I+left+ACME+in+September", ada.csrf);
        let sent = fetch(&state, "POST", "/me/dispute", Some(&ada), &form).await;
        assert_eq!(sent.status.as_u16(), 303, "{}: {}", t.backend, sent.body);
        let again = fetch(&state, "POST", "/me/dispute", Some(&ada), &form).await;
        assert_eq!(
            again.status.as_u16(),
            303,
            "{}: asking twice is safe",
            t.backend
        );
        assert_eq!(
            state.store.disputes(true, None).await.unwrap().len(),
            1,
            "{}",
            t.backend
        );

        let reviewer = &sessions[1];
        let queue = fetch(&state, "GET", "/admin/members", Some(reviewer), "").await;
        assert!(
            queue.body.contains("I left ACME in September"),
            "{}",
            t.backend
        );
        let id = state.store.disputes(true, None).await.unwrap()[0].id;
        let decision = format!(
            "csrf={}&decision=approve&comment=affiliation+ended",
            reviewer.csrf
        );
        let uri = format!("/admin/disputes/{id}/decide");
        let decided = fetch(&state, "POST", &uri, Some(reviewer), &decision).await;
        assert_eq!(
            decided.status.as_u16(),
            303,
            "{}: {}",
            t.backend,
            decided.body
        );
        let twice = fetch(&state, "POST", &uri, Some(reviewer), &decision).await;
        assert_eq!(twice.status.as_u16(), 409, "{}: decided once", t.backend);
        let answer = fetch(&state, "GET", "/me", Some(&ada), "").await;
        assert!(
            answer.body.contains("approved (affiliation ended)"),
            "{}",
            t.backend
        );

        let by_ada = fetch(&state, "POST", &uri, Some(&ada), &decision).await;
        assert_eq!(
            by_ada.status.as_u16(),
            403,
            "{}: only reviewers decide",
            t.backend
        );
    }
}

#[tokio::test]
async fn a_person_downloads_their_data_and_is_forgotten_while_the_counts_stay() {
    for (state, t) in states().await {
        people(&state).await;
        commits(&state, "ada@acme.org", &["one", "two"]).await;
        let ada = confirmed(&state, "ada@acme.org", &[]).await;
        let rules = fairshare_engine::scoring::ScoringRules::default();
        let october: Month = "2026-10".parse().unwrap();
        let before = state.store.month_scores(october, &rules).await.unwrap();

        let data = fetch(&state, "GET", "/me/data.json", Some(&ada), "").await;
        let data: serde_json::Value = serde_json::from_str(&data.body).unwrap();
        assert_eq!(
            data["contributor"]["contributions"]
                .as_array()
                .unwrap()
                .len(),
            2,
            "{}",
            t.backend
        );
        assert!(data.to_string().contains("ada@acme.org"), "{}", t.backend);

        let unticked = format!("csrf={}", ada.csrf);
        let refused = fetch(&state, "POST", "/me/forget", Some(&ada), &unticked).await;
        assert_eq!(
            refused.status.as_u16(),
            400,
            "{}: the box must be ticked",
            t.backend
        );
        let member = state.store.find_member("ada@acme.org").await.unwrap();
        let ticked = format!("csrf={}&understood=yes", ada.csrf);
        let done = fetch(&state, "POST", "/me/forget", Some(&ada), &ticked).await;
        assert_eq!(done.status.as_u16(), 303, "{}: {}", t.backend, done.body);

        let forgotten = state.store.member(member).await.unwrap();
        assert_eq!(
            forgotten.display_name, "Forgotten contributor",
            "{}",
            t.backend
        );
        assert!(
            forgotten.identities.iter().all(|i| !i.contains("ada")),
            "{}: {:?}",
            t.backend,
            forgotten.identities
        );
        let (own, _) = state.store.own_activities(member, 0, 10).await.unwrap();
        assert!(
            own.iter().all(|a| a.title.is_none()),
            "{}: titles removed",
            t.backend
        );
        let after = state.store.month_scores(october, &rules).await.unwrap();
        assert_eq!(
            serde_json::to_value(&before).unwrap(),
            serde_json::to_value(&after).unwrap(),
            "{}: the counts and scores stay",
            t.backend
        );
        assert!(
            state
                .store
                .verify_rollups()
                .await
                .unwrap()
                .iter()
                .all(|c| c.missing == 0 && c.unexpected == 0),
            "{}",
            t.backend
        );
        let audit = state.store.audit_log(Some("member:"), 10).await.unwrap();
        let entry = audit.iter().find(|e| e.action == "members.forget").unwrap();
        assert!(
            !entry.details.to_string().contains("ada"),
            "{}: the audit keeps no name",
            t.backend
        );
    }
}

#[tokio::test]
async fn another_address_joins_a_person_only_by_its_emailed_link_followed_by_them() {
    for (mut state, t) in states().await {
        let outbox = tempfile::tempdir().unwrap();
        state.mailer = std::sync::Arc::new(fairshare_web::mail::Mailer {
            transport: fairshare_web::mail::Transport::Outbox(outbox.path().to_path_buf()),
            from: "partners@example.org".into(),
            base_url: "https://partners.example.org".into(),
            project: "Example".into(),
        });
        let sessions = people(&state).await;
        commits(&state, "ada@acme.org", &["one"]).await;
        commits(&state, "ada@home.example", &["two"]).await;
        let ada = confirmed(&state, "ada@acme.org", &[]).await;
        let apart = (
            state.store.find_member("ada@acme.org").await.unwrap(),
            state.store.find_member("ada@home.example").await.unwrap(),
        );
        assert_ne!(
            apart.0, apart.1,
            "{}: two people until proven one",
            t.backend
        );

        let form = format!("csrf={}&email=Ada%40Home.example", ada.csrf);
        let sent = fetch(&state, "POST", "/me/identities", Some(&ada), &form).await;
        assert_eq!(sent.status.as_u16(), 303, "{}: {}", t.backend, sent.body);
        let mail = std::fs::read_dir(outbox.path())
            .unwrap()
            .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
            .find(|m| m.contains("To: ada@home.example"))
            .unwrap_or_else(|| panic!("{}: the link goes to the other address", t.backend));
        let link = mail
            .split("https://partners.example.org")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_string();

        let someone_else = &sessions[5];
        let stolen = fetch(&state, "GET", &link, Some(someone_else), "").await;
        assert_ne!(
            stolen.status.as_u16(),
            303,
            "{}: only the one who asked",
            t.backend
        );
        let followed = fetch(&state, "GET", &link, Some(&ada), "").await;
        assert_eq!(
            followed.status.as_u16(),
            303,
            "{}: {}",
            t.backend,
            followed.body
        );
        let joined = (
            state.store.find_member("ada@acme.org").await.unwrap(),
            state.store.find_member("ada@home.example").await.unwrap(),
        );
        assert_eq!(joined.0, joined.1, "{}: one person now", t.backend);
        let again = fetch(&state, "GET", &link, Some(&ada), "").await;
        assert_eq!(
            again.status.as_u16(),
            400,
            "{}: a link works once",
            t.backend
        );
        assert!(
            state
                .store
                .verify_rollups()
                .await
                .unwrap()
                .iter()
                .all(|c| c.missing == 0 && c.unexpected == 0),
            "{}: the counts moved with the work",
            t.backend
        );
    }
}

#[tokio::test]
async fn a_chat_account_joins_its_person_only_once_a_reviewer_confirms_it() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        commits(&state, "ada@acme.org", &["one"]).await;
        commits(&state, "discord:80351110224678912", &["m1", "m2"]).await;
        let ada = confirmed(&state, "ada@acme.org", &[]).await;
        let ask = |identity: &str| {
            format!(
                "csrf={}&identity={identity}&reason=my+profile+links+to+my+site",
                ada.csrf
            )
        };
        // Addresses and GitHub accounts are proven otherwise; nonsense is refused.
        for (identity, refused) in [
            ("bob%40acme.org", "the link we send to it"),
            ("github%3Aada", "sign in with GitHub"),
            ("twitter%3Aada", "is not an identity"),
        ] {
            let answer = fetch(&state, "POST", "/me/accounts", Some(&ada), &ask(identity)).await;
            assert_eq!(answer.status.as_u16(), 400, "{}: {identity}", t.backend);
            assert!(
                answer.body.contains(refused),
                "{}: {}",
                t.backend,
                answer.body
            );
        }
        let discord = ask("discord%3A80351110224678912");
        for _ in 0..2 {
            let sent = fetch(&state, "POST", "/me/accounts", Some(&ada), &discord).await;
            assert_eq!(sent.status.as_u16(), 303, "{}: {}", t.backend, sent.body);
        }
        let open = state.store.identity_requests(true, None).await.unwrap();
        assert_eq!(
            open.len(),
            1,
            "{}: asking twice keeps one request",
            t.backend
        );
        // Nothing is joined on the person's word alone.
        let ada_member = state.store.find_member("ada@acme.org").await.unwrap();
        let chat_member = state
            .store
            .find_member("discord:80351110224678912")
            .await
            .unwrap();
        assert_ne!(ada_member, chat_member, "{}", t.backend);

        let reviewer = &sessions[1];
        let queue = fetch(&state, "GET", "/admin/members", Some(reviewer), "").await;
        assert!(
            queue.body.contains("discord:80351110224678912"),
            "{}: {}",
            t.backend,
            queue.body
        );
        let uri = format!("/admin/accounts/{}/decide", open[0].id);
        let by_ada = fetch(
            &state,
            "POST",
            &uri,
            Some(&ada),
            &format!("csrf={}&decision=approve", ada.csrf),
        )
        .await;
        assert_eq!(
            by_ada.status.as_u16(),
            403,
            "{}: not their own reviewer",
            t.backend
        );
        // A reviewer's own request waits for another reviewer.
        let rita = confirmed(
            &state,
            "rita@example.org",
            &[fairshare_store::accounts::Grant {
                role: fairshare_store::accounts::Role::Reviewer,
                scope: String::new(),
            }],
        )
        .await;
        let own = format!(
            "csrf={}&identity=matrix%3A%40rita%3Amatrix.org&reason=",
            rita.csrf
        );
        let asked = fetch(&state, "POST", "/me/accounts", Some(&rita), &own).await;
        assert_eq!(asked.status.as_u16(), 303, "{}: {}", t.backend, asked.body);
        let own_id = state.store.identity_requests(true, None).await.unwrap()[0].id;
        let own_decision = format!("csrf={}&decision=approve", rita.csrf);
        let refused = fetch(
            &state,
            "POST",
            &format!("/admin/accounts/{own_id}/decide"),
            Some(&rita),
            &own_decision,
        )
        .await;
        assert_eq!(refused.status.as_u16(), 403, "{}: four eyes", t.backend);
        let decision = format!("csrf={}&decision=approve&comment=checked", reviewer.csrf);
        let decided = fetch(&state, "POST", &uri, Some(reviewer), &decision).await;
        assert_eq!(
            decided.status.as_u16(),
            303,
            "{}: {}",
            t.backend,
            decided.body
        );
        assert_eq!(
            state
                .store
                .find_member("discord:80351110224678912")
                .await
                .unwrap(),
            state.store.find_member("ada@acme.org").await.unwrap(),
            "{}: one person now",
            t.backend
        );
        let mine = fetch(&state, "GET", "/me", Some(&ada), "").await;
        assert!(mine.body.contains("Commit m2"), "{}", t.backend);
        assert!(mine.body.contains("approved (checked)"), "{}", t.backend);
        let checks = state.store.verify_rollups().await.unwrap();
        assert!(
            checks.iter().all(|c| c.missing == 0 && c.unexpected == 0),
            "{}: {checks:?}",
            t.backend
        );
    }
}

#[tokio::test]
async fn a_manager_links_an_account_on_another_platform_from_the_console() {
    for (state, t) in states().await {
        let sessions = people(&state).await;
        commits(&state, "ada@acme.org", &["one"]).await;
        let ada = state.store.find_member("ada@acme.org").await.unwrap();
        let reviewer = &sessions[1];
        let form = format!(
            "csrf={}&member=%23{ada}&identity=matrix%3A%40ada%3Amatrix.org&reason=told+me+at+the+meetup",
            reviewer.csrf
        );
        let linked = fetch(&state, "POST", "/admin/members/link", Some(reviewer), &form).await;
        assert_eq!(
            linked.status.as_u16(),
            303,
            "{}: {}",
            t.backend,
            linked.body
        );
        // Work that arrives later under the Matrix id is already hers.
        commits(&state, "matrix:@ada:matrix.org", &["chat"]).await;
        assert_eq!(
            state
                .store
                .find_member("matrix:ada:matrix.org")
                .await
                .unwrap(),
            ada,
            "{}",
            t.backend
        );
        let audit = state
            .store
            .audit_log(Some(&format!("member:{ada}")), 10)
            .await
            .unwrap();
        assert!(
            audit.iter().any(|e| e.action == "members.link"),
            "{}",
            t.backend
        );
    }
}
