//! `fairshare sources` and `fairshare sync`: sources defined once in fairshare.toml,
//! run for cron, with a non-zero exit when one fails; a mistake names the source.

use super::{fairshare, ok, stderr, stdout};

#[tokio::test]
async fn sync_runs_the_due_sources_once_and_fails_when_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fairshare_testkit::make_git_fixture(&repo);
    let server = wiremock::MockServer::start().await; // answers 404 to everything
    std::fs::write(
        dir.path().join("fairshare.toml"),
        format!(
            r#"
[[sources]]
name = "code"
kind = "git"
every = "1d"
team = "product"
path = "{}"

[[sources]]
name = "hello"
kind = "github"
every = "1h"
repo = "acme/app"
api_url = "{}"
"#,
            repo.display(),
            server.uri()
        ),
    )
    .unwrap();
    let db = "sqlite://fs.db";
    let first = fairshare(dir.path(), Some(db), "sync", &[]);
    assert!(!first.status.success(), "{}", stdout(&first));
    let out = stdout(&first);
    assert!(out.contains("source:code: ok"), "{out}");
    assert!(out.contains("source:hello: FAILED"), "{out}");
    assert!(
        stderr(&first).contains("1 of 2 sources failed"),
        "{}",
        stderr(&first)
    );
    // The git source ran a moment ago: not due; the failing one retries later.
    let listed = ok(dir.path(), Some(db), "sources --format csv");
    assert!(
        listed.contains("code,git,1d,product,config,active,"),
        "{listed}"
    );
    assert!(
        listed.contains("hello,github,1h,,config,failing (1 in a row),"),
        "{listed}"
    );
    let again = fairshare(dir.path(), Some(db), "sync", &[]);
    assert!(again.status.success(), "{}", stdout(&again));
    assert!(
        stdout(&again).contains("no source is due"),
        "{}",
        stdout(&again)
    );
    // Named, it runs whatever its schedule, and finds nothing new.
    let named = ok(dir.path(), Some(db), "sync code");
    assert!(named.contains(" 0 new"), "{named}");
}

#[test]
fn a_mistake_in_a_source_names_it_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fairshare.toml"),
        "[[sources]]\nname = \"forum\"\nkind = \"discourse\"\nevery = \"1h\"\nur = \"x\"\n",
    )
    .unwrap();
    let out = fairshare(dir.path(), Some("sqlite://fs.db"), "sources", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("sources[0]: source `forum`: unknown field `ur`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn community_platforms_are_sources_defined_once_with_their_lists() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let dir = tempfile::tempdir().unwrap();
    let server = wiremock::MockServer::start().await;
    let empty = |at: &str| {
        Mock::given(method("GET"))
            .and(path(at.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "items": [], "has_more": false, "count": 0, "next": null, "results": [],
                "chunk": []
            })))
    };
    empty("/questions").mount(&server).await;
    empty("/api/changes/").mount(&server).await;
    empty("/_matrix/client/v3/rooms/%21abc%3Aexample.org/messages")
        .mount(&server)
        .await;
    std::fs::write(
        dir.path().join("fairshare.toml"),
        format!(
            r#"
[[sources]]
name = "answers"
kind = "stackexchange"
every = "1d"
team = "support"
tags = ["mautic", "mautic-5"]
api_url = "{uri}"

[[sources]]
name = "translations"
kind = "weblate"
every = "6h"
url = "{uri}"

[[sources]]
name = "chat"
kind = "matrix"
every = "1h"
homeserver = "{uri}"
rooms = ["!abc:example.org"]
"#,
            uri = server.uri()
        ),
    )
    .unwrap();
    let db = "sqlite://fs.db";
    let listed = ok(dir.path(), Some(db), "sources --format csv");
    assert!(
        listed.contains("answers,stackexchange,1d,support,config,"),
        "{listed}"
    );
    // Matrix needs its token: named in the failure, read from the environment.
    let first = fairshare(dir.path(), Some(db), "sync", &[]);
    assert!(
        stdout(&first).contains("source:answers: ok"),
        "{}",
        stdout(&first)
    );
    assert!(
        stdout(&first).contains("source:translations: ok"),
        "{}",
        stdout(&first)
    );
    assert!(
        stdout(&first).contains("MATRIX_TOKEN"),
        "{}",
        stdout(&first)
    );
    let chat = fairshare(dir.path(), Some(db), "sync chat", &[("MATRIX_TOKEN", "t")]);
    assert!(chat.status.success(), "{}{}", stdout(&chat), stderr(&chat));
}
