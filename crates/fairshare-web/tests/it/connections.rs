//! Connections cannot exhaust the server: thousands held idle, or sending their
//! headers a byte at a time, and a visitor is still answered at once, in bounded
//! memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fairshare_web::{Limits, serve_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::states;

/// Resident memory of this process, in bytes.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// How many sockets this test may open: 5,000 unless the process may not have that
/// many files open (each connection is two: ours and the server's).
fn idle_connections() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    5_000.min(limit.saturating_sub(400) / 2)
}

async fn get_healthz(address: std::net::SocketAddr) -> (Duration, String) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    (started.elapsed(), answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_never_starve_a_visitor() {
    let (mut state, _t) = states().await.remove(0);
    let cap = 1_000;
    state.limits = Arc::new(Limits {
        max_connections: cap,
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(30),
        ..Limits::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_until(listener, state, async {
        let _ = stopped.await;
    }));
    let (warm, _) = get_healthz(address).await;
    assert!(warm < Duration::from_secs(5));
    let before = resident();

    let count = idle_connections();
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let mut stream = TcpStream::connect(address).await.unwrap();
        if i % 10 == 0 {
            // Half a request, never finished.
            let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: te").await;
        }
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let (took, answer) = get_healthz(address).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        slowest = slowest.max(took);
    }
    assert!(
        slowest < Duration::from_millis(100),
        "a visitor waited {slowest:?} with {count} idle connections held"
    );
    let grown = resident().saturating_sub(before);
    eprintln!(
        "{count} idle connections: slowest visitor {slowest:?}, memory +{} KiB",
        grown >> 10
    );
    assert!(
        grown < 96 << 20,
        "{count} idle connections grew memory by {} MiB",
        grown >> 20
    );

    // Half-sent headers are cut off once their time is up.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut buffer = [0u8; 64];
    let half = &mut held[count - 10];
    let read = tokio::time::timeout(Duration::from_secs(2), half.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Ok(_)) | Ok(Err(_))),
        "a half-sent request is closed (or answered 408), not kept"
    );
    drop(held);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
