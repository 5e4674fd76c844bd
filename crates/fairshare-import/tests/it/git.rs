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

/// The error a read of `path` at `rev` ends with.
fn import_error(path: &std::path::Path, rev: Option<&str>) -> String {
    read(
        &GitImport {
            path,
            rev,
            repo_name: "x",
            team: None,
            known_tips: &[],
        },
        |_| Ok(()),
        |_| {},
    )
    .unwrap_err()
    .to_string()
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

/// Runs git in `dir` with a fixed identity; panics if it fails.
fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Ana", "-c", "user.email=ana@acme.com"])
        .args(["-c", "protocol.file.allow=always"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn shallow_clone(dir: &std::path::Path, depth: &str) -> std::path::PathBuf {
    let shallow = dir.join("shallow");
    let source = format!("file://{}", dir.join("repo").display());
    git(dir, &["clone", "-q", "--depth", depth, &source, "shallow"]);
    shallow
}

#[test]
fn a_shallow_clone_says_so_and_is_never_read_as_whole() {
    let dir = fixture();
    let shallow = shallow_clone(dir.path(), "2");
    let (records, outcome) = import(&shallow, &[]);
    assert_eq!(outcome.commits_read, 2, "only what the clone has");
    assert!(!outcome.complete, "the resume point must not move");
    assert!(
        outcome
            .problems
            .iter()
            .any(|p| p.contains("this is a shallow clone")),
        "{:?}",
        outcome.problems
    );
    assert_eq!(
        outcome.skips.0[0].reason,
        fairshare_import::git::SHALLOW_BOUNDARY
    );
    // The boundary commit (here a merge) is not imported with a made-up size.
    assert_eq!(records.len(), 1);
    assert!(records.iter().all(|r| r.change.is_some()));

    git(&shallow, &["fetch", "-q", "--unshallow"]);
    let (_, deepened) = import(&shallow, &[]);
    assert!(deepened.complete && deepened.problems.is_empty());
    assert_eq!(deepened.commits_read, 8);
}

#[test]
fn an_empty_repository_has_no_commits_yet() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "empty"]);
    let (records, outcome) = import(&dir.path().join("empty"), &[]);
    assert!(records.is_empty() && outcome.tip.is_empty() && outcome.complete);
}

#[test]
fn an_object_missing_from_the_repository_is_an_error_not_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("broken");
    git(dir.path(), &["init", "-q", "broken"]);
    std::fs::write(repo.join("a.txt"), "one\n").unwrap();
    git(&repo, &["add", "a.txt"]);
    git(&repo, &["commit", "-qm", "first"]);
    std::fs::write(repo.join("a.txt"), "one\ntwo\n").unwrap();
    git(&repo, &["commit", "-qam", "second"]);
    let blob = Command::new("git")
        .args(["rev-parse", "HEAD:a.txt"])
        .current_dir(&repo)
        .output()
        .unwrap();
    let blob = String::from_utf8(blob.stdout).unwrap().trim().to_string();
    std::fs::remove_file(repo.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    let err = import_error(&repo, None);
    assert!(
        err.contains("its files and lines could not be read"),
        "{err}"
    );
    assert!(err.contains(&blob), "names the missing object: {err}");
}

#[test]
fn symlinks_submodules_type_and_mode_changes_count_as_git_log_numstat_does() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "lib"]);
    git(
        &dir.path().join("lib"),
        &["commit", "-q", "--allow-empty", "-m", "lib"],
    );
    git(dir.path(), &["init", "-q", "repo"]);
    let repo = dir.path().join("repo");
    std::fs::write(repo.join("f.txt"), "one\ntwo\n").unwrap();
    git(&repo, &["add", "f.txt"]);
    git(&repo, &["commit", "-qm", "a file"]);
    std::os::unix::fs::symlink("f.txt", repo.join("link")).unwrap();
    git(&repo, &["add", "link"]);
    git(&repo, &["commit", "-qm", "a symlink"]);
    git(&repo, &["submodule", "add", "-q", "../lib", "sub"]);
    git(&repo, &["commit", "-qm", "a submodule"]);
    std::fs::remove_file(repo.join("link")).unwrap();
    std::fs::write(repo.join("link"), "now a file\n").unwrap();
    git(&repo, &["add", "link"]);
    git(&repo, &["commit", "-qm", "symlink to file"]);
    git(&repo, &["update-index", "--chmod=+x", "f.txt"]);
    git(&repo, &["commit", "-qm", "executable"]);
    git(&repo, &["rm", "-q", "sub"]);
    git(&repo, &["commit", "-qm", "no submodule"]);

    let (records, outcome) = import(&repo, &[]);
    assert!(outcome.complete && outcome.problems.is_empty());
    let oracle = numstat(&repo);
    assert_eq!(records.len(), 6);
    for record in &records {
        let sha = record.external_id.split(':').next().unwrap();
        assert_eq!(record.change.unwrap(), oracle[sha], "{:?}", record.title);
    }
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = import_error(dir.path(), None);
    assert!(err.contains("not a git repository"), "{err}");
    let dir = fixture();
    let err = import_error(&dir.path().join("repo"), Some("no-such-branch"));
    assert!(err.contains("cannot resolve `no-such-branch`"), "{err}");
}
