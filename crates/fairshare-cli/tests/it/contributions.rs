use crate::{fairshare, ok, stderr};

const ORGS: &str = "slug,name,country,website,domains\n\
acme,Acme Ltd,GBR,https://acme.example,acme.com\n\
acme-eu,Acme Europe,DEU,,eu.acme.com\n\
globex,Globex,USA,,globex.io\n\
initech,Initech,IND,,\n";

fn setup(dir: &std::path::Path, db: Option<&str>) {
    fairshare_testkit::make_git_fixture(&dir.join("repo"));
    std::fs::write(dir.join("orgs.csv"), ORGS).unwrap();
    ok(dir, db, "import orgs orgs.csv");
    let out = ok(
        dir,
        db,
        "import git repo --repo-name acme/app --team product",
    );
    assert!(out.contains("8 commits read from acme/app"), "{out}");
    assert!(
        out.contains("10 read, 9 new, 0 already known, 1 skipped"),
        "{out}"
    );
    assert!(out.contains("skipped 1: merge commit"), "{out}");
    assert!(out.contains("1 bot activities"), "{out}");
}

fn counts(dir: &std::path::Path, db: Option<&str>, extra: &[&str]) -> String {
    let mut args = vec!["activities", "--format", "csv"];
    args.extend_from_slice(extra);
    ok(dir, db, &args)
}

#[tokio::test]
async fn attribution_follows_trailers_affiliations_and_domains() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        setup(dir, db);
        assert_eq!(
            counts(dir, db, &["--group-by", "month,org"]),
            "month,org,activities,members\n\
             2026-01,acme,1,1\n\
             2026-02,acme,2,1\n\
             2026-02,acme-eu,1,1\n\
             2026-02,globex,1,1\n\
             2026-02,initech,1,1\n\
             2026-02,unaffiliated,2,2\n\
             2026-03,unaffiliated,1,1\n",
            "{}",
            t.backend
        );
        // Re-running adds nothing.
        let again = ok(dir, db, "import git repo --repo-name acme/app");
        assert!(again.contains("0 read, 0 new"), "{again}");

        // Bob joins Globex on 2026-02-01: his February commit without a trailer moves;
        // the one on behalf of Initech stays explicit.
        std::fs::write(
            dir.join("aff.csv"),
            "member,org,from,until\nbob@gmail.com,globex,2026-02-01,\n",
        )
        .unwrap();
        let out = ok(dir, db, "import affiliations aff.csv");
        assert!(
            out.contains(
                "1 new, 0 already known, 0 refused; 0 new members; 1 activities re-attributed"
            ),
            "{out}"
        );
        let again = ok(dir, db, "import affiliations aff.csv");
        assert!(again.contains("0 new, 1 already known"), "{again}");
        assert_eq!(
            counts(
                dir,
                db,
                &[
                    "--group-by",
                    "org",
                    "--from",
                    "2026-02-01",
                    "--to",
                    "2026-02-28"
                ]
            ),
            "org,activities,members\nacme,2,1\nacme-eu,1,1\nglobex,2,2\ninitech,1,1\nunaffiliated,1,1\n"
        );
        let by_member = counts(dir, db, &["--org", "globex", "--group-by", "member"]);
        let lines: Vec<&str> = by_member.lines().collect();
        assert_eq!(lines.len(), 3, "{by_member}");
        assert!(
            lines[1].starts_with("Bob #") && lines[1].ends_with(",1,1"),
            "{by_member}"
        );
        assert!(
            lines[2].starts_with("Carol Globex #") && lines[2].ends_with(",1,1"),
            "{by_member}"
        );

        // A domain moving to another organisation re-attributes at once.
        std::fs::write(
            dir.join("orgs2.csv"),
            "slug,name,country,website,domains\nacme,Acme Ltd,GBR,https://acme.example,acme.com;eu.acme.com\nacme-eu,Acme Europe,DEU,,\n",
        )
        .unwrap();
        let out = ok(dir, db, "import orgs orgs2.csv");
        assert!(out.contains("0 new, 2 updated, 0 unchanged"), "{out}");
        assert!(out.contains("1 activities re-attributed"), "{out}");
        assert!(!counts(dir, db, &["--group-by", "org"]).contains("acme-eu"));
    }
}

