//! `import github` against a local mock of GitHub's REST API serving the real payload
//! shapes of testdata/samples/github-rest.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{fairshare, ok, stderr};

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../testdata/samples/github-rest/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pull(number: u64, login: &str, updated: &str, merged_at: Option<&str>) -> Value {
    let mut pr = sample("pull-request.json");
    pr["number"] = json!(number);
    pr["user"]["login"] = json!(login);
    pr["created_at"] = json!("2026-01-02T10:00:00Z");
    pr["updated_at"] = json!(updated);
    pr["merged_at"] = json!(merged_at);
    pr["html_url"] = json!(format!("https://github.com/acme/app/pull/{number}"));
    pr
}

async fn mount_all(server: &MockServer, page_two_fails: bool) {
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/pulls"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([pull(
                    1,
                    "ana",
                    "2026-01-03T00:00:00Z",
                    Some("2026-01-03T00:00:00Z")
                )]))
                .insert_header(
                    "link",
                    format!("<{uri}/repos/acme/app/pulls?page=2>; rel=\"next\"").as_str(),
                ),
        )
        .mount(server)
        .await;
    let page_two = if page_two_fails {
        ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
    } else {
        ResponseTemplate::new(200).set_body_json(json!([pull(
            2,
            "bob",
            "2026-01-04T00:00:00Z",
            None
        )]))
    };
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/pulls"))
        .and(query_param("page", "2"))
        .respond_with(page_two)
        .mount(server)
        .await;
    let mut reviews = sample("pull-request-reviews.list.json");
    reviews[0]["submitted_at"] = json!("2026-01-02T12:00:00Z");
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/pulls/1/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reviews))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/pulls/2/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;

    let mut issue = sample("issue.json");
    issue.as_object_mut().unwrap().remove("pull_request");
    let full_issue = {
        let mut full = issue.clone();
        full["state"] = json!("closed");
        full["closed_at"] = json!("2026-01-05T00:00:00Z");
        full
    };
    let mut listed = full_issue.clone();
    listed.as_object_mut().unwrap().remove("closed_by");
    let as_pr = sample("issue.json");
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([listed, as_pr])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/issues/1347"))
        .respond_with(ResponseTemplate::new(200).set_body_json(full_issue))
        .mount(server)
        .await;
    // The first call for comments is rate limited: the importer waits and retries.
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/issues/comments"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/issues/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sample("issue-comments.list.json")))
        .with_priority(2)
        .mount(server)
        .await;
}

fn kinds(dir: &std::path::Path, db: Option<&str>) -> String {
    ok(dir, db, "activities --group-by kind --format csv")
}

#[tokio::test]
async fn pulls_reviews_issues_and_comments_with_resume() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    let server = MockServer::start().await;
    mount_all(&server, true).await;
    let api = server.uri();
    let args = [
        "import",
        "github",
        "--repo",
        "acme/app",
        "--api-url",
        api.as_str(),
        "--token-env",
        "NO_SUCH_TOKEN",
    ];

    // Page 2 of the pull requests fails: page 1 is kept, the run says what failed.
    let failed = fairshare(dir, db, &args, &[]);
    assert!(!failed.status.success());
    let message = stderr(&failed);
    assert!(
        message.contains("GitHub") && message.contains("404"),
        "{message}"
    );
    assert_eq!(
        kinds(dir, db),
        "kind,activities,members\npr_merged,1,1\npr_opened,1,1\nreview,1,1\n"
    );

    server.reset().await;
    mount_all(&server, false).await;
    let out = ok(dir, db, &args);
    assert!(out.contains("github acme/app:"), "{out}");
    assert_eq!(
        kinds(dir, db),
        "kind,activities,members\ncomment,1,1\nissue_closed,1,1\nissue_opened,1,1\npr_merged,1,1\npr_opened,2,2\nreview,1,1\n"
    );
    // Running again stores nothing new.
    let again = ok(dir, db, &args);
    assert!(again.contains(" 0 new,"), "{again}");
    assert_eq!(
        ok(dir, db, "activities --group-by source --format csv"),
        "source,activities,members\ngithub,7,3\n"
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r.url.path() == "/repos/acme/app/issues"
                && r.url
                    .query()
                    .unwrap_or("")
                    .contains("since=2011-04-22T13:33:48Z")),
        "the second run resumes with `since`"
    );
}

#[tokio::test]
async fn malformed_answers_are_errors_and_store_nothing() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let api = server.uri();
    let out = fairshare(
        dir,
        db,
        &[
            "import",
            "github",
            "--repo",
            "acme/app",
            "--api-url",
            api.as_str(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unexpected answer (not the expected JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(kinds(dir, db), "kind,activities,members\n");
    let bad = fairshare(
        dir,
        db,
        &[
            "import",
            "github",
            "--repo",
            "acme",
            "--api-url",
            api.as_str(),
        ],
        &[],
    );
    assert!(stderr(&bad).contains("`acme` is not OWNER/NAME"));
}
