//! The console's programme settings (`/admin/settings`): the rules in force — how
//! thresholds are derived, the exchange-rate tolerance, weights and caps per kind,
//! impact factors, eligibility and the grace before a partner lapses — with every
//! recorded version and what it changed, and the comparable-country mappings for
//! countries the Big Mac data lacks. Reviewers read; only admins change (a change
//! needs a reason, is audited, and applies from then on: published thresholds and
//! rankings keep the rules they were made with).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use fairshare_engine::programme::Change;
use fairshare_engine::{ActivityKind, CountryCode, EuroAreaRule, ProgrammeRules, RoundingMode};
use fairshare_store::StoreError;
use fairshare_store::accounts::Role;
use rust_decimal::Decimal;

use crate::AppState;
use crate::account::page;
use crate::auth::{Viewer, require, require_form};
use crate::error::AppError;
use crate::pages::render_string;

const HERE: &str = "/admin/settings";

struct KindRow {
    kind: &'static str,
    weight: String,
    cap: u32,
}

struct Version {
    id: i64,
    recorded_by: String,
    recorded_at: String,
    reason: String,
    changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "console_settings.html")]
struct SettingsPage {
    nav: crate::console_nav::ConsoleNav,
    title: &'static str,
    csrf: String,
    may_change: bool,
    /// Whether the rules in force were recorded here (else they are fairshare.toml's).
    recorded: bool,
    rules: ProgrammeRules,
    rounding_mode: &'static str,
    euro_area: &'static str,
    kinds: Vec<KindRow>,
    impact: String,
    versions: Vec<Version>,
    mappings: Vec<fairshare_store::MappingRecord>,
}

pub async fn settings(State(state): State<AppState>, viewer: Viewer) -> crate::error::Result {
    let user = require(viewer, HERE, |u| u.user.can_review())?;
    let nav = crate::console_nav::console_nav(&state, &user, HERE).await?;
    let result: Result<SettingsPage, StoreError> = async {
        let recorded = state.store.recorded_rules(50).await?;
        let rules = recorded
            .first()
            .map(|r| r.rules.clone())
            .unwrap_or_else(|| (*state.configured_rules).clone());
        // Each version against the one before it; the oldest against the file's rules.
        let versions = recorded
            .iter()
            .enumerate()
            .map(|(i, version)| {
                let before = recorded
                    .get(i + 1)
                    .map(|older| &older.rules)
                    .unwrap_or(&state.configured_rules);
                Version {
                    id: version.id,
                    recorded_by: version.recorded_by.clone(),
                    recorded_at: version.recorded_at.date().to_string(),
                    reason: version.reason.clone(),
                    changes: version.rules.changes_since(before),
                }
            })
            .collect();
        Ok(SettingsPage {
            nav,
            title: "Programme settings",
            csrf: user.csrf.clone(),
            may_change: user.user.has(Role::Admin),
            recorded: !recorded.is_empty(),
            kinds: ActivityKind::ALL
                .iter()
                .map(|&kind| KindRow {
                    kind: kind.as_str(),
                    weight: rules.scoring.weight(kind).normalize().to_string(),
                    cap: rules.scoring.cap(kind),
                })
                .collect(),
            impact: rules
                .scoring
                .impact
                .iter()
                .map(|(name, factor)| format!("{name} = {}\n", factor.normalize()))
                .collect(),
            rounding_mode: match rules.thresholds.rounding.mode {
                RoundingMode::Nearest => "nearest",
                RoundingMode::Up => "up",
                RoundingMode::Down => "down",
            },
            euro_area: match rules.thresholds.euro_area {
                EuroAreaRule::Single => "single",
                EuroAreaRule::OwnRow => "own-row",
            },
            rules,
            versions,
            mappings: state.store.mappings().await?,
        })
    }
    .await;
    let p = result?;
    Ok(page(render_string(&p)))
}

