//! The console's queue of organisation detail changes (`/admin/changes`): what an
//! organisation asked for next to what it has now — HQ country, website, email
//! domains, sponsor accounts — for a reviewer other than the requester to approve
//! (applied whole) or reject.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use fairshare_store::StoreError;
use fairshare_store::org_changes::ChangeRequest;

use crate::AppState;
use crate::account::page;
use crate::auth::{Viewer, require, require_form};
use crate::pages::render_string;

const HERE: &str = "/admin/changes";

struct Pending {
    request: ChangeRequest,
    name: String,
    country: String,
    website: String,
    domains: String,
}

#[derive(Template)]
#[template(path = "console_changes.html")]
struct ChangesPage {
    nav: crate::console_nav::ConsoleNav,
    title: &'static str,
    csrf: String,
    pending: Vec<Pending>,
}

pub async fn changes(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, HERE, |u| u.user.can_review())?;
    let nav = crate::console_nav::console_nav(&state, &user, HERE).await?;
    let result: Result<ChangesPage, StoreError> = async {
        let mut pending = Vec::new();
        for request in state.store.details_changes(None).await? {
            let now = state.store.organisation(&request.org).await?;
            pending.push(Pending {
                name: now.name,
                country: now.country.unwrap_or_else(|| "—".into()),
                website: now.website.unwrap_or_else(|| "—".into()),
                domains: now.domains.join(", "),
                request,
            });
        }
        Ok(ChangesPage {
            nav,
            title: "Organisation changes",
            csrf: user.csrf.clone(),
            pending,
        })
    }
    .await;
    let p = result?;
    Ok(page(render_string(&p)))
}

pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<crate::console::DecisionForm>,
) -> crate::error::Result {
    let user = require_form(viewer, HERE, |u| u.user.can_review(), &form.csrf)?;
    let verdict = form.verdict(fairshare_engine::RequestKind::OrganisationChange)?;
    let store = &state.store;
    let actor = &user.user.email;
    store
        .decide_details_change(id, verdict, &form.comment, actor)
        .await?;
    if verdict == fairshare_engine::Verdict::Approve {
        // An approved change (a sponsor account linked, a country moved) changes the
        // facts an open application is judged on: judge it again.
        let org = store.details_change(id).await?.org;
        let rules = state.rules().await?;
        let evaluation = store.evaluate(&org, state.today(), &rules).await?;
        store
            .refresh_open_application(&org, &evaluation, actor)
            .await?;
    }
    Ok(Redirect::to(&crate::chrome::done_at(HERE, "decided")).into_response())
}
