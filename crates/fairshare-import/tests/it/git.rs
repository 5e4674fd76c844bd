use std::collections::HashMap;
use std::process::Command;

use fairshare_import::git::{GitImport, read};
use fairshare_import::{ActivityRecord, ChangeSize, OnBehalfOf};

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fairshare_testkit::make_git_fixture(&dir.path().join("repo"));
    dir
}

fn import(
    path: &std::path::Path,
    known: &[String],
) -> (Vec<ActivityRecord>, fairshare_import::git::GitOutcome) {
    let mut records = Vec::new();
    let outcome = read(
        &GitImport {
            path,
            rev: None,
            repo_name: "acme/app",
            team: Some("product"),
            known_tips: known,
        },
        |batch| {
            records.extend(batch);
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    (records, outcome)
}

/// `git log --numstat --no-renames` as the oracle: sha → (files, added, removed).
fn numstat(path: &std::path::Path) -> HashMap<String, ChangeSize> {
    let out = Command::new("git")
        .args([
            "log",
            "--no-merges",
            "--numstat",
            "--no-renames",
            "--format=commit %H",
        ])
        .current_dir(path)
        .output()
        .unwrap();
    let mut map = HashMap::new();
    let mut current = String::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if let Some(sha) = line.strip_prefix("commit ") {
            current = sha.to_string();
            map.insert(current.clone(), ChangeSize::default());
        } else if !line.is_empty() {
            let mut parts = line.split('\t');
            let (added, removed) = (parts.next().unwrap(), parts.next().unwrap());
            let entry = map.get_mut(&current).unwrap();
            entry.files += 1;
            entry.added += added.parse::<u32>().unwrap_or(0);
            entry.removed += removed.parse::<u32>().unwrap_or(0);
        }
    }
    map
}

#[test]
fn commits_authors_and_co_authors() {
    let dir = fixture();
    let repo = dir.path().join("repo");
    let (records, outcome) = import(&repo, &[]);
    assert_eq!(outcome.commits_read, 8, "7 commits and a merge");
    assert_eq!(outcome.skips.0.len(), 1);
    assert_eq!(
        (outcome.skips.0[0].reason.as_str(), outcome.skips.0[0].count),
        ("merge commit", 1)
    );
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    // 7 commits, one of them with two distinct co-authors (the third is the author).
    assert_eq!(records.len(), 9);

    let people: Vec<String> = records.iter().map(|r| r.person.key.to_string()).collect();
    for expected in [
        "email:ana@acme.com",
        "email:bob@gmail.com",
        "email:carol@globex.io",
        "github:dave",
        "email:eve@dev.eu.acme.com",
        "github:dependabot[bot]",
    ] {
        assert!(
            people.contains(&expected.to_string()),
            "{expected} in {people:?}"
        );
    }
    let fix: Vec<&ActivityRecord> = records
        .iter()
        .filter(|r| r.title.as_deref() == Some("Fix the form"))
        .collect();
    assert_eq!(fix.len(), 3, "author + two distinct co-authors");
    // 2026-01-31 22:00 -05:00 is February in UTC.
    assert!(
        fix.iter()
            .all(|r| r.occurred_at.to_string().starts_with("2026-02-01 3:00:00")),
        "{}",
        fix[0].occurred_at
    );
    assert!(
        fix[0].change.is_some() && fix[1].change.is_none(),
        "size on the author's record only"
    );
    let feature = records
        .iter()
        .find(|r| r.title.as_deref() == Some("Add the feature"))
        .unwrap();
    assert_eq!(
        feature.on_behalf_of,
        Some(OnBehalfOf::Org("initech".into()))
    );
    assert!(
        records
            .iter()
            .all(|r| r.channel.as_deref() == Some("acme/app")
                && r.team.as_deref() == Some("product"))
    );

    // Files and lines agree with git log --numstat --no-renames.
    let oracle = numstat(&repo);
    assert_eq!(oracle.len(), 7);
    for record in records.iter().filter(|r| r.change.is_some()) {
        let sha = record.external_id.split(':').next().unwrap();
        assert_eq!(
            record.change.unwrap(),
            oracle[sha],
            "{sha} {:?}",
            record.title
        );
    }
}

#[test]
fn re_runs_read_only_new_commits() {
    let dir = fixture();
    let repo = dir.path().join("repo");
    let (_, first) = import(&repo, &[]);
    let (records, again) = import(&repo, std::slice::from_ref(&first.tip));
    assert_eq!((records.len(), again.commits_read), (0, 0));

    let status = Command::new("git")
        .args([
            "-c",
            "user.name=Zed",
            "-c",
            "user.email=zed@acme.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "Later",
        ])
        .current_dir(&repo)
        .status()
        .unwrap();
    assert!(status.success());
    let (records, later) = import(&repo, std::slice::from_ref(&first.tip));
    assert_eq!(later.commits_read, 1);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].change, Some(ChangeSize::default()));
}

#[test]
fn a_shallow_clone_imports_what_it_has() {
    let dir = fixture();
    let repo = dir.path().join("repo");
    let shallow = dir.path().join("shallow");
    let status = Command::new("git")
        .args([
            "clone",
            "-q",
            "--depth",
            "2",
            &format!("file://{}", repo.display()),
            shallow.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let (records, outcome) = import(&shallow, &[]);
    assert_eq!(outcome.commits_read, 2, "only what the clone has");
    assert!(!records.is_empty());
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = read(
        &GitImport {
            path: dir.path(),
            rev: None,
            repo_name: "x",
            team: None,
            known_tips: &[],
        },
        |_| Ok(()),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not a git repository"), "{err}");
    let dir = fixture();
    let err = read(
        &GitImport {
            path: &dir.path().join("repo"),
            rev: Some("no-such-branch"),
            repo_name: "x",
            team: None,
            known_tips: &[],
        },
        |_| Ok(()),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("cannot resolve `no-such-branch`"), "{err}");
}
