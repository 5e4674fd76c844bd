//! The partner lifecycle (SPEC §5–6): an organisation applies, a reviewer approves it
//! as a partner, and from then on each monthly review moves it — partner → at risk when
//! a criterion fails, back to partner when both pass again, lapsed when it is still
//! failing after the grace months. [`next_status`] is the one place that decides.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::month::Month;
use crate::requests::Verdict;

/// Where an organisation is in the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    /// Known to the programme (imported, or its application rejected), not a partner.
    None,
    /// Its application waits, or was deferred.
    Applicant,
    Partner,
    /// A partner that failed a criterion in a monthly review, within its grace months.
    AtRisk,
    /// A partner that was still failing after the grace months.
    Lapsed,
}

impl PartnerStatus {
    pub const ALL: [PartnerStatus; 5] = [
        PartnerStatus::None,
        PartnerStatus::Applicant,
        PartnerStatus::Partner,
        PartnerStatus::AtRisk,
        PartnerStatus::Lapsed,
    ];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::None => "none",
            PartnerStatus::Applicant => "applicant",
            PartnerStatus::Partner => "partner",
            PartnerStatus::AtRisk => "at_risk",
            PartnerStatus::Lapsed => "lapsed",
        }
    }

    /// How a person reads it ("at risk").
    pub fn label(self) -> &'static str {
        match self {
            PartnerStatus::AtRisk => "at risk",
            other => other.as_str(),
        }
    }

    /// A Community Partner: reviewed each month, ranked, shown publicly. An
    /// organisation at risk is still one until it lapses.
    pub fn is_partner(self) -> bool {
        matches!(self, PartnerStatus::Partner | PartnerStatus::AtRisk)
    }

    /// The title the public site gives a partner.
    pub fn public_title(self) -> Option<&'static str> {
        match self {
            PartnerStatus::Partner => Some("Community Partner"),
            PartnerStatus::AtRisk => Some("Community Partner (under review this month)"),
            _ => None,
        }
    }
}

impl fmt::Display for PartnerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown partner status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for PartnerStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartnerStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// The status an application's decision gives its organisation: approved, a partner;
/// deferred, still an applicant; rejected, outside the programme again.
pub fn after_application(verdict: Verdict) -> PartnerStatus {
    match verdict {
        Verdict::Approve => PartnerStatus::Partner,
        Verdict::Defer => PartnerStatus::Applicant,
        Verdict::Reject => PartnerStatus::None,
    }
}

/// What a monthly review found about one partner.
#[derive(Debug, Clone, Copy)]
pub struct MonthJudgement<'a> {
    /// The reviewed month.
    pub month: Month,
    /// Both criteria passed over the evaluated months.
    pub eligible: bool,
    /// Why not, in words (empty when eligible).
    pub reasons: &'a str,
}

/// A status change with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: PartnerStatus,
    pub reason: String,
}

