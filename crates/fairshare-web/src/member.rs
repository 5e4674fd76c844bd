//! The member area (`/me`): a contributor sees their identities, their contributions
//! and the organisation each is credited to, answers the organisations that list them
//! as staff, and opts in or out of being named publicly. It acts on the person behind
//! the account's email address, so it needs that address confirmed first.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use fairshare_engine::IdentityKey;
use fairshare_store::StoreError;
use fairshare_store::accounts::SessionUser;
use fairshare_store::directory::MemberDetail;

use crate::AppState;
use crate::account::page;
use crate::auth::{Denied, Viewer, check_csrf, require};
use crate::error::AppError;
use crate::pages::{error_page, render_string};

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    title: &'static str,
    email: String,
    csrf: String,
    verified: bool,
    member: Option<MemberDetail>,
    pending: Vec<(i64, String, String)>,
}

/// The signed-in user with a confirmed address, and their identity key.
fn confirmed(viewer: Viewer) -> Result<(SessionUser, IdentityKey), Box<Response>> {
    let user = require(viewer, "/me", |_| true).map_err(|d| Box::new(d.into_response()))?;
    if !user.user.verified {
        return Err(Box::new(Denied::Forbidden.into_response()));
    }
    let key = IdentityKey::from_email(&user.user.email)
        .map_err(|e| Box::new(error_page(AppError::BadRequest(e.to_string()))))?;
    Ok((user, key))
}

pub async fn me(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/me", |_| true)?;
    let result: Result<MePage, AppError> = async {
        let (member, pending) = if user.user.verified {
            let key = IdentityKey::from_email(&user.user.email)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            let member = match state.store.find_member(&user.user.email).await {
                Ok(id) => Some(state.store.member(id).await?),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            };
            (member, state.store.pending_staff_of(&key).await?)
        } else {
            (None, Vec::new())
        };
        Ok(MePage {
            title: "Your contributions",
            email: user.user.email.clone(),
            csrf: user.csrf.clone(),
            verified: user.user.verified,
            member,
            pending,
        })
    }
    .await;
    Ok(page(render_string(&result?)))
}

#[derive(serde::Deserialize)]
pub struct ListingForm {
    #[serde(default)]
    csrf: String,
    listed: String,
}

pub async fn set_listing(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ListingForm>,
) -> crate::error::Result {
    let (user, _) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    check_csrf(&user, &form.csrf)?;
    let result = async {
        let member = state.store.find_member(&user.user.email).await?;
        state
            .store
            .set_listed(member, form.listed == "yes", &user.user.email)
            .await
    }
    .await;
    result?;
    Ok(Redirect::to(&crate::chrome::done_at("/me", "saved")).into_response())
}

#[derive(serde::Deserialize)]
pub struct StaffAnswer {
    #[serde(default)]
    csrf: String,
    decision: String,
}

/// Confirming starts an affiliation today: from now on the person's work is credited
/// to that organisation.
pub async fn answer_staff(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(application): Path<i64>,
    Form(form): Form<StaffAnswer>,
) -> crate::error::Result {
    let (user, key) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    check_csrf(&user, &form.csrf)?;
    let confirm = form.decision == "confirm";
    state
        .store
        .confirm_staff(application, &key, confirm, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/me", "saved")).into_response())
}
