//! More of the reviewer console: corrections (activities excluded from scoring), price
//! submissions for countries missing from the Big Mac data (four eyes: nobody decides
//! their own), and import runs with their summaries. Reviewers and admins only.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use fairshare_store::StoreError;
use fairshare_store::accounts::SessionUser;

use crate::AppState;
use crate::account::page;
use crate::auth::{Denied, Viewer, check_csrf, require};
use crate::lookup::LookupError;
use crate::pages::{error_page, render_string};

fn reviewer(viewer: Viewer, here: &str) -> Result<SessionUser, Denied> {
    require(viewer, here, |u| u.user.can_review())
}

/// A store refusal the reviewer can act on is a 400 with its message.
fn refused(error: StoreError) -> Response {
    match error {
        StoreError::Invalid(m) | StoreError::Conflict(m) | StoreError::NotFound(m) => {
            error_page(LookupError::BadRequest(m))
        }
        other => error_page(other.into()),
    }
}

#[derive(Template)]
#[template(path = "console_corrections.html")]
struct CorrectionsPage {
    title: &'static str,
    csrf: String,
    corrections: Vec<fairshare_store::corrections::Correction>,
}

pub async fn corrections(State(state): State<AppState>, viewer: Viewer) -> Response {
    let user = match reviewer(viewer, "/admin/corrections") {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    match state.store.corrections(None).await {
        Ok(corrections) => page(render_string(&CorrectionsPage {
            title: "Corrections",
            csrf: user.csrf.clone(),
            corrections,
        })),
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    activity: String,
    #[serde(default)]
    correction: String,
    reason: String,
}

/// Excludes an activity from scoring (`activity`), or lifts an exclusion (`correction`).
pub async fn correct(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(action): Path<String>,
    Form(form): Form<CorrectionForm>,
) -> Response {
    let user = match reviewer(viewer, "/admin/corrections") {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    let number = |name: &str, text: &str| {
        text.trim()
            .trim_start_matches('#')
            .parse::<i64>()
            .map_err(|_| {
                LookupError::BadRequest(format!("`{name}` must be a number, not `{text}`"))
            })
    };
    let actor = user.user.email.as_str();
    let result = match action.as_str() {
        "add" => match number("activity", &form.activity) {
            Ok(id) => state
                .store
                .add_correction(id, &form.reason, actor)
                .await
                .map(|_| ()),
            Err(e) => return error_page(e),
        },
        "remove" => match number("correction", &form.correction) {
            Ok(id) => state.store.remove_correction(id, &form.reason, actor).await,
            Err(e) => return error_page(e),
        },
        other => return error_page(LookupError::NotFound(format!("no action `{other}`"))),
    };
    match result {
        Ok(()) => Redirect::to("/admin/corrections").into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Template)]
#[template(path = "console_prices.html")]
struct PricesPage {
    title: &'static str,
    csrf: String,
    submissions: Vec<fairshare_store::SubmissionRecord>,
}

pub async fn prices(State(state): State<AppState>, viewer: Viewer) -> Response {
    let user = match reviewer(viewer, "/admin/prices") {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    match state.store.submissions().await {
        Ok(submissions) => page(render_string(&PricesPage {
            title: "Price submissions",
            csrf: user.csrf.clone(),
            submissions,
        })),
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct PriceDecision {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn decide_price(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<PriceDecision>,
) -> Response {
    let user = match reviewer(viewer, "/admin/prices") {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    match state
        .store
        .decide_submission(id, form.decision == "approve", &user.user.email, comment)
        .await
    {
        Ok(_) => Redirect::to("/admin/prices").into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Template)]
#[template(path = "console_runs.html")]
struct RunsPage {
    title: &'static str,
    runs: Vec<fairshare_store::audit::ImportRun>,
}

pub async fn runs(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(denied) = reviewer(viewer, "/admin/runs") {
        return denied.into_response();
    }
    match state.store.import_runs(100).await {
        Ok(runs) => page(render_string(&RunsPage {
            title: "Import runs",
            runs,
        })),
        Err(e) => error_page(e.into()),
    }
}
