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
        assert!(
            out.contains("skipped 1: unreadable GitLab merge request item 99"),
            "{out}"
        );
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
        assert!(requests.iter().any(|r| {
            r.url.path().ends_with("/merge_requests")
                && r.url
                    .query()
                    .unwrap_or("")
                    .contains("updated_after=2026-01-04T00%3A00%3A00Z")
        }));
        // Two approvals, the issue opened and closed: all the GitLab user `root`'s.
        let root: Value =
            serde_json::from_str(&ok(dir, db, "members show gitlab:root --format json")).unwrap();
        assert_eq!(root["identities"], json!(["gitlab:root"]));
        assert_eq!(root["activities_by_org"], json!([["unaffiliated", 4]]));
    }
}

async fn mount_stackexchange(server: &MockServer) {
    let mut questions = sample("stackexchange/questions.api-2.0.stack-on-go-fixture.json");
    for question in questions["items"].as_array_mut().unwrap() {
        question["tags"] = json!(["mautic", "php"]);
    }
    // Page 1 asks for a second's backoff; page 2 uses up the day's quota.
    let mut first = questions.clone();
    first["items"] = json!(questions["items"].as_array().unwrap()[..2]);
    first["backoff"] = json!(1);
    let mut second = questions.clone();
    second["items"] = json!(questions["items"].as_array().unwrap()[2..]);
    second["has_more"] = json!(true);
    second["quota_remaining"] = json!(0);
    for (page, body) in [("1", first), ("2", second)] {
        Mock::given(method("GET"))
            .and(path("/questions"))
            .and(query_param("tagged", "mautic"))
            .and(query_param("page", page))
            .respond_with(json_reply(body))
            .mount(server)
            .await;
    }
    let mut answers = sample("stackexchange/answers.api-2.0.stack-on-go-fixture.json");
    let ids = [8996647, 8996646, 8996578];
    for (answer, question) in answers["items"].as_array_mut().unwrap().iter_mut().zip(ids) {
        answer["question_id"] = json!(question);
    }
    answers["items"][0]["is_accepted"] = json!(true);
    answers["items"][1]["owner"] = json!({"user_type": "does_not_exist", "display_name": "gone"});
    // The asker of the third question answered it and accepted their own answer.
    answers["items"][2]["is_accepted"] = json!(true);
    answers["items"][2]["owner"] = questions["items"][2]["owner"].clone();
    let items = answers["items"].as_array().unwrap().clone();
    let mut first_answers = answers.clone();
    first_answers["items"] = json!([
        items[0],
        items[1],
        {"answer_id": "not a number", "question_id": 8996647}
    ]);
    let mut second_answers = answers;
    second_answers["items"] = json!([items[2]]);
    for (at, body) in [
        ("/questions/8996646;8996647/answers", first_answers),
        ("/questions/8996578/answers", second_answers),
    ] {
        get(server, at, json_reply(body)).await;
    }
}

#[tokio::test]
async fn stack_exchange_answers_and_accepted_answers_within_backoff_and_quota() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let server = MockServer::start().await;
        mount_stackexchange(&server).await;
        let api = server.uri();
        let args = [
            "import",
            "stackexchange",
            "--tag",
            "mautic",
            "--api-url",
            api.as_str(),
        ];
        let started = std::time::Instant::now();
        let out = ok(dir, db, &args);
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "backoff obeyed"
        );
        assert!(out.contains("skipped 1: answer by a deleted user"), "{out}");
        assert!(
            out.contains("unreadable Stack Exchange answer item not a number"),
            "{out}"
        );
        assert!(out.contains("daily quota is used up"), "{out}");
        assert!(
            out.contains("accepted answer to one's own question"),
            "{out}"
        );
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\nforum_post,2,2\nforum_solution,1,1\n",
            "{}",
            t.backend
        );
        let dalar: Value = serde_json::from_str(&ok(
            dir,
            db,
            "members show stackexchange:stackoverflow:325674 --format json",
        ))
        .unwrap();
        assert_eq!(dalar["display_name"], "Dalar");
        // The next run starts at the last question activity stored.
        let again = ok(dir, db, &args);
        assert!(again.contains(" 0 new,"), "{again}");
        let requests = server.received_requests().await.unwrap();
        assert!(
            requests
                .iter()
                .any(|r| r.url.query().unwrap_or("").contains("min=1327453572"))
        );
    }
}