#[tokio::test]
async fn members_merge_split_and_undo() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    setup(dir, db);
    let show = ok(dir, db, "members show github:dave --format json");
    let dave: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(dave["identities"], serde_json::json!(["github:dave"]));

    let merged = ok(dir, db, "--as maria members merge ana@acme.com github:dave");
    assert!(merged.contains("merged into"), "{merged}");
    let ana: serde_json::Value =
        serde_json::from_str(&ok(dir, db, "members show ana@acme.com --format json")).unwrap();
    assert_eq!(
        ana["identities"],
        serde_json::json!(["email:ana@acme.com", "github:dave"])
    );
    // Dave's docs commit is now Ana's: made with a GitHub login, which has no domain,
    // it is credited by her own address, as her other work is.
    assert_eq!(ana["activities_by_org"], serde_json::json!([["acme", 4]]));

    let history = ok(dir, db, "members history --format csv");
    assert!(history.contains(",maria,merge,"), "{history}");
    ok(dir, db, "members undo 1");
    let dave: serde_json::Value =
        serde_json::from_str(&ok(dir, db, "members show github:dave --format json")).unwrap();
    assert_eq!(dave["identities"], serde_json::json!(["github:dave"]));
    let twice = fairshare(dir, db, "members undo 1", &[]);
    assert!(stderr(&twice).contains("already undone"));

    let split = fairshare(dir, db, "members split github:dave", &[]);
    assert!(
        stderr(&split).contains("only identity"),
        "{}",
        stderr(&split)
    );
    let audit = ok(dir, db, "audit --subject member: --format csv");
    assert!(
        audit.contains("members.merge") && audit.contains("members.undo"),
        "{audit}"
    );
}

