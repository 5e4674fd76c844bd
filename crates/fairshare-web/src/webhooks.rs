//! Webhooks: sponsorships, and contributions from GitHub repositories, GitLab projects
//! and Crowdin. Each delivery is authenticated before anything is read or stored:
//! GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the body with the shared secret),
//! GitLab's `X-Gitlab-Token`, Open Collective's and Crowdin's `?token=` (their webhooks
//! carry no signature); secrets are compared in constant time. A bad or missing
//! credential is 401 and stores nothing; a redelivery is stored once.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fairshare_store::events::SponsorshipEvent;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use fairshare_import::webhooks::Delivery;

use crate::AppState;
use crate::auth::same_secret;

fn reply(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "status": status.as_u16(), "message": message } })),
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
pub fn valid_github_signature(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex_part) = signature.and_then(|s| s.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

pub async fn github_sponsors(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = state.webhooks.github_sponsors.as_deref() else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the GitHub Sponsors webhook is not configured",
        );
    };
    if !valid_github_signature(secret, &body, header(&headers, "x-hub-signature-256")) {
        tracing::warn!("GitHub Sponsors webhook refused: bad or missing signature");
        return reply(
            StatusCode::UNAUTHORIZED,
            "bad or missing X-Hub-Signature-256",
        );
    }
    match header(&headers, "x-github-event") {
        Some("ping") => return (StatusCode::OK, Json(json!({ "status": "pong" }))).into_response(),
        Some("sponsorship") => {}
        other => {
            return reply(
                StatusCode::BAD_REQUEST,
                &format!("unexpected event {}", other.unwrap_or("(none)")),
            );
        }
    }
    let Some(delivery) = header(&headers, "x-github-delivery") else {
        return reply(StatusCode::BAD_REQUEST, "missing X-GitHub-Delivery");
    };
    let event = match fairshare_import::webhooks::github_sponsors(delivery, &body) {
        Ok(event) => event,
        Err(bad) => return reply(StatusCode::BAD_REQUEST, &bad.0),
    };
    store(&state, &event).await
}

/// `POST /webhooks/github`: a repository's `push`, `pull_request`,
/// `pull_request_review`, `issues` and `issue_comment` deliveries, stored as the REST
/// import stores them (same ids: a delivery, a sync and an archive import of one event
/// count once). Other events and repositories are acknowledged and ignored.
pub async fn github(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.webhooks.github.as_deref() else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the GitHub webhook is not configured ([github] webhook_secret)",
        );
    };
    if !valid_github_signature(secret, &body, header(&headers, "x-hub-signature-256")) {
        tracing::warn!("GitHub webhook refused: bad or missing signature");
        return reply(
            StatusCode::UNAUTHORIZED,
            "bad or missing X-Hub-Signature-256",
        );
    }
    let Some(event) = header(&headers, "x-github-event") else {
        return reply(StatusCode::BAD_REQUEST, "missing X-GitHub-Event");
    };
    if event == "ping" {
        return (StatusCode::OK, Json(json!({ "status": "pong" }))).into_response();
    }
    let Some(id) = header(&headers, "x-github-delivery") else {
        return reply(StatusCode::BAD_REQUEST, "missing X-GitHub-Delivery");
    };
    let hook = &state.contribution_webhooks;
    let delivery =
        fairshare_import::webhooks::github_contributions(event, id, &body, &hook.repositories);
    store_contributions(&state, "github", delivery, &body, Some(id)).await
}

/// `POST /webhooks/gitlab`: a project's push, merge request, note and issue hooks,
/// checked against the shared secret GitLab sends as `X-Gitlab-Token` (compared in
/// constant time) and stored as the API import stores them (same ids).
pub async fn gitlab(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.webhooks.gitlab.as_deref() else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the GitLab webhook is not configured ([gitlab] webhook_secret)",
        );
    };
    if !header(&headers, "x-gitlab-token").is_some_and(|t| same_secret(t, secret)) {
        tracing::warn!("GitLab webhook refused: bad or missing token");
        return reply(StatusCode::UNAUTHORIZED, "bad or missing X-Gitlab-Token");
    }
    let Some(event) = header(&headers, "x-gitlab-event") else {
        return reply(StatusCode::BAD_REQUEST, "missing X-Gitlab-Event");
    };
    let hook = &state.contribution_webhooks;
    let delivery =
        fairshare_import::gitlab::webhook(event, &body, &|project| hook.wants_gitlab(project));
    let id = header(&headers, "x-gitlab-event-uuid").or(header(&headers, "x-gitlab-webhook-uuid"));
    store_contributions(&state, "gitlab", delivery, &body, id).await
}

/// `POST /webhooks/crowdin`: suggestions, approvals and translation updates. Crowdin
/// signs nothing, so the secret travels in the webhook's URL (`?token=`) or in a
/// custom `Authorization: Bearer` header set on the webhook.
pub async fn crowdin(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = state.webhooks.crowdin.as_deref() else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the Crowdin webhook is not configured ([crowdin] webhook_secret)",
        );
    };
    let bearer = header(&headers, "authorization").and_then(|a| a.strip_prefix("Bearer "));
    let given = params.get("token").map(String::as_str).or(bearer);
    if !given.is_some_and(|t| same_secret(t, secret)) {
        tracing::warn!("Crowdin webhook refused: bad or missing token");
        return reply(StatusCode::UNAUTHORIZED, "bad or missing token");
    }
    let delivery = fairshare_import::crowdin::webhook(&body, time::OffsetDateTime::now_utc());
    store_contributions(&state, "crowdin", delivery, &body, None).await
}

