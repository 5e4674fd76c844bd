//! Signed-in pages: sign in and out, the partner portal (`/portal`: where an
//! organisation stands and what would move it up) and the reviewer console (`/admin`:
//! applications to decide, the audit log). Every state change checks the session's
//! anti-forgery token; every page checks the role.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use fairshare_engine::{ActivityKind, Month};
use fairshare_store::StoreError;
use fairshare_store::accounts::{Role, SessionUser};
use fairshare_store::applications::Decision;
use time::Duration;

use crate::AppState;
use crate::auth::{
    Denied, SESSION_DAYS, Viewer, check_csrf, hash_password, random_token, require, same_origin,
    session_cookie, token_hash, verify_password,
};
use crate::format::grouped;
use crate::lookup::LookupError;
use crate::pages::{error_page, render_string};
use crate::site::month_name;

/// Failed sign-ins allowed per address in `THROTTLE_WINDOW` before refusing for a while.
pub(crate) const MOST_FAILURES: i64 = 5;
pub(crate) const THROTTLE_WINDOW: Duration = Duration::minutes(15);

pub(crate) fn page(result: Result<String, LookupError>) -> Response {
    match result {
        Ok(html) => (
            [(header::CACHE_CONTROL, "private, no-store")],
            axum::response::Html(html),
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: &'static str,
    next: String,
    email: String,
    message: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: String,
}

/// Only local paths: a sign-in link must not send people to another site.
fn local(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/account".to_string()
    }
}

pub async fn login_form(Query(next): Query<Next>) -> Response {
    page(render_string(&LoginPage {
        title: "Sign in",
        next: local(&next.next),
        email: String::new(),
        message: None,
    }))
}

#[derive(serde::Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    if !same_origin(&headers) {
        return Denied::Forbidden.into_response();
    }
    let next = local(&form.next);
    let refuse = |status: StatusCode, message: &str| {
        let mut response = page(render_string(&LoginPage {
            title: "Sign in",
            next: next.clone(),
            email: form.email.clone(),
            message: Some(message.to_string()),
        }));
        *response.status_mut() = status;
        response
    };
    let result: Result<Response, StoreError> = async {
        if state
            .store
            .recent_failed_logins(&form.email, THROTTLE_WINDOW)
            .await?
            >= MOST_FAILURES
        {
            return Ok(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed attempts for this address. Try again in 15 minutes.",
            ));
        }
        let secret = state.store.login_secret(&form.email).await?;
        let password = form.password.clone();
        // Hashing is slow on purpose: off the async workers. Unknown addresses are
        // checked against a dummy hash so that timing does not reveal which exist.
        let (user, hash) = match secret {
            Some((user, hash)) => (Some(user), hash),
            None => (None, DUMMY_HASH.clone()),
        };
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        let Some(user) = user.filter(|_| verified) else {
            state.store.record_failed_login(&form.email).await?;
            return Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "The email or the password is wrong.",
            ));
        };
        let token = random_token();
        state
            .store
            .open_session(
                user,
                &token_hash(&token),
                &random_token(),
                Duration::days(SESSION_DAYS),
            )
            .await?;
        Ok((
            [(
                header::SET_COOKIE,
                session_cookie(&token, &headers, SESSION_DAYS * 86_400),
            )],
            Redirect::to(&next),
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(|e| error_page(e.into()))
}

/// A hash of a random password nobody knows.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_token()).unwrap_or_default());

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let hash = viewer.1.clone();
    let user = match require(viewer, "/", |_| true) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    if let Some(hash) = hash
        && let Err(e) = state.store.close_session(&hash).await
    {
        return error_page(e.into());
    }
    (
        [(header::SET_COOKIE, session_cookie("", &headers, 0))],
        Redirect::to("/"),
    )
        .into_response()
}

