//! The reviewer console (`/admin`, reviewers and admins; team leads see their teams'
//! claims): applications with their evaluation and the decision form, the monthly
//! review and publication, the claims queue (nobody verifies their own), corrections,
//! price submissions (four eyes) and import runs, with the audit log.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use fairshare_engine::{ActivityId, Month, PartnerStatus, RequestKind, Verdict};
use fairshare_store::StoreError;
use fairshare_store::accounts::{Role, SessionUser};

use crate::AppState;
use crate::account::page;
use crate::auth::{Denied, Viewer, require, require_form};
use crate::error::AppError;
use crate::pages::render_string;

struct PendingApplication {
    id: i64,
    org: String,
    name: String,
    submitted_at: String,
    /// The evaluation attached when it was submitted.
    eligible: bool,
    /// The same evaluation today, and why it fails when it does: a deferred
    /// application may have become eligible since (approving records today's).
    eligible_today: bool,
    reasons_today: Vec<String>,
    status: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    title: &'static str,
    today: String,
    nav: crate::console_nav::ConsoleNav,
    email: String,
    csrf: String,
    applications: Vec<PendingApplication>,
    audit: Vec<(String, String, String, String)>,
    last_month: String,
    /// Partners at risk: slug, name, since, the review's reason.
    at_risk: Vec<(String, String, String, String)>,
}

pub async fn admin(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/admin", |u| u.user.can_review())?;
    let nav = crate::console_nav::console_nav(&state, &user, "/admin").await?;
    let result: Result<AdminPage, StoreError> = async {
        let rules = state.rules().await?;
        let today = state.today();
        let mut applications = Vec::new();
        // Few wait at a time; each is evaluated as the portal would show it today.
        for a in state.store.applications().await? {
            if !a.status.is_open() {
                continue;
            }
            let now = state
                .store
                .evaluate_application(&a.form, today, &rules)
                .await?;
            let reasons_today = [&now.financial.reasons[..], &now.practical.reasons[..]].concat();
            applications.push(PendingApplication {
                id: a.id,
                name: a.form.name.clone(),
                org: a.org,
                submitted_at: a.submitted_at.date().to_string(),
                eligible: a.eligible,
                eligible_today: now.eligible,
                reasons_today,
                status: a.status.to_string(),
            });
        }
        let audit = state
            .store
            .audit_log(None, 30)
            .await?
            .into_iter()
            .map(|e| (crate::format::minute(e.at), e.actor, e.action, e.subject))
            .collect();
        // An at-risk partner's newest notice is the review that put it at risk.
        let mut at_risk = Vec::new();
        for organisation in state.store.organisation_statuses().await? {
            if organisation.status != PartnerStatus::AtRisk {
                continue;
            }
            let (slug, name, since) = (organisation.slug, organisation.name, organisation.since);
            let reason = state
                .store
                .status_notices(&slug, 1)
                .await?
                .pop()
                .map(|n| n.reason)
                .unwrap_or_default();
            at_risk.push((slug, name, since.unwrap_or_default(), reason));
        }
        Ok(AdminPage {
            nav,
            today: today.to_string(),
            at_risk,
            title: "Console",
            email: user.user.email.clone(),
            csrf: user.csrf.clone(),
            applications,
            audit,
            last_month: Month::of(state.today()).previous().to_string(),
        })
    }
    .await;
    let p = result?;
    Ok(page(render_string(&p)))
}

/// A reviewer's decision on something waiting (an application, a claim, a price, an
/// organisation's change): the kind of decision, a comment, the session's token.
#[derive(serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    pub(crate) csrf: String,
    pub(crate) decision: String,
    #[serde(default)]
    pub(crate) comment: String,
}

impl DecisionForm {
    /// `approve`, `reject` or, for a kind the engine lets defer, `defer`; anything else
    /// names the field.
    pub(crate) fn verdict(&self, kind: RequestKind) -> Result<Verdict, AppError> {
        let may_defer = kind.may_defer();
        match self.decision.as_str() {
            "approve" => Ok(Verdict::Approve),
            "reject" => Ok(Verdict::Reject),
            "defer" if may_defer => Ok(Verdict::Defer),
            other => Err(AppError::BadRequest(format!(
                "`decision` must be approve{} or reject, not `{other}`",
                if may_defer { ", defer" } else { "" }
            ))),
        }
    }
}

pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> crate::error::Result {
    let user: SessionUser = require_form(viewer, "/admin", |u| u.user.can_review(), &form.csrf)?;
    let decision = form.verdict(RequestKind::Application)?;
    if form.comment.trim().is_empty() {
        return Err(AppError::BadRequest("a decision needs a comment".into()));
    }
    // Decided on today's facts: an application deferred for want of a month's payment
    // is judged on the months now complete, and the new evaluation is recorded first.
    let rules = state.rules().await?;
    state
        .store
        .evaluate_open_application_again(id, state.today(), &rules, &user.user.email)
        .await?;
    state
        .store
        .decide_application(id, decision, form.comment.trim(), &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/admin", "decided")).into_response())
}

#[derive(Template)]
#[template(path = "claims.html")]
struct ClaimsPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    email: String,
    csrf: String,
    claims: Vec<fairshare_store::claims::Claim>,
    teams: String,
}

pub(crate) fn verifier(user: &SessionUser) -> bool {
    user.user.has(Role::TeamLead) || user.user.can_review()
}

/// The teams whose claims `user` verifies; None: every team.
pub(crate) fn verified_teams(user: &SessionUser) -> Option<Vec<String>> {
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
pub async fn claims_queue(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, "/admin/claims", verifier)?;
    let teams = verified_teams(&user);
    let all = teams.clone().unwrap_or_default();
    let claims = state.store.claims(None, Some(&all)).await?;
    Ok(page(render_string(&ClaimsPage {
        title: "Claims to verify",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/claims").await?,
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        claims,
        teams: teams
            .map(|t| t.join(", "))
            .unwrap_or_else(|| "every team".into()),
    })))
}

pub async fn decide_claim(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> crate::error::Result {
    let user = require_form(viewer, "/admin/claims", verifier, &form.csrf)?;
    let verdict = form.verdict(RequestKind::Claim)?;
    let teams = verified_teams(&user);
    let result = state
        .store
        .decide_claim(id, verdict, form.comment.trim(), &user.user.email, |team| {
            teams.as_ref().is_none_or(|t| t.iter().any(|x| x == team))
        })
        .await;
    match result {
        Ok(()) => Ok(
            Redirect::to(&crate::chrome::done_at("/admin/claims", "claim-decided")).into_response(),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    month: String,
    /// Given, a reviewed month's ranking is published again (audited with it).
    #[serde(default)]
    republish_reason: String,
}

/// A reviewer runs the monthly review: statuses move and the ranking is published.
/// Reviewing a month again changes nothing, unless a reason to republish is given.
pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ReviewForm>,
) -> crate::error::Result {
    let user = require_form(viewer, "/admin", |u| u.user.can_review(), &form.csrf)?;
    let month: Month = match form.month.parse() {
        Ok(m) => m,
        Err(_) => {
            return Err(AppError::BadRequest(format!(
                "`month` must be YYYY-MM, not `{}`",
                form.month
            )));
        }
    };
    if month >= Month::of(state.today()) {
        return Err(AppError::BadRequest(format!(
            "{month} is not complete yet: a month is reviewed once it has ended"
        )));
    }
    let rules = state.rules().await?;
    state
        .store
        .review_month(
            month,
            &rules,
            Some(form.republish_reason.trim()).filter(|r| !r.is_empty()),
            &user.user.email,
        )
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/admin", "reviewed")).into_response())
}

fn reviewer(viewer: Viewer, here: &str) -> Result<SessionUser, Denied> {
    require(viewer, here, |u| u.user.can_review())
}

/// A store refusal the reviewer can act on is a 400 with its message.

#[derive(Template)]
#[template(path = "console_corrections.html")]
struct CorrectionsPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    csrf: String,
    corrections: Vec<fairshare_store::corrections::Correction>,
}

pub async fn corrections(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/corrections")?;
    let corrections = state.store.corrections(None).await?;
    Ok(page(render_string(&CorrectionsPage {
        title: "Corrections",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/corrections").await?,
        csrf: user.csrf.clone(),
        corrections,
    })))
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
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/corrections",
        |u| u.user.can_review(),
        &form.csrf,
    )?;
    let number = |name: &str, text: &str| {
        text.trim()
            .trim_start_matches('#')
            .parse::<i64>()
            .map_err(|_| AppError::BadRequest(format!("`{name}` must be a number, not `{text}`")))
    };
    let actor = user.user.email.as_str();
    match action.as_str() {
        "add" => {
            let activity = ActivityId(number("activity", &form.activity)?);
            state
                .store
                .add_correction(activity, &form.reason, actor)
                .await?;
        }
        "remove" => {
            let id = number("correction", &form.correction)?;
            state
                .store
                .remove_correction(id, &form.reason, actor)
                .await?;
        }
        other => return Err(AppError::NotFound(format!("no action `{other}`"))),
    }
    Ok(Redirect::to(&crate::chrome::done_at("/admin/corrections", "corrected")).into_response())
}

