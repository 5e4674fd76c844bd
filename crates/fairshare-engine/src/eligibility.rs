//! Eligibility (SPEC §5): both criteria over the last N complete months — financial
//! (every month compliant, consecutively) and practical (every month a score of at
//! least the minimum and enough active staff). Money never changes a score: the two
//! are judged apart and both are required.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::compliance::MonthCompliance;
use crate::month::Month;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EligibilityRules {
    /// Complete months looked at, ending with the month before the evaluation date.
    pub months: u32,
    #[serde(with = "crate::decimal_text")]
    pub min_monthly_score: Decimal,
    /// Members with scorable activity needed each month.
    pub min_members: u32,
}

impl Default for EligibilityRules {
    fn default() -> Self {
        EligibilityRules {
            months: 3,
            min_monthly_score: Decimal::from(20),
            min_members: 1,
        }
    }
}

/// One month of the practical criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PracticalMonth {
    pub month: Month,
    #[serde(with = "crate::decimal_text")]
    pub score: Decimal,
    pub members: usize,
    pub activities: usize,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Criterion<T> {
    pub passed: bool,
    pub months: Vec<T>,
    /// Why it failed, in words, when it did.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub eligible: bool,
    pub financial: Criterion<MonthCompliance>,
    pub practical: Criterion<PracticalMonth>,
}

/// The last `n` complete months before `today`'s month, oldest first.
pub fn evaluated_months(today_month: Month, n: u32) -> Vec<Month> {
    let mut months: Vec<Month> = Vec::with_capacity(n as usize);
    let mut month = today_month;
    for _ in 0..n {
        month = month.previous();
        months.push(month);
    }
    months.reverse();
    months
}

/// Judges both criteria. `financial` and `practical` hold exactly the evaluated months.
pub fn evaluate(
    financial: Vec<MonthCompliance>,
    practical: Vec<PracticalMonth>,
    rules: &EligibilityRules,
) -> Evaluation {
    let mut money_reasons = Vec::new();
    for m in financial.iter().filter(|m| !m.compliant) {
        money_reasons.push(format!(
            "{}: paid {} of {}",
            m.month,
            m.paid,
            m.required.rounded()
        ));
    }
    if financial.len() < rules.months as usize {
        money_reasons.push(format!(
            "only {} of {} months could be evaluated",
            financial.len(),
            rules.months
        ));
    }
    let mut work_reasons = Vec::new();
    for m in practical.iter().filter(|m| !m.passed) {
        work_reasons.push(format!(
            "{}: score {} (minimum {}), {} active members (minimum {})",
            m.month,
            m.score.normalize(),
            rules.min_monthly_score.normalize(),
            m.members,
            rules.min_members
        ));
    }
    let financial = Criterion {
        passed: money_reasons.is_empty(),
        months: financial,
        reasons: money_reasons,
    };
    let practical = Criterion {
        passed: work_reasons.is_empty(),
        months: practical,
        reasons: work_reasons,
    };
    Evaluation {
        eligible: financial.passed && practical.passed,
        financial,
        practical,
    }
}

/// Whether one month's work passes.
pub fn practical_month(
    month: Month,
    score: Decimal,
    members: usize,
    activities: usize,
    rules: &EligibilityRules,
) -> PracticalMonth {
    PracticalMonth {
        month,
        score,
        members,
        activities,
        passed: score >= rules.min_monthly_score && members >= rules.min_members as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::country::CurrencyCode;
    use crate::money::Money;

    fn paid(month: &str, ok: bool) -> MonthCompliance {
        let eur = CurrencyCode::EUR;
        MonthCompliance {
            month: month.parse().unwrap(),
            paid: Money::new(Decimal::from(if ok { 75 } else { 10 }), eur),
            required: Money::new(Decimal::from(75), eur),
            compliant: ok,
            streak: u32::from(ok),
            payments: vec![],
        }
    }

    #[test]
    fn both_criteria_are_required_and_money_never_scores() {
        let rules = EligibilityRules::default();
        assert_eq!(
            evaluated_months("2026-11".parse().unwrap(), 3)
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>(),
            ["2026-08", "2026-09", "2026-10"]
        );
        let work = |s: i64| {
            ["2026-08", "2026-09", "2026-10"]
                .map(|m| practical_month(m.parse().unwrap(), Decimal::from(s), 2, 30, &rules))
                .to_vec()
        };
        let money = vec![
            paid("2026-08", true),
            paid("2026-09", true),
            paid("2026-10", true),
        ];
        assert!(evaluate(money.clone(), work(25), &rules).eligible);
        let rich_but_idle = evaluate(money, work(5), &rules);
        assert!(!rich_but_idle.eligible && rich_but_idle.financial.passed);
        assert_eq!(
            rich_but_idle.practical.reasons[0],
            "2026-08: score 5 (minimum 20), 2 active members (minimum 1)"
        );
        let busy_but_short = evaluate(
            vec![
                paid("2026-08", true),
                paid("2026-09", false),
                paid("2026-10", true),
            ],
            work(25),
            &rules,
        );
        assert!(!busy_but_short.eligible);
        assert_eq!(
            busy_but_short.financial.reasons,
            ["2026-09: paid EUR 10.00 of EUR 75.00"]
        );
    }
}
