//! Reads a repository's commits like `fairshare import git` without storing them:
//! isolates the reader's cost in benchmarks. `cargo run --release -p fairshare-import --example git_read -- PATH`
fn main() {
    let path = std::env::args().nth(1).expect("usage: git_read PATH");
    let start = std::time::Instant::now();
    let mut records = 0usize;
    let outcome = fairshare_import::git::read(
        &fairshare_import::git::GitImport {
            path: path.as_ref(),
            rev: None,
            repo_name: "bench",
            team: None,
            known_tips: &[],
        },
        |batch| {
            records += batch.len();
            Ok(())
        },
        |_| {},
    )
    .expect("read");
    eprintln!(
        "{} commits, {records} records in {:.2?}",
        outcome.commits_read,
        start.elapsed()
    );
}
