//! Monthly scores (SPEC §5): for each organisation, Σ over its members Σ over kinds of
//! `weight(kind) × min(count, cap(kind))`, each counted activity multiplied by the
//! impact factor of its repository, channel or team. When a cap cuts a member's
//! activities of a kind, the ones with the least impact are the ones cut. Every point
//! is explained down to the activity that earned it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::activity::ActivityKind;
use crate::ids::{ActivityId, MemberId};

/// Weights, caps and impact factors; every value a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringRules {
    pub weights: BTreeMap<ActivityKind, Decimal>,
    /// Most activities of a kind counted per member and month.
    pub caps: BTreeMap<ActivityKind, u32>,
    /// Factor for activities in a repository, channel or team (by name); 1 otherwise.
    pub impact: BTreeMap<String, Decimal>,
}

impl Default for ScoringRules {
    fn default() -> Self {
        use ActivityKind::*;
        let table: [(ActivityKind, &str, u32); 22] = [
            (Commit, "1", 30),
            (PrOpened, "2", 20),
            (PrMerged, "3", 20),
            (Review, "2", 30),
            (IssueOpened, "1", 15),
            (IssueClosed, "1", 15),
            (Comment, "0.5", 30),
            (DocsChange, "2", 20),
            (Translation, "2", 20),
            (TranslationReview, "1", 30),
            (ForumPost, "1", 30),
            (ForumSolution, "3", 15),
            (ChatHelp, "1", 30),
            (ChatMessage, "0", 0),
            (EventOrganised, "10", 2),
            (TalkGiven, "8", 3),
            (MeetupHosted, "8", 2),
            (TeamLeadership, "10", 1),
            (ReleaseManagement, "10", 2),
            (Design, "5", 5),
            (Marketing, "5", 5),
            (OtherTask, "3", 5),
        ];
        ScoringRules {
            weights: table
                .iter()
                .map(|(k, w, _)| (*k, w.parse().expect("decimal")))
                .collect(),
            caps: table.iter().map(|(k, _, c)| (*k, *c)).collect(),
            impact: BTreeMap::new(),
        }
    }
}

impl ScoringRules {
    pub fn weight(&self, kind: ActivityKind) -> Decimal {
        self.weights.get(&kind).copied().unwrap_or(Decimal::ZERO)
    }

    pub fn cap(&self, kind: ActivityKind) -> u32 {
        self.caps.get(&kind).copied().unwrap_or(0)
    }

    /// The factor of an activity: its channel's, else its team's, else 1.
    pub fn impact(&self, channel: Option<&str>, team: Option<&str>) -> Decimal {
        channel
            .and_then(|c| self.impact.get(c))
            .or_else(|| team.and_then(|t| self.impact.get(t)))
            .copied()
            .unwrap_or(Decimal::ONE)
    }
}

/// One scorable activity (bots, excluded and unapproved items are left out by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityFact {
    pub id: ActivityId,
    pub member: MemberId,
    pub kind: ActivityKind,
    pub channel: Option<String>,
    pub team: Option<String>,
}

/// An activity with the points it earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoredActivity {
    pub id: ActivityId,
    pub member: MemberId,
    pub kind: ActivityKind,
    #[serde(with = "crate::decimal_text")]
    pub impact: Decimal,
    #[serde(with = "crate::decimal_text")]
    pub points: Decimal,
    /// The member's cap for this kind was reached: it earned nothing.
    pub capped: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    #[serde(with = "crate::decimal_text")]
    pub score: Decimal,
    /// Distinct members with at least one scorable activity.
    pub members: usize,
    pub activities: usize,
    /// Points per kind.
    pub by_kind: BTreeMap<ActivityKind, Decimal>,
    /// Points per member, for every member counted in `members` (some with none).
    #[serde(skip)]
    pub by_member: BTreeMap<MemberId, Decimal>,
    /// Scorable activities per member and kind, those a cap cut included: how much
    /// room each person has left under the caps.
    #[serde(skip)]
    pub counted: BTreeMap<(MemberId, ActivityKind), u64>,
    /// Every activity with its points; empty when scored from counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ScoredActivity>,
}

/// A member's scorable activities of one kind with the same impact, counted together.
/// A month's ranking needs only these counts, which the database aggregates; `explain`
/// needs each activity and uses [`score`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCount {
    pub member: MemberId,
    pub kind: ActivityKind,
    /// The factor of the channel or team they were in ([`ScoringRules::impact`]).
    pub impact: Decimal,
    pub count: u64,
}

