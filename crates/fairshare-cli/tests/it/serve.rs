use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn http_get(address: &str, path: &str) -> String {
    http_get_with(address, path, "")
}

/// A GET with extra header lines (each ending in `\r\n`).
pub fn http_get_with(address: &str, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fairshare"))
        .current_dir(dir.path())
        .env_remove("FAIRSHARE_DATABASE_URL")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("FAIRSHARE_LOG__FORMAT", "json")
        .env("FAIRSHARE_LOG", "info,tower_http=debug")
        .env(
            "FAIRSHARE_SPONSORSHIP__OPENCOLLECTIVE_WEBHOOK_SECRET",
            "oc-token-in-the-query",
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut address = None;
    let mut seen = String::new();
    for _ in 0..50 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(rest) = line.strip_prefix("Fairshare is serving on http://") {
            address = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let address = address.unwrap_or_else(|| panic!("no address in:\n{seen}"));
    assert!(
        dir.path().join("fairshare.db").exists(),
        "SQLite file created by default"
    );

    let health = http_get(&address, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#"{"status":"ok"}"#));
    // The Open Collective token travels in the query string: never into the logs.
    let webhook = http_get(
        &address,
        "/webhooks/opencollective?token=oc-token-in-the-query",
    );
    assert!(webhook.starts_with("HTTP/1.1 405"), "{webhook}");
    let page = http_get(&address, "/thresholds?country=JPN");
    assert!(page.starts_with("HTTP/1.1 200"));
    assert!(page.contains("<span class=\"currency\">JPY</span>"));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(exit.success(), "exit {exit:?}\n{rest}");
    let logs = format!("{seen}{rest}");
    assert!(logs.contains("\"signal\":\"SIGTERM\""), "{logs}");
    assert!(logs.contains("shut down gracefully"), "{logs}");
    assert!(
        logs.contains("token=REDACTED"),
        "requests are logged: {logs}"
    );
    assert!(!logs.contains("oc-token-in-the-query"), "{logs}");
    // Structured: every log line is JSON.
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}
