//! The programme's rules as one value — how thresholds are derived, the exchange-rate
//! tolerance, scoring, eligibility and the lifecycle's grace — and the limits that
//! keep a setting from breaking the programme. The configuration file gives the first
//! version; managers may record newer ones (the store keeps every version).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::eligibility::EligibilityRules;
use crate::scoring::ScoringRules;
use crate::threshold::ThresholdPolicy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeRules {
    pub thresholds: ThresholdPolicy,
    /// Share of the threshold that may be missing for exchange-rate noise.
    #[serde(with = "crate::decimal_text")]
    pub tolerance: Decimal,
    pub scoring: ScoringRules,
    pub eligibility: EligibilityRules,
    /// Months a partner may stay at risk before it lapses.
    pub grace_months: u32,
}

impl Default for ProgrammeRules {
    fn default() -> Self {
        ProgrammeRules {
            thresholds: ThresholdPolicy::default(),
            tolerance: Decimal::ZERO,
            scoring: ScoringRules::default(),
            eligibility: EligibilityRules::default(),
            grace_months: 1,
        }
    }
}

/// A setting outside the range the programme can work with, named as in the
/// configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `{setting}`: {problem}")]
pub struct RuleError {
    pub setting: String,
    pub problem: String,
}

impl ProgrammeRules {
    /// Checks every setting; the first one out of range is named.
    pub fn validate(&self) -> Result<(), RuleError> {
        let fail = |setting: &str, problem: String| {
            Err(RuleError {
                setting: setting.to_string(),
                problem,
            })
        };
        let within = |setting: &str, value: Decimal, (low, high, places): (i64, i64, u32)| {
            if value < Decimal::from(low) || value > Decimal::from(high) {
                return fail(
                    setting,
                    format!("must be from {low} to {high}, not {value}"),
                );
            }
            if value.normalize().scale() > places {
                return fail(
                    setting,
                    format!("may have at most {places} decimal places, not {value}"),
                );
            }
            Ok(())
        };
        within(
            "thresholds.base_amount",
            self.thresholds.base_amount,
            BASE_AMOUNT,
        )?;
        if self.thresholds.base_amount.is_zero() {
            return fail("thresholds.base_amount", "must be more than zero".into());
        }
        within(
            "thresholds.rounding.step",
            self.thresholds.rounding.step,
            ROUNDING_STEP,
        )?;
        if self.thresholds.rounding.step.is_zero() {
            return fail("thresholds.rounding.step", "must be more than zero".into());
        }
        if self.tolerance.is_sign_negative() || self.tolerance > Decimal::new(5, 1) {
            return fail("tolerance", "must be a share between 0 and 0.5".into());
        }
        within("tolerance", self.tolerance, (0, 1, 4))?;
        for (kind, weight) in &self.scoring.weights {
            within(
                &format!("scoring.weights.{}", kind.as_str()),
                *weight,
                WEIGHT,
            )?;
        }
        for (kind, cap) in &self.scoring.caps {
            if *cap > MOST_CAP {
                return fail(
                    &format!("scoring.caps.{}", kind.as_str()),
                    format!("must be from 0 to {MOST_CAP}, not {cap}"),
                );
            }
        }
        for (name, factor) in &self.scoring.impact {
            within(&format!("scoring.impact.{name}"), *factor, IMPACT)?;
        }
        if !(1..=24).contains(&self.eligibility.months) {
            return fail("eligibility.months", "must be between 1 and 24".into());
        }
        within(
            "eligibility.min_monthly_score",
            self.eligibility.min_monthly_score,
            MIN_MONTHLY_SCORE,
        )?;
        if !(1..=MOST_MIN_MEMBERS).contains(&self.eligibility.min_members) {
            return fail(
                "eligibility.min_members",
                format!("must be from 1 to {MOST_MIN_MEMBERS}"),
            );
        }
        if self.grace_months > 12 {
            return fail("grace_months", "must be 12 or fewer".into());
        }
        Ok(())
    }
}

// The documented range of each setting (low, high, decimal places). Within them no
// score, threshold or evaluation can overflow exact arithmetic, whatever the data.

/// `thresholds.base_amount`: the base country's monthly amount.
pub const BASE_AMOUNT: (i64, i64, u32) = (0, 1_000_000, 2);
/// `thresholds.rounding.step`.
pub const ROUNDING_STEP: (i64, i64, u32) = (0, 10_000, 2);
/// `scoring.weights.*`: points per activity.
pub const WEIGHT: (i64, i64, u32) = (0, 1_000, 2);
/// `scoring.impact.*`: a factor on activities in a repository, channel or team.
pub const IMPACT: (i64, i64, u32) = (0, 100, 2);
/// `eligibility.min_monthly_score`.
pub const MIN_MONTHLY_SCORE: (i64, i64, u32) = (0, 1_000_000, 2);
/// `scoring.caps.*`: most activities of a kind counted per member and month.
pub const MOST_CAP: u32 = 10_000;
/// `eligibility.min_members`.
pub const MOST_MIN_MEMBERS: u32 = 1_000;

