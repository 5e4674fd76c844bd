//! The member area (`/me`): a contributor sees their identities and their
//! contributions page by page with the organisation each is credited to, disputes a
//! credit (reviewers settle it), answers the organisations that list them as staff,
//! opts in or out of being named publicly, downloads everything held about them and
//! can ask to be forgotten. It acts on the person behind the account's email address,
//! so it needs that address confirmed first.

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
    /// Their contributions, a page at a time.
    list: crate::listing::Listing,
    /// The organisations their work is credited to: slug (`unaffiliated` for none), name
    /// and how many contributions.
    credited: Vec<(String, String, i64)>,
    /// Their disputes, newest first.
    disputes: Vec<fairshare_store::people::Dispute>,
    /// Accounts on other platforms they asked to be counted as theirs.
    accounts: Vec<fairshare_store::identity_requests::IdentityRequest>,
}

const CONTRIBUTIONS: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/me",
    label: "Your contributions",
    columns: &[
        crate::listing::unsorted("day", "Day"),
        crate::listing::unsorted("what", "What"),
        crate::listing::unsorted("title", "Title"),
        crate::listing::unsorted("source", "Source"),
        crate::listing::unsorted("credited", "Credited to"),
        crate::listing::unsorted("why", "Why there"),
        crate::listing::unsorted("scored", "Scored"),
    ],
    default_sort: ("day", true),
};

