//! The programme runs itself: sources on schedule against local mocks of the real
//! payloads, GitHub deliveries, the monthly review on its day and mail, over two
//! simulated months on a manual clock; several instances running each job once.
//! Every test runs on SQLite and, when configured, PostgreSQL.

use std::path::Path;
use std::sync::Arc;

use fairshare_engine::Verdict;
use fairshare_scheduler::{Scheduler, Settings};
use fairshare_store::Store;
use fairshare_store::accounts::{Grant, Role};
use fairshare_store::applications::{Applicant, ApplicationForm};
use fairshare_store::clock::Clock;
use fairshare_web::mail::{Mailer, Transport};
use serde_json::{Map, Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const START: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);

fn repo_file(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn webhook_sample(name: &str) -> Vec<u8> {
    repo_file(&format!("testdata/samples/github-webhooks/{name}"))
}

fn source(keys: Value) -> Map<String, Value> {
    keys.as_object().unwrap().clone()
}

/// A scheduler on `store` with a manual clock at `START`, mail written to `outbox`.
fn scheduler(
    store: Store,
    clock: &Clock,
    sources: Vec<Map<String, Value>>,
    outbox: &Path,
) -> Scheduler {
    let settings = Settings {
        sources: fairshare_engine::sources::read_all(&sources).unwrap(),
        data_dir: outbox.parent().unwrap().join("data"),
        ..Default::default()
    };
    let mailer = Arc::new(Mailer {
        transport: Transport::Outbox(outbox.to_path_buf()),
        from: "Fairshare <partners@example.org>".into(),
        base_url: "https://partners.example.org".into(),
        project: String::new(),
    });
    Scheduler::new(store.with_clock(clock.clone()), settings, mailer)
}

/// A fixture repository and one daily git source reading it.
fn one_git_source() -> (tempfile::TempDir, Vec<Map<String, Value>>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fairshare_testkit::make_git_fixture(&repo);
    let sources = vec![source(json!({"name": "code", "kind": "git", "every": "1d",
        "path": repo.display().to_string()}))];
    (dir, sources)
}

/// People: an organisation's administrator, a reviewer and an administrator.
async fn people(store: &Store) {
    let boss = store
        .add_user("boss@acme.example", "x", &[], "test")
        .await
        .unwrap();
    store
        .grant(
            boss,
            &Grant {
                role: Role::OrgAdmin,
                scope: "acme".into(),
            },
            "test",
        )
        .await
        .unwrap();
    for (email, role) in [
        ("rev@example.org", Role::Reviewer),
        ("ops@example.org", Role::Admin),
    ] {
        store
            .add_user(
                email,
                "x",
                &[Grant {
                    role,
                    scope: String::new(),
                }],
                "test",
            )
            .await
            .unwrap();
    }
}

async fn apply(store: &Store, org: &str) -> i64 {
    let form = ApplicationForm {
        org: org.into(),
        name: format!("{org} Ltd"),
        country: "DEU".parse().unwrap(),
        website: None,
        contact: format!("boss@{org}.example"),
        description: "We build on the project.".into(),
        sponsorship: None,
        staff: Vec::new(),
    };
    let evaluation = store
        .evaluate_newcomer(form.country, store.clock().today(), &Default::default())
        .await
        .unwrap();
    store
        .submit_application(&form, Applicant::Operator, &evaluation, "operator")
        .await
        .unwrap()
        .application
}

/// The mails in the outbox: (recipient line, subject line, whole text).
fn outbox(dir: &Path) -> Vec<(String, String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let header = |name: &str| {
                text.lines()
                    .find(|l| l.starts_with(name))
                    .unwrap_or_default()
                    .to_string()
            };
            (header("To: "), header("Subject: "), text)
        })
        .collect()
}

