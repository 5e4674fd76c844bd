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
use crate::listing::{Cell, ListQuery, column};
use crate::pages::render_string;
use axum::extract::Query;

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
    /// Decided claims of the same teams, newest first.
    list: crate::listing::Listing,
}

const DECIDED_CLAIMS: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/admin/claims",
    label: "Decided claims",
    columns: &[
        column("number", "Claim", true),
        column("day", "Day", false),
        column("what", "What", false),
        column("person", "Person", false),
        column("organisation", "Organisation", false),
        column("team", "Team", false),
        column("decision", "Decision", false),
        column("by", "Decided by", false),
        column("comment", "Comment", false),
    ],
    default_sort: ("number", true),
};

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

/// The verification queue, and the history of decided claims below it: team leads see
/// their teams' claims, reviewers all.
pub async fn claims_queue(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> crate::error::Result {
    let user = require(viewer, "/admin/claims", verifier)?;
    let teams = verified_teams(&user);
    // Every claim once: the pending ones are the queue, the others its history.
    let (claims, decided): (Vec<_>, Vec<_>) = state
        .store
        .claims(None, None)
        .await?
        .into_iter()
        .filter(|c| teams.as_ref().is_none_or(|t| t.contains(&c.team)))
        .partition(|c| c.status == fairshare_engine::RequestState::Pending);
    let decided: Vec<Vec<Cell>> = decided
        .into_iter()
        .map(|c| {
            let partner = format!("/partners/{}", crate::auth::encode(&c.org));
            vec![
                Cell::number(c.id, format!("#{}", c.id)),
                Cell::text(c.day.to_string()),
                Cell::text(crate::format::kind_label(c.kind)),
                Cell::text(c.person_name),
                Cell::text(c.org_name).link(partner),
                Cell::text(c.team),
                Cell::text(c.status.as_str()),
                Cell::text(c.decided_by.unwrap_or_default()),
                Cell::text(c.comment.unwrap_or_default()),
            ]
        })
        .collect();
    let list = match crate::listing::show(&DECIDED_CLAIMS, decided, &query) {
        crate::listing::Shown::Csv(csv) => return Ok(csv),
        crate::listing::Shown::Page(list) => list,
    };
    Ok(page(render_string(&ClaimsPage {
        title: "Claims to verify",
        nav: crate::console_nav::console_nav(&state, &user, "/admin/claims").await?,
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        claims,
        teams: teams
            .map(|t| t.join(", "))
            .unwrap_or_else(|| "every team".into()),
        list,
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
    /// Where to return: the breakdown the exclusion was made from (only console and
    /// portal addresses are followed).
    #[serde(default)]
    back: String,
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
    let back = Some(form.back.as_str())
        .filter(|b| b.starts_with("/portal/breakdown?") || b.starts_with("/admin/"))
        .filter(|b| !b.contains("//") && !b.contains('\\'))
        .unwrap_or("/admin/corrections");
    Ok(Redirect::to(&crate::chrome::done_at(back, "corrected")).into_response())
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

const AUDIT: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/admin/audit",
    label: "Audit entries",
    columns: &[
        column("when", "When", false),
        column("who", "Who", false),
        column("what", "What", false),
        column("subject", "Subject", false),
        crate::listing::unsorted("details", "What changed"),
    ],
    default_sort: ("when", true),
};

/// Entries a CSV or JSON export of the audit log holds at most (the CLI's `audit`
/// exports any number).
const AUDIT_EXPORT: i64 = 100_000;

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    filter: AuditQuery,
    /// Every action on record: its code and its words.
    actions: Vec<(String, String)>,
    /// The same entries as JSON, with their details as recorded.
    json: String,
    list: crate::listing::Listing,
}

/// The audit log's filters besides the list's own (`q`, `sort`, `order`, `page`,
/// `format`, which also takes `json`).
#[derive(serde::Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    who: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    format: String,
}

impl AuditQuery {
    fn list_query(&self) -> ListQuery {
        ListQuery {
            q: self.q.clone(),
            sort: self.sort.clone(),
            order: self.order.clone(),
            page: self.page.clone(),
            format: self.format.clone(),
        }
    }

    fn filter(&self) -> Result<fairshare_store::audit::AuditFilter, AppError> {
        let date = |name: &str, text: &str| match text.trim() {
            "" => Ok(None),
            text => fairshare_engine::iso_date::parse(text)
                .map(Some)
                .ok_or_else(|| {
                    AppError::BadRequest(format!("`{name}`: `{text}` is not a date (YYYY-MM-DD)"))
                }),
        };
        Ok(fairshare_store::audit::AuditFilter {
            actor: self.who.clone(),
            action: self.action.clone(),
            subject: self.subject.clone(),
            text: self.q.clone(),
            from: date("from", &self.from)?,
            until: date("until", &self.until)?,
        })
    }

    /// The filters every link of the page keeps.
    fn hidden(&self) -> Vec<(String, String)> {
        [
            ("who", &self.who),
            ("action", &self.action),
            ("subject", &self.subject),
            ("from", &self.from),
            ("until", &self.until),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
    }
}

/// The audit log: filtered by who, what, subject, dates and text; sorted; paged; as
/// CSV (details in words) or JSON (details as recorded).
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<AuditQuery>,
) -> crate::error::Result {
    use fairshare_store::audit::AuditOrder;
    let user = reviewer(viewer, AUDIT.path)?;
    let list_query = query.list_query();
    let filter = query.filter()?;
    let order = match list_query.sort.as_str() {
        "who" => AuditOrder::Actor,
        "what" => AuditOrder::Action,
        "subject" => AuditOrder::Subject,
        _ => AuditOrder::When,
    };
    let descending = match list_query.order.as_str() {
        "asc" => false,
        "desc" => true,
        _ => order == AuditOrder::When,
    };
    let (offset, limit) = if query.format == "json" {
        (0, AUDIT_EXPORT)
    } else {
        list_query.rows(AUDIT_EXPORT)
    };
    let (entries, total) = state
        .store
        .audit_search(&filter, (order, descending), offset, limit)
        .await?;
    if query.format == "json" {
        return Ok(axum::Json(entries).into_response());
    }
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                Cell::number(e.id, crate::format::minute(e.at)),
                Cell::text(&e.actor).link(format!(
                    "/admin/audit?who={}",
                    crate::auth::encode(&e.actor)
                )),
                Cell::text(crate::format::audit_words(&e.action)),
                Cell::text(&e.subject).link(format!(
                    "/admin/audit?subject={}",
                    crate::auth::encode(&e.subject)
                )),
                Cell::text(crate::format::json_words(&e.details)),
            ]
        })
        .collect::<Vec<_>>();
    if list_query.wants_csv() {
        return Ok(crate::listing::csv(&AUDIT, &rows));
    }
    let mut list = crate::listing::Listing::of_page(
        &AUDIT,
        rows,
        usize::try_from(total).unwrap_or(0),
        &list_query,
        query.hidden(),
    );
    list.search_form = false;
    let actions = state
        .store
        .audit_actions()
        .await?
        .into_iter()
        .map(|code| {
            let words = crate::format::audit_words(&code);
            (code, words)
        })
        .collect();
    Ok(page(render_string(&AuditPage {
        title: "Audit log",
        nav: crate::console_nav::console_nav(&state, &user, AUDIT.path).await?,
        filter: query,
        actions,
        json: list.csv.replace("format=csv", "format=json"),
        list,
    })))
}

