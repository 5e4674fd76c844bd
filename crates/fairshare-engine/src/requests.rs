//! Reviewed requests: anything an organisation or a person submits and someone else
//! decides — applications, claims of non-code work, organisation detail changes and
//! Big Mac price submissions. A request waits (pending, or deferred for another look)
//! until a decision closes it (approved or rejected), and [`decide`] is the one rule
//! for who may close it: never the submitter (four eyes), and never someone tied to an
//! organisation the request concerns (no one judges their own). Each kind adds only what is
//! its own ([`approvable`] for an application's evaluation, [`in_scope`] for a claim's
//! team) and refuses with the same [`Refusal`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    /// Looked at and put off: still open.
    Deferred,
    Approved,
    Rejected,
}

impl RequestState {
    pub const ALL: [RequestState; 4] = [
        RequestState::Pending,
        RequestState::Deferred,
        RequestState::Approved,
        RequestState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Deferred => "deferred",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
        }
    }

    /// Still waiting for a decision.
    pub fn is_open(self) -> bool {
        matches!(self, RequestState::Pending | RequestState::Deferred)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown request state `{0}`")]
pub struct UnknownState(pub String);

impl FromStr for RequestState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// The kinds of request someone reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Application,
    Claim,
    OrganisationChange,
    PriceSubmission,
    /// A person's account on another platform, to be counted as theirs.
    AccountLink,
}

impl RequestKind {
    /// How messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            RequestKind::Application => "application",
            RequestKind::Claim => "claim",
            RequestKind::OrganisationChange => "organisation change",
            RequestKind::PriceSubmission => "price submission",
            RequestKind::AccountLink => "account link",
        }
    }

    /// Only an application can be put off: the others are decided on what they say.
    pub fn may_defer(self) -> bool {
        self == RequestKind::Application
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// What a reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
    Defer,
}

impl Verdict {
    /// The state a request takes when this verdict is accepted.
    pub fn outcome(self) -> RequestState {
        match self {
            Verdict::Approve => RequestState::Approved,
            Verdict::Reject => RequestState::Rejected,
            Verdict::Defer => RequestState::Deferred,
        }
    }
}

/// A request as the decision sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub kind: RequestKind,
    pub id: i64,
    pub state: RequestState,
    /// Who submitted it (an account's email, or the CLI's `--as`).
    pub submitted_by: &'a str,
    /// The organisations (slugs) whose standing the decision changes: the applicant,
    /// the claimant's or the changed organisation, or — for a price submission, which
    /// moves a whole country's threshold — the submitter's own organisations.
    pub concerns: &'a [String],
}

/// Who decides, with the organisations they administer, are staff of or are
/// affiliated with (their ties).
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub who: &'a str,
    pub ties: &'a [String],
}

impl<'a> Decider<'a> {
    /// Someone with no ties to any organisation (an operator, a test's reviewer).
    pub fn untied(who: &'a str) -> Self {
        Decider { who, ties: &[] }
    }
}

/// Why a decision is refused. [`Refusal::is_forbidden`] tells a refusal of the
/// person (they may not decide this) from one of the request's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{kind} #{id} was already {state}")]
    AlreadyDecided {
        kind: RequestKind,
        id: i64,
        state: RequestState,
    },
    #[error("{kind} #{id} was submitted by {by}; someone else must decide it")]
    OwnRequest {
        kind: RequestKind,
        id: i64,
        by: String,
    },
    #[error("{kind} #{id} concerns `{org}`, which you are tied to; someone else must decide it")]
    ConflictOfInterest {
        kind: RequestKind,
        id: i64,
        org: String,
    },
    #[error("a {kind} cannot be deferred: approve or reject it")]
    CannotDefer { kind: RequestKind },
    #[error("{kind} #{id} cannot be approved: {why}")]
    NotApprovable {
        kind: RequestKind,
        id: i64,
        why: String,
    },
    #[error("{kind} #{id} is outside what you review: {why}")]
    OutOfScope {
        kind: RequestKind,
        id: i64,
        why: String,
    },
}

impl Refusal {
    /// The decider may not decide this request (rather than the request being in the
    /// wrong state for the verdict).
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            Refusal::OwnRequest { .. }
                | Refusal::OutOfScope { .. }
                | Refusal::ConflictOfInterest { .. }
        )
    }
}

/// The state `request` takes when `decider` gives `verdict`, or why they cannot.
pub fn decide(
    request: &Request<'_>,
    decider: &Decider<'_>,
    verdict: Verdict,
) -> Result<RequestState, Refusal> {
    if !request.state.is_open() {
        return Err(Refusal::AlreadyDecided {
            kind: request.kind,
            id: request.id,
            state: request.state,
        });
    }
    if verdict == Verdict::Defer && !request.kind.may_defer() {
        return Err(Refusal::CannotDefer { kind: request.kind });
    }
    if request.submitted_by.eq_ignore_ascii_case(decider.who) {
        return Err(Refusal::OwnRequest {
            kind: request.kind,
            id: request.id,
            by: decider.who.to_string(),
        });
    }
    if let Some(org) = request
        .concerns
        .iter()
        .find(|org| decider.ties.iter().any(|tie| tie.eq_ignore_ascii_case(org)))
    {
        return Err(Refusal::ConflictOfInterest {
            kind: request.kind,
            id: request.id,
            org: org.clone(),
        });
    }
    Ok(verdict.outcome())
}

