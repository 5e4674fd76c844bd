//! The portal's breakdown (`/portal/breakdown?org=SLUG[&month=YYYY-MM]`): one
//! organisation's points in a month by person, kind and team, every activity with the
//! points it earned (or why it earned none: a cap reached, a correction), and the
//! months before it for the trend. Its own organisation admins and reviewers only.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use fairshare_engine::{ActivityId, Month};
use fairshare_store::accounts::SessionUser;
use rust_decimal::Decimal;

use crate::AppState;
use crate::account::page;
use crate::auth::{Denied, Viewer, require};
use crate::error::AppError;
use crate::format::points_text;
use crate::pages::render_string;
use crate::site::month_name;

/// Months shown in the trend, ending with the month looked at.
const TREND_MONTHS: usize = 6;

struct Line {
    id: ActivityId,
    day: String,
    person: String,
    kind: String,
    team: String,
    title: String,
    url: Option<String>,
    points: String,
    /// Why the activity counts for less or nothing, if it does.
    note: String,
    attribution: String,
}

struct Excluded {
    /// The activity, for the list item's anchor (people read its kind and reason).
    id: ActivityId,
    kind: &'static str,
    reason: String,
    by: String,
}

#[derive(Template)]
#[template(path = "portal_breakdown.html")]
struct BreakdownPage {
    title: &'static str,
    slug: String,
    name: String,
    month: String,
    month_code: String,
    score: String,
    trend: Vec<(String, String, String)>,
    by_person: Vec<(String, String)>,
    by_kind: Vec<(String, String)>,
    by_team: Vec<(String, String)>,
    lines: Vec<Line>,
    excluded: Vec<Excluded>,
    /// The score of each month of the trend, drawn.
    trend_chart: String,
    /// A reviewer's form token: each activity gets a button that excludes it.
    reviewer_csrf: Option<String>,
    /// This page's address, where an exclusion comes back to.
    here: String,
}

/// The activities' CSV: the table's columns, one activity a row.
const ACTIVITIES: crate::listing::ListSpec = crate::listing::ListSpec {
    path: "/portal/breakdown",
    label: "Activities",
    columns: &[
        crate::listing::column("activity", "Activity", true),
        crate::listing::column("day", "Day", false),
        crate::listing::column("who", "Who", false),
        crate::listing::column("what", "What", false),
        crate::listing::column("title", "Title", false),
        crate::listing::column("team", "Team", false),
        crate::listing::column("points", "Points", true),
        crate::listing::column("note", "Note", false),
        crate::listing::column("credited", "Credited by", false),
    ],
    default_sort: ("day", false),
};

#[derive(serde::Deserialize)]
pub struct BreakdownQuery {
    org: String,
    #[serde(default)]
    month: String,
    /// `csv`: the month's activities as a spreadsheet.
    #[serde(default)]
    format: String,
}

/// Organisation admins see their own organisations; reviewers any.
pub(crate) fn may_see(user: &SessionUser, org: &str) -> bool {
    user.user.can_review() || user.user.organisations().contains(&org)
}

pub async fn breakdown(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BreakdownQuery>,
) -> crate::error::Result {
    let here = format!("/portal/breakdown?org={}", query.org);
    let user = require(viewer, &here, |u| {
        u.user.has(fairshare_store::accounts::Role::OrgAdmin) || u.user.can_review()
    })?;
    if !may_see(&user, &query.org) {
        return Ok(Denied::Forbidden.into_response());
    }
    let mut shown = render(&state, &query).await?;
    if query.format.eq_ignore_ascii_case("csv") {
        let rows: Vec<Vec<crate::listing::Cell>> = shown
            .lines
            .iter()
            .map(|l| {
                use crate::listing::Cell;
                vec![
                    Cell::number(l.id.0, l.id.0.to_string()),
                    Cell::text(&l.day),
                    Cell::text(&l.person),
                    Cell::text(&l.kind),
                    Cell::text(&l.title),
                    Cell::text(&l.team),
                    Cell::text(&l.points),
                    Cell::text(&l.note),
                    Cell::text(&l.attribution),
                ]
            })
            .collect();
        return Ok(crate::listing::csv(&ACTIVITIES, &rows));
    }
    if user.user.can_review() {
        shown.reviewer_csrf = Some(user.csrf.clone());
    }
    Ok(page(render_string(&shown)))
}

/// Points by a key, largest first.
pub(crate) fn ranked(totals: BTreeMap<String, Decimal>) -> Vec<(String, String)> {
    let mut rows: Vec<(String, Decimal)> =
        totals.into_iter().filter(|(_, p)| !p.is_zero()).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.into_iter().map(|(k, p)| (k, points_text(p))).collect()
}