/// A console list page: its navigation and one [`Listing`](crate::listing::Listing).
#[derive(Template)]
#[template(path = "console_list.html")]
struct ListPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    lead: String,
    list: crate::listing::Listing,
}

/// A list's page, or its rows as CSV.
async fn list_page(
    state: &AppState,
    user: &SessionUser,
    spec: &crate::listing::ListSpec,
    lead: String,
    shown: crate::listing::Shown,
) -> crate::error::Result {
    Ok(match shown {
        crate::listing::Shown::Csv(csv) => csv,
        crate::listing::Shown::Page(list) => page(render_string(&ListPage {
            title: spec.label,
            nav: crate::console_nav::console_nav(state, user, spec.path).await?,
            lead,
            list,
        })),
    })
}

const RUNS: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/admin/runs",
    label: "Import runs",
    columns: &[
        column("when", "When", false),
        column("source", "Source", false),
        column("input", "Input", false),
        column("by", "By", false),
        column("summary", "What it counted", false),
    ],
    default_sort: ("when", true),
};

/// Import runs kept on the page (older runs stay in the audit log and the CLI).
const RUNS_SHOWN: i64 = 5_000;

pub async fn runs(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> crate::error::Result {
    let user = reviewer(viewer, RUNS.path)?;
    let rows = state
        .store
        .import_runs(RUNS_SHOWN)
        .await?
        .into_iter()
        .map(|r| {
            vec![
                Cell::number(r.id, crate::format::minute(r.started_at)),
                Cell::text(r.source),
                Cell::text(r.input),
                Cell::text(r.actor),
                Cell::text(crate::format::json_text_words(&r.summary)),
            ]
        })
        .collect();
    let lead = format!(
        "Every import, newest first (the latest {RUNS_SHOWN}); the CLI's `runs` lists them all."
    );
    list_page(
        &state,
        &user,
        &RUNS,
        lead,
        crate::listing::show(&RUNS, rows, &query),
    )
    .await
}

const ORGANISATIONS: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/admin/organisations",
    label: "Organisations",
    columns: &[
        column("name", "Organisation", false),
        column("slug", "Slug", false),
        column("country", "Country", false),
        column("status", "Status", false),
        column("since", "Since", false),
        column("score", "Score last month", true),
        column("activities", "Activities last month", true),
        column("review", "Latest review", false),
    ],
    default_sort: ("name", false),
};

