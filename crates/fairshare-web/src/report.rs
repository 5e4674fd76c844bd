//! The community report as HTML: the `/report` page and, self-contained with its
//! stylesheet inlined, `fairshare report --format html`. Charts are inline SVG.

use askama::Template;
use fairshare_store::public::CommunityReport;

use crate::charts;
use crate::format::grouped;
use crate::site::{count_rows, retention_text};

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    title: String,
    report: &'a CommunityReport,
    standalone: bool,
    stylesheet: &'static str,
    headline: Vec<(String, String)>,
    kinds_chart: String,
    sources_chart: String,
    teams_chart: String,
    trend_chart: String,
    contributors_chart: String,
    kinds: Vec<(String, String)>,
    sources: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    trend: Vec<(String, String, String)>,
    top_contributors: Vec<(String, String, String)>,
    top_organisations: Vec<(String, String, String, String)>,
}

fn table(rows: &[(String, i64)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(name, n)| (name.clone(), grouped((*n).into())))
        .collect()
}

/// Days in the report window when none is asked for.
pub const DEFAULT_DAYS: i64 = 90;

/// The last `days` whole days up to yesterday (today is not complete yet).
pub fn last_days(today: time::Date, days: i64) -> (time::Date, time::Date) {
    let yesterday = today.previous_day().unwrap_or(today);
    (yesterday - time::Duration::days(days.max(1) - 1), yesterday)
}

/// The report page; `standalone` inlines the stylesheet and leaves out the site's
/// navigation, for a file that opens anywhere.
pub fn report_html(report: &CommunityReport, standalone: bool) -> String {
    let kinds = count_rows(&report.by_kind);
    let sources = count_rows(&report.by_source);
    let teams = count_rows(&report.by_team);
    let trend: Vec<(String, i64)> = report
        .trend
        .iter()
        .map(|t| (t.from.to_string(), t.activities))
        .collect();
    let people: Vec<(String, i64)> = report
        .trend
        .iter()
        .map(|t| (t.from.to_string(), t.contributors))
        .collect();
    let page = ReportPage {
        title: format!("Community report {} to {}", report.from, report.to),
        report,
        standalone,
        stylesheet: crate::pages::STYLESHEET,
        headline: vec![
            (
                grouped(report.activities.into()),
                format!(
                    "contributions ({} in the {} days before)",
                    grouped(report.previous_activities.into()),
                    (report.to - report.from).whole_days() + 1
                ),
            ),
            (
                grouped(report.active_contributors.into()),
                "active contributors".into(),
            ),
            (
                grouped(report.new_contributors.into()),
                "new contributors".into(),
            ),
            (
                retention_text(report),
                "of the previous window's contributors came back".into(),
            ),
        ],
        kinds_chart: charts::bars(
            "Contributions by kind",
            &crate::format::kind_labels(kinds.clone()),
        ),
        sources_chart: charts::bars("Contributions by source", &sources),
        teams_chart: charts::bars("Contributions by team", &teams),
        trend_chart: charts::line("Contributions per week", &trend),
        contributors_chart: charts::line("Active contributors per week", &people),
        kinds: table(&kinds),
        sources: table(&sources),
        teams: table(&teams),
        trend: report
            .trend
            .iter()
            .map(|t| {
                (
                    t.from.to_string(),
                    grouped(t.activities.into()),
                    grouped(t.contributors.into()),
                )
            })
            .collect(),
        top_contributors: report
            .top_contributors
            .iter()
            .map(|c| {
                (
                    c.name
                        .clone()
                        .unwrap_or_else(|| "A contributor (not named)".into()),
                    c.organisation.clone().unwrap_or_else(|| "—".into()),
                    grouped(c.activities.into()),
                )
            })
            .collect(),
        top_organisations: report
            .top_organisations
            .iter()
            .map(|o| {
                (
                    o.slug.clone(),
                    o.name.clone(),
                    grouped(o.activities.into()),
                    grouped(o.contributors.into()),
                )
            })
            .collect(),
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "report template failed");
        String::from("<!doctype html><title>Report</title><p>The report could not be drawn.</p>")
    })
}

/// The report as CSV: one section per table, `section,name,value` rows.
pub fn report_csv(report: &CommunityReport) -> String {
    let mut out = String::from("section,name,value\n");
    let mut row = |section: &str, name: &str, value: String| {
        let quoted = if name.contains([',', '"', '\n']) {
            format!("\"{}\"", name.replace('"', "\"\""))
        } else {
            name.to_string()
        };
        out.push_str(&format!("{section},{quoted},{value}\n"));
    };
    row("window", "from", report.from.to_string());
    row("window", "to", report.to.to_string());
    row("totals", "activities", report.activities.to_string());
    row(
        "totals",
        "active_contributors",
        report.active_contributors.to_string(),
    );
    row(
        "totals",
        "new_contributors",
        report.new_contributors.to_string(),
    );
    row(
        "totals",
        "previous_activities",
        report.previous_activities.to_string(),
    );
    row(
        "totals",
        "data_until",
        report.data_until.map(|d| d.to_string()).unwrap_or_default(),
    );
    row(
        "totals",
        "previous_contributors",
        report.previous_contributors.to_string(),
    );
    row(
        "totals",
        "retained_contributors",
        report.retained_contributors.to_string(),
    );
    for c in &report.by_kind {
        row("kind", &c.name, c.count.to_string());
    }
    for c in &report.by_source {
        row("source", &c.name, c.count.to_string());
    }
    for c in &report.by_team {
        row("team", &c.name, c.count.to_string());
    }
    for o in &report.top_organisations {
        row("top_organisation", &o.slug, o.activities.to_string());
    }
    for t in &report.trend {
        row(
            "week_activities",
            &t.from.to_string(),
            t.activities.to_string(),
        );
        row(
            "week_contributors",
            &t.from.to_string(),
            t.contributors.to_string(),
        );
    }
    out
}
