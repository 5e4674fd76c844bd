//! Backups: an SQLite copy taken while the database is written to, brought back after
//! its checks, answers exactly as the original; PostgreSQL's pg_dump/pg_restore recipe
//! round-trips the same way; a file that is not a sound backup never replaces anything.

use std::process::Command;

use crate::{fairshare, stderr, stdout};

const TODAY: [(&str, &str); 1] = [("FAIRSHARE_TODAY", "2026-11-22")];

fn run(dir: &std::path::Path, db: &str, args: &[&str]) -> String {
    let out = fairshare(dir, Some(db), args, &TODAY);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// What a restored database must answer exactly as the original does.
fn answers(dir: &std::path::Path, db: &str) -> Vec<String> {
    [
        &["ranking", "--month", "2026-10", "--format", "csv"][..],
        &["activities", "--group-by", "month,org", "--format", "csv"],
        &["scores", "--month", "2026-10", "--format", "csv"],
        &["audit", "--limit", "1000", "--format", "csv"],
    ]
    .iter()
    .map(|args| run(dir, db, args))
    .collect()
}

fn demo(dir: &std::path::Path, db: &str) {
    run(
        dir,
        db,
        &[
            "demo",
            "--orgs",
            "6",
            "--members",
            "40",
            "--months",
            "12",
            "--seed",
            "3",
        ],
    );
}

#[test]
fn an_sqlite_backup_taken_during_an_import_restores_to_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = format!("sqlite://{}", dir.join("live.db").display());
    demo(dir, &db);
    fairshare_testkit::make_git_fixture(&dir.join("repo"));

    // Online: the copy is taken while an import writes.
    let mut import = crate::fairshare_command(
        dir,
        Some(&db),
        "import git repo --repo-name acme/app",
        &TODAY,
    )
    .spawn()
    .unwrap();
    let during = run(dir, &db, &["backup", "during.db"]);
    assert!(during.contains("integrity checked"), "{during}");
    assert!(import.wait().unwrap().success());

    let after = run(dir, &db, &["backup", "after.db"]);
    assert!(after.contains("backed up to after.db"), "{after}");
    let refused = fairshare(dir, Some(&db), &["backup", "after.db"], &TODAY);
    assert!(
        stderr(&refused).contains("never overwrites"),
        "{}",
        stderr(&refused)
    );

    let restored = format!("sqlite://{}", dir.join("restored.db").display());
    let out = run(dir, &restored, &["restore", "after.db"]);
    assert!(out.contains("integrity checked"), "{out}");
    assert!(run(dir, &restored, &["check"]).contains("sound"));
    assert_eq!(answers(dir, &restored), answers(dir, &db));

    // The copy taken mid-import holds the import whole or not at all.
    let mid = format!("sqlite://{}", dir.join("mid.db").display());
    run(dir, &mid, &["restore", "during.db"]);
    let git = run(
        dir,
        &mid,
        &["activities", "--group-by", "source", "--format", "csv"],
    );
    let commits = git.lines().find(|l| l.starts_with("git,"));
    assert!(
        commits.is_none_or(|l| l.starts_with("git,9,")),
        "all of the import or none of it: {git}"
    );
}

#[test]
fn a_file_that_is_not_a_sound_backup_replaces_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = format!("sqlite://{}", dir.join("live.db").display());
    demo(dir, &db);
    let before = answers(dir, &db);
    std::fs::write(dir.join("garbage.db"), b"SQLite format 3\0 but not really").unwrap();
    std::fs::write(dir.join("other-data.txt"), b"x").unwrap();
    for file in ["garbage.db", "missing.db", "other-data.txt"] {
        let out = fairshare(dir, Some(&db), &["restore", file], &TODAY);
        assert!(!out.status.success(), "{file}");
        assert!(stderr(&out).contains(file), "{file}: {}", stderr(&out));
    }
    assert_eq!(answers(dir, &db), before);
}

#[tokio::test]
async fn the_postgresql_recipe_round_trips() {
    let Some(t) = fairshare_testkit::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    demo(dir, &t.url);
    let base = std::env::var(fairshare_testkit::POSTGRES_ENV).unwrap();
    let schema = t.url.rsplit("search_path%3D").next().unwrap().to_string();
    // The README's recipe, limited to this test's schema.
    let dump = dir.join("fairshare.dump");
    let status = Command::new("pg_dump")
        .args([
            "--format=custom",
            "--no-owner",
            "--schema",
            &schema,
            "--file",
        ])
        .arg(&dump)
        .arg(&base)
        .status()
        .unwrap();
    assert!(status.success());
    let restored_db = format!("restored_{schema}");
    let admin = |sql: &str| {
        let status = Command::new("psql")
            .args([base.as_str(), "-qc", sql])
            .status()
            .unwrap();
        assert!(status.success(), "{sql}");
    };
    admin(&format!("CREATE DATABASE {restored_db}"));
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let target = format!("{prefix}/{restored_db}");
    let status = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "-d", &target])
        .arg(&dump)
        .status()
        .unwrap();
    assert!(status.success());
    let restored = format!("{target}?options=-c%20search_path%3D{schema}");
    assert!(run(dir, &restored, &["check"]).contains("sound"));
    assert_eq!(answers(dir, &restored), answers(dir, &t.url));
    admin(&format!("DROP DATABASE {restored_db}"));
}