impl ActivityCount {
    /// `count` activities of `member` of `kind` in a channel and team, as `rules` weigh
    /// them (only the impact of the channel or team is kept, so a count holds no text).
    pub fn new(
        member: MemberId,
        kind: ActivityKind,
        channel: Option<&str>,
        team: Option<&str>,
        count: u64,
        rules: &ScoringRules,
    ) -> ActivityCount {
        ActivityCount {
            member,
            kind,
            impact: rules.impact(channel, team),
            count,
        }
    }
}

/// Scores one organisation's month from counts: the same score, members, activities and
/// points per kind as [`score`] on the activities counted, without the items.
pub fn score_counts(counts: &[ActivityCount], rules: &ScoringRules) -> Score {
    // In (member, kind, most valuable first) order each member's kind is one run, and
    // its cap keeps the most valuable activities, as in `score`. Sorting references
    // costs no allocation per member, which a month of 20,000 organisations notices.
    let mut order: Vec<&ActivityCount> = counts.iter().collect();
    order.sort_unstable_by_key(|c| (c.member, c.kind, std::cmp::Reverse(c.impact)));
    let mut by_kind: BTreeMap<ActivityKind, Decimal> = BTreeMap::new();
    let mut by_member: BTreeMap<MemberId, Decimal> = BTreeMap::new();
    let mut total = Decimal::ZERO;
    let mut counted = BTreeMap::new();
    for run in order.chunk_by(|a, b| a.member == b.member && a.kind == b.kind) {
        let (member, kind) = (run[0].member, run[0].kind);
        counted.insert((member, kind), run.iter().map(|c| c.count).sum());
        let mut room = u64::from(rules.cap(kind));
        let weight = rules.weight(kind);
        let mut points = Decimal::ZERO;
        for c in run {
            let counted = c.count.min(room);
            room -= counted;
            points += weight * c.impact * Decimal::from(counted);
        }
        total += points;
        *by_kind.entry(kind).or_default() += points;
        *by_member.entry(member).or_default() += points;
    }
    let activities = counts.iter().map(|c| c.count as usize).sum();
    totals(total, by_member, counted, activities, by_kind, Vec::new())
}

/// The score with its figures in their shortest form (`91`, not `91.0`).
fn totals(
    total: Decimal,
    mut by_member: BTreeMap<MemberId, Decimal>,
    counted: BTreeMap<(MemberId, ActivityKind), u64>,
    activities: usize,
    mut by_kind: BTreeMap<ActivityKind, Decimal>,
    items: Vec<ScoredActivity>,
) -> Score {
    for points in by_kind.values_mut().chain(by_member.values_mut()) {
        *points = points.normalize();
    }
    Score {
        score: total.normalize(),
        members: by_member.len(),
        activities,
        by_kind,
        by_member,
        counted,
        items,
    }
}