/// Every organisation with its status, last month's score (the engine's, on the rules
/// in force) and what the latest review said; each name leads to its standing.
pub async fn organisations(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> crate::error::Result {
    let user = reviewer(viewer, ORGANISATIONS.path)?;
    let last_month = Month::of(state.today()).previous();
    let rules = state.rules().await?.scoring;
    let scores = state.store.month_scores(last_month, &rules).await?;
    let scores: std::collections::HashMap<&str, &fairshare_engine::scoring::Score> =
        scores.iter().map(|s| (s.org.as_str(), &s.score)).collect();
    let rows = state
        .store
        .organisation_statuses()
        .await?
        .into_iter()
        .map(|o| {
            let score = scores.get(o.slug.as_str());
            let points = score.map_or(rust_decimal::Decimal::ZERO, |s| s.score);
            let activities = score.map_or(0, |s| s.activities);
            vec![
                Cell::text(o.name).link(format!("/portal?org={}", crate::auth::encode(&o.slug))),
                Cell::text(o.slug),
                Cell::text(crate::site::country_name(o.country.as_deref())),
                Cell::text(o.status.label()),
                Cell::text(o.since.unwrap_or_default()),
                Cell::number(points, crate::format::points_text(points)),
                Cell::number(activities as i64, activities.to_string()),
                Cell::text(o.last_review.unwrap_or_default()),
            ]
        })
        .collect();
    let lead = format!("Scores and activities of {last_month}, on the rules in force.");
    list_page(
        &state,
        &user,
        &ORGANISATIONS,
        lead,
        crate::listing::show(&ORGANISATIONS, rows, &query),
    )
    .await
}

#[derive(Template)]
#[template(path = "console_members.html")]
struct MembersPage {
    title: &'static str,
    nav: crate::console_nav::ConsoleNav,
    csrf: String,
    query: String,
    member: Option<fairshare_store::directory::MemberDetail>,
    /// Members whose name matches the search (everyone, without one).
    list: crate::listing::Listing,
    changes: Vec<fairshare_store::directory::MemberChange>,
    suggestions: Vec<Vec<(i64, String)>>,
    /// Attribution disputes waiting for a reviewer.
    disputes: Vec<fairshare_store::people::Dispute>,
    /// Accounts on other platforms people asked to be counted as theirs.
    accounts: Vec<fairshare_store::identity_requests::IdentityRequest>,
}

const MEMBERS: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/admin/members",
    label: "Members",
    columns: &[
        column("name", "Name", false),
        column("number", "Member", true),
        crate::listing::unsorted("kind", "Person or bot"),
        crate::listing::unsorted("identities", "Identities"),
    ],
    default_sort: ("name", false),
};

/// Find a person by id or identity; merge, split and undo.
pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> crate::error::Result {
    let user = reviewer(viewer, "/admin/members")?;
    let by_name = query.sort != "number";
    let descending = match query.order.as_str() {
        "desc" => true,
        "asc" => false,
        _ => !by_name,
    };
    let (offset, limit) = query.rows(i64::MAX);
    let (found, total) = state
        .store
        .search_members(query.search(), (by_name, descending), offset, limit)
        .await?;
    let rows: Vec<Vec<Cell>> = found
        .into_iter()
        .map(|m| {
            let number = format!("#{}", m.id);
            let href = format!("/admin/members?q={}", crate::auth::encode(&number));
            vec![
                Cell::text(m.display_name).link(href),
                Cell::number(m.id, number),
                Cell::text(if m.is_bot { "bot" } else { "person" }),
                Cell::number(m.identities, m.identities.to_string()),
            ]
        })
        .collect();
    if query.wants_csv() {
        return Ok(crate::listing::csv(&MEMBERS, &rows));
    }
    let mut list = crate::listing::Listing::of_page(
        &MEMBERS,
        rows,
        usize::try_from(total).unwrap_or(0),
        &query,
        Vec::new(),
    );
    list.search_form = false;
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
            list,
            changes,
            suggestions: state.store.merge_suggestions(20).await?,
            disputes: state.store.disputes(true, None).await?,
            accounts: state.store.identity_requests(true, None).await?,
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

/// `merge` (from → into), `split` (an identity out into a new member), `undo`,
/// `link` (an identity on another platform joined to the member), or `affiliate` (a manager's dated affiliation; the member's work is re-credited).
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
            "link" => {
                let member = store.find_member(&form.member).await?;
                let key = fairshare_engine::IdentityKey::parse(form.identity.trim())
                    .map_err(|e| StoreError::Invalid(format!("`identity`: {e}")))?;
                let joined = store.link_identity(member, &key, reason, actor).await?;
                format!("#{joined}")
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

/// A reviewer confirms (joins) or refuses a person's account on another platform.
pub async fn decide_account(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/members",
        |u| u.user.can_review(),
        &form.csrf,
    )?;
    let verdict = form.verdict(RequestKind::AccountLink)?;
    state
        .store
        .decide_identity_request(id, verdict, &form.comment, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        "/admin/members#accounts",
        "account-decided",
    ))
    .into_response())
}

/// A reviewer settles an attribution dispute (after putting the credit right with an
/// affiliation, or with a comment saying why not).
pub async fn decide_dispute(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        "/admin/members",
        |u| u.user.can_review(),
        &form.csrf,
    )?;
    let verdict = form.verdict(RequestKind::Claim)?;
    state
        .store
        .decide_dispute(id, verdict, &form.comment, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        "/admin/members#disputes",
        "dispute-decided",
    ))
    .into_response())
}