#[tokio::test]
async fn bad_directory_and_activity_files_store_nothing() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    std::fs::write(
        dir.join("orgs.csv"),
        "slug,name,country,website,domains\nacme,Acme,GBR,,acme.com\nbad slug,B,,,\n",
    )
    .unwrap();
    let out = fairshare(dir, db, "import orgs orgs.csv", &[]);
    assert!(
        stderr(&out).contains("orgs.csv:3, column `slug`: `bad slug` may only contain"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        counts(dir, db, &["--group-by", "org"]),
        "org,activities,members\n"
    );

    std::fs::write(dir.join("orgs.csv"), ORGS).unwrap();
    ok(dir, db, "import orgs orgs.csv");
    std::fs::write(
        dir.join("aff.csv"),
        "member,org,from,until\nana@acme.com,acme,2026-01-01,\nbob@gmail.com,umbrella,,\n",
    )
    .unwrap();
    let out = fairshare(dir, db, "import affiliations aff.csv", &[]);
    assert!(
        stderr(&out).contains("aff.csv:3: unknown organisation `umbrella`"),
        "{}",
        stderr(&out)
    );
    let show = fairshare(dir, db, "members show ana@acme.com", &[]);
    assert!(
        stderr(&show).contains("no member has the identity email:ana@acme.com"),
        "nothing half-written"
    );

    std::fs::write(
        dir.join("events.csv"),
        "date,kind,member,name,org,team,url,title\n2026-03-14,talk,ana@acme.com,Ana,acme,marketing,https://conf.example/ana,Fairshare\n2026-03-15,talk,ana@acme.com,Ana,,,,\n2026-13-01,talk,ana@acme.com,,,,,\n",
    )
    .unwrap();
    let out = fairshare(dir, db, "import activities events.csv", &[]);
    assert!(
        stderr(&out).contains("events.csv:4, column `date`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(counts(dir, db, &[]), "activities,members\n0,0\n");

    std::fs::write(
        dir.join("events.csv"),
        "date,kind,member,name,org,team,url,title\n2026-03-14,talk,ana@acme.com,Ana,acme,marketing,https://conf.example/ana,Fairshare\n2026-03-01,team leadership,github:bob,Bob,,product,,\n",
    )
    .unwrap();
    let out = ok(dir, db, "import activities events.csv");
    assert!(out.contains("2 read, 2 new"), "{out}");
    let out = ok(dir, db, "import activities events.csv");
    assert!(out.contains("2 read, 0 new, 2 already known"), "{out}");
    assert_eq!(
        counts(dir, db, &["--group-by", "kind,team,org"]),
        "kind,team,org,activities,members\ntalk_given,marketing,acme,1,1\nteam_leadership,product,unaffiliated,1,1\n"
    );
    let bad_key = fairshare(dir, db, "activities --group-by colour", &[]);
    assert!(stderr(&bad_key).contains("unknown --group-by key `colour`"));
}

#[tokio::test]
async fn gitdm_files_import_what_is_valid() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    std::fs::write(dir.join("orgs.csv"), ORGS).unwrap();
    ok(dir, db, "import orgs orgs.csv");
    std::fs::write(
        dir.join("developers_affiliations.txt"),
        "ana: ana!acme.com, ana!gmail.com\n\tAcme Ltd until 2025-01-01\n\tGlobex\nana: ana!acme.com\n\tAcme Ltd until 2025-01-01\nbob: bob!x.org\n\tUmbrella Corp\n\tInitech from 2024-01-01 until 2023-01-01\n",
    )
    .unwrap();
    let out = ok(
        dir,
        db,
        "import affiliations --format gitdm developers_affiliations.txt",
    );
    assert!(
        out.contains("4 affiliations read: 2 new, 1 already known, 2 refused"),
        "{out}"
    );
    assert!(
        out.contains("refused line 8: Initech from 2024-01-01 until 2023-01-01 is an empty range"),
        "{out}"
    );
    assert!(
        out.contains("refused line 7: unknown organisation `Umbrella Corp`"),
        "{out}"
    );
    let ana: serde_json::Value =
        serde_json::from_str(&ok(dir, db, "members show github:ana --format json")).unwrap();
    assert_eq!(
        ana["identities"],
        serde_json::json!(["email:ana@acme.com", "email:ana@gmail.com", "github:ana"])
    );
}

#[tokio::test]
async fn a_slack_email_links_the_same_person() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        setup(dir, db);
        std::fs::write(
            dir.join("export.zip"),
            fairshare_testkit::slack_export("ana@acme.com"),
        )
        .unwrap();
        let out = ok(dir, db, "import slack-export export.zip --channel random");
        assert!(out.contains("1 channels read"), "{out}");
        assert!(out.contains("skipped 1: channel_join message"), "{out}");
        let again = ok(dir, db, "import slack-export export.zip --channel random");
        assert!(again.contains(" 0 new,"), "{again}");
        let ana: serde_json::Value =
            serde_json::from_str(&ok(dir, db, "members show ana@acme.com --format json")).unwrap();
        let identities = ana["identities"].as_array().unwrap();
        assert!(
            identities
                .iter()
                .any(|i| i.as_str().unwrap().starts_with("slack:")),
            "{}: {ana}",
            t.backend
        );
        // A Slack handle has no email domain: Ana's chat is credited by her own
        // address, which Slack gave, until an affiliation says otherwise.
        assert!(counts(dir, db, &["--group-by", "kind", "--org", "acme"]).contains("chat_"));
        std::fs::write(
            dir.join("aff.csv"),
            "member,org,from,until
slack:u6006p1cn,acme,2010-01-01,
",
        )
        .unwrap();
        let out = ok(dir, db, "import affiliations aff.csv");
        assert!(out.contains("activities re-attributed"), "{out}");
        let kinds = counts(dir, db, &["--group-by", "kind", "--org", "acme"]);
        assert!(kinds.contains("chat_"), "{kinds}");
    }
}