/// Scores one organisation's month.
pub fn score(activities: &[ActivityFact], rules: &ScoringRules) -> Score {
    let mut groups: BTreeMap<(MemberId, ActivityKind), Vec<(&ActivityFact, Decimal)>> =
        BTreeMap::new();
    for a in activities {
        let impact = rules.impact(a.channel.as_deref(), a.team.as_deref());
        groups
            .entry((a.member, a.kind))
            .or_default()
            .push((a, impact));
    }
    let mut items = Vec::with_capacity(activities.len());
    let mut by_kind: BTreeMap<ActivityKind, Decimal> = BTreeMap::new();
    let mut by_member: BTreeMap<MemberId, Decimal> = BTreeMap::new();
    let mut total = Decimal::ZERO;
    let mut counted = BTreeMap::new();
    for ((member, kind), mut list) in groups {
        counted.insert((member, kind), list.len() as u64);
        // Highest impact first (then oldest id), so a cap cuts the least valuable.
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
        let cap = rules.cap(kind) as usize;
        let weight = rules.weight(kind);
        for (i, (fact, impact)) in list.into_iter().enumerate() {
            let capped = i >= cap;
            let points = if capped {
                Decimal::ZERO
            } else {
                weight * impact
            };
            total += points;
            *by_kind.entry(kind).or_default() += points;
            *by_member.entry(member).or_default() += points;
            items.push(ScoredActivity {
                id: fact.id,
                member: fact.member,
                kind,
                impact,
                points,
                capped,
            });
        }
    }
    items.sort_by_key(|i| i.id);
    totals(total, by_member, counted, activities.len(), by_kind, items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(id: i64, member: i64, kind: ActivityKind, channel: Option<&str>) -> ActivityFact {
        ActivityFact {
            id: ActivityId(id),
            member: MemberId(member),
            kind,
            channel: channel.map(str::to_string),
            team: None,
        }
    }

    #[test]
    fn caps_stop_one_persons_flood() {
        let rules = ScoringRules::default();
        let mut facts: Vec<ActivityFact> = (0..40)
            .map(|i| fact(i, 1, ActivityKind::Commit, None))
            .collect();
        facts.push(fact(100, 2, ActivityKind::TalkGiven, None));
        facts.push(fact(101, 2, ActivityKind::ChatMessage, None));
        let s = score(&facts, &rules);
        // 30 commits × 1 + 1 talk × 8; chat messages weigh nothing.
        assert_eq!(s.score, Decimal::from(38));
        assert_eq!((s.members, s.activities), (2, 42));
        assert_eq!(s.items.iter().filter(|i| i.capped).count(), 11);
        assert_eq!(s.by_kind[&ActivityKind::Commit], Decimal::from(30));
    }

    /// A fixed pseudo-random mix: six members flooding four kinds across channels.
    fn mixed_activities() -> Vec<ActivityFact> {
        let kinds = [
            ActivityKind::Review,
            ActivityKind::Commit,
            ActivityKind::ChatMessage,
            ActivityKind::TalkGiven,
        ];
        let channels = [None, Some("core"), Some("docs")];
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        (0..500)
            .map(|id| {
                let member = next(6) as i64;
                let kind = kinds[next(4) as usize];
                fact(id, member, kind, channels[next(3) as usize])
            })
            .collect()
    }

    /// The activities counted per member, kind and channel.
    fn counted(facts: &[ActivityFact], rules: &ScoringRules) -> Vec<ActivityCount> {
        let mut counts: BTreeMap<(MemberId, ActivityKind, Option<String>), u64> = BTreeMap::new();
        for f in facts {
            *counts
                .entry((f.member, f.kind, f.channel.clone()))
                .or_default() += 1;
        }
        counts
            .into_iter()
            .map(|((member, kind, channel), count)| {
                ActivityCount::new(member, kind, channel.as_deref(), None, count, rules)
            })
            .collect()
    }

    #[test]
    fn counts_score_the_same_as_activities() {
        let mut rules = ScoringRules::default();
        rules.caps.insert(ActivityKind::Review, 3);
        rules.impact.insert("core".into(), "1.5".parse().unwrap());
        rules.impact.insert("docs".into(), "0.5".parse().unwrap());
        let facts = mixed_activities();
        let by_activity = score(&facts, &rules);
        assert!(by_activity.items.iter().any(|i| i.capped));
        assert_eq!(
            by_activity.by_member.values().sum::<Decimal>(),
            by_activity.score
        );
        let by_count = score_counts(&counted(&facts, &rules), &rules);
        assert_eq!(by_count.score, by_activity.score);
        assert_eq!(by_count.members, by_activity.members);
        assert_eq!(by_count.activities, by_activity.activities);
        assert_eq!(by_count.by_kind, by_activity.by_kind);
        assert_eq!(by_count.by_member, by_activity.by_member);
        assert_eq!(by_count.counted, by_activity.counted);
        assert!(by_count.items.is_empty());
    }

    #[test]
    fn impact_factors_multiply_and_caps_cut_the_least_valuable() {
        let mut rules = ScoringRules::default();
        rules.caps.insert(ActivityKind::Review, 2);
        rules
            .impact
            .insert("mautic/mautic".into(), "1.5".parse().unwrap());
        let facts = [
            fact(1, 1, ActivityKind::Review, Some("mautic/docs")),
            fact(2, 1, ActivityKind::Review, Some("mautic/mautic")),
            fact(3, 1, ActivityKind::Review, Some("mautic/mautic")),
        ];
        let s = score(&facts, &rules);
        assert_eq!(s.score, Decimal::from(6)); // 2 × 1.5 + 2 × 1.5, the docs review cut
        let cut = s.items.iter().find(|i| i.capped).unwrap();
        assert_eq!(cut.id, ActivityId(1));
    }
}
