//! Discourse, Meetup and Slack importers on the real payload shapes of
//! testdata/samples, served by local mock servers where an API is involved.

use fairshare_engine::ActivityKind;
use fairshare_import::ActivityRecord;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../testdata/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sample_json(name: &str) -> Value {
    serde_json::from_str(&sample(name)).unwrap()
}

#[tokio::test]
async fn discourse_posts_and_solutions() {
    let server = MockServer::start().await;
    let mut latest = sample_json("discourse/posts.latest.json");
    let posts = latest["latest_posts"].as_array_mut().unwrap();
    let count = posts.len();
    posts[0]["accepted_answer"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/categories.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"category_list": {"categories": [{"id": 1, "slug": "support"}]}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/posts.json"))
        .and(wiremock::matchers::query_param_is_missing("before"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&latest))
        .mount(&server)
        .await;
    let forum =
        fairshare_import::discourse::Forum::connect(&server.uri(), Some("key".into()), "system")
            .await
            .unwrap();
    let page = forum.page(None).await.unwrap();
    assert_eq!(
        page.records
            .iter()
            .filter(|r| r.kind == ActivityKind::ForumPost)
            .count() as u64
            + page.skips.total(),
        count as u64
    );
    let solution = page
        .records
        .iter()
        .find(|r| r.kind == ActivityKind::ForumSolution)
        .unwrap();
    assert_eq!(solution.person.key.to_string(), "discourse:johndoe");
    assert_eq!(solution.channel.as_deref(), Some("support"));
    assert!(
        solution
            .url
            .as_deref()
            .unwrap()
            .ends_with("/t/this-is-an-uncategorized-title/11/2")
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("api-key").is_some_and(|v| v == "key"))
    );

    Mock::given(method("GET"))
        .and(path("/posts.json"))
        .and(query_param("before", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"latest_posts\": [{\"id\": \"x\"}]}"),
        )
        .mount(&server)
        .await;
    // One post that does not parse is skipped, named; the page is not lost.
    let page = forum.page(Some(1)).await.unwrap();
    assert!(
        page.skips.0[0]
            .reason
            .starts_with("unreadable Discourse post item x on posts.json?before=1"),
        "{:?}",
        page.skips
    );
    Mock::given(method("GET"))
        .and(path("/posts.json"))
        .and(query_param("before", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let err = forum.page(Some(2)).await.unwrap_err().to_string();
    assert!(err.contains("unexpected answer"), "{err}");
}

#[tokio::test]
async fn meetup_hosts_are_credited() {
    let server = MockServer::start().await;
    let mut response = sample_json("meetup/gql-ext.groupByUrlname.events.response.json");
    let edges = response["data"]["groupByUrlname"]["events"]["edges"]
        .as_array_mut()
        .unwrap();
    edges[0]["node"]["eventHosts"] = json!([{"member": {"id": "251470805", "name": "Ana Host"}}, {"member": {"id": "9", "name": "Bo"}}]);
    Mock::given(method("POST"))
        .and(path("/gql-ext"))
        .and(body_string_contains("rladies-lagos"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&response))
        .mount(&server)
        .await;
    let events = fairshare_import::meetup::read(&server.uri(), "rladies-lagos", Some("t".into()))
        .await
        .unwrap();
    assert_eq!(events.events_read, 2);
    assert_eq!(events.records.len(), 2);
    assert!(
        events
            .records
            .iter()
            .all(|r| r.kind == ActivityKind::MeetupHosted)
    );
    assert_eq!(events.records[0].person.key.to_string(), "meetup:251470805");
    assert_eq!(
        events.records[0].occurred_at.to_string(),
        "2019-09-21 8:00:00.0 +00:00:00"
    );
    assert_eq!(events.skips.0[0].reason, "event without listed hosts");

    let missing = fairshare_import::meetup::read(&server.uri(), "no-such-group", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("404") || missing.contains("no Meetup group"),
        "{missing}"
    );
}

/// Reads a Slack export held in memory, collecting its records.
fn read_slack(
    name: &str,
    bytes: &[u8],
    channels: &[String],
) -> Result<
    (Vec<ActivityRecord>, fairshare_import::slack::SlackOutcome),
    fairshare_import::ImportError,
> {
    let mut records = Vec::new();
    let collect = |b: Vec<ActivityRecord>| {
        records.extend(b);
        Ok(())
    };
    let outcome = fairshare_import::slack::read(
        name,
        std::io::Cursor::new(bytes),
        channels,
        collect,
        |_| {},
    )?;
    Ok((records, outcome))
}

/// A ZIP of the given entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(body).unwrap();
    }
    zip.finish().unwrap();
    buffer.into_inner()
}

