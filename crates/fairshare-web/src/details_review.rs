//! The console's queue of organisation detail changes (`/admin/changes`): what an
//! organisation asked for next to what it has now — HQ country, website, email
//! domains, sponsor accounts — for a reviewer other than the requester to approve
//! (applied whole) or reject.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use fairshare_store::StoreError;
use fairshare_store::org_changes::ChangeRequest;

use crate::AppState;
use crate::account::page;
use crate::auth::{Viewer, require, require_form};
use crate::pages::{error_page, render_string};

const HERE: &str = "/admin/changes";

struct Pending {
    request: ChangeRequest,
    country: String,
    website: String,
    domains: String,
}

#[derive(Template)]
#[template(path = "console_changes.html")]
struct ChangesPage {
    title: &'static str,
    csrf: String,
    pending: Vec<Pending>,
}

pub async fn changes(State(state): State<AppState>, viewer: Viewer) -> Response {
    let user = match require(viewer, HERE, |u| u.user.can_review()) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let result: Result<ChangesPage, StoreError> = async {
        let mut pending = Vec::new();
        for request in state.store.details_changes(None).await? {
            let now = state.store.organisation(&request.org).await?;
            pending.push(Pending {
                country: now.country.unwrap_or_else(|| "—".into()),
                website: now.website.unwrap_or_else(|| "—".into()),
                domains: now.domains.join(", "),
                request,
            });
        }
        Ok(ChangesPage {
            title: "Organisation changes",
            csrf: user.csrf.clone(),
            pending,
        })
    }
    .await;
    match result {
        Ok(p) => page(render_string(&p)),
        Err(e) => error_page(e.into()),
    }
}

pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<crate::console::DecisionForm>,
) -> Response {
    let user = match require_form(viewer, HERE, |u| u.user.can_review(), &form.csrf) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let verdict = match form.verdict(false) {
        Ok(verdict) => verdict,
        Err(e) => return error_page(e),
    };
    match state
        .store
        .decide_details_change(id, verdict, &form.comment, &user.user.email)
        .await
    {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err(e) => error_page(e.into()),
    }
}