async fn mocks() -> MockServer {
    let server = MockServer::start().await;
    for (route, file) in [
        ("/ecb.csv", "data/ecb/ecb-eurofxref-hist.csv"),
        (
            "/big-mac.csv",
            "data/big-mac/big-mac-source-data-2021-07.csv",
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(repo_file(file)))
            .mount(&server)
            .await;
    }
    // The repository the webhook delivers: its REST answers hold the same issue.
    let delivery: Value =
        serde_json::from_slice(&webhook_sample("issues.opened.payload.json")).unwrap();
    for (route, body) in [
        ("/repos/Codertocat/Hello-World/pulls", json!([])),
        (
            "/repos/Codertocat/Hello-World/issues",
            json!([delivery["issue"]]),
        ),
        ("/repos/Codertocat/Hello-World/issues/comments", json!([])),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    // A forum that went away: every run fails.
    Mock::given(method("GET"))
        .and(path("/forum/posts.json"))
        .respond_with(ResponseTemplate::new(404).set_body_string("gone"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/forum/categories.json"))
        .respond_with(ResponseTemplate::new(404).set_body_string("gone"))
        .mount(&server)
        .await;
    server
}

fn signed(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers a signed GitHub webhook to the app in-process; returns status and JSON.
async fn deliver(store: &Store, event: &str, delivery: &str, body: Vec<u8>) -> (u16, Value) {
    use tower::ServiceExt;
    let mut state = fairshare_web::AppState::new(store.clone(), Default::default());
    state.webhooks = Arc::new(fairshare_web::WebhookSecrets {
        github: Some("s3cret".into()),
        ..Default::default()
    });
    let request = axum::http::Request::post("/webhooks/github")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signed("s3cret", &body))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = fairshare_web::router(state).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// An organisation that has been a partner since January (set-up only: becoming one
/// takes months of payments and work, which other tests cover).
async fn partner_since_january(store: &Store, org: &str) {
    let statement =
        "UPDATE organisations SET status = 'partner', status_since = '2026-01' WHERE slug = $1";
    match store.db() {
        fairshare_store::Db::Sqlite(pool) => {
            sqlx::query(statement)
                .bind(org)
                .execute(pool)
                .await
                .unwrap();
        }
        fairshare_store::Db::Postgres(pool) => {
            sqlx::query(statement)
                .bind(org)
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_months_run_by_themselves_syncs_webhooks_reviews_and_mail() {
    for t in fairshare_testkit::stores().await {
        let backend = t.backend;
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        fairshare_testkit::make_git_fixture(&repo);
        let server = mocks().await;
        let clock = Clock::manual(START);
        let store = t.store.clone().with_clock(clock.clone());
        people(&store).await;
        let acme = apply(&store, "acme").await;
        store
            .decide_application(acme, Verdict::Defer, "Pay first", "rev@example.org")
            .await
            .unwrap();
        partner_since_january(&store, "acme").await;
        apply(&store, "bluefin").await; // waits for a reviewer all along
        let mail_dir = dir.path().join("outbox");
        let sources = vec![
            source(
                json!({"name": "code", "kind": "git", "every": "1d", "team": "product",
                "path": repo.display().to_string()}),
            ),
            source(json!({"name": "mirror", "kind": "git", "every": "1d",
                "url": repo.display().to_string(), "repo_name": "acme/mirror"})),
            source(json!({"name": "hello", "kind": "github", "every": "1d",
                "repo": "Codertocat/Hello-World", "api_url": server.uri()})),
            source(json!({"name": "forum", "kind": "discourse", "every": "6h",
                "url": format!("{}/forum", server.uri())})),
            source(json!({"name": "rates", "kind": "ecb", "every": "1d",
                "url": format!("{}/ecb.csv", server.uri())})),
            source(json!({"name": "burgers", "kind": "bigmac", "every": "1d",
                "url": format!("{}/big-mac.csv", server.uri())})),
        ];
        let machine = scheduler(store.clone(), &clock, sources, &mail_dir);
        machine.prepare().await.unwrap();

        // A contribution arrives by webhook before the first sync; redelivered, it
        // changes nothing.
        let issue = webhook_sample("issues.opened.payload.json");
        let (status, stored) = deliver(&store, "issues", "d-1", issue.clone()).await;
        assert_eq!(
            (status, stored["new"].as_u64()),
            (202, Some(1)),
            "{backend}: {stored}"
        );
        let (_, again) = deliver(&store, "issues", "d-2", issue).await;
        assert_eq!(again["new"].as_u64(), Some(0), "{backend}: {again}");
        let (status, ignored) = deliver(&store, "star", "d-3", b"{}".to_vec()).await;
        assert_eq!(
            (status, ignored["status"].as_str()),
            (202, Some("ignored")),
            "{backend}"
        );

        // Two months, a look every eight hours; a person only decided the application.
        while clock.now() < datetime!(2026-05-01 00:00 UTC) {
            machine.tick().await;
            clock.advance(Duration::hours(8));
        }

        let runs = |job: &'static str| {
            let store = store.clone();
            async move { store.job_runs(Some(job), None, 1000).await.unwrap() }
        };
        let reviews = runs("review").await;
        assert_eq!(reviews.len(), 2, "{backend}: {reviews:?}");
        assert!(
            reviews.iter().all(|r| r.outcome == "ok"),
            "{backend}: {reviews:?}"
        );
        assert_eq!(
            reviews[1].started_at,
            datetime!(2026-03-03 08:00 UTC),
            "{backend}"
        );
        assert_eq!(
            reviews[0].started_at,
            datetime!(2026-04-03 08:00 UTC),
            "{backend}"
        );
        for month in ["2026-02", "2026-03"] {
            let ranking = store.ranking(month.parse().unwrap()).await.unwrap();
            assert!(ranking.is_some(), "{backend}: {month} published");
        }

        // Sources ran daily; a re-run stores nothing new.
        let code = runs("source:code").await;
        // Daily, spread by up to a tenth of a day, seen by ticks eight hours apart.
        assert!(
            (38..=61).contains(&code.len()),
            "{backend}: {} runs",
            code.len()
        );
        assert!(
            code[0].summary.contains(" 0 new"),
            "{backend}: {}",
            code[0].summary
        );
        let first = code.last().unwrap();
        assert!(
            !first.summary.contains(" 0 new"),
            "{backend}: {}",
            first.summary
        );
        let mirror = runs("source:mirror").await;
        assert_eq!(
            mirror.last().unwrap().outcome,
            "ok",
            "{backend}: {:?}",
            mirror.last()
        );
        // The sync found the webhook's issue stored already: counted once.
        let hello = runs("source:hello").await;
        let sync = hello
            .iter()
            .rev()
            .find(|r| r.trigger == "schedule")
            .unwrap();
        assert!(
            sync.summary.contains("1 read, 0 new, 1 already known"),
            "{backend}: {}",
            sync.summary
        );
        assert!(hello.iter().any(|r| r.trigger == "webhook"), "{backend}");
        for job in ["source:rates", "source:burgers"] {
            assert!(
                runs(job).await.iter().all(|r| r.outcome == "ok"),
                "{backend}: {job}"
            );
        }
        // The forum fails every time, retried with backoff; administrators heard once.
        let forum = runs("source:forum").await;
        assert!(forum.iter().all(|r| r.outcome == "failed"), "{backend}");
        assert!(
            forum[0].error.as_deref().unwrap_or("").contains("404"),
            "{backend}: {:?}",
            forum[0]
        );

        let mail = outbox(&mail_dir);
        let to = |who: &str| -> Vec<&(String, String, String)> {
            mail.iter().filter(|m| m.0.contains(who)).collect()
        };
        let subjects = |who: &str| -> Vec<String> { to(who).iter().map(|m| m.1.clone()).collect() };
        let boss = subjects("boss@acme.example");
        assert!(
            boss.iter()
                .any(|s| s.contains("your application was received")),
            "{backend}: {boss:?}"
        );
        assert!(
            boss.iter()
                .any(|s| s.contains("your application was deferred")),
            "{backend}: {boss:?}"
        );
        assert!(
            boss.iter().any(|s| s.contains("in the ranking of 2026-02")),
            "{backend}: {boss:?}"
        );
        // Neither paying nor contributing, acme is at risk after February's review and
        // lapses after March's (so March ranks no one): told each time.
        assert!(
            boss.iter().any(|s| s.contains("is at risk")),
            "{backend}: {boss:?}"
        );
        assert!(
            boss.iter()
                .any(|s| s.contains("is no longer a Community Partner")),
            "{backend}: {boss:?}"
        );
        let at_risk = to("boss@acme.example")
            .into_iter()
            .find(|m| m.1.contains("is at risk"))
            .unwrap();
        assert!(
            at_risk.2.contains("points a month"),
            "{backend}: {}",
            at_risk.2
        );
        let alerts: Vec<String> = subjects("ops@example.org")
            .into_iter()
            .filter(|s| s.contains("forum"))
            .collect();
        assert_eq!(alerts.len(), 1, "{backend}: {alerts:?}");
        // One digest a day for the reviewer while the application waits.
        let digests = subjects("rev@example.org")
            .into_iter()
            .filter(|s| s.contains("to decide"))
            .count();
        assert!((58..=62).contains(&digests), "{backend}: {digests} digests");
        // Every optional mail carries its one-click unsubscribe and where to act.
        let ranking_mail = to("boss@acme.example")
            .into_iter()
            .find(|m| m.1.contains("ranking"))
            .unwrap();
        assert!(
            ranking_mail
                .2
                .contains("List-Unsubscribe: <https://partners.example.org/unsubscribe?token="),
            "{backend}"
        );
        assert!(
            ranking_mail
                .2
                .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{backend}"
        );
        assert!(
            ranking_mail
                .2
                .contains("https://partners.example.org/portal"),
            "{backend}"
        );
        // Nothing is queued twice: every message was sent once.
        let queue = store.mail_queue(None, 10_000).await.unwrap();
        assert!(queue.iter().all(|m| m.state == "sent"), "{backend}");
        assert_eq!(queue.len(), mail.len(), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_run_each_job_once() {
    for t in fairshare_testkit::stores().await {
        let backend = t.backend;
        let (dir, sources) = one_git_source();
        let clock = Clock::manual(datetime!(2026-03-02 00:00 UTC));
        let second_store = Store::open(&t.url).await.unwrap();
        let one = scheduler(
            t.store.clone(),
            &clock,
            sources.clone(),
            &dir.path().join("a"),
        );
        let two = scheduler(second_store, &clock, sources, &dir.path().join("b"));
        one.prepare().await.unwrap();
        two.prepare().await.unwrap();
        // Three days, both instances looking every hour at the same moments.
        for _ in 0..72 {
            let (a, b) = tokio::join!(one.tick(), two.tick());
            let both: Vec<_> = a
                .iter()
                .chain(&b)
                .filter(|o| o.job == "source:code")
                .collect();
            assert!(both.len() <= 1, "{backend}: {both:?}");
            clock.advance(Duration::hours(1));
        }
        let runs = t
            .store
            .job_runs(Some("source:code"), None, 100)
            .await
            .unwrap();
        assert_eq!(runs.len(), 3, "{backend}: {runs:?}");
        let reviews = t.store.job_runs(Some("review"), None, 100).await.unwrap();
        assert_eq!(reviews.len(), 1, "{backend}: {reviews:?}");
    }
}

#[tokio::test]
async fn a_dead_instances_lease_expires_and_another_takes_over() {
    for t in fairshare_testkit::stores().await {
        let backend = t.backend;
        let (dir, sources) = one_git_source();
        let clock = Clock::manual(datetime!(2026-03-10 00:00 UTC));
        let machine = scheduler(t.store.clone(), &clock, sources, &dir.path().join("mail"));
        machine.prepare().await.unwrap();
        let store = machine.store();
        // An instance took the job and died.
        assert!(
            store
                .take_job_lease("source:code", "dead-instance", Duration::minutes(2))
                .await
                .unwrap()
        );
        let ran = machine.tick().await;
        assert!(
            !ran.iter().any(|o| o.job == "source:code"),
            "{backend}: {ran:?}"
        );
        clock.advance(Duration::minutes(3));
        let ran = machine.tick().await;
        assert!(
            ran.iter()
                .any(|o| o.job == "source:code" && o.result.is_ok()),
            "{backend}: {ran:?}"
        );
    }
}

#[tokio::test]
async fn a_console_sync_request_runs_a_paused_source_once() {
    for t in fairshare_testkit::stores().await {
        let backend = t.backend;
        let (dir, sources) = one_git_source();
        let clock = Clock::manual(datetime!(2026-03-10 00:00 UTC));
        let machine = scheduler(t.store.clone(), &clock, sources, &dir.path().join("mail"));
        machine.prepare().await.unwrap();
        let store = machine.store();
        store
            .set_source_paused("code", true, "ops@example.org")
            .await
            .unwrap();
        assert!(
            machine.tick().await.iter().all(|o| o.job != "source:code"),
            "{backend}"
        );
        store
            .request_source_sync("code", "ops@example.org")
            .await
            .unwrap();
        let ran = machine.tick().await;
        let run = store.last_run("source:code").await.unwrap().unwrap();
        assert_eq!(
            (run.trigger.as_str(), run.outcome.as_str()),
            ("manual", "ok"),
            "{backend}: {ran:?}"
        );
        assert!(
            machine.tick().await.iter().all(|o| o.job != "source:code"),
            "{backend}"
        );
        let audit = store.audit_log(Some("source:code"), 10).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            vec!["sources.sync_now", "sources.pause", "sources.add"],
            "{backend}"
        );
    }
}
