//! Accepting connections so that no client can exhaust the server: HTTP/1.1 with a
//! timeout for request headers, idle keep-alive connections closed after a while, and
//! a cap on connections at once — at the cap, the longest-idle connections are closed
//! to make room, so a new visitor is served at once however many idle connections an
//! attacker holds. Shutdown stops accepting and lets requests in flight finish.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::Limits;

/// After an idle connection was asked to close, how long it may linger (a request
/// still being answered writes meanwhile) before it is dropped.
const LINGER: Duration = Duration::from_secs(35);

/// One open connection, as the accept loop sees it.
struct Connection {
    /// Milliseconds since the server started, at the last byte read or written.
    last_active: AtomicU64,
    /// Asked to close to make room.
    shed: AtomicBool,
    wake: tokio::sync::Notify,
}

/// The open connections.
struct Registry {
    started: Instant,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Registry {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// At the cap: asks the longest-idle connections to close, so that `room` more fit.
    fn make_room(&self, cap: usize, room: usize) {
        let open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.len() + room <= cap {
            return;
        }
        let mut idle: Vec<&Arc<Connection>> = open
            .values()
            .filter(|c| !c.shed.load(Ordering::Relaxed))
            .collect();
        // Each connection's time is read once: connections keep moving while we sort,
        // and a key that changes mid-sort breaks the sort's order (and panics).
        idle.sort_by_cached_key(|c| c.last_active.load(Ordering::Relaxed));
        for connection in idle.into_iter().take(open.len() + room - cap) {
            connection.shed.store(true, Ordering::Relaxed);
            connection.wake.notify_one();
        }
    }
}

/// A socket that notes when it last carried bytes.
struct Watched {
    stream: TcpStream,
    connection: Arc<Connection>,
    registry: Arc<Registry>,
}

impl Watched {
    fn touch(&self) {
        self.connection
            .last_active
            .store(self.registry.now(), Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then
/// waits (up to `LINGER`) for the requests in flight.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry {
        started: Instant::now(),
        open: Mutex::new(HashMap::new()),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        registry.make_room(limits.max_connections, 1);
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.as_mut() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: close idle ones and go on.
                tracing::warn!(error = %e, "accepting a connection failed");
                let open = registry
                    .open
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .len();
                registry.make_room(open.saturating_sub(open / 10).max(1), 1);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        let connection = Arc::new(Connection {
            last_active: AtomicU64::new(registry.now()),
            shed: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        });
        registry
            .open
            .lock()
            .expect("connection registry")
            .insert(id, connection.clone());
        let io = Watched {
            stream,
            connection: connection.clone(),
            registry: registry.clone(),
        };
        tasks.spawn(serve_connection(
            io,
            peer,
            router.clone(),
            limits.clone(),
            connection,
            registry.clone(),
            stopped.clone(),
            id,
        ));
    }
    let _ = stop.send(true);
    let _ =
        tokio::time::timeout(LINGER, async { while tasks.join_next().await.is_some() {} }).await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn serve_connection(
    io: Watched,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    connection: Arc<Connection>,
    registry: Arc<Registry>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    id: u64,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    let tick = (limits.idle_timeout / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let mut closing_since: Option<u64> = None;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            () = connection.wake.notified() => {}
            _ = stopped.changed() => {}
            () = tokio::time::sleep(tick) => {}
        }
        let now = registry.now();
        let idle = Duration::from_millis(
            now.saturating_sub(connection.last_active.load(Ordering::Relaxed)),
        );
        let asked = connection.shed.load(Ordering::Relaxed) || *stopped.borrow();
        match closing_since {
            None if asked || idle >= limits.idle_timeout => {
                conn.as_mut().graceful_shutdown();
                closing_since = Some(now);
            }
            // Still open: a slow request is being answered, or a client sends nothing.
            Some(since)
                if idle >= LINGER.min(limits.idle_timeout)
                    && Duration::from_millis(now - since) >= Duration::from_secs(1) =>
            {
                break;
            }
            _ => {}
        }
    }
    registry
        .open
        .lock()
        .expect("connection registry")
        .remove(&id);
}