/// Points by kind, in the kinds' order, leaving out kinds without points.
pub(crate) fn by_kind(score: &fairshare_engine::scoring::Score) -> Vec<(String, String)> {
    score
        .by_kind
        .iter()
        .filter(|(_, p)| !p.is_zero())
        .map(|(k, p)| (k.label().to_string(), points_text(*p)))
        .collect()
}

async fn render(state: &AppState, query: &BreakdownQuery) -> Result<BreakdownPage, AppError> {
    let current = Month::of(state.today());
    let month = match query.month.trim() {
        "" => current.previous(),
        text => text
            .parse::<Month>()
            .map_err(|e| AppError::BadRequest(format!("`month`: {e} (write YYYY-MM)")))?,
    };
    if month > current {
        return Err(AppError::BadRequest(format!("{month} has not begun yet")));
    }
    let organisation = state.store.organisation(&query.org).await?;
    let rules = state.rules().await?.scoring;
    let (scored, details) = state.store.explain(&query.org, month, &rules).await?;

    let mut by_person = BTreeMap::new();
    let mut by_team = BTreeMap::new();
    let mut lines = Vec::with_capacity(scored.score.items.len());
    for item in &scored.score.items {
        let Some(detail) = details.get(&item.id) else {
            continue;
        };
        *by_person
            .entry(detail.member.clone())
            .or_insert(Decimal::ZERO) += item.points;
        let team = detail.team.clone().unwrap_or_else(|| "no team".into());
        *by_team.entry(team.clone()).or_insert(Decimal::ZERO) += item.points;
        let note = if item.capped {
            format!(
                "the cap of {} a month for this person was reached",
                rules.cap(item.kind)
            )
        } else if item.impact != Decimal::ONE {
            format!("× {} impact", item.impact.normalize())
        } else {
            String::new()
        };
        lines.push(Line {
            id: item.id,
            day: detail.occurred_at.date().to_string(),
            person: detail.member.clone(),
            kind: item.kind.label().to_string(),
            team,
            title: detail.title.clone().unwrap_or_default(),
            url: detail.url.clone(),
            points: points_text(item.points),
            note,
            attribution: format!(
                "{}, {}",
                detail.source,
                crate::format::attribution_words(&detail.attribution)
            ),
        });
    }
    lines.sort_by(|a, b| a.day.cmp(&b.day).then(a.id.cmp(&b.id)));
    let corrections = state.store.corrections(Some(&query.org)).await?;
    let excluded = details
        .values()
        .filter(|d| d.excluded)
        .map(|d| {
            let correction = corrections
                .iter()
                .find(|c| c.activity_id == d.id && !c.removed);
            Excluded {
                id: d.id,
                kind: d.kind.label(),
                reason: correction.map(|c| c.reason.clone()).unwrap_or_default(),
                by: correction.map(|c| c.created_by.clone()).unwrap_or_default(),
            }
        })
        .collect();

    // The months before come from the counts, in one query.
    let mut first = month;
    for _ in 1..TREND_MONTHS {
        first = first.previous();
    }
    let before = state
        .store
        .org_scores(&query.org, first, month.previous(), &rules)
        .await?;
    let scores: Vec<(Month, Decimal)> = first
        .through(month)
        .map(|shown| {
            let points = if shown == month {
                scored.score.score
            } else {
                before.get(&shown).map_or(Decimal::ZERO, |s| s.score.score)
            };
            (shown, points)
        })
        .collect();
    let trend = scores
        .iter()
        .map(|(shown, points)| (shown.to_string(), month_name(*shown), points_text(*points)))
        .collect();
    // The chart's scale is whole points; the list above it keeps the exact figures.
    let trend_points: Vec<(String, i64)> = scores
        .iter()
        .map(|(shown, points)| (month_name(*shown), points.round().try_into().unwrap_or(0)))
        .collect();
    Ok(BreakdownPage {
        title: "Breakdown",
        slug: query.org.clone(),
        name: organisation.name,
        month: month_name(month),
        month_code: month.to_string(),
        score: points_text(scored.score.score),
        trend,
        by_person: ranked(by_person),
        by_kind: by_kind(&scored.score),
        by_team: ranked(by_team),
        trend_chart: crate::charts::line("Score in each month", &trend_points),
        reviewer_csrf: None,
        here: format!(
            "/portal/breakdown?org={}&month={month}",
            crate::auth::encode(&query.org)
        ),
        lines,
        excluded,
    })
}
