//! The console's view of the programme's machine (`/admin/sources`): every source with
//! its schedule, last run and outcome, next run and last error in words; "sync now",
//! pause and resume; sources added and edited in the console; the run history; the
//! mail queue; the next monthly review and drafts awaiting approval. Also the mail
//! choices people make: `/account/mail` and the one-click `/unsubscribe`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use fairshare_engine::Month;
use fairshare_engine::sources::{SourceDefinition, SourceSettings};
use fairshare_store::accounts::Role;
use fairshare_store::jobs::{JobRun, Origin, SourceState};
use fairshare_store::mail_queue::QueuedMail;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AppState;
use crate::account::page;
use crate::auth::{Viewer, require, require_form};
use crate::error::AppError;
use crate::format::minute;
use crate::pages::render_string;
use crate::recovery::notice;

/// A source as the console lists it.
struct SourceRow {
    name: String,
    kind: &'static str,
    every: String,
    team: String,
    from_config: bool,
    state: String,
    paused: bool,
    last_run: String,
    outcome: String,
    next_run: String,
    last_error: String,
    /// The definition's own keys as `key = value` lines (for editing).
    keys: String,
}

/// A run as the console lists it.
struct RunRow {
    job: String,
    trigger: String,
    started: String,
    seconds: String,
    outcome: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "console_sources.html")]
struct SourcesPage {
    nav: crate::console_nav::ConsoleNav,
    title: &'static str,
    csrf: String,
    admin: bool,
    sources: Vec<SourceRow>,
    runs: Vec<RunRow>,
    mail_counts: Vec<(String, i64)>,
    mail: Vec<QueuedMail>,
    next_review: String,
    drafts: Vec<(String, String, Vec<String>, Vec<String>)>,
    kinds: &'static [&'static str],
}

fn source_row(s: &SourceState) -> SourceRow {
    let last = s.last_run.as_ref();
    let own: Vec<String> = s
        .definition
        .to_keys()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "name" | "every" | "team" | "enabled" | "kind"))
        .map(|(k, v)| match v {
            Value::String(text) => format!("{k} = {text}"),
            other => format!("{k} = {other}"),
        })
        .collect();
    SourceRow {
        name: s.definition.name.clone(),
        kind: s.definition.settings.kind(),
        every: s.definition.every.to_string(),
        team: s.definition.team.clone().unwrap_or_default(),
        from_config: s.origin == Origin::Config,
        state: if !s.definition.enabled {
            "disabled in fairshare.toml".into()
        } else if s.paused {
            "paused".into()
        } else if s.failures_in_a_row > 0 {
            format!("failing: {} runs in a row", s.failures_in_a_row)
        } else if s.sync_requested {
            "runs at the next tick".into()
        } else {
            "active".into()
        },
        paused: s.paused,
        last_run: last
            .map(|r| format!("{} ({})", minute(r.started_at), r.trigger))
            .unwrap_or_else(|| "never".into()),
        outcome: last.map(|r| r.outcome.clone()).unwrap_or_default(),
        next_run: s.next_run.map(minute).unwrap_or_else(|| "—".into()),
        last_error: last.and_then(|r| r.error.clone()).unwrap_or_default(),
        keys: own.join("\n"),
    }
}

fn run_row(r: &JobRun) -> RunRow {
    RunRow {
        job: r.job.clone(),
        trigger: r.trigger.clone(),
        started: minute(r.started_at),
        seconds: r
            .seconds()
            .map(|s| format!("{s:.1} s"))
            .unwrap_or_else(|| "running".into()),
        outcome: r.outcome.clone(),
        summary: r.error.clone().unwrap_or_else(|| r.summary.clone()),
    }
}