/// The organisation a contribution is credited to, as a person reads it.
fn credited_to(org: &Option<(String, String)>) -> String {
    org.as_ref()
        .map_or_else(|| "no organisation".to_string(), |(_, name)| name.clone())
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

pub async fn me(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<crate::listing::ListQuery>,
) -> crate::error::Result {
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
        let (rows, total, disputes) = match &member {
            Some(m) => {
                let (offset, limit) = query.rows(i64::MAX);
                let (own, total) = state.store.own_activities(m.id, offset, limit).await?;
                let rows = own
                    .into_iter()
                    .map(|a| {
                        use crate::listing::Cell;
                        let title = Cell::text(a.title.clone().unwrap_or_default());
                        let title = match a.url.as_deref().filter(|u| crate::format::is_link(u)) {
                            Some(url) => title.link(url),
                            None => title,
                        };
                        vec![
                            Cell::text(a.occurred_at.date().to_string()),
                            Cell::text(a.kind.label()),
                            title,
                            Cell::text(a.source),
                            Cell::text(credited_to(&a.org)),
                            Cell::text(crate::format::attribution_words(&a.attribution)),
                            Cell::text(if a.excluded {
                                "no: excluded by a reviewer"
                            } else {
                                "yes"
                            }),
                        ]
                    })
                    .collect();
                let disputes = state.store.disputes(false, Some(m.id)).await?;
                (rows, total, disputes)
            }
            None => (Vec::new(), 0, Vec::new()),
        };
        let mut list = crate::listing::Listing::of_page(
            &CONTRIBUTIONS,
            rows,
            usize::try_from(total).unwrap_or(0),
            &query,
            Vec::new(),
        );
        list.search_form = false;
        let mut credited = Vec::new();
        for (slug, n) in member.iter().flat_map(|m| m.activities_by_org.iter()) {
            let name = if slug == "unaffiliated" {
                "No organisation".to_string()
            } else {
                state.store.organisation(slug).await?.name
            };
            credited.push((slug.clone(), name, *n));
        }
        let accounts = match IdentityKey::from_email(&user.user.email) {
            Ok(key) if user.user.verified => {
                state.store.identity_requests(false, Some(&key)).await?
            }
            _ => Vec::new(),
        };
        Ok(MePage {
            title: "Your contributions",
            accounts,
            email: user.user.email.clone(),
            csrf: user.csrf.clone(),
            verified: user.user.verified,
            member,
            pending,
            list,
            credited,
            disputes,
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

/// The member behind the signed-in, confirmed address.
async fn own_member(
    state: &AppState,
    user: &SessionUser,
) -> Result<fairshare_engine::MemberId, AppError> {
    Ok(state.store.find_member(&user.user.email).await?)
}

#[derive(serde::Deserialize)]
pub struct DisputeForm {
    #[serde(default)]
    csrf: String,
    /// The organisation's slug, or `unaffiliated`.
    #[serde(default)]
    org: String,
    #[serde(default)]
    reason: String,
}

/// A person disputes the organisation their work is credited to; it reaches the
/// reviewers' console as a request.
pub async fn dispute(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<DisputeForm>,
) -> crate::error::Result {
    let (user, _) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    check_csrf(&user, &form.csrf)?;
    let member = own_member(&state, &user).await?;
    let org = Some(form.org.trim()).filter(|o| !o.is_empty() && *o != "unaffiliated");
    state
        .store
        .raise_dispute(member, org, &form.reason, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/me#disputes", "dispute-sent")).into_response())
}

#[derive(serde::Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identity: String,
    #[serde(default)]
    reason: String,
}

/// A person names their account on another platform (`discord:…`); a reviewer
/// confirms it before its work counts as theirs.
pub async fn ask_account(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AccountForm>,
) -> crate::error::Result {
    let (user, key) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    check_csrf(&user, &form.csrf)?;
    let identity = IdentityKey::parse(form.identity.trim())
        .map_err(|e| AppError::BadRequest(format!("`identity`: {e}")))?;
    state
        .store
        .request_identity(&key, &identity, &form.reason)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        "/me#platforms-title",
        "account-asked",
    ))
    .into_response())
}

/// `/me/data.json`: everything Fairshare holds about the signed-in person.
pub async fn download(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let (user, _) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    let account = serde_json::json!({
        "email": user.user.email,
        "roles": user.user.grants.iter().map(|g| format!("{}:{}", g.role.as_str(), g.scope)).collect::<Vec<_>>(),
    });
    let member = match state.store.find_member(&user.user.email).await {
        Ok(member) => state.store.member_export(member).await?,
        Err(StoreError::NotFound(_)) => serde_json::Value::Null,
        Err(e) => return Err(e.into()),
    };
    let body = serde_json::to_vec_pretty(
        &serde_json::json!({ "account": account, "contributor": member }),
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-fairshare-data.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
pub struct ForgetForm {
    #[serde(default)]
    csrf: String,
    /// The person ticked that they understand it cannot be undone.
    #[serde(default)]
    understood: String,
}

/// A person asks to be forgotten: their identities and names are removed at once,
/// anonymous counts kept (audited).
pub async fn forget(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ForgetForm>,
) -> crate::error::Result {
    let (user, _) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    check_csrf(&user, &form.csrf)?;
    if form.understood != "yes" {
        return Err(AppError::BadRequest(
            "`understood`: tick the box to confirm that forgetting cannot be undone".into(),
        ));
    }
    let member = own_member(&state, &user).await?;
    state.store.forget_member(member, &user.user.email).await?;
    Ok(Redirect::to(&crate::chrome::done_at("/me", "forgotten")).into_response())
}

#[derive(serde::Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// How long a link that adds an address stays valid.
const LINK_LIFETIME: time::Duration = time::Duration::days(2);

/// A person adds another email address (a former employer's, a personal one): a link
/// goes to that address, and following it while signed in joins the two.
pub async fn add_address(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<LinkForm>,
) -> crate::error::Result {
    let (user, own) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    check_csrf(&user, &form.csrf)?;
    let other = IdentityKey::from_email(form.email.trim())
        .map_err(|e| AppError::BadRequest(format!("`email`: {e}")))?;
    if other == own {
        return Err(AppError::BadRequest(
            "`email`: that is the address you signed in with".into(),
        ));
    }
    let token = crate::auth::random_token();
    state
        .store
        .start_identity_link(
            user.user.id,
            &other,
            &crate::auth::token_hash(&token),
            LINK_LIFETIME,
        )
        .await?;
    let body = format!(
        "{} asked to add this address to their contributions on Fairshare. If it was you, \
         follow this link while signed in as {}:\r\n\r\n{}\r\n\r\nThe link works once, for two days. \
         If it was not you, ignore this message: nothing changes.",
        user.user.email,
        user.user.email,
        state.mailer.link(&format!("/me/link?token={token}"))
    );
    crate::recovery::deliver(
        &state,
        &other.value,
        "Add this address to your contributions",
        &body,
    )
    .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/me#identities", "link-sent")).into_response())
}

#[derive(serde::Deserialize, Default)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// `/me/link?token=`: the emailed link, followed by the person who asked for it.
pub async fn follow_link(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<LinkQuery>,
) -> crate::error::Result {
    let (user, own) = match confirmed(viewer) {
        Ok(found) => found,
        Err(response) => return Ok(*response),
    };
    let other = state
        .store
        .redeem_identity_link(&crate::auth::token_hash(&query.token), user.user.id)
        .await?;
    let joined = state
        .store
        .link_identities(&own, &other, "an emailed link", &user.user.email)
        .await?;
    let done = if joined.is_some() {
        "linked"
    } else {
        "nothing-to-link"
    };
    Ok(Redirect::to(&crate::chrome::done_at("/me#identities", done)).into_response())
}