#[tokio::test]
async fn a_commit_seen_in_gh_archive_and_in_git_counts_once() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        fairshare_testkit::make_git_fixture(&dir.join("repo"));
        let sha = std::process::Command::new("git")
            .args(["log", "-1", "--format=%H", "--grep", "Write docs"])
            .current_dir(dir.join("repo"))
            .output()
            .unwrap();
        let sha = String::from_utf8(sha.stdout).unwrap().trim().to_string();
        let event = serde_json::json!({
            "id": "2489651051", "type": "PushEvent",
            "actor": {"id": 1, "login": "dave"},
            "repo": {"id": 2, "name": "acme/app"},
            "payload": {"push_id": 1, "size": 1, "distinct_size": 1, "ref": "refs/heads/main",
                "commits": [{"sha": sha, "author": {"email": "5c682c2d1ec4073e277f9ba9f4bdf07e5794dabe@users.noreply.github.com", "name": "Dave"},
                             "message": "Write docs", "distinct": true}]},
            "public": true, "created_at": "2026-02-01T09:05:00Z"
        });
        std::fs::write(dir.join("hour.json"), format!("{event}\n")).unwrap();
        let out = ok(dir, db, "import github-archive hour.json --repo acme/app");
        assert!(out.contains("1 read, 1 new"), "{out}");
        ok(dir, db, "import git repo --repo-name acme/app");
        assert_eq!(
            counts(dir, db, &["--group-by", "source,kind"]),
            "source,kind,activities,members\ngit,commit,9,6\n",
            "{}: the archive's copy gave way to the repository's",
            t.backend
        );
        let again = ok(dir, db, "import github-archive hour.json --repo acme/app");
        assert!(again.contains("1 read, 0 new, 1 already known"), "{again}");
    }
}

#[tokio::test]
async fn a_broken_archive_file_stores_nothing() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    // More good lines than one batch, so some reach the database before the bad one.
    let mut text = String::new();
    for i in 0..2_500 {
        text.push_str(&format!(
            r#"{{"id":"{i}","type":"IssuesEvent","actor":{{"login":"ana"}},"repo":{{"name":"acme/app"}},"payload":{{"action":"opened","issue":{{"title":"Bug"}}}},"created_at":"2026-01-02T03:04:05Z"}}"#
        ));
        text.push('\n');
    }
    text.push_str("{\"id\": \"x\", \"type\":\n");
    std::fs::write(dir.join("hour.json"), text).unwrap();
    let out = fairshare(dir, db, "import github-archive hour.json", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("hour.json:2501: not a GH Archive event"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        counts(dir, db, &[]),
        "activities,members\n0,0\n",
        "the good lines before it are not kept"
    );
    let gz = fairshare(dir, db, "import github-archive missing.json.gz", &[]);
    assert!(
        stderr(&gz).contains("missing.json.gz: cannot read"),
        "{}",
        stderr(&gz)
    );
}

fn git_in(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn a_shallow_clone_deepened_later_imports_what_was_missing() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        fairshare_testkit::make_git_fixture(&dir.join("repo"));
        let source = format!("file://{}", dir.join("repo").display());
        git_in(dir, &["clone", "-q", "--depth", "3", &source, "clone"]);
        let first = ok(dir, db, "import git clone --repo-name acme/app");
        assert!(first.contains("this is a shallow clone"), "{first}");
        git_in(&dir.join("clone"), &["fetch", "-q", "--unshallow"]);
        let second = ok(dir, db, "import git clone --repo-name acme/app");
        assert!(!second.contains("shallow"), "{second}");
        assert_eq!(
            counts(dir, db, &["--group-by", "source"]),
            "source,activities,members\ngit,9,6\n",
            "{}: every commit of the full history, once",
            t.backend
        );
    }
}

#[tokio::test]
async fn a_repository_with_a_missing_object_stores_nothing() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        fairshare_testkit::make_git_fixture(&dir.join("repo"));
        let objects = dir.join("repo/.git/objects");
        let blob = std::process::Command::new("git")
            .args(["rev-parse", "HEAD~1:README.md"])
            .current_dir(dir.join("repo"))
            .output()
            .unwrap();
        let blob = String::from_utf8(blob.stdout).unwrap().trim().to_string();
        std::fs::remove_file(objects.join(&blob[..2]).join(&blob[2..])).unwrap();
        let out = fairshare(dir, db, "import git repo --repo-name acme/app", &[]);
        assert!(!out.status.success(), "{}", t.backend);
        assert!(stderr(&out).contains(&blob), "{}", stderr(&out));
        assert_eq!(
            counts(dir, db, &["--group-by", "source"]),
            "source,activities,members
",
            "{}",
            t.backend
        );
    }
}