fn weblate_change(id: u64, action: u32, user: Value, author: Value, at: &str) -> Value {
    let mut change = sample("weblate/api-changes.list.wlc-fixture.json")["results"][1].clone();
    change["id"] = json!(id);
    change["action"] = json!(action);
    change["user"] = user;
    change["author"] = author;
    change["timestamp"] = json!(at);
    change
}

#[tokio::test]
async fn weblate_translations_and_approvals_are_credited_by_language() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let server = MockServer::start().await;
        let uri = server.uri();
        let user = |name: &str| json!(format!("{uri}/api/users/{name}/"));
        // The recorded page (a repository merge, a removed suggestion: neither counts)
        // and changes in today's shape: users as links.
        let mut first = sample("weblate/api-changes.list.wlc-fixture.json");
        let results = first["results"].as_array_mut().unwrap();
        results.push(weblate_change(
            400,
            5,
            user("ana"),
            user("ana"),
            "2026-02-01T10:00:00Z",
        ));
        results.push(weblate_change(
            401,
            36,
            user("bob"),
            user("ana"),
            "2026-02-02T10:00:00Z",
        ));
        results.push(weblate_change(
            402,
            2,
            json!(7),
            json!(7),
            "2026-02-02T11:00:00Z",
        ));
        results.push(weblate_change(
            405,
            36,
            user("ana"),
            user("ana"),
            "2026-02-02T12:00:00Z",
        ));
        first["next"] = json!(format!("{uri}/api/projects/hello/changes/?page=2"));
        Mock::given(method("GET"))
            .and(path("/api/projects/hello/changes/"))
            .and(query_param_is_missing("page"))
            .respond_with(json_reply(first))
            .mount(&server)
            .await;
        let second = json!({"count": 1, "next": null, "previous": null, "results": [
            weblate_change(403, 7, user("cy"), user("ana"), "2026-02-03T10:00:00Z"),
            weblate_change(404, 6, user("ana"), user("ana"), "2026-02-03T11:00:00Z"),
        ]});
        Mock::given(method("GET"))
            .and(path("/api/projects/hello/changes/"))
            .and(query_param("page", "2"))
            .respond_with(json_reply(second))
            .mount(&server)
            .await;
        std::fs::write(
            dir.join("fairshare.toml"),
            "[contributions.teams]\ncs = \"czech\"\n",
        )
        .unwrap();
        let args = [
            "import",
            "weblate",
            "--url",
            uri.as_str(),
            "--project",
            "hello",
        ];
        let out = ok(dir, db, &args);
        assert!(out.contains("automatic (machine) translation"), "{out}");
        assert!(out.contains("an old Weblate's user id"), "{out}");
        assert!(out.contains("approval of one's own translation"), "{out}");
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\ntranslation,1,1\ntranslation_review,2,2\n",
            "{}",
            t.backend
        );
        // Credited by language: `cs` is the Czech translation team, as configured.
        assert_eq!(
            ok(dir, db, "activities --group-by team --format csv"),
            "team,activities,members\nczech,3,3\n"
        );
        let again = ok(dir, db, &args);
        assert!(again.contains(" 0 new,"), "{again}");
        let requests = server.received_requests().await.unwrap();
        assert!(requests.iter().any(|r| {
            r.url
                .query()
                .unwrap_or("")
                .contains("timestamp_after=2026-02-03T11%3A00%3A00Z")
        }));
    }
}

fn discord_message(id: &str, author: &str, kind: u8, replying_to: Option<&str>) -> Value {
    let mut message = sample("discord/message.example.json");
    message["id"] = json!(id);
    message["author"]["id"] = json!(author);
    message["author"]["username"] = json!(format!("user{author}"));
    message["type"] = json!(kind);
    if let Some(to) = replying_to {
        message["referenced_message"] = json!({"id": "1", "author": {"id": to, "username": "x"}});
    }
    message
}

