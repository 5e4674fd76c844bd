//! The partner portal (`/portal`, organisation admins; reviewers may look at any
//! organisation): where an organisation stands and what would move it up, and what it
//! manages itself — claims of non-code work, its public profile, staff invitations and,
//! when its country lacks one, a Big Mac price. Every form checks the session's token.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use fairshare_engine::advice::{MoveUp, Placing, gap_to_top_three, move_up};
use fairshare_engine::scoring::Score;
use fairshare_engine::{ActivityKind, MemberId, Month};
use fairshare_store::accounts::{Role, SessionUser};

use crate::AppState;
use crate::account::page;
use crate::auth::{Denied, Viewer, require, require_form};
use crate::error::AppError;
use crate::format::points_text;
use crate::pages::render_string;
use crate::site::month_name;

/// One month of both criteria: what was paid against the threshold, and the score
/// and active staff against the minimums.
struct CriteriaMonth {
    month: String,
    /// The month is not over: figures so far.
    in_progress: bool,
    paid: String,
    required: String,
    compliant: bool,
    score: String,
    members: usize,
    worked: bool,
}

/// One organisation's standing, as its admins see it.
struct Standing {
    months: Vec<CriteriaMonth>,
    /// Consecutive compliant months up to last month.
    streak: u32,
    min_score: String,
    min_members: u32,
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
    country: String,
    website: String,
    domains: Vec<String>,
    /// `platform:account`, each on a line.
    sponsor_accounts: Vec<String>,
    /// Requested changes to the details above, newest first.
    changes: Vec<fairshare_store::org_changes::ChangeRequest>,
    /// What monthly reviews changed in its status, and why; newest first.
    notices: Vec<fairshare_store::review::StatusNotice>,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    title: &'static str,
    email: String,
    csrf: String,
    standings: Vec<Standing>,
    kinds: Vec<&'static str>,
    /// The teams a claim may name (a free field when none is known yet).
    teams: Vec<String>,
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
) -> crate::error::Result {
    let user = require(viewer, "/portal", |u| {
        u.user.has(Role::OrgAdmin) || u.user.can_review()
    })?;
    // An organisation admin sees only their own organisations; reviewers any one.
    let orgs: Vec<String> = match &query.org {
        Some(org) if crate::breakdown::may_see(&user, org) => vec![org.clone()],
        Some(_) => return Ok(Denied::Forbidden.into_response()),
        None => user
            .user
            .organisations()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let mut standings = Vec::new();
    for org in &orgs {
        standings.push(standing(&state, org).await?);
    }
    Ok(page(render_string(&PortalPage {
        title: "Partner portal",
        email: user.user.email.clone(),
        csrf: user.csrf.clone(),
        standings,
        kinds: fairshare_store::claims::CLAIMABLE
            .iter()
            .map(|k| k.as_str())
            .collect(),
        teams: state.store.known_teams(state.today()).await?,
        today: state.today().to_string(),
    })))
}

async fn standing(state: &AppState, slug: &str) -> Result<Standing, AppError> {
    let rules = state.rules().await?;
    let today = state.today();
    let organisation = state.store.organisation(slug).await?;
    let organisation_name = organisation.name.clone();
    let status = organisation.status;
    let evaluation = state.store.evaluate(slug, today, &rules).await?;
    let this_month = Month::of(today);
    let last = this_month.previous();
    // Last month's and this month's scores from the counts, in one query.
    let mut scores = state
        .store
        .org_scores(slug, last, this_month, &rules.scoring)
        .await?;
    let mut score_of = |month| {
        scores
            .remove(&month)
            .map_or_else(Score::default, |scored| scored.score)
    };
    let (scored, current) = (score_of(last), score_of(this_month));
    let months = criteria_months(state, slug, &rules, &evaluation, &current).await?;
    let (_, ranking) = state.store.latest_podium_and(slug).await?;
    let mine = ranking.iter().find(|p| p.slug == slug);
    let gap_to_top3 = gap_to_top_three(
        mine.map(|p| Placing {
            rank: usize::try_from(p.rank).unwrap_or(usize::MAX),
            score: p.score,
        }),
        scored.score,
        ranking.get(2).map(|p| p.score),
    );
    let earners: Vec<MemberId> = scored
        .by_member
        .iter()
        .filter(|(_, points)| !points.is_zero())
        .map(|(member, _)| *member)
        .collect();
    let labels = state.store.member_labels(&earners).await?;
    let by_person = earners
        .iter()
        .filter_map(|member| Some((labels.get(member)?.clone(), scored.by_member[member])))
        .collect();
    let suggestions = how_to_move_up(&move_up(&rules, &scored, &current, gap_to_top3));
    Ok(Standing {
        months,
        streak: evaluation.financial.months.last().map_or(0, |m| m.streak),
        min_score: points_text(rules.eligibility.min_monthly_score),
        min_members: rules.eligibility.min_members,
        slug: slug.to_string(),
        name: organisation_name,
        status: status.label().to_string(),
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
        score: points_text(scored.score),
        rank: mine.map(|p| p.rank),
        previous_rank: mine.and_then(|p| p.previous_rank),
        gap_to_top3: gap_to_top3.map(points_text),
        this_month: points_text(current.score),
        by_kind: crate::breakdown::by_kind(&scored),
        by_person: crate::breakdown::ranked(by_person),
        suggestions,
        claims: state.store.claims(Some(slug), None).await?,
        profile: state.store.partner_profile_of(slug).await?,
        application: state.store.latest_application_of(slug).await?,
        missing_price: missing_price(state, organisation.country.as_deref()).await?,
        sponsor_accounts: sponsor_accounts(state, organisation.id).await?,
        changes: state.store.details_changes(Some(slug)).await?,
        notices: state.store.status_notices(slug, 12).await?,
        country: organisation.country.clone().unwrap_or_default(),
        website: organisation.website.clone().unwrap_or_default(),
        domains: organisation.domains.clone(),
    })
}

/// The engine's numbers behind "how to move up", in words, most valuable first: the
/// minimum still missing this month, the gap to the top three, the kinds with the most
/// headroom under their caps, then where work weighs more.
fn how_to_move_up(advice: &MoveUp) -> Vec<String> {
    let mut tips = Vec::new();
    if let Some(missing) = advice.missing_minimum {
        tips.push(format!(
            "{} more points this month reach the minimum of {}.",
            points_text(missing),
            points_text(advice.minimum)
        ));
    }
    if let Some(gap) = advice.gap_to_top3 {
        tips.push(format!(
            "{} more points than last month would have put you in the top 3.",
            points_text(gap)
        ));
    }
    let people = advice.active_people;
    for h in &advice.headroom {
        let room = if people == 0 {
            format!(
                "{} points for each person who takes it up",
                points_text(h.points)
            )
        } else {
            format!(
                "room for {} more points across your {people} active {}",
                points_text(h.points),
                if people == 1 { "person" } else { "people" }
            )
        };
        tips.push(format!(
            "{}: {} points each, up to {} a person a month — {room}.",
            h.kind.label(),
            points_text(h.weight),
            h.cap,
        ));
    }
    for (name, factor) in &advice.impact {
        tips.push(format!("Work in {name} counts × {}.", factor.normalize()));
    }
    tips
}

/// The evaluated months of both criteria, then this month so far (its payments
/// against its threshold, when one applies).
async fn criteria_months(
    state: &AppState,
    slug: &str,
    rules: &fairshare_engine::ProgrammeRules,
    evaluation: &fairshare_engine::eligibility::Evaluation,
    so_far: &fairshare_engine::scoring::Score,
) -> Result<Vec<CriteriaMonth>, AppError> {
    let eligibility = &rules.eligibility;
    let worked = |score: rust_decimal::Decimal, members: usize| {
        score >= eligibility.min_monthly_score && members >= eligibility.min_members as usize
    };
    let mut months: Vec<CriteriaMonth> = evaluation
        .practical
        .months
        .iter()
        .map(|work| {
            let money = evaluation
                .financial
                .months
                .iter()
                .find(|m| m.month == work.month);
            CriteriaMonth {
                month: month_name(work.month),
                in_progress: false,
                paid: money.map_or("—".into(), |m| m.paid.to_string()),
                required: money.map_or("—".into(), |m| m.required.rounded().to_string()),
                compliant: money.is_some_and(|m| m.compliant),
                score: points_text(work.score),
                members: work.members,
                worked: work.passed,
            }
        })
        .collect();
    let this_month = Month::of(state.today());
    let money = state
        .store
        .org_compliance(
            slug,
            this_month,
            this_month,
            &rules.thresholds,
            rules.tolerance,
            &mut Default::default(),
        )
        .await
        .ok()
        .and_then(|mut m| m.pop());
    months.push(CriteriaMonth {
        month: month_name(this_month),
        in_progress: true,
        paid: money.as_ref().map_or("—".into(), |m| m.paid.to_string()),
        required: money
            .as_ref()
            .map_or("—".into(), |m| m.required.rounded().to_string()),
        compliant: money.is_some_and(|m| m.compliant),
        score: points_text(so_far.score),
        members: so_far.members,
        worked: worked(so_far.score, so_far.members),
    });
    Ok(months)
}

/// Linked sponsor accounts as `platform:account`.
async fn sponsor_accounts(state: &AppState, org: i64) -> Result<Vec<String>, AppError> {
    let mut accounts = Vec::new();
    for platform in ["opencollective", "github_sponsors"] {
        for account in state.store.sponsor_accounts_of(org, platform).await? {
            accounts.push(format!("{platform}:{account}"));
        }
    }
    Ok(accounts)
}

/// The country code when it has no threshold in the release in force.
async fn missing_price(
    state: &AppState,
    country: Option<&str>,
) -> Result<Option<String>, AppError> {
    let Some(code) = country.and_then(|c| fairshare_engine::CountryCode::parse_lenient(c).ok())
    else {
        return Ok(None);
    };
    let set = crate::lookup::threshold_set(state, None).await?;
    Ok(set.country(code).is_none().then(|| code.to_string()))
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
    require_form(
        viewer,
        "/portal",
        |u| u.user.organisations().contains(&org),
        csrf,
    )
}

/// An organisation admin claims non-code work by one of its people.
pub async fn submit_claim(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ClaimSubmission>,
) -> crate::error::Result {
    let org = form.org.clone();
    let user = org_admin_form(viewer, &org, &form.csrf)?;
    let kind = match form.kind.parse::<ActivityKind>() {
        Ok(kind) => kind,
        Err(e) => return Err(AppError::BadRequest(format!("kind: {e}"))),
    };
    let day = crate::lookup::parse_date("day", &form.day)?;
    let claim = fairshare_store::claims::ClaimForm {
        person: form.person,
        person_name: form.person_name,
        kind,
        day,
        team: form.team,
        evidence: form.evidence,
        description: form.description,
    };
    state
        .store
        .submit_claim(&org, &claim, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        &format!("/portal?org={org}#claims-{org}"),
        "claim-sent",
    ))
    .into_response())
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
    #[serde(default)]
    logo_url: String,
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
) -> crate::error::Result {
    let org = form.org.clone();
    let user = org_admin_form(viewer, &org, &form.csrf)?;
    let profile = fairshare_store::public::Profile {
        description: form.description.trim().to_string(),
        services: list(&form.services),
        languages: list(&form.languages),
        regions: list(&form.regions),
        logo_url: Some(form.logo_url.trim().to_string()).filter(|l| !l.is_empty()),
    };
    state
        .store
        .set_profile(&org, &profile, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        &format!("/portal?org={org}#profile-{org}"),
        "profile-saved",
    ))
    .into_response())
}

