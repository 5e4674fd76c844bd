//! Writers never collide: a large git import, signed webhooks arriving meanwhile and
//! several CSV imports started at once all succeed, and everything is stored once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ok;

const SECRET: &str = "writers-secret";
const COMMITS: usize = 2_000;
const WEBHOOKS: usize = 200;
const CSV_FILES: usize = 3;
const CSV_ROWS: usize = 40;

/// A repository of `COMMITS` commits, each changing one line, made with fast-import.
fn large_repository(dir: &std::path::Path) {
    let status = Command::new("git")
        .args(["init", "-q", "big"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let mut stream = String::new();
    for n in 0..COMMITS {
        let body = format!("line {n}\n");
        let message = format!("Change {n}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor Dev {m} <dev{m}@acme.com> {t} +0000\ncommitter Dev <dev@acme.com> {t} +0000\ndata {}\n{message}",
            message.len(),
            m = n % 25,
            t = 1_767_225_600 + n * 600,
        ));
        stream.push_str(&format!(
            "M 100644 inline file{}.txt\ndata {}\n{body}\n",
            n % 50,
            body.len()
        ));
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir.join("big"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let status = Command::new("git")
        .args(["symbolic-ref", "HEAD", "refs/heads/main"])
        .current_dir(dir.join("big"))
        .status()
        .unwrap();
    assert!(status.success());
}

fn csv_file(dir: &std::path::Path, n: usize) -> String {
    let name = format!("work{n}.csv");
    let mut text = String::from("date,kind,member,name,org,team,url,title\n");
    for row in 0..CSV_ROWS {
        text.push_str(&format!(
            "2026-03-{:02},talk given,speaker{row}@file{n}.example,,,,,Talk {n}-{row}\n",
            row % 28 + 1
        ));
    }
    std::fs::write(dir.join(&name), text).unwrap();
    name
}

fn fairshare_process(dir: &std::path::Path, db: &str, args: &[&str]) -> Child {
    crate::fairshare_command(
        dir,
        Some(db),
        args,
        &[("FAIRSHARE_SPONSORSHIP__GITHUB_WEBHOOK_SECRET", SECRET)],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Starts `fairshare serve` and returns it with its address.
fn serve(dir: &std::path::Path, db: &str) -> (Child, String) {
    let mut child = fairshare_process(dir, db, &["serve", "--bind", "127.0.0.1:0"]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let address = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve stopped:\n{seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.strip_prefix("Fairshare is serving on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep reading its log so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, address)
}

/// A distinct sponsorship delivery, signed; returns the HTTP status line.
fn deliver(address: &str, n: usize) -> String {
    let sample = std::fs::read_to_string(format!(
        "{}/../../testdata/samples/github-webhooks/sponsorship.created.payload.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut payload: serde_json::Value = serde_json::from_str(&sample).unwrap();
    payload["sponsorship"]["sponsor"]["login"] = serde_json::json!(format!("sponsor{n}"));
    payload["sponsorship"]["node_id"] = serde_json::json!(format!("S_{n}"));
    let body = payload.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "POST /webhooks/github-sponsors HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-GitHub-Event: sponsorship\r\n\
         X-GitHub-Delivery: delivery-{n}\r\nX-Hub-Signature-256: sha256={signature}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.lines().next().unwrap_or_default().to_string()
}

fn finished(child: Child, what: &str) {
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn imports_and_webhooks_at_once_all_succeed_and_store_everything_once() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), t.url.as_str());
        large_repository(dir);
        let files: Vec<String> = (0..CSV_FILES).map(|n| csv_file(dir, n)).collect();
        let (mut server, address) = serve(dir, db);

        let git = fairshare_process(
            dir,
            db,
            &["import", "git", "big", "--repo-name", "acme/big"],
        );
        std::thread::sleep(Duration::from_millis(300));
        let csv: Vec<Child> = files
            .iter()
            .map(|f| fairshare_process(dir, db, &["import", "activities", f]))
            .collect();
        let senders: Vec<_> = (0..4)
            .map(|lane| {
                let address = address.clone();
                std::thread::spawn(move || {
                    (lane..WEBHOOKS)
                        .step_by(4)
                        .map(|n| deliver(&address, n))
                        .collect::<Vec<String>>()
                })
            })
            .collect();
        let statuses: Vec<String> = senders
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        finished(git, "the git import");
        for (child, file) in csv.into_iter().zip(&files) {
            finished(child, file);
        }
        assert_eq!(statuses.len(), WEBHOOKS);
        assert!(
            statuses.iter().all(|s| s.starts_with("HTTP/1.1 202")),
            "{}: {:?}",
            t.backend,
            statuses
                .iter()
                .filter(|s| !s.starts_with("HTTP/1.1 202"))
                .collect::<Vec<_>>()
        );

        // Deliveries kept aside while the database was busy are stored within seconds.
        let started = Instant::now();
        let events = loop {
            let json = ok(dir, Some(db), "payments events --format json");
            let events: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
            if events.len() >= WEBHOOKS || started.elapsed() > Duration::from_secs(60) {
                break events;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        assert_eq!(events.len(), WEBHOOKS, "{}: every delivery once", t.backend);
        let counts = ok(dir, Some(db), "activities --group-by source --format csv");
        assert_eq!(
            counts
                .lines()
                .filter(|l| l.starts_with("csv,") || l.starts_with("git,"))
                .collect::<Vec<_>>(),
            [
                format!("csv,{},{}", CSV_FILES * CSV_ROWS, CSV_FILES * CSV_ROWS),
                format!("git,{COMMITS},25")
            ],
            "{}: {counts}",
            t.backend
        );
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