async fn mount_discord(server: &MockServer) {
    let mut thread = sample("discord/channel.thread.example.json");
    thread["id"] = json!("222");
    thread["parent_id"] = json!("111");
    thread["owner_id"] = json!("10");
    get(
        server,
        "/channels/111",
        json_reply(json!({"id": "111", "guild_id": "9", "name": "support", "type": 0})),
    )
    .await;
    get(
        server,
        "/guilds/9/threads/active",
        json_reply(json!({"threads": [thread], "members": []})),
    )
    .await;
    get(
        server,
        "/channels/111/threads/archived/public",
        json_reply(json!({"threads": [], "members": [], "has_more": false})),
    )
    .await;
    // The channel's messages, newest first as Discord sends them, after a rate limit.
    Mock::given(method("GET"))
        .and(path("/channels/111/messages"))
        .and(query_param("after", "0"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 0.5, "global": false})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    let mut bot = discord_message("1004", "30", 0, None);
    bot["author"]["bot"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/channels/111/messages"))
        .and(query_param("after", "0"))
        .respond_with(json_reply(json!([
            bot,
            discord_message("1003", "10", 19, Some("10")),
            discord_message("1002", "20", 19, Some("10")),
            discord_message("1001", "10", 0, None),
            {"id": "1000", "type": 0}
        ])))
        .with_priority(2)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/channels/222/messages"))
        .and(query_param("after", "0"))
        .respond_with(json_reply(json!([
            discord_message("2002", "20", 0, None),
            discord_message("2001", "10", 0, None),
            discord_message("2000", "10", 21, None)
        ])))
        .with_priority(2)
        .mount(server)
        .await;
    // After the newest message stored: nothing new.
    for channel in ["111", "222"] {
        Mock::given(method("GET"))
            .and(path(format!("/channels/{channel}/messages")))
            .respond_with(json_reply(json!([])))
            .with_priority(5)
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn discord_replies_to_others_and_answers_in_their_threads_are_help() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let server = MockServer::start().await;
        mount_discord(&server).await;
        let api = server.uri();
        let args = [
            "import",
            "discord",
            "--channel",
            "111",
            "--api-url",
            api.as_str(),
        ];
        let refused = fairshare(dir, db, &args, &[]);
        assert!(
            stderr(&refused).contains("DISCORD_TOKEN"),
            "{}",
            stderr(&refused)
        );
        let out = crate::stdout(&fairshare(
            dir,
            db,
            &args,
            &[("DISCORD_TOKEN", "bot-token")],
        ));
        assert!(out.contains("bot or webhook message"), "{out}");
        assert!(
            out.contains("a thread's copy of its first message"),
            "{out}"
        );
        assert!(
            out.contains("unreadable Discord message item 1000"),
            "{out}"
        );
        // 20 replied to 10 and answered in 10's thread; 10 replying to themself and
        // posting in their own thread is not help.
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\nchat_help,2,1\nchat_message,3,1\n",
            "{}",
            t.backend
        );
        let requests = server.received_requests().await.unwrap();
        assert!(requests.iter().all(
            |r| r.headers.get("authorization").map(|v| v.to_str().unwrap())
                == Some("Bot bot-token")
        ));
        assert!(requests.iter().all(|r| {
            r.headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("DiscordBot (")
        }));
        let again = crate::stdout(&fairshare(
            dir,
            db,
            &args,
            &[("DISCORD_TOKEN", "bot-token")],
        ));
        assert!(again.contains(" 0 new,"), "{again}");
        let requests = server.received_requests().await.unwrap();
        assert!(
            requests
                .iter()
                .any(|r| r.url.query().unwrap_or("").contains("after=1004"))
        );
        assert_eq!(
            ok(dir, db, "activities --group-by source --format csv"),
            "source,activities,members\ndiscord,5,2\n"
        );
    }
}

