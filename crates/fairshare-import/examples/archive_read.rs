//! Reads GH Archive files like `fairshare import github-archive` without storing:
//! isolates the reader's cost in benchmarks.
//! `cargo run --release -p fairshare-import --example archive_read -- FILE [OWNER/NAME…]`
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: archive_read FILE [OWNER/NAME…]");
    let repos: Vec<String> = args.collect();
    let filter = fairshare_import::github_archive::ArchiveFilter::new(&repos);
    let start = std::time::Instant::now();
    let input = fairshare_import::github_archive::open(path.as_ref()).expect("open");
    let mut records = 0usize;
    let outcome = fairshare_import::github_archive::read(
        &path,
        input,
        &filter,
        |b| {
            records += b.len();
            Ok(())
        },
        |_| {},
    )
    .expect("read");
    let elapsed = start.elapsed();
    eprintln!(
        "{} events, {records} records in {elapsed:.2?}: {:.0} events/s",
        outcome.events_read,
        outcome.events_read as f64 / elapsed.as_secs_f64()
    );
}