#[derive(serde::Deserialize)]
pub struct DetailsSubmission {
    #[serde(default)]
    csrf: String,
    org: String,
    country: String,
    #[serde(default)]
    website: String,
    /// Comma-separated.
    #[serde(default)]
    domains: String,
    /// `platform:account`, one per line.
    #[serde(default)]
    sponsor_accounts: String,
}

/// An organisation admin asks for new HQ country, website, domains or sponsor
/// accounts; a reviewer decides, because they move money and credit.
pub async fn request_details(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<DetailsSubmission>,
) -> crate::error::Result {
    let org = form.org.clone();
    let user = org_admin_form(viewer, &org, &form.csrf)?;
    let result: Result<i64, AppError> = async {
        let country = fairshare_engine::CountryCode::parse_lenient(form.country.trim())
            .map_err(|e| AppError::BadRequest(format!("`country`: {e}")))?;
        let mut accounts = Vec::new();
        for (number, line) in form.sponsor_accounts.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (platform, account) = line.split_once(':').ok_or_else(|| {
                AppError::BadRequest(format!(
                    "`sponsor_accounts` line {}: write `opencollective:SLUG` or `github_sponsors:LOGIN`",
                    number + 1
                ))
            })?;
            accounts.push(fairshare_store::applications::SponsorAccount {
                platform: platform.trim().to_string(),
                account: account.trim().to_string(),
            });
        }
        let change = fairshare_store::org_changes::DetailsChange {
            name: None,
            country,
            website: Some(form.website.trim().to_string()).filter(|w| !w.is_empty()),
            domains: Some(list(&form.domains)),
            sponsor_accounts: accounts,
        };
        state
            .store
            .request_details_change(&org, change, &user.user.email)
            .await
            .map_err(AppError::from)
    }
    .await;
    result?;
    Ok(Redirect::to(&crate::chrome::done_at(
        &format!("/portal?org={org}#details-{org}"),
        "change-asked",
    ))
    .into_response())
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
) -> crate::error::Result {
    let org = form.org.clone();
    let user = org_admin_form(viewer, &org, &form.csrf)?;
    let member = fairshare_store::applications::StaffMember {
        name: form.name,
        handle: form.handle.trim().to_string(),
    };
    state
        .store
        .invite_staff(&org, &member, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(
        &format!("/portal?org={org}#staff-{org}"),
        "staff-invited",
    ))
    .into_response())
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
) -> crate::error::Result {
    let org = form.org.clone();
    let user = org_admin_form(viewer, &org, &form.csrf)?;
    let result: Result<(), AppError> = async {
        let organisation = state.store.organisation(&org).await?;
        let country = missing_price(&state, organisation.country.as_deref())
            .await?
            .ok_or_else(|| AppError::BadRequest("your country already has a threshold".into()))?;
        let decimal = |name: &str, text: &str| {
            text.trim()
                .parse::<rust_decimal::Decimal>()
                .ok()
                .filter(|d| d.is_sign_positive() && !d.is_zero())
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "`{name}` must be a positive number, not `{text}`"
                    ))
                })
        };
        let release = state
            .store
            .release_in_force(state.today())
            .await?
            .ok_or_else(|| AppError::NotFound("no Big Mac release is in force".into()))?;
        let submission = fairshare_store::NewSubmission {
            country: fairshare_engine::CountryCode::parse_lenient(&country)
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
            currency: fairshare_engine::CurrencyCode::parse(form.currency.trim())
                .map_err(|e| AppError::BadRequest(format!("currency: {e}")))?,
            local_price: decimal("price", &form.price)?,
            dollar_ex: decimal("rate", &form.rate)?,
            evidence: form.evidence.trim().to_string(),
            release,
        };
        state
            .store
            .submit_price(submission, &user.user.email)
            .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&crate::chrome::done_at(
            &format!("/portal?org={org}"),
            "price-sent",
        ))
        .into_response()),
        Err(e) => Err(e),
    }
}