fn matrix_event(id: &str, sender: &str, content: Value) -> Value {
    json!({
        "type": "m.room.message", "event_id": id, "sender": sender,
        "origin_server_ts": 1_767_225_600_000_i64, "room_id": "!636q39766251:example.com",
        "content": content
    })
}

#[tokio::test]
async fn matrix_replies_and_thread_answers_to_others_are_help() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let server = MockServer::start().await;
        get(
            &server,
            "/_matrix/client/v3/directory/room/%23mautic%3Aexample.org",
            json_reply(json!({"room_id": "!636q39766251:example.com", "servers": ["example.org"]})),
        )
        .await;
        // The spec's page (a text message, a state event, a video), then threads and
        // replies in the shapes of its threading and rich-reply examples.
        let mut first = sample("matrix/client-v3.rooms.messages.response.json");
        first["chunk"][2]["event_id"] = json!("$video:example.org");
        first["end"] = json!("t2");
        let events = first["chunk"].as_array_mut().unwrap();
        let text = |body: &str| json!({"msgtype": "m.text", "body": body});
        events.push(matrix_event(
            "$alice_hello",
            "@alice:example.org",
            text("How do I…?"),
        ));
        let mut thread_reply = text("Like this");
        thread_reply["m.relates_to"] = json!({"rel_type": "m.thread", "event_id": "$alice_hello"});
        events.push(matrix_event("$bob_hello", "@bob:example.org", thread_reply));
        let mut own = text("Thanks!");
        own["m.relates_to"] = json!({"rel_type": "m.thread", "event_id": "$alice_hello"});
        events.push(matrix_event("$alice_thanks", "@alice:example.org", own));
        let mut reply = text("That sounds like a great idea!");
        reply["m.relates_to"] = json!({"m.in_reply_to": {"event_id": "$alice_hello"}});
        events.push(matrix_event("$cy_reply", "@cy:example.org", reply));
        let mut edit = text("* Like this");
        edit["m.relates_to"] = json!({"rel_type": "m.replace", "event_id": "$bob_hello"});
        events.push(matrix_event("$bob_edit", "@bob:example.org", edit));
        events.push(matrix_event(
            "$bot",
            "@bot:example.org",
            json!({"msgtype": "m.notice", "body": "CI passed"}),
        ));
        events.push(json!({"event_id": "$broken"}));
        let messages = "/_matrix/client/v3/rooms/%21636q39766251%3Aexample.com/messages";
        Mock::given(method("GET"))
            .and(path(messages))
            .and(query_param_is_missing("from"))
            .respond_with(json_reply(first))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(messages))
            .and(query_param("from", "t2"))
            .respond_with(json_reply(json!({"start": "t2", "chunk": []})))
            .mount(&server)
            .await;
        let api = server.uri();
        let args = [
            "import",
            "matrix",
            "--homeserver",
            api.as_str(),
            "--room",
            "#mautic:example.org",
        ];
        let env = [("MATRIX_TOKEN", "syt_token")];
        let run = fairshare(dir, db, &args, &env);
        let out = crate::stdout(&run);
        assert!(
            out.contains("an edit of an earlier message"),
            "{out}{}",
            stderr(&run)
        );
        assert!(out.contains("notice (what bots send)"), "{out}");
        assert!(
            out.contains("not a message (state or other event)"),
            "{out}"
        );
        assert!(
            out.contains("unreadable Matrix event item $broken"),
            "{out}"
        );
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\nchat_help,2,2\nchat_message,4,2\n",
            "{}",
            t.backend
        );
        let again = crate::stdout(&fairshare(dir, db, &args, &env));
        assert!(again.contains(" 0 new,"), "{again}");
        let requests = server.received_requests().await.unwrap();
        assert!(
            requests
                .iter()
                .any(|r| r.url.query().unwrap_or("").contains("from=t2"))
        );
        assert!(requests.iter().all(
            |r| r.headers.get("authorization").map(|v| v.to_str().unwrap())
                == Some("Bearer syt_token")
        ));
    }
}