/// The settings form, field by field; a bad value names its field.
fn rules_from_form(
    mut rules: ProgrammeRules,
    form: &HashMap<String, String>,
) -> Result<ProgrammeRules, String> {
    let field = |name: &str| -> Result<&str, String> {
        form.get(name)
            .map(|v| v.trim())
            .ok_or_else(|| format!("`{name}` is missing"))
    };
    let decimal = |name: &str| -> Result<Decimal, String> {
        let text = field(name)?;
        text.parse()
            .map_err(|_| format!("`{name}`: `{text}` is not a number"))
    };
    let whole = |name: &str| -> Result<u32, String> {
        let text = field(name)?;
        text.parse()
            .map_err(|_| format!("`{name}`: `{text}` is not a whole number"))
    };
    rules.thresholds.base_country =
        CountryCode::parse(field("base_country")?).map_err(|e| format!("`base_country`: {e}"))?;
    rules.thresholds.base_amount = decimal("base_amount")?;
    rules.thresholds.rounding.step = decimal("rounding_step")?;
    rules.thresholds.rounding.mode = match field("rounding_mode")? {
        "nearest" => RoundingMode::Nearest,
        "up" => RoundingMode::Up,
        "down" => RoundingMode::Down,
        other => {
            return Err(format!(
                "`rounding_mode`: `{other}` is not nearest, up or down"
            ));
        }
    };
    rules.thresholds.euro_area = match field("euro_area")? {
        "single" => EuroAreaRule::Single,
        "own-row" => EuroAreaRule::OwnRow,
        other => return Err(format!("`euro_area`: `{other}` is not single or own-row")),
    };
    rules.tolerance = decimal("tolerance")?;
    rules.eligibility.months = whole("eligibility_months")?;
    rules.eligibility.min_monthly_score = decimal("min_monthly_score")?;
    rules.eligibility.min_members = whole("min_members")?;
    rules.grace_months = whole("grace_months")?;
    for kind in ActivityKind::ALL {
        let name = kind.as_str();
        rules
            .scoring
            .weights
            .insert(kind, decimal(&format!("weight.{name}"))?);
        rules
            .scoring
            .caps
            .insert(kind, whole(&format!("cap.{name}"))?);
    }
    rules.scoring.impact.clear();
    for (number, line) in field("impact")?.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, factor) = line
            .split_once('=')
            .ok_or_else(|| format!("`impact` line {}: write `name = factor`", number + 1))?;
        let factor: Decimal = factor.trim().parse().map_err(|_| {
            format!(
                "`impact` line {}: `{}` is not a number",
                number + 1,
                factor.trim()
            )
        })?;
        rules.scoring.impact.insert(name.trim().to_string(), factor);
    }
    Ok(rules)
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<HashMap<String, String>>,
) -> crate::error::Result {
    let user = require_form(
        viewer,
        HERE,
        |u| u.user.has(Role::Admin),
        form.get("csrf").map_or("", |s| s.as_str()),
    )?;
    let current = state.rules().await?;
    let rules = match rules_from_form(current.clone(), &form) {
        Ok(rules) => rules,
        Err(problem) => return Err(AppError::BadRequest(problem)),
    };
    let reason = form.get("reason").map_or("", |s| s.as_str());
    state
        .store
        .record_rules(&rules, &current, reason, &user.user.email)
        .await?;
    Ok(Redirect::to(&crate::chrome::done_at(HERE, "rules-saved")).into_response())
}

#[derive(serde::Deserialize)]
pub struct MappingForm {
    #[serde(default)]
    csrf: String,
    country: String,
    #[serde(default)]
    like: String,
    /// `map` or `unmap`.
    action: String,
}

pub async fn comparable(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<MappingForm>,
) -> crate::error::Result {
    let user = require_form(viewer, HERE, |u| u.user.has(Role::Admin), &form.csrf)?;
    let code = |name: &str, text: &str| {
        CountryCode::parse(text.trim()).map_err(|e| AppError::BadRequest(format!("`{name}`: {e}")))
    };
    let country = code("country", &form.country)?;
    match form.action.as_str() {
        "map" => {
            let like = code("like", &form.like)?;
            state
                .store
                .map_country(country, like, &user.user.email)
                .await?;
        }
        "unmap" => state.store.unmap_country(country, &user.user.email).await?,
        other => {
            return Err(AppError::BadRequest(format!(
                "`action` must be map or unmap, not `{other}`"
            )));
        }
    }
    Ok(Redirect::to(&crate::chrome::done_at(HERE, "saved")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_of(rules: &ProgrammeRules) -> HashMap<String, String> {
        let mut form: HashMap<String, String> = [
            ("base_country", "USA"),
            ("base_amount", "100"),
            ("rounding_step", "1"),
            ("rounding_mode", "nearest"),
            ("euro_area", "single"),
            ("tolerance", "0"),
            ("eligibility_months", "3"),
            ("min_monthly_score", "20"),
            ("min_members", "1"),
            ("grace_months", "1"),
            ("impact", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for kind in ActivityKind::ALL {
            form.insert(
                format!("weight.{}", kind.as_str()),
                rules.scoring.weight(kind).to_string(),
            );
            form.insert(
                format!("cap.{}", kind.as_str()),
                rules.scoring.cap(kind).to_string(),
            );
        }
        form
    }

    #[test]
    fn the_unchanged_form_gives_the_same_rules_and_a_bad_field_is_named() {
        let rules = ProgrammeRules::default();
        let mut form = form_of(&rules);
        assert_eq!(rules_from_form(rules.clone(), &form).unwrap(), rules);
        form.insert("weight.review".into(), "3".into());
        form.insert("impact".into(), "mautic/mautic = 1.5\n\n".into());
        let changed = rules_from_form(rules.clone(), &form).unwrap();
        assert_eq!(
            changed.scoring.weight(ActivityKind::Review),
            Decimal::from(3)
        );
        assert_eq!(changed.scoring.impact["mautic/mautic"], Decimal::new(15, 1));
        form.insert("cap.commit".into(), "many".into());
        assert_eq!(
            rules_from_form(rules.clone(), &form).unwrap_err(),
            "`cap.commit`: `many` is not a whole number"
        );
        form.insert("cap.commit".into(), "30".into());
        form.insert("impact".into(), "docs 2".into());
        assert_eq!(
            rules_from_form(rules, &form).unwrap_err(),
            "`impact` line 1: write `name = factor`"
        );
    }
}