/// `/admin/sources`: the machine at a glance (reviewers see it; administrators act).
pub async fn sources(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/admin/sources", |u| u.user.can_review())?;
    let nav = crate::console_nav::console_nav(&state, &user, "/admin/sources").await?;
    let sources = state.store.sources().await?;
    let runs = state.store.job_runs(None, None, 50).await?;
    let now = state.store.clock().now();
    let next_review = match state.machine.review {
        Some(calendar) => {
            let last = state.store.last_reviewed_month().await?;
            let at = calendar.next_review(now, last);
            let month = calendar.due_month(at, last).unwrap_or(Month::of(at.date()).previous());
            format!(
                "{month} is reviewed on {}{}",
                minute(at),
                if state.machine.approve_reviews {
                    ", as a draft a reviewer publishes"
                } else {
                    ", and published at once"
                }
            )
        }
        None => "the scheduler does not run in this server: reviews run with `fairshare review-month` or the button on the console".into(),
    };
    let drafts = state
        .store
        .review_drafts()
        .await?
        .into_iter()
        .map(|d| {
            let list = |key: &str| -> Vec<String> {
                d.preview[key]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|item| match item {
                                Value::String(s) => s.clone(),
                                entry => format!(
                                    "#{} {} — score {}{}",
                                    entry["rank"],
                                    entry["org"].as_str().unwrap_or_default(),
                                    entry["score"].as_str().unwrap_or_default(),
                                    match entry["previous_rank"].as_i64() {
                                        Some(p) => format!(" (was #{p})"),
                                        None => " (new)".into(),
                                    }
                                ),
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            (
                d.month.clone(),
                minute(d.prepared_at),
                list("entries"),
                list("changes"),
            )
        })
        .collect();
    Ok(page(render_string(&SourcesPage {
        nav,
        title: "Sources and schedule",
        csrf: user.csrf.clone(),
        admin: user.user.has(Role::Admin),
        sources: sources.iter().map(source_row).collect(),
        runs: runs.iter().map(run_row).collect(),
        mail_counts: state.store.mail_counts().await?,
        mail: state.store.mail_queue(None, 30).await?,
        next_review,
        drafts,
        kinds: &SourceSettings::KINDS,
    })))
}

#[derive(Deserialize)]
pub struct SourceForm {
    csrf: String,
    name: String,
    kind: String,
    every: String,
    #[serde(default)]
    team: String,
    /// The kind's keys, one `key = value` per line.
    #[serde(default)]
    keys: String,
    /// Set when editing: the source's current name.
    #[serde(default)]
    replace: String,
}

/// Adds a source, or with `replace` edits one the console created (administrators).
pub async fn add_source(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SourceForm>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/sources",
        |u| u.user.has(Role::Admin),
        &form.csrf,
    )?;
    let mut keys = Map::new();
    for (number, line) in form.keys.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(AppError::BadRequest(format!(
                "settings, line {}: `{line}` is not `key = value`",
                number + 1
            )));
        };
        let value = value.trim().trim_matches('"');
        let value = match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            text => Value::String(text.to_string()),
        };
        keys.insert(key.trim().to_string(), value);
    }
    for (key, value) in [
        ("name", &form.name),
        ("kind", &form.kind),
        ("every", &form.every),
        ("team", &form.team),
    ] {
        if !value.trim().is_empty() {
            keys.insert(key.into(), Value::String(value.trim().to_string()));
        }
    }
    let definition = SourceDefinition::from_keys(&keys).map_err(AppError::BadRequest)?;
    let replace = Some(form.replace.trim()).filter(|r| !r.is_empty());
    state
        .store
        .save_console_source(&definition, replace, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/admin/sources", "source-saved")).into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `sync`, `pause` or `resume` a source (administrators).
pub async fn source_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/sources",
        |u| u.user.has(Role::Admin),
        &form.csrf,
    )?;
    let who = &user.user.email;
    match action.as_str() {
        "sync" => state.store.request_source_sync(&name, who).await?,
        "pause" => state.store.set_source_paused(&name, true, who).await?,
        "resume" => state.store.set_source_paused(&name, false, who).await?,
        other => {
            return Err(AppError::NotFound(format!(
                "no action `{other}` on a source"
            )));
        }
    }
    Ok(Redirect::to(&crate::chrome::done_at("/admin/sources", "source-saved")).into_response())
}