/// One organisation's standing, as its admins see it.
struct Standing {
    slug: String,
    name: String,
    status: String,
    eligible: bool,
    criteria: Vec<(String, bool, Vec<String>)>,
    month: String,
    score: String,
    rank: Option<i64>,
    previous_rank: Option<i64>,
    gap_to_top3: Option<String>,
    this_month: String,
    by_kind: Vec<(String, String)>,
    by_person: Vec<(String, String)>,
    suggestions: Vec<String>,
    claims: Vec<fairshare_store::claims::Claim>,
    profile: fairshare_store::public::Profile,
    application: Option<fairshare_store::applications::Application>,
    /// The HQ country has no threshold in the release in force: a price is needed.
    missing_price: Option<String>,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    title: &'static str,
    email: String,
    csrf: String,
    standings: Vec<Standing>,
    kinds: Vec<&'static str>,
    today: String,
}

#[derive(serde::Deserialize, Default)]
pub struct OrgQuery {
    org: Option<String>,
}

pub async fn portal(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<OrgQuery>,
) -> Response {
    let user = match require(viewer, "/portal", |u| {
        u.user.has(Role::OrgAdmin) || u.user.can_review()
    }) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    // An organisation admin sees only their own organisations; reviewers any one.
    let orgs: Vec<String> = match &query.org {
        Some(org)
            if user.user.can_review() || user.user.organisations().contains(&org.as_str()) =>
        {
            vec![org.clone()]
        }
        Some(_) => return Denied::Forbidden.into_response(),
        None => user
            .user
            .organisations()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let mut standings = Vec::new();
    for org in &orgs {
        match standing(&state, org).await {
            Ok(s) => standings.push(s),
            Err(e) => return error_page(e),
        }
    }
    page(render_string(&PortalPage {
        title: "Partner portal",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        standings,
        kinds: fairshare_store::claims::CLAIMABLE
            .iter()
            .map(|k| k.as_str())
            .collect(),
        today: state.today().to_string(),
    }))
}

async fn standing(state: &AppState, slug: &str) -> Result<Standing, LookupError> {
    let rules = &state.programme;
    let today = state.today();
    let organisation = state.store.organisation(slug).await?;
    let organisation_name = organisation.name.clone();
    let status = state
        .store
        .partner_page(slug, today)
        .await?
        .map(|p| p.status)
        .unwrap_or_else(|| "applicant".into());
    let evaluation = state
        .store
        .evaluate(
            slug,
            today,
            &state.policy,
            rules.tolerance,
            &rules.scoring,
            &rules.eligibility,
        )
        .await?;
    let last = Month::of(today).previous();
    let (scored, details) = state.store.explain(slug, last, &rules.scoring).await?;
    let (current, _) = state
        .store
        .explain(slug, Month::of(today), &rules.scoring)
        .await?;
    let (_, ranking) = state.store.latest_partners().await?;
    let mine = ranking.iter().find(|p| p.slug == slug);
    let third = ranking.get(2).map(|p| p.score);
    // Points still missing to reach the current #3 (none when already at or above it).
    let gap_to_top3 = match (mine, third) {
        (Some(me), Some(third)) if me.rank > 3 => Some(third - me.score),
        (None, Some(third)) => Some(third - scored.score.score),
        _ => None,
    }
    .map(|gap| grouped(gap.max(rust_decimal::Decimal::ZERO)));
    let mut by_person: std::collections::BTreeMap<String, rust_decimal::Decimal> =
        Default::default();
    for item in &scored.score.items {
        if let Some(detail) = details.get(&item.id) {
            *by_person.entry(detail.member.clone()).or_default() += item.points;
        }
    }
    let mut by_person: Vec<(String, rust_decimal::Decimal)> = by_person.into_iter().collect();
    by_person.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // What would move it up: the most valuable kinds it did little or nothing of.
    let mut open: Vec<(ActivityKind, rust_decimal::Decimal)> = ActivityKind::ALL
        .iter()
        .map(|k| (*k, rules.scoring.weight(*k)))
        .filter(|(k, w)| {
            !w.is_zero()
                && scored
                    .score
                    .by_kind
                    .get(k)
                    .is_none_or(|p| *p < *w * rust_decimal::Decimal::from(3))
        })
        .collect();
    open.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let suggestions = open
        .iter()
        .take(4)
        .map(|(kind, weight)| {
            format!(
                "{}: {} points each, up to {} per person a month — {} points last month",
                kind.as_str().replace('_', " "),
                grouped(*weight),
                rules.scoring.cap(*kind),
                grouped(scored.score.by_kind.get(kind).copied().unwrap_or_default())
            )
        })
        .collect();
    Ok(Standing {
        slug: slug.to_string(),
        name: organisation_name,
        status: status.replace('_', " "),
        eligible: evaluation.eligible,
        criteria: vec![
            (
                "Monthly sponsorship at your country's amount".into(),
                evaluation.financial.passed,
                evaluation.financial.reasons.clone(),
            ),
            (
                "Regular contributions by your people".into(),
                evaluation.practical.passed,
                evaluation.practical.reasons.clone(),
            ),
        ],
        month: month_name(last),
        score: grouped(scored.score.score),
        rank: mine.map(|p| p.rank),
        previous_rank: mine.and_then(|p| p.previous_rank),
        gap_to_top3,
        this_month: grouped(current.score.score),
        by_kind: scored
            .score
            .by_kind
            .iter()
            .filter(|(_, p)| !p.is_zero())
            .map(|(k, p)| (k.as_str().replace('_', " "), grouped(*p)))
            .collect(),
        by_person: by_person
            .into_iter()
            .map(|(name, points)| (name, grouped(points)))
            .collect(),
        suggestions,
        claims: state.store.claims(Some(slug), None).await?,
        profile: state.store.partner_profile_of(slug).await?,
        application: state
            .store
            .applications()
            .await?
            .into_iter()
            .rfind(|a| a.org == slug),
        missing_price: missing_price(state, organisation.country.as_deref()).await?,
    })
}

/// The country code when it has no threshold in the release in force.
async fn missing_price(
    state: &AppState,
    country: Option<&str>,
) -> Result<Option<String>, LookupError> {
    let Some(code) = country.and_then(|c| fairshare_engine::CountryCode::parse_lenient(c).ok())
    else {
        return Ok(None);
    };
    let set = crate::lookup::threshold_set(state, None).await?;
    Ok(set.country(code).is_none().then(|| code.to_string()))
}

struct PendingApplication {
    id: i64,
    org: String,
    name: String,
    submitted_at: String,
    eligible: bool,
    status: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    title: &'static str,
    email: String,
    csrf: String,
    applications: Vec<PendingApplication>,
    audit: Vec<(String, String, String, String)>,
    last_month: String,
}

pub async fn admin(State(state): State<AppState>, viewer: Viewer) -> Response {
    let user = match require(viewer, "/admin", |u| u.user.can_review()) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let result: Result<AdminPage, StoreError> = async {
        let applications = state
            .store
            .applications()
            .await?
            .into_iter()
            .filter(|a| a.status == "pending" || a.status == "deferred")
            .map(|a| PendingApplication {
                id: a.id,
                name: a.form.name.clone(),
                org: a.org,
                submitted_at: a.submitted_at.date().to_string(),
                eligible: a.eligible,
                status: a.status,
            })
            .collect();
        let audit = state
            .store
            .audit_log(None, 30)
            .await?
            .into_iter()
            .map(|e| (e.at.to_string(), e.actor, e.action, e.subject))
            .collect();
        Ok(AdminPage {
            title: "Console",
            email: user.user.email.clone(),
            csrf: user.csrf.clone(),
            applications,
            audit,
            last_month: Month::of(state.today()).previous().to_string(),
        })
    }
    .await;
    match result {
        Ok(p) => page(render_string(&p)),
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let user: SessionUser = match require(viewer, "/admin", |u| u.user.can_review()) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "defer" => Decision::Defer,
        other => {
            return error_page(LookupError::BadRequest(format!(
                "`decision` must be approve, reject or defer, not `{other}`"
            )));
        }
    };
    if form.comment.trim().is_empty() {
        return error_page(LookupError::BadRequest("a decision needs a comment".into()));
    }
    match state
        .store
        .decide_application(id, decision, form.comment.trim(), &user.user.email)
        .await
    {
        Ok(()) => Redirect::to("/admin").into_response(),
        Err(StoreError::Conflict(message) | StoreError::Invalid(message)) => {
            error_page(LookupError::BadRequest(message))
        }
        Err(e) => error_page(e.into()),
    }
}

/// `fairshare users add` hashes here, so that the CLI and the web agree on the scheme.
pub fn hash_for_new_user(password: &str) -> Result<String, String> {
    if password.chars().count() < 12 {
        return Err("a password needs at least 12 characters".into());
    }
    hash_password(password)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    title: &'static str,
    email: String,
    csrf: String,
    roles: Vec<String>,
    portal: bool,
    console: bool,
    verifier: bool,
    verified: bool,
}

/// `/account`: who is signed in, with which roles, where to go, and signing out.
pub async fn account(viewer: Viewer) -> Response {
    let user = match require(viewer, "/account", |_| true) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    page(render_string(&AccountPage {
        title: "Your account",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        roles: user
            .user
            .grants
            .iter()
            .map(|g| {
                let role = g.role.as_str().replace('_', " ");
                if g.scope.is_empty() {
                    role
                } else {
                    format!("{role} of {}", g.scope)
                }
            })
            .collect(),
        portal: user.user.has(Role::OrgAdmin) || user.user.can_review(),
        console: user.user.can_review(),
        verifier: verifier(&user),
        verified: user.user.verified,
    }))
}

#[derive(serde::Deserialize)]
pub struct ClaimSubmission {
    #[serde(default)]
    csrf: String,
    org: String,
    person: String,
    person_name: String,
    kind: String,
    day: String,
    team: String,
    evidence: String,
    description: String,
}

/// An administrator of `org` posting a form with the session's token.
fn org_admin_form(viewer: Viewer, org: &str, csrf: &str) -> Result<SessionUser, Denied> {
    let user = require(viewer, "/portal", |u| u.user.organisations().contains(&org))?;
    check_csrf(&user, csrf)?;
    Ok(user)
}

/// An organisation admin claims non-code work by one of its people.
pub async fn submit_claim(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ClaimSubmission>,
) -> Response {
    let org = form.org.clone();
    let user = match org_admin_form(viewer, &org, &form.csrf) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let kind = match form.kind.parse::<ActivityKind>() {
        Ok(kind) => kind,
        Err(e) => return error_page(LookupError::BadRequest(format!("kind: {e}"))),
    };
    let day = match crate::lookup::parse_date("day", &form.day) {
        Ok(day) => day,
        Err(e) => return error_page(e),
    };
    let claim = fairshare_store::claims::ClaimForm {
        person: form.person,
        person_name: form.person_name,
        kind,
        day,
        team: form.team,
        evidence: form.evidence,
        description: form.description,
    };
    match state
        .store
        .submit_claim(&org, &claim, &user.user.email)
        .await
    {
        Ok(_) => Redirect::to(&format!("/portal?org={org}#claims-{org}")).into_response(),
        Err(StoreError::Invalid(m)) => error_page(LookupError::BadRequest(m)),
        Err(e) => error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "claims.html")]
struct ClaimsPage {
    title: &'static str,
    email: String,
    csrf: String,
    claims: Vec<fairshare_store::claims::Claim>,
    teams: String,
}

fn verifier(user: &SessionUser) -> bool {
    user.user.has(Role::TeamLead) || user.user.can_review()
}

/// The teams whose claims `user` verifies; None: every team.
fn verified_teams(user: &SessionUser) -> Option<Vec<String>> {
    if user.user.can_review() {
        None
    } else {
        Some(
            user.user
                .grants
                .iter()
                .filter(|g| g.role == Role::TeamLead)
                .map(|g| g.scope.clone())
                .collect(),
        )
    }
}

/// The verification queue: team leads see their teams' claims, reviewers all.
pub async fn claims_queue(State(state): State<AppState>, viewer: Viewer) -> Response {
    let user = match require(viewer, "/admin/claims", verifier) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let teams = verified_teams(&user);
    let all = teams.clone().unwrap_or_default();
    match state.store.claims(None, Some(&all)).await {
        Ok(claims) => page(render_string(&ClaimsPage {
            title: "Claims to verify",
            email: user.user.email.clone(),
            csrf: user.csrf.clone(),
            claims,
            teams: teams
                .map(|t| t.join(", "))
                .unwrap_or_else(|| "every team".into()),
        })),
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ClaimDecision {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn decide_claim(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<ClaimDecision>,
) -> Response {
    let user = match require(viewer, "/admin/claims", verifier) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return error_page(LookupError::BadRequest(format!(
                "`decision` must be approve or reject, not `{other}`"
            )));
        }
    };
    let teams = verified_teams(&user);
    let result = state
        .store
        .decide_claim(id, approve, form.comment.trim(), &user.user.email, |team| {
            teams.as_ref().is_none_or(|t| t.iter().any(|x| x == team))
        })
        .await;
    match result {
        Ok(()) => Redirect::to("/admin/claims").into_response(),
        Err(StoreError::Conflict(m)) => error_page(LookupError::Forbidden(m)),
        Err(e) => error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    title: &'static str,
    email: String,
    message: Option<String>,
}

pub async fn signup_form() -> Response {
    page(render_string(&SignupPage {
        title: "Create an account",
        email: String::new(),
        message: None,
    }))
}

#[derive(serde::Deserialize)]
pub struct Signup {
    email: String,
    password: String,
}

/// Anyone may create an account (role `member`); roles beyond it come from applying
/// for an organisation or from a programme manager.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Signup>,
) -> Response {
    if !same_origin(&headers) {
        return Denied::Forbidden.into_response();
    }
    let refuse = |message: String| {
        let mut response = page(render_string(&SignupPage {
            title: "Create an account",
            email: form.email.clone(),
            message: Some(message),
        }));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    let password = form.password.clone();
    let hash = match tokio::task::spawn_blocking(move || hash_for_new_user(&password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(message)) => return refuse(message),
        Err(_) => return error_page(LookupError::Internal("hashing failed".into())),
    };
    let grants = [fairshare_store::accounts::Grant {
        role: Role::Member,
        scope: String::new(),
    }];
    let user = match state
        .store
        .add_user(&form.email, &hash, &grants, &form.email)
        .await
    {
        Ok(user) => user,
        Err(StoreError::Invalid(m) | StoreError::Conflict(m)) => return refuse(m),
        Err(e) => return error_page(e.into()),
    };
    if let Err(e) = crate::recovery::send_token(
        &state,
        &form.email,
        fairshare_store::accounts::TokenPurpose::Verify,
    )
    .await
    {
        return error_page(e);
    }
    let token = random_token();
    if let Err(e) = state
        .store
        .open_session(
            user,
            &token_hash(&token),
            &random_token(),
            Duration::days(SESSION_DAYS),
        )
        .await
    {
        return error_page(e.into());
    }
    (
        [(
            header::SET_COOKIE,
            session_cookie(&token, &headers, SESSION_DAYS * 86_400),
        )],
        Redirect::to("/account"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    title: &'static str,
    email: String,
    csrf: String,
    countries: Vec<(String, String)>,
}

pub async fn apply_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    let user = match require(viewer, "/apply", |_| true) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let countries = match crate::lookup::threshold_set(&state, None).await {
        Ok(set) => set
            .rows
            .iter()
            .map(|t| (t.iso_a3.to_string(), t.name.clone()))
            .collect(),
        Err(e) => return error_page(e),
    };
    page(render_string(&ApplyPage {
        title: "Apply to become a partner",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        countries,
    }))
}

#[derive(serde::Deserialize)]
pub struct ApplicationSubmission {
    #[serde(default)]
    csrf: String,
    org: String,
    name: String,
    country: String,
    #[serde(default)]
    website: String,
    contact: String,
    description: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    account: String,
    /// One person per line: `Name <email or source:handle>`.
    #[serde(default)]
    staff: String,
}

/// The application form: the organisation is created or updated, its sponsor account
/// linked, the evaluation attached, and the applicant becomes its first administrator.
pub async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ApplicationSubmission>,
) -> Response {
    let user = match require(viewer, "/apply", |_| true) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    let result: Result<String, LookupError> = async {
        let slug = form.org.trim().to_lowercase();
        let country = crate::lookup::parse_country("country", &form.country)?;
        let holders = state.store.holders(Role::OrgAdmin, &slug).await?;
        if holders > 0 && !user.user.organisations().contains(&slug.as_str()) {
            return Err(LookupError::Forbidden(format!(
                "`{slug}` already has an administrator: ask them to add you"
            )));
        }
        let staff = form
            .staff
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let (name, handle) = line
                    .rsplit_once('<')
                    .map(|(n, h)| (n.trim(), h.trim_end_matches('>').trim()))
                    .ok_or_else(|| {
                        LookupError::BadRequest(format!(
                            "staff: write `Name <email>`, not `{line}`"
                        ))
                    })?;
                Ok(fairshare_store::applications::StaffMember {
                    name: name.to_string(),
                    handle: handle.to_string(),
                })
            })
            .collect::<Result<Vec<_>, LookupError>>()?;
        let application = fairshare_store::applications::ApplicationForm {
            org: slug.clone(),
            name: form.name.trim().to_string(),
            country,
            website: Some(form.website.trim().to_string()).filter(|w| !w.is_empty()),
            contact: form.contact.trim().to_string(),
            description: form.description.trim().to_string(),
            sponsorship: (!form.account.trim().is_empty()).then(|| {
                fairshare_store::applications::SponsorAccount {
                    platform: form.platform.clone(),
                    account: form.account.trim().to_string(),
                }
            }),
            staff,
        };
        let actor = user.user.email.as_str();
        let store = &state.store;
        let invalid = |e: StoreError| match e {
            StoreError::Invalid(m) | StoreError::Conflict(m) => LookupError::BadRequest(m),
            other => other.into(),
        };
        store
            .prepare_applicant(&application, actor)
            .await
            .map_err(invalid)?;
        let rules = &state.programme;
        let evaluation = store
            .evaluate(
                &slug,
                state.today(),
                &state.policy,
                rules.tolerance,
                &rules.scoring,
                &rules.eligibility,
            )
            .await?;
        store
            .submit_application(&application, &evaluation, actor)
            .await
            .map_err(invalid)?;
        store
            .grant(
                user.user.id,
                &fairshare_store::accounts::Grant {
                    role: Role::OrgAdmin,
                    scope: slug.clone(),
                },
                actor,
            )
            .await?;
        Ok(slug)
    }
    .await;
    match result {
        Ok(slug) => Redirect::to(&format!("/portal?org={slug}")).into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(serde::Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    month: String,
}

/// A reviewer runs the monthly review: statuses move and the ranking is published.
pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ReviewForm>,
) -> Response {
    let user = match require(viewer, "/admin", |u| u.user.can_review()) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    if let Err(denied) = check_csrf(&user, &form.csrf) {
        return denied.into_response();
    }
    let month: Month = match form.month.parse() {
        Ok(m) => m,
        Err(_) => {
            return error_page(LookupError::BadRequest(format!(
                "`month` must be YYYY-MM, not `{}`",
                form.month
            )));
        }
    };
    if month >= Month::of(state.today()) {
        return error_page(LookupError::BadRequest(format!(
            "{month} is not complete yet: a month is reviewed once it has ended"
        )));
    }
    let rules = &state.programme;
    let review = fairshare_store::review::ReviewRules {
        policy: &state.policy,
        tolerance: rules.tolerance,
        scoring: &rules.scoring,
        eligibility: &rules.eligibility,
        grace_months: rules.grace_months,
    };
    match state
        .store
        .review_month(month, &review, None, &user.user.email)
        .await
    {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ProfileSubmission {
    #[serde(default)]
    csrf: String,
    org: String,
    #[serde(default)]
    description: String,
    /// Comma-separated lists.
    #[serde(default)]
    services: String,
    #[serde(default)]
    languages: String,
    #[serde(default)]
    regions: String,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An organisation admin edits what its public page says.
pub async fn save_profile(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ProfileSubmission>,
) -> Response {
    let org = form.org.clone();
    let user = match org_admin_form(viewer, &org, &form.csrf) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let profile = fairshare_store::public::Profile {
        description: form.description.trim().to_string(),
        services: list(&form.services),
        languages: list(&form.languages),
        regions: list(&form.regions),
    };
    match state
        .store
        .set_profile(&org, &profile, &user.user.email)
        .await
    {
        Ok(()) => Redirect::to(&format!("/portal?org={org}#profile-{org}")).into_response(),
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct StaffInvitation {
    #[serde(default)]
    csrf: String,
    org: String,
    name: String,
    handle: String,
}

/// An organisation admin invites a person, who confirms in their member area.
pub async fn invite_staff(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<StaffInvitation>,
) -> Response {
    let org = form.org.clone();
    let user = match org_admin_form(viewer, &org, &form.csrf) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let member = fairshare_store::applications::StaffMember {
        name: form.name,
        handle: form.handle.trim().to_string(),
    };
    match state
        .store
        .invite_staff(&org, &member, &user.user.email)
        .await
    {
        Ok(()) => Redirect::to(&format!("/portal?org={org}#staff-{org}")).into_response(),
        Err(StoreError::Invalid(m) | StoreError::Conflict(m)) => {
            error_page(LookupError::BadRequest(m))
        }
        Err(e) => error_page(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct PriceSubmission {
    #[serde(default)]
    csrf: String,
    org: String,
    price: String,
    currency: String,
    rate: String,
    evidence: String,
}

/// An organisation whose country the Big Mac data lacks submits a local price; a
/// reviewer decides in the console.
pub async fn submit_price(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PriceSubmission>,
) -> Response {
    let org = form.org.clone();
    let user = match org_admin_form(viewer, &org, &form.csrf) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    let result: Result<(), LookupError> = async {
        let organisation = state.store.organisation(&org).await?;
        let country = missing_price(&state, organisation.country.as_deref())
            .await?
            .ok_or_else(|| {
                LookupError::BadRequest("your country already has a threshold".into())
            })?;
        let decimal = |name: &str, text: &str| {
            text.trim()
                .parse::<rust_decimal::Decimal>()
                .ok()
                .filter(|d| d.is_sign_positive() && !d.is_zero())
                .ok_or_else(|| {
                    LookupError::BadRequest(format!(
                        "`{name}` must be a positive number, not `{text}`"
                    ))
                })
        };
        let release = state
            .store
            .release_in_force(state.today())
            .await?
            .ok_or_else(|| LookupError::NotFound("no Big Mac release is in force".into()))?;
        let submission = fairshare_store::NewSubmission {
            country: fairshare_engine::CountryCode::parse_lenient(&country)
                .map_err(|e| LookupError::BadRequest(e.to_string()))?,
            currency: fairshare_engine::CurrencyCode::parse(form.currency.trim())
                .map_err(|e| LookupError::BadRequest(format!("currency: {e}")))?,
            local_price: decimal("price", &form.price)?,
            dollar_ex: decimal("rate", &form.rate)?,
            evidence: form.evidence.trim().to_string(),
            release,
        };
        state
            .store
            .submit_price(submission, &user.user.email)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) | StoreError::Conflict(m) => LookupError::BadRequest(m),
                other => other.into(),
            })?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/portal?org={org}")).into_response(),
        Err(e) => error_page(e),
    }
}