#[derive(Template)]
#[template(path = "console_prices.html")]
struct PricesPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    csrf: String,
    submissions: Vec<fairshare_store::SubmissionRecord>,
}

pub async fn prices(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/prices")?;
    let submissions = state.store.submissions().await?;
    Ok(page(render_string(&PricesPage {
        title: "Price submissions",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/prices").await?,
        csrf: user.csrf.clone(),
        submissions,
    })))
}

pub async fn decide_price(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> crate::error::Result {
    let user = require_form(viewer, "/admin/prices", |u| u.user.can_review(), &form.csrf)?;
    let verdict = form.verdict(RequestKind::PriceSubmission)?;
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    state
        .store
        .decide_submission(id, verdict, &user.user.email, comment)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at("/admin/prices", "price-decided")).into_response())
}

/// Entries shown on the audit log page.
const AUDIT_PAGE: i64 = 200;

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    subject: String,
    /// Each entry with its details as text and its subject URL-encoded.
    entries: Vec<(fairshare_store::AuditEntry, String, String)>,
    limit: i64,
}

#[derive(serde::Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    subject: String,
}

/// The audit log, newest first, optionally of subjects starting with a prefix
/// (`org:acme`, `rules:`, `member:12`).
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<AuditQuery>,
) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/audit")?;
    let subject = query.subject.trim().to_string();
    let prefix = Some(subject.as_str()).filter(|s| !s.is_empty());
    let entries = state.store.audit_log(prefix, AUDIT_PAGE).await?;
    Ok(page(render_string(&AuditPage {
        title: "Audit log",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/audit").await?,
        entries: entries
            .into_iter()
            .map(|e| {
                let details = if e.details.is_null() {
                    String::new()
                } else {
                    e.details.to_string()
                };
                let link = crate::auth::encode(&e.subject);
                (e, details, link)
            })
            .collect(),
        subject,
        limit: AUDIT_PAGE,
    })))
}

#[derive(Template)]
#[template(path = "console_runs.html")]
struct RunsPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    runs: Vec<fairshare_store::audit::ImportRun>,
}

pub async fn runs(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/runs")?;
    let runs = state.store.import_runs(100).await?;
    Ok(page(render_string(&RunsPage {
        title: "Import runs",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/runs").await?,
        runs,
    })))
}

#[derive(Template)]
#[template(path = "console_organisations.html")]
struct OrganisationsPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    organisations: Vec<(String, String, String, String, String)>,
}

pub async fn organisations(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/organisations")?;
    let rows = state.store.organisation_statuses().await?;
    Ok(page(render_string(&OrganisationsPage {
        title: "Organisations",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/organisations").await?,
        organisations: rows
            .into_iter()
            .map(|o| {
                (
                    o.slug,
                    o.name,
                    crate::site::country_name(o.country.as_deref()),
                    o.status.label().to_string(),
                    o.since.unwrap_or_default(),
                )
            })
            .collect(),
    })))
}