/// GitHub documents no GraphQL answer for discussions: this one is the shape of its
/// documented query, holding the objects of the recorded `discussion` webhooks.
fn discussions_answer() -> Value {
    let answered = sample("github-discussions/discussion.answered.payload.json");
    let commented = sample("github-discussions/discussion_comment.created.payload.json");
    let (discussion, answer, comment) = (
        &answered["discussion"],
        &answered["answer"],
        &commented["comment"],
    );
    let node = |c: &Value| {
        json!({
            "databaseId": c["id"], "url": c["html_url"], "createdAt": c["created_at"],
            "author": {"login": c["user"]["login"]},
            "replies": {"totalCount": 0, "nodes": []}
        })
    };
    json!({"data": {"repository": {"discussions": {
        "pageInfo": {"hasNextPage": false, "endCursor": "Y3Vyc29yOjE="},
        "nodes": [{
            "databaseId": discussion["id"], "title": discussion["title"],
            "url": discussion["html_url"], "createdAt": discussion["created_at"],
            "author": {"login": discussion["user"]["login"]},
            "category": {"slug": discussion["category"]["slug"]},
            "answerChosenAt": discussion["answer_chosen_at"],
            "answer": {"databaseId": answer["id"]},
            "comments": {"totalCount": 2, "nodes": [node(comment), node(answer)]}
        }, null]
    }}}})
}

#[tokio::test]
async fn github_discussions_posts_comments_and_chosen_answers() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(header("authorization", "Bearer gh-token"))
            .respond_with(json_reply(discussions_answer()))
            .mount(&server)
            .await;
        let api = server.uri();
        let args = [
            "import",
            "github-discussions",
            "--repo",
            "Codertocat/Hello-World",
            "--api-url",
            api.as_str(),
        ];
        let env = [("GITHUB_TOKEN", "gh-token")];
        let out = crate::stdout(&fairshare(dir, db, &args, &env));
        assert!(out.contains("4 new"), "{out}");
        // The question, a comment by the asker, and the chosen answer by dan2wik.
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\nforum_post,3,2\nforum_solution,1,1\n",
            "{}",
            t.backend
        );
        let again = crate::stdout(&fairshare(dir, db, &args, &env));
        assert!(again.contains(" 0 new,"), "{again}");
        let requests = server.received_requests().await.unwrap();
        let last: Value = serde_json::from_slice(&requests.last().unwrap().body).unwrap();
        assert_eq!(
            last["variables"]["after"], "Y3Vyc29yOjE=",
            "resumes after the cursor stored"
        );
    }
}

#[tokio::test]
async fn crowdin_deliveries_saved_as_files_credit_translators_and_approvers_once() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let added = sample("crowdin/webhook.suggestion.added.json");
        let mut approved = sample("crowdin/webhook.suggestion.approved.json");
        let own = approved.clone();
        approved["user"]["username"] = json!("maria_proofreader");
        let updated = sample("crowdin/webhook.translation.updated.json");
        let comment = sample("crowdin/webhook.stringComment.created.json");
        let batch = json!({"events": [added, own, approved, updated, comment]});
        std::fs::write(dir.join("batch.json"), batch.to_string()).unwrap();
        std::fs::write(
            dir.join("broken.json"),
            r#"{"events": [{"event": "suggestion.added"}]}"#,
        )
        .unwrap();
        let out = ok(dir, db, "import crowdin batch.json");
        assert!(out.contains("approval of one's own suggestion"), "{out}");
        assert!(
            out.contains("Crowdin `stringComment.created` (not a translation)"),
            "{out}"
        );
        assert_eq!(
            kinds(dir, db),
            "kind,activities,members\ntranslation,1,1\ntranslation_review,1,1\n",
            "{}",
            t.backend
        );
        let again = ok(dir, db, "import crowdin batch.json");
        assert!(again.contains(" 0 new,"), "{again}");
        let broken = fairshare(dir, db, "import crowdin broken.json", &[]);
        assert!(!broken.status.success());
        assert!(
            stderr(&broken).contains("broken.json: event 0 (suggestion.added)"),
            "{}",
            stderr(&broken)
        );
    }
}
