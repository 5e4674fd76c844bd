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
        let fail = |setting: &str, problem: &str| {
            Err(RuleError {
                setting: setting.to_string(),
                problem: problem.to_string(),
            })
        };
        if self.thresholds.base_amount <= Decimal::ZERO {
            return fail("thresholds.base_amount", "must be more than zero");
        }
        if self.thresholds.rounding.step <= Decimal::ZERO {
            return fail("thresholds.rounding.step", "must be more than zero");
        }
        if self.tolerance.is_sign_negative() || self.tolerance > Decimal::new(5, 1) {
            return fail("tolerance", "must be a share between 0 and 0.5");
        }
        for (kind, weight) in &self.scoring.weights {
            if weight.is_sign_negative() {
                return fail(
                    &format!("scoring.weights.{}", kind.as_str()),
                    "must not be negative",
                );
            }
        }
        for (name, factor) in &self.scoring.impact {
            if factor.is_sign_negative() {
                return fail(&format!("scoring.impact.{name}"), "must not be negative");
            }
        }
        if !(1..=24).contains(&self.eligibility.months) {
            return fail("eligibility.months", "must be between 1 and 24");
        }
        if self.eligibility.min_monthly_score.is_sign_negative() {
            return fail("eligibility.min_monthly_score", "must not be negative");
        }
        if self.eligibility.min_members == 0 {
            return fail("eligibility.min_members", "must be at least 1");
        }
        if self.grace_months > 12 {
            return fail("grace_months", "must be 12 or fewer");
        }
        Ok(())
    }
}

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
            "setting `scoring.weights.review`: must not be negative"
        );
        let mut rules = ProgrammeRules::default();
        rules.eligibility.months = 0;
        assert_eq!(rules.validate().unwrap_err().setting, "eligibility.months");
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