/// Stores what a contributions delivery holds, through the same import code as the
/// APIs (bots, teams, ids); a redelivery stores nothing new. A delivery that cannot
/// be stored now is answered 503, so the platform shows it and can send it again.
async fn store_contributions(
    state: &AppState,
    source: &'static str,
    delivery: Result<Delivery, fairshare_import::webhooks::BadDelivery>,
    body: &[u8],
    delivery_id: Option<&str>,
) -> Response {
    let (scope, mut records, skips) = match delivery {
        Err(bad) => return reply(StatusCode::BAD_REQUEST, &bad.0),
        Ok(Delivery::Ignored(why)) => {
            return (
                StatusCode::ACCEPTED,
                Json(json!({ "status": "ignored", "reason": why })),
            )
                .into_response();
        }
        Ok(Delivery::Activities {
            scope,
            records,
            skips,
        }) => (scope, records, skips),
    };
    let actor = format!("{source}-webhook");
    let importer = fairshare_ingest::Importer {
        store: &state.store,
        actor: &actor,
        settings: &state.contribution_webhooks.settings,
        progress: std::sync::Arc::new(fairshare_ingest::Quiet),
    };
    let input = match delivery_id {
        Some(id) => format!("{scope} webhook {}", fairshare_engine::money::excerpt(id)),
        None => format!("{scope} webhook"),
    };
    match importer
        .activities(source, &input, body, &mut records, &skips)
        .await
    {
        Ok(summary) => {
            record_webhook_run(state, source, &scope, &summary).await;
            (
                StatusCode::ACCEPTED,
                Json(json!({
                    "status": "stored",
                    "new": summary.new,
                    "already_known": summary.already_known,
                    "skipped": summary.skipped.iter().map(|(_, n)| n).sum::<u64>(),
                })),
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(%error, source, "a webhook delivery could not be stored");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "the delivery could not be stored now; redeliver it later",
            )
        }
    }
}

/// Records a delivery as a run of the source that reads the same repository or
/// project through its API, if one is defined.
async fn record_webhook_run(
    state: &AppState,
    source: &str,
    scope: &str,
    summary: &fairshare_store::activities::IngestSummary,
) {
    use fairshare_engine::sources::SourceSettings;
    let Ok(sources) = state.store.sources().await else {
        return;
    };
    let Some(source) = sources
        .iter()
        .find(|s| match (&s.definition.settings, source) {
            (SourceSettings::Github { repo, .. }, "github") => repo.eq_ignore_ascii_case(scope),
            (SourceSettings::Gitlab { project, .. }, "gitlab") => {
                project.eq_ignore_ascii_case(scope)
            }
            _ => false,
        })
    else {
        return;
    };
    let job = source.job();
    let lines = fairshare_ingest::sources::summary_lines(summary, &[]).join("\n");
    let recorded = async {
        let run = state
            .store
            .start_job_run(&job, fairshare_store::jobs::Trigger::Webhook, "web")
            .await?;
        state.store.finish_job_run(run, Ok(&lines)).await
    };
    if let Err(error) = recorded.await {
        tracing::warn!(%error, "the webhook's run could not be recorded");
    }
}

pub async fn opencollective(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(secret) = state.webhooks.opencollective.as_deref() else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the Open Collective webhook is not configured",
        );
    };
    if !params.get("token").is_some_and(|t| same_secret(t, secret)) {
        tracing::warn!("Open Collective webhook refused: bad or missing token");
        return reply(StatusCode::UNAUTHORIZED, "bad or missing token");
    }
    let event = match fairshare_import::webhooks::opencollective(&body) {
        Ok(event) => event,
        Err(bad) => return reply(StatusCode::BAD_REQUEST, &bad.0),
    };
    store(&state, &event).await
}

async fn store(state: &AppState, event: &SponsorshipEvent) -> Response {
    let accepted = |stored: serde_json::Value| {
        (
            StatusCode::ACCEPTED,
            Json(json!({ "stored": stored, "action": event.action })),
        )
            .into_response()
    };
    match state
        .store
        .receive_sponsorship_event(event, state.today())
        .await
    {
        Ok(new) => accepted(json!(new)),
        Err(error) => match &state.spool {
            // The database is busy or away: keep the delivery and store it later.
            Some(spool) => match spool.keep(event).await {
                Ok(()) => {
                    tracing::warn!(%error, "a webhook delivery was spooled: the database refused it for now");
                    accepted(json!("queued"))
                }
                Err(io) => {
                    tracing::error!(%error, %io, "a webhook delivery could be neither stored nor spooled");
                    reply(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            },
            None => {
                tracing::error!(%error, "storing a webhook event failed");
                reply(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        },
    }
}