/// A reviewer publishes a month's draft: the review runs now, on today's facts.
pub async fn publish_draft(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(month): Path<String>,
    Form(form): Form<CsrfForm>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/sources",
        |u| u.user.can_review(),
        &form.csrf,
    )?;
    let parsed: Month = month
        .parse()
        .map_err(|_| AppError::BadRequest(format!("`{month}` is not a month (YYYY-MM)")))?;
    if !state.store.review_draft_exists(&month).await? {
        return Err(AppError::NotFound(format!("no draft for {month}")));
    }
    let rules = state.rules().await?;
    state
        .store
        .review_month(parsed, &rules, None, &user.user.email)
        .await?;
    state.store.close_review_draft(&month).await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        "/admin/sources#review",
        "draft-published",
    ))
    .into_response())
}

/// `/account/mail`: the kinds of mail a person receives.
pub async fn mail_choices(
    State(state): State<AppState>,
    viewer: Viewer,
    // The ticked boxes repeat `wanted`: read as pairs, the form keeps them all.
    Form(pairs): Form<Vec<(String, String)>>,
) -> crate::error::Result {
    let field = |name: &'static str| pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v);
    let csrf = field("csrf").next().cloned().unwrap_or_default();
    let wanted: Vec<&String> = field("wanted").collect();
    let user = require_form(viewer, "/account", |_| true, &csrf)?;
    for (category, _) in fairshare_store::mail_queue::CATEGORIES {
        let wanted = wanted.iter().any(|w| *w == category);
        state
            .store
            .set_mail_choice(&user.user.email, category, wanted)
            .await?;
    }
    Ok(notice(
        StatusCode::OK,
        "Mail choices saved",
        "Your choices are saved: you receive only the kinds of mail you ticked.",
        Some(("/account", "Back to your account")),
    ))
}

#[derive(Deserialize)]
pub struct UnsubscribeQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    title: &'static str,
    token: String,
    recipient: String,
    category: String,
}

/// The link in a mail's footer: says what stops, with a button (a link alone must
/// not unsubscribe: mail scanners follow links).
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
) -> crate::error::Result {
    let Some((recipient, category)) = state.store.unsubscribe_target(&query.token).await? else {
        return Ok(notice(
            StatusCode::NOT_FOUND,
            "Link not recognised",
            "This unsubscribe link is not one we sent. Choose what you receive on your account page.",
            Some(("/account#mail", "Your mail choices")),
        ));
    };
    Ok(page(render_string(&UnsubscribePage {
        title: "Unsubscribe",
        token: query.token,
        recipient,
        category: fairshare_store::mail_queue::category_words(&category).to_string(),
    })))
}

/// RFC 8058 one-click (`List-Unsubscribe=One-Click` posted by the mail client) and
/// the page's button: the category of the mail that carried the token stops.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
    body: axum::body::Bytes,
) -> crate::error::Result {
    let from_form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let token = from_form
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .unwrap_or(query.token);
    let Some((recipient, category)) = state.store.unsubscribe_target(&token).await? else {
        return Err(AppError::NotFound(
            "this unsubscribe link is not one we sent".into(),
        ));
    };
    if category != fairshare_store::mail_queue::ALWAYS {
        state
            .store
            .set_mail_choice(&recipient, &category, false)
            .await?;
    }
    Ok(notice(
        StatusCode::OK,
        "Unsubscribed",
        format!(
            "{recipient} no longer receives mail about {}. You can turn it back on from your account page.",
            fairshare_store::mail_queue::category_words(&category)
        ),
        Some(("/account#mail", "Your mail choices")),
    ))
}
