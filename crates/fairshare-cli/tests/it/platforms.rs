//! `import gitlab|discord|matrix|stackexchange|weblate|github-discussions|crowdin`
//! against local mocks serving the platforms' published payload shapes
//! (testdata/samples), on every backend: paging, a rate limit, a bad item, an
//! interrupted run resumed, and a re-run that stores nothing new.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{fairshare, ok, stderr};

/// A sample payload; `.jsonc` files lose their `// …` comments (the platforms' docs
/// annotate their examples).
fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../testdata/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .map(|line| line.split_once(" // ").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kinds(dir: &std::path::Path, db: Option<&str>) -> String {
    ok(dir, db, "activities --group-by kind --format csv")
}

fn json_reply(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Mounts `reply` for GET `at`, answered once or always.
async fn get(server: &MockServer, at: &str, reply: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(reply)
        .mount(server)
        .await;
}

fn gitlab_merge_request(id: u64, iid: u64, author: &str, updated: &str) -> Value {
    let mut mr = sample("gitlab/merge-requests.list.example.jsonc")[0].clone();
    mr["id"] = json!(id);
    mr["iid"] = json!(iid);
    mr["author"]["username"] = json!(author);
    mr["updated_at"] = json!(updated);
    mr
}

async fn mount_gitlab(server: &MockServer, second_page_fails: bool) {
    let uri = server.uri();
    let project = "/projects/acme%2Fapp";
    // The first page is rate limited once, then answered.
    Mock::given(method("GET"))
        .and(path(format!("{project}/merge_requests")))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    let mut unreadable = gitlab_merge_request(99, 99, "x", "2026-01-01T00:00:00Z");
    unreadable.as_object_mut().unwrap().remove("author");
    Mock::given(method("GET"))
        .and(path(format!("{project}/merge_requests")))
        .and(query_param_is_missing("page"))
        .respond_with(
            json_reply(json!([
                gitlab_merge_request(1, 1, "ana", "2026-01-03T00:00:00Z"),
                unreadable
            ]))
            .insert_header(
                "link",
                format!(
                    "<{uri}{project}/merge_requests?page=2&per_page=100>; rel=\"next\", \
                     <{uri}{project}/merge_requests?page=1&per_page=100>; rel=\"first\""
                )
                .as_str(),
            ),
        )
        .with_priority(2)
        .mount(server)
        .await;
    let second = if second_page_fails {
        ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not Found"}))
    } else {
        let mut open = gitlab_merge_request(2, 2, "bob", "2026-01-04T00:00:00Z");
        open["state"] = json!("opened");
        open["merged_at"] = Value::Null;
        open["merge_user"] = Value::Null;
        open["merged_by"] = Value::Null;
        json_reply(json!([open]))
    };
    Mock::given(method("GET"))
        .and(path(format!("{project}/merge_requests")))
        .and(query_param("page", "2"))
        .respond_with(second)
        .mount(server)
        .await;
    for iid in [1, 2] {
        get(
            server,
            &format!("{project}/merge_requests/{iid}/approvals"),
            json_reply(sample("gitlab/merge-request.approvals.example.json")),
        )
        .await;
        let mut note = sample("gitlab/merge-request-note.single.example.json");
        note["id"] = json!(300 + iid);
        let mut system = note.clone();
        system["id"] = json!(400 + iid);
        system["system"] = json!(true);
        get(
            server,
            &format!("{project}/merge_requests/{iid}/notes"),
            json_reply(json!([note, system])),
        )
        .await;
    }
    get(
        server,
        &format!("{project}/issues"),
        json_reply(sample("gitlab/project-issues.list.example.json")),
    )
    .await;
    get(
        server,
        &format!("{project}/issues/1/notes"),
        json_reply(sample("gitlab/issue-notes.list.example.json")),
    )
    .await;
}

#[tokio::test]
async fn gitlab_merge_requests_approvals_issues_and_comments_resume_and_count_once() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let server = MockServer::start().await;
        mount_gitlab(&server, true).await;
        let api = server.uri();
        let args = [
            "import",
            "gitlab",
            "--project",
            "acme/app",
            "--api-url",
            api.as_str(),
        ];
        // The second page fails: the first is kept, and the error names GitLab.
        let failed = fairshare(dir, db, &args, &[]);
        assert!(!failed.status.success(), "{}", t.backend);
        assert!(stderr(&failed).contains("GitLab") && stderr(&failed).contains("404"));
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\ncomment,1,1\npr_merged,1,1\npr_opened,1,1\nreview,1,1\n",
            "{}",
            t.backend
        );

        server.reset().await;
        mount_gitlab(&server, false).await;
        let out = ok(dir, db, &args);
        assert!(out.contains("skipped 1: unreadable GitLab merge request item 99"), "{out}");
        assert!(out.contains("GitLab system note"), "{out}");
        // The closed issue's system notes are not comments; its author and closer count.
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\ncomment,2,1\nissue_closed,1,1\nissue_opened,1,1\npr_merged,1,1\npr_opened,2,2\nreview,2,1\n",
            "{}",
            t.backend
        );
        let again = ok(dir, db, &args);
        assert!(again.contains(" 0 new,"), "{again}");
        // The second run asked only for what changed since the last page stored.
        let requests = server.received_requests().await.unwrap();
        assert!(requests.iter().any(|r| r.url.path().ends_with("/merge_requests")
            && r.url.query().unwrap_or("").contains("updated_after=2026-01-04T00%3A00%3A00Z")));
        // Two approvals, the issue opened and closed: all the GitLab user `root`'s.
        let root: Value =
            serde_json::from_str(&ok(dir, db, "members show gitlab:root --format json")).unwrap();
        assert_eq!(root["identities"], json!(["gitlab:root"]));
        assert_eq!(root["activities_by_org"], json!([["unaffiliated", 4]]));
    }
}