/// An approval needs what the kind of request says approves it (an application: an
/// attached evaluation that says eligible, since money alone or work alone never makes
/// a partner). Other verdicts need nothing.
pub fn approvable(
    request: &Request<'_>,
    verdict: Verdict,
    grounds: Result<(), &str>,
) -> Result<(), Refusal> {
    match (verdict, grounds) {
        (Verdict::Approve, Err(why)) => Err(Refusal::NotApprovable {
            kind: request.kind,
            id: request.id,
            why: why.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A request only some reviewers decide (a claim: the lead of its team, or a
/// reviewer): refused, with `why`, when this decider is not `allowed`.
pub fn in_scope(
    request: &Request<'_>,
    allowed: bool,
    why: impl FnOnce() -> String,
) -> Result<(), Refusal> {
    if allowed {
        return Ok(());
    }
    Err(Refusal::OutOfScope {
        kind: request.kind,
        id: request.id,
        why: why(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestState::*;
    use Verdict::*;

    fn request(kind: RequestKind, state: RequestState) -> Request<'static> {
        static CONCERNS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["acme".to_string()]);
        Request {
            kind,
            id: 7,
            state,
            submitted_by: "ana@acme.org",
            concerns: &CONCERNS,
        }
    }

    fn reviewer() -> Decider<'static> {
        Decider::untied("rev@p.org")
    }

    fn claim(state: RequestState) -> Request<'static> {
        request(RequestKind::Claim, state)
    }

    #[test]
    fn an_open_request_takes_the_verdicts_state() {
        assert_eq!(decide(&claim(Pending), &reviewer(), Approve), Ok(Approved));
        assert_eq!(decide(&claim(Pending), &reviewer(), Reject), Ok(Rejected));
        let application = request(RequestKind::Application, Deferred);
        assert_eq!(decide(&application, &reviewer(), Approve), Ok(Approved));
        assert_eq!(decide(&application, &reviewer(), Defer), Ok(Deferred));
    }

    #[test]
    fn a_closed_request_is_never_decided_again() {
        for state in [Approved, Rejected] {
            for verdict in [Approve, Reject, Defer] {
                let refusal = decide(&claim(state), &reviewer(), verdict).unwrap_err();
                assert!(
                    matches!(refusal, Refusal::AlreadyDecided { .. }),
                    "{refusal}"
                );
                assert!(!refusal.is_forbidden());
            }
        }
        assert_eq!(
            decide(&claim(Approved), &reviewer(), Reject)
                .unwrap_err()
                .to_string(),
            "claim #7 was already approved"
        );
    }

    #[test]
    fn the_submitter_never_decides_their_own_request() {
        for kind in ALL_KINDS {
            for verdict in [Approve, Reject] {
                let refusal = decide(
                    &request(kind, Pending),
                    &Decider::untied("ana@acme.org"),
                    verdict,
                )
                .unwrap_err();
                assert!(refusal.is_forbidden(), "{refusal}");
                assert!(refusal.to_string().contains("someone else must decide it"));
            }
        }
    }

    const ALL_KINDS: [RequestKind; 4] = [
        RequestKind::Application,
        RequestKind::Claim,
        RequestKind::OrganisationChange,
        RequestKind::PriceSubmission,
    ];

    #[test]
    fn nobody_decides_a_request_of_an_organisation_they_are_tied_to() {
        let ties = vec!["other".to_string(), "ACME".to_string()];
        let tied = Decider {
            who: "lead@acme.org",
            ties: &ties,
        };
        for kind in ALL_KINDS {
            for verdict in [Approve, Reject] {
                let refusal = decide(&request(kind, Pending), &tied, verdict).unwrap_err();
                assert!(refusal.is_forbidden(), "{kind}: {refusal}");
                assert_eq!(
                    refusal.to_string(),
                    format!(
                        "{kind} #7 concerns `acme`, which you are tied to; someone else must decide it"
                    )
                );
            }
        }
    }

    #[test]
    fn ties_to_other_organisations_do_not_stop_a_decision() {
        let ties = vec!["globex".to_string()];
        let elsewhere = Decider {
            who: "lead@globex.org",
            ties: &ties,
        };
        for kind in ALL_KINDS {
            assert_eq!(
                decide(&request(kind, Pending), &elsewhere, Reject),
                Ok(Rejected)
            );
        }
    }

    #[test]
    fn the_submitter_is_recognised_whatever_the_case_of_the_address() {
        let refusal =
            decide(&claim(Pending), &Decider::untied("Ana@ACME.org"), Approve).unwrap_err();
        assert!(matches!(refusal, Refusal::OwnRequest { .. }));
    }

    #[test]
    fn only_an_application_can_be_deferred() {
        let refusal = decide(&claim(Pending), &reviewer(), Defer).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::CannotDefer {
                kind: RequestKind::Claim
            }
        );
        assert!(
            decide(
                &request(RequestKind::Application, Pending),
                &reviewer(),
                Defer
            )
            .is_ok()
        );
    }

    #[test]
    fn an_approval_needs_its_grounds_and_a_rejection_does_not() {
        let application = request(RequestKind::Application, Pending);
        let refusal = approvable(
            &application,
            Approve,
            Err("its evaluation says not eligible"),
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "application #7 cannot be approved: its evaluation says not eligible"
        );
        assert!(!refusal.is_forbidden());
        assert!(approvable(&application, Reject, Err("not eligible")).is_ok());
        assert!(approvable(&application, Approve, Ok(())).is_ok());
    }

    #[test]
    fn a_decider_outside_the_requests_scope_is_refused() {
        let why = || "it belongs to the team docs, which you do not lead".to_string();
        let refusal = in_scope(&claim(Pending), false, why).unwrap_err();
        assert!(refusal.is_forbidden());
        assert!(in_scope(&claim(Pending), true, why).is_ok());
    }

    #[test]
    fn states_read_back_what_they_write() {
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse::<RequestState>(), Ok(state));
        }
        assert!("open".parse::<RequestState>().is_err());
    }
}