#[derive(Template)]
#[template(path = "console_members.html")]
struct MembersPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    csrf: String,
    query: String,
    member: Option<fairshare_store::directory::MemberDetail>,
    changes: Vec<fairshare_store::directory::MemberChange>,
    suggestions: Vec<Vec<(i64, String)>>,
}

#[derive(serde::Deserialize, Default)]
pub struct MemberQuery {
    #[serde(default)]
    q: String,
}

/// Find a person by id or identity; merge, split and undo.
pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<MemberQuery>,
) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/members")?;
    let nav = crate::console_nav::console_nav(&state, &user, "/admin/members").await?;
    let result: Result<MembersPage, StoreError> = async {
        let member = if query.q.trim().is_empty() {
            None
        } else {
            match state.store.find_member(query.q.trim()).await {
                Ok(id) => Some(state.store.member(id).await?),
                Err(StoreError::NotFound(_) | StoreError::Invalid(_)) => None,
                Err(e) => return Err(e),
            }
        };
        let mut changes = state.store.member_changes().await?;
        changes.reverse();
        changes.truncate(30);
        Ok(MembersPage {
            title: "Members",
            nav,
            csrf: user.csrf.clone(),
            query: query.q.clone(),
            member,
            changes,
            suggestions: state.store.merge_suggestions(20).await?,
        })
    }
    .await;
    let p = result?;
    Ok(page(render_string(&p)))
}

#[derive(serde::Deserialize)]
pub struct MemberAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    into: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    identity: String,
    #[serde(default)]
    change: String,
    #[serde(default)]
    reason: String,
    /// For `affiliate`: the member (`#id`), the organisation and the dates.
    #[serde(default)]
    member: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_until: String,
}

/// `merge` (from → into), `split` (an identity out into a new member), `undo`, or
/// `affiliate` (a manager's dated affiliation; the member's work is re-credited).
pub async fn member_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(action): Path<String>,
    Form(form): Form<MemberAction>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/members",
        |u| u.user.can_review(),
        &form.csrf,
    )?;
    let actor = user.user.email.as_str();
    let reason = if form.reason.trim().is_empty() {
        "decided in the console"
    } else {
        form.reason.trim()
    };
    let store = &state.store;
    let result: Result<String, StoreError> = async {
        Ok(match action.as_str() {
            "merge" => {
                let into = store.find_member(&form.into).await?;
                let from = store.find_member(&form.from).await?;
                store.merge_members(from, into, actor, reason).await?;
                format!("#{into}")
            }
            "split" => {
                let key = fairshare_engine::IdentityKey::parse(form.identity.trim())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                let (new_member, _) = store.split_identity(&key, actor, reason).await?;
                format!("#{new_member}")
            }
            "undo" => {
                let change = form.change.trim().parse().map_err(|_| {
                    StoreError::Invalid(format!("`change` must be a number, not `{}`", form.change))
                })?;
                store.undo_member_change(change, actor).await?;
                String::new()
            }
            "affiliate" => {
                let member = store.find_member(&form.member).await?;
                let date = |name: &str, text: &str| -> Result<Option<time::Date>, StoreError> {
                    match text.trim() {
                        "" => Ok(None),
                        text => fairshare_engine::iso_date::parse(text)
                            .map(Some)
                            .ok_or_else(|| {
                                StoreError::Invalid(format!(
                                    "`{name}`: `{text}` is not a date (YYYY-MM-DD)"
                                ))
                            }),
                    }
                };
                store
                    .affiliate_member(
                        member,
                        &form.org,
                        date("valid_from", &form.valid_from)?,
                        date("valid_until", &form.valid_until)?,
                        reason,
                        actor,
                    )
                    .await?;
                format!("#{member}")
            }
            other => return Err(StoreError::NotFound(format!("no action `{other}`"))),
        })
    }
    .await;
    let shown = result?;
    Ok(Redirect::to(&crate::chrome::done_at(
        &format!("/admin/members?q={}", crate::auth::encode(&shown)),
        "member-changed",
    ))
    .into_response())
}
