//! Observable like a service: `GET /metrics` in Prometheus' text format — requests by
//! status class with a latency histogram (this instance), and from the database, so
//! every instance reports the same: job runs and failures per source, run durations,
//! sources failing in a row, the mail queue and what waits for reviewers — and
//! `/readyz` (database reachable, schema current). `/healthz` (alive) is in `api`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Requests this instance served.
#[derive(Default)]
pub struct RequestMetrics {
    /// By status class: 1xx … 5xx.
    by_class: [AtomicU64; 5],
    /// Requests at or under each bucket's bound (cumulative when written).
    buckets: [AtomicU64; BUCKETS.len()],
    /// Microseconds, added up.
    micros: AtomicU64,
    count: AtomicU64,
}

impl RequestMetrics {
    fn record(&self, status: StatusCode, seconds: f64) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts every request and its latency.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .record(response.status(), started.elapsed().as_secs_f64());
    response
}

/// Alive and able to serve: the database answers and its schema is this binary's.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let problem = match state.store.schema_versions().await {
        Ok((applied, known)) if applied == known => None,
        Ok((applied, known)) => Some(format!(
            "the schema is at version {applied}; this binary expects {known}"
        )),
        Err(_) => Some("database unreachable".to_string()),
    };
    match problem {
        None => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "unavailable", "error": why })),
        )
            .into_response(),
    }
}

/// The metrics, for a scraper holding the configured token.
pub async fn metrics(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let Some(token) = state.machine.metrics_token.as_deref() else {
        return crate::pages::not_found(uri).await;
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::auth::same_secret(offered, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is needed\n",
        )
            .into_response();
    }
    match render(&state).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "metrics could not be read");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn render(state: &AppState) -> Result<String, fairshare_store::StoreError> {
    let mut out = String::new();
    let m = &state.metrics;
    family(
        &mut out,
        "fairshare_http_requests_total",
        "counter",
        "HTTP requests served by this instance, by status class.",
    );
    for (i, counter) in m.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "fairshare_http_requests_total{{class=\"{}xx\"}} {}",
            i + 1,
            counter.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "fairshare_http_request_duration_seconds",
        "histogram",
        "Time to answer a request.",
    );
    let mut cumulative = 0;
    for (bound, bucket) in BUCKETS.iter().zip(&m.buckets) {
        cumulative += bucket.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "fairshare_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "fairshare_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "fairshare_http_request_duration_seconds_sum {}",
        m.micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "fairshare_http_request_duration_seconds_count {count}");

    let totals = state.store.run_totals().await?;
    family(
        &mut out,
        "fairshare_job_runs_total",
        "counter",
        "Runs of each job (a source is `source:NAME`) by outcome.",
    );
    for t in &totals {
        let _ = writeln!(
            out,
            "fairshare_job_runs_total{{job=\"{}\",outcome=\"{}\"}} {}",
            label(&t.job),
            label(&t.outcome),
            t.count
        );
    }
    family(
        &mut out,
        "fairshare_job_run_seconds_total",
        "counter",
        "Time spent in finished runs of each job.",
    );
    for t in totals.iter().filter(|t| t.outcome != "running") {
        let _ = writeln!(
            out,
            "fairshare_job_run_seconds_total{{job=\"{}\",outcome=\"{}\"}} {}",
            label(&t.job),
            label(&t.outcome),
            t.seconds
        );
    }
    family(
        &mut out,
        "fairshare_source_failures_in_a_row",
        "gauge",
        "Failed runs of each source since its last success.",
    );
    for source in state.store.sources().await? {
        let _ = writeln!(
            out,
            "fairshare_source_failures_in_a_row{{source=\"{}\"}} {}",
            label(&source.definition.name),
            source.failures_in_a_row
        );
    }
    family(
        &mut out,
        "fairshare_mail_queue",
        "gauge",
        "Messages in the mail queue by state.",
    );
    for (mail_state, n) in state.store.mail_counts().await? {
        let _ = writeln!(
            out,
            "fairshare_mail_queue{{state=\"{}\"}} {n}",
            label(&mail_state)
        );
    }
    let waiting = state.store.waiting().await?;
    family(
        &mut out,
        "fairshare_waiting",
        "gauge",
        "Requests waiting for a reviewer or team lead.",
    );
    for (kind, n) in [
        ("application", waiting.applications),
        ("organisation_change", waiting.organisation_changes),
        ("price_submission", waiting.price_submissions),
        ("claim", waiting.claims_total()),
    ] {
        let _ = writeln!(out, "fairshare_waiting{{kind=\"{kind}\"}} {n}");
    }
    Ok(out)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
