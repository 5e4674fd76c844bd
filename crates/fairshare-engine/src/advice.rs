//! What would move an organisation up (SPEC §7, the portal): the points still missing
//! to this month's minimum, the gap to the top three, the headroom its active people
//! have under each cap, and where work weighs more. Numbers only; the portal words them.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use crate::activity::ActivityKind;
use crate::ids::MemberId;
use crate::programme::ProgrammeRules;
use crate::scoring::Score;

/// How many kinds of work the advice names, most valuable first.
pub const KINDS_SUGGESTED: usize = 4;

/// Points an organisation's people could still earn in one kind of work this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headroom {
    pub kind: ActivityKind,
    pub weight: Decimal,
    /// The most activities of this kind a person scores in a month.
    pub cap: u32,
    /// Across the active people (or, with none, for one person who takes it up).
    pub points: Decimal,
}

/// The numbers behind "how to move up".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveUp {
    /// The minimum monthly score.
    pub minimum: Decimal,
    /// Points this month still needs to reach it.
    pub missing_minimum: Option<Decimal>,
    /// Points more than last month's score that would have reached the third place.
    pub gap_to_top3: Option<Decimal>,
    /// People with scorable activity last month.
    pub active_people: usize,
    /// The kinds with the most room under their caps, most points first.
    pub headroom: Vec<Headroom>,
    /// Repositories, channels or teams whose work counts more, with their factor.
    pub impact: Vec<(String, Decimal)>,
}

/// Where the organisation stood in the latest published ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placing {
    pub rank: usize,
    pub score: Decimal,
}

/// Points still missing to reach the current third place: none when the organisation
/// is already in the top three or nobody is third. An organisation not ranked is
/// measured by its own last month's score.
pub fn gap_to_top_three(
    placing: Option<Placing>,
    last_score: Decimal,
    third: Option<Decimal>,
) -> Option<Decimal> {
    let third = third?;
    let gap = match placing {
        Some(me) if me.rank > 3 => third - me.score,
        Some(_) => return None,
        None => third - last_score,
    };
    Some(gap.max(Decimal::ZERO))
}

/// What would move the organisation up, from last month's counted activities, this
/// month's score so far and the gap to the top three.
pub fn move_up(
    rules: &ProgrammeRules,
    last: &Score,
    so_far: &Score,
    gap_to_top3: Option<Decimal>,
) -> MoveUp {
    let minimum = rules.eligibility.min_monthly_score;
    let missing = minimum - so_far.score;
    let counted = &last.counted;
    let people: BTreeSet<MemberId> = counted.keys().map(|(member, _)| *member).collect();
    let scoring = &rules.scoring;
    let mut headroom: Vec<Headroom> = ActivityKind::ALL
        .iter()
        .filter(|kind| !scoring.weight(**kind).is_zero() && scoring.cap(**kind) > 0)
        .map(|&kind| {
            let cap = scoring.cap(kind);
            let room: u32 = if people.is_empty() {
                cap
            } else {
                people
                    .iter()
                    .map(|member| {
                        let done = counted.get(&(*member, kind)).copied().unwrap_or(0);
                        cap.saturating_sub(u32::try_from(done).unwrap_or(u32::MAX))
                    })
                    .sum()
            };
            Headroom {
                kind,
                weight: scoring.weight(kind),
                cap,
                points: scoring.weight(kind) * Decimal::from(room),
            }
        })
        .filter(|h| !h.points.is_zero())
        .collect();
    headroom.sort_by(|a, b| b.points.cmp(&a.points).then(a.kind.cmp(&b.kind)));
    headroom.truncate(KINDS_SUGGESTED);
    MoveUp {
        minimum,
        missing_minimum: (missing > Decimal::ZERO).then_some(missing),
        gap_to_top3,
        active_people: people.len(),
        headroom,
        impact: scoring
            .impact
            .iter()
            .filter(|(_, factor)| **factor > Decimal::ONE)
            .map(|(name, factor)| (name.clone(), *factor))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ActivityId;
    use crate::scoring::{ActivityFact, score};

    fn fact(id: i64, member: i64, kind: ActivityKind) -> ActivityFact {
        ActivityFact {
            id: ActivityId(id),
            member: MemberId(member),
            kind,
            channel: None,
            team: None,
        }
    }

    fn rules() -> ProgrammeRules {
        ProgrammeRules::default()
    }

    fn empty() -> Score {
        score(&[], &rules().scoring)
    }

    #[test]
    fn the_gap_is_measured_to_the_third_place() {
        let third = Some(Decimal::from(50));
        let tenth = Some(Placing {
            rank: 10,
            score: Decimal::from(20),
        });
        assert_eq!(
            gap_to_top_three(tenth, Decimal::ZERO, third),
            Some(Decimal::from(30))
        );
        assert_eq!(
            gap_to_top_three(None, Decimal::from(45), third),
            Some(Decimal::from(5))
        );
    }

    #[test]
    fn no_gap_inside_the_top_three_or_without_a_third() {
        let second = Some(Placing {
            rank: 2,
            score: Decimal::from(80),
        });
        assert_eq!(
            gap_to_top_three(second, Decimal::ZERO, Some(Decimal::from(50))),
            None
        );
        assert_eq!(gap_to_top_three(None, Decimal::ZERO, None), None);
    }

    #[test]
    fn a_gap_never_goes_below_zero() {
        assert_eq!(
            gap_to_top_three(None, Decimal::from(70), Some(Decimal::from(50))),
            Some(Decimal::ZERO)
        );
    }

    #[test]
    fn the_minimum_still_missing_this_month_is_counted() {
        let rules = rules();
        let advice = move_up(&rules, &empty(), &empty(), None);
        assert_eq!(
            advice.missing_minimum,
            Some(rules.eligibility.min_monthly_score)
        );
        assert_eq!(advice.active_people, 0);
    }

    #[test]
    fn headroom_is_what_each_active_person_can_still_earn_under_the_cap() {
        let rules = rules();
        let kind = ActivityKind::Commit;
        let cap = rules.scoring.cap(kind);
        // Person 1 used two of the cap, person 2 none of it.
        let last = score(
            &[
                fact(1, 1, kind),
                fact(2, 1, kind),
                fact(3, 2, ActivityKind::Review),
            ],
            &rules.scoring,
        );
        let advice = move_up(&rules, &last, &last, None);
        assert_eq!(advice.active_people, 2);
        let commits = advice.headroom.iter().find(|h| h.kind == kind);
        if let Some(commits) = commits {
            assert_eq!(
                commits.points,
                rules.scoring.weight(kind) * Decimal::from(2 * cap - 2)
            );
        }
        assert!(advice.headroom.len() <= KINDS_SUGGESTED);
        assert!(
            advice
                .headroom
                .windows(2)
                .all(|w| w[0].points >= w[1].points)
        );
    }

    #[test]
    fn with_nobody_active_headroom_is_per_person_who_takes_it_up() {
        let rules = rules();
        let advice = move_up(&rules, &empty(), &empty(), None);
        for h in &advice.headroom {
            assert_eq!(h.points, h.weight * Decimal::from(h.cap));
        }
    }
}