/// The status a monthly review moves a partner to, or `None` when it stays.
///
/// `since` is the month its current status began (for an organisation at risk: the
/// first month it failed). It lapses when it has been at risk for more than
/// `grace_months` reviewed months, counting the reviewed one; without a recorded
/// `since` the reviewed month is its first.
pub fn next_status(
    status: PartnerStatus,
    since: Option<Month>,
    judgement: MonthJudgement<'_>,
    grace_months: u32,
) -> Option<Transition> {
    match (status, judgement.eligible) {
        (PartnerStatus::AtRisk, true) => Some(Transition {
            to: PartnerStatus::Partner,
            reason: "both criteria pass again".to_string(),
        }),
        (PartnerStatus::Partner, false) => Some(Transition {
            to: PartnerStatus::AtRisk,
            reason: judgement.reasons.to_string(),
        }),
        (PartnerStatus::AtRisk, false) => {
            let months_at_risk = since.map_or(1, |s| s.through(judgement.month).count() as u32);
            (months_at_risk > grace_months).then(|| Transition {
                to: PartnerStatus::Lapsed,
                reason: format!(
                    "still failing after {grace_months} months of grace: {}",
                    judgement.reasons
                ),
            })
        }
        // A partner that passes stays one; organisations outside the programme are
        // not reviewed (an application brings them in).
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartnerStatus::{Applicant, AtRisk, Lapsed, Partner};

    fn month(s: &str) -> Month {
        s.parse().unwrap()
    }

    fn review(
        status: PartnerStatus,
        since: Option<&str>,
        eligible: bool,
        grace: u32,
    ) -> Option<(PartnerStatus, String)> {
        next_status(
            status,
            since.map(month),
            MonthJudgement {
                month: month("2026-05"),
                eligible,
                reasons: "2026-05: paid 0 of 100",
            },
            grace,
        )
        .map(|t| (t.to, t.reason))
    }

    /// (status, since, eligible, grace months) → the next status, or `None` to stay.
    type Row = (
        PartnerStatus,
        Option<&'static str>,
        bool,
        u32,
        Option<PartnerStatus>,
    );

    #[test]
    fn every_transition_follows_the_table() {
        let table: &[Row] = &[
            (Partner, Some("2025-01"), true, 1, None),
            (Partner, Some("2025-01"), false, 1, Some(AtRisk)),
            (Partner, None, false, 0, Some(AtRisk)),
            (AtRisk, Some("2026-05"), true, 1, Some(Partner)),
            (AtRisk, Some("2026-03"), true, 1, Some(Partner)),
            // At risk since this month: its first month of grace.
            (AtRisk, Some("2026-05"), false, 1, None),
            // Since last month: two months at risk, more than one of grace.
            (AtRisk, Some("2026-04"), false, 1, Some(Lapsed)),
            (AtRisk, Some("2026-04"), false, 2, None),
            (AtRisk, Some("2026-03"), false, 2, Some(Lapsed)),
            // No grace at all: the first failing review at risk lapses.
            (AtRisk, Some("2026-05"), false, 0, Some(Lapsed)),
            // No recorded start counts the reviewed month as the first.
            (AtRisk, None, false, 1, None),
            (AtRisk, None, false, 0, Some(Lapsed)),
            // Outside the programme: never moved by a review.
            (PartnerStatus::None, None, true, 1, None),
            (PartnerStatus::None, None, false, 1, None),
            (Applicant, None, true, 1, None),
            (Applicant, None, false, 1, None),
            (Lapsed, Some("2026-01"), true, 1, None),
            (Lapsed, Some("2026-01"), false, 1, None),
        ];
        for &(status, since, eligible, grace, expected) in table {
            assert_eq!(
                review(status, since, eligible, grace).map(|(to, _)| to),
                expected,
                "{status} since {since:?}, eligible {eligible}, grace {grace}"
            );
        }
    }

    #[test]
    fn a_partner_at_risk_is_told_which_criterion_failed() {
        let (_, reason) = review(Partner, None, false, 1).unwrap();
        assert_eq!(reason, "2026-05: paid 0 of 100");
    }

    #[test]
    fn a_lapse_names_the_grace_period_and_the_failure() {
        let (_, reason) = review(AtRisk, Some("2026-01"), false, 2).unwrap();
        assert_eq!(
            reason,
            "still failing after 2 months of grace: 2026-05: paid 0 of 100"
        );
    }

    #[test]
    fn recovery_says_both_criteria_pass_again() {
        let (to, reason) = review(AtRisk, Some("2026-04"), true, 1).unwrap();
        assert_eq!((to, reason.as_str()), (Partner, "both criteria pass again"));
    }

    #[test]
    fn an_application_decision_sets_the_organisations_status() {
        assert_eq!(after_application(Verdict::Approve), Partner);
        assert_eq!(after_application(Verdict::Defer), Applicant);
        assert_eq!(after_application(Verdict::Reject), PartnerStatus::None);
    }

    #[test]
    fn statuses_read_back_what_they_write() {
        for status in PartnerStatus::ALL {
            assert_eq!(status.as_str().parse::<PartnerStatus>(), Ok(status));
        }
        assert!("partners".parse::<PartnerStatus>().is_err());
        assert_eq!(AtRisk.label(), "at risk");
        assert!(AtRisk.is_partner() && Partner.is_partner());
        assert!(
            !Lapsed.is_partner() && !Applicant.is_partner() && !PartnerStatus::None.is_partner()
        );
    }
}