/// One setting that differs between two versions of the rules, by its path
/// (`scoring.weights.review`); `None` where a version does not have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub setting: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl ProgrammeRules {
    /// Every setting by its path (`scoring.weights.review`), as text, in path order.
    pub fn settings(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        flatten(
            "",
            &serde_json::to_value(self).unwrap_or_default(),
            &mut out,
        );
        out
    }

    /// The settings that differ from `before`, in setting order: what an audit entry
    /// and the console's history show.
    pub fn changes_since(&self, before: &ProgrammeRules) -> Vec<Change> {
        let old = before.settings();
        let new = self.settings();
        let settings: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        settings
            .into_iter()
            .filter(|s| old.get(*s) != new.get(*s))
            .map(|s| Change {
                setting: s.clone(),
                before: old.get(s).cloned(),
                after: new.get(s).cloned(),
            })
            .collect()
    }
}

fn flatten(
    prefix: &str,
    value: &serde_json::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_string(), text.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_each_limit_names_its_setting() {
        assert_eq!(ProgrammeRules::default().validate(), Ok(()));
        let rules = ProgrammeRules {
            tolerance: Decimal::new(6, 1),
            ..Default::default()
        };
        assert_eq!(rules.validate().unwrap_err().setting, "tolerance");
        let mut rules = ProgrammeRules::default();
        rules
            .scoring
            .weights
            .insert(crate::ActivityKind::Review, Decimal::NEGATIVE_ONE);
        assert_eq!(
            rules.validate().unwrap_err().to_string(),
            "setting `scoring.weights.review`: must be from 0 to 1000, not -1"
        );
        let mut rules = ProgrammeRules::default();
        rules.eligibility.months = 0;
        assert_eq!(rules.validate().unwrap_err().setting, "eligibility.months");
    }

    #[test]
    fn settings_outside_their_documented_ranges_are_refused() {
        use crate::ActivityKind::Review;
        let huge = Decimal::MAX;
        let tiny = Decimal::new(1, 28);
        type BreakIt = Box<dyn Fn(&mut ProgrammeRules)>;
        let cases: [(&str, BreakIt); 8] = [
            (
                "scoring.weights.review",
                Box::new(move |r| {
                    r.scoring.weights.insert(Review, huge);
                }),
            ),
            (
                "scoring.weights.review",
                Box::new(move |r| {
                    r.scoring.weights.insert(Review, tiny);
                }),
            ),
            (
                "scoring.caps.review",
                Box::new(|r| {
                    r.scoring.caps.insert(Review, u32::MAX);
                }),
            ),
            (
                "scoring.impact.core",
                Box::new(move |r| {
                    r.scoring.impact.insert("core".into(), huge);
                }),
            ),
            (
                "thresholds.base_amount",
                Box::new(move |r| r.thresholds.base_amount = huge),
            ),
            (
                "thresholds.rounding.step",
                Box::new(move |r| r.thresholds.rounding.step = huge),
            ),
            (
                "eligibility.min_monthly_score",
                Box::new(move |r| r.eligibility.min_monthly_score = huge),
            ),
            (
                "eligibility.min_members",
                Box::new(|r| r.eligibility.min_members = u32::MAX),
            ),
        ];
        for (setting, break_it) in cases {
            let mut rules = ProgrammeRules::default();
            break_it(&mut rules);
            assert_eq!(rules.validate().unwrap_err().setting, setting);
        }
    }

    #[test]
    fn changes_name_each_setting_with_both_values() {
        let before = ProgrammeRules::default();
        let mut after = before.clone();
        after
            .scoring
            .weights
            .insert(crate::ActivityKind::Review, Decimal::from(3));
        after
            .scoring
            .impact
            .insert("docs".into(), Decimal::new(15, 1));
        after.grace_months = 2;
        let changes = after.changes_since(&before);
        let shown: Vec<(&str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| (c.setting.as_str(), c.before.as_deref(), c.after.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("grace_months", Some("1"), Some("2")),
                ("scoring.impact.docs", None, Some("1.5")),
                ("scoring.weights.review", Some("2"), Some("3")),
            ]
        );
        assert!(before.changes_since(&before).is_empty());
    }

    #[test]
    fn rules_survive_a_json_round_trip() {
        let mut rules = ProgrammeRules::default();
        rules
            .scoring
            .impact
            .insert("mautic/mautic".into(), Decimal::new(15, 1));
        rules.tolerance = Decimal::new(2, 2);
        let text = serde_json::to_string(&rules).unwrap();
        assert_eq!(
            serde_json::from_str::<ProgrammeRules>(&text).unwrap(),
            rules
        );
    }
}