#[test]
fn slack_threads_are_help_and_emails_link() {
    let bytes = fairshare_testkit::slack_export("ana@acme.com");
    let (records, export) = read_slack("export.zip", &bytes, &["random".into()]).unwrap();
    assert_eq!(export.channels_read, 1);
    let kinds: Vec<ActivityKind> = records.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&ActivityKind::ChatHelp));
    assert!(kinds.contains(&ActivityKind::ChatMessage));
    assert!(
        export
            .skips
            .0
            .iter()
            .any(|s| s.reason == "channel_join message")
    );
    assert!(records.iter().any(|r| {
        r.person
            .linked
            .iter()
            .any(|k| k.to_string() == "email:ana@acme.com")
    }));
    assert!(
        records
            .iter()
            .all(|r| r.channel.as_deref() == Some("random"))
    );

    let err = read_slack("export.zip", &bytes, &["nope".into()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "export.zip, column `channels`: the export has no channel `nope`"
    );
    let err = read_slack("x.zip", b"not a zip", &[]).unwrap_err();
    assert!(
        err.to_string().starts_with("x.zip: not a ZIP archive"),
        "{err}"
    );
}

const CHANNELS: &[u8] = br#"[{"id":"C1","name":"general"}]"#;

#[test]
fn a_slack_entry_that_inflates_far_beyond_its_size_is_refused_by_name() {
    let bomb = vec![b' '; 8 << 20];
    let bytes = zip_of(&[
        ("channels.json", CHANNELS),
        ("users.json", b"[]"),
        ("general/2026-01-01.json", &bomb),
    ]);
    assert!(bytes.len() < 100_000, "{} bytes", bytes.len());
    let err = read_slack("export.zip", &bytes, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("export.zip:general/2026-01-01.json: the entry compresses"),
        "{err}"
    );
}

#[test]
fn a_slack_entry_named_outside_the_archive_is_refused() {
    let bytes = zip_of(&[
        ("channels.json", CHANNELS),
        ("users.json", b"[]"),
        ("../../etc/general.json", b"[]"),
    ]);
    let err = read_slack("export.zip", &bytes, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`../../etc/general.json` names a path outside"),
        "{err}"
    );
}

#[tokio::test]
async fn a_github_comment_that_does_not_parse_is_skipped_with_its_id_and_page() {
    let server = MockServer::start().await;
    let good: Value =
        serde_json::from_str(&sample("github-rest/issue-comments.list.json")).unwrap();
    let mut comments = good.as_array().unwrap().clone();
    let mut broken = comments[0].clone();
    broken["id"] = json!(424242);
    broken["user"] = json!({ "id": 1 }); // a user without a login
    comments.push(broken);
    Mock::given(method("GET"))
        .and(path("/repos/acme/app/issues/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(comments.clone())))
        .mount(&server)
        .await;
    let github =
        fairshare_import::github::GithubRepo::new(&server.uri(), "acme/app", None).unwrap();
    let stage = fairshare_import::github::Stage::Comments;
    let page = github
        .page(stage, &github.first_page(stage, None), None)
        .await
        .unwrap();
    assert_eq!(
        page.records.len(),
        comments.len() - 1,
        "the others are read"
    );
    let skipped: Vec<&str> = page.skips.0.iter().map(|s| s.reason.as_str()).collect();
    assert!(
        skipped.iter().any(|r| r.starts_with(
            "unreadable GitHub comment item 424242 on repos/acme/app/issues/comments"
        )),
        "{skipped:?}"
    );
}
