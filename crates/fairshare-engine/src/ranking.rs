//! The monthly ranking (SPEC §6): partners ordered by last month's score. Ties go to
//! more distinct contributors, then to the higher score the month before, then to the
//! name, so that a ranking is total and the same facts always give the same order.

use std::cmp::Ordering;

use rust_decimal::Decimal;

/// One partner's month, as the ranking needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing<T> {
    /// The organisation's slug (the last tie-break).
    pub org: String,
    pub score: Decimal,
    /// Distinct members with scorable activity.
    pub members: usize,
    /// The month before's score (zero when it had none).
    pub previous_score: Decimal,
    /// Whatever the caller keeps with the entry (a breakdown, an id).
    pub extra: T,
}

/// A standing with its place, 1 for the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked<T> {
    pub rank: usize,
    pub standing: Standing<T>,
}

/// The order of two standings: the one that ranks higher first.
pub fn compare<T>(a: &Standing<T>, b: &Standing<T>) -> Ordering {
    b.score
        .cmp(&a.score)
        .then(b.members.cmp(&a.members))
        .then(b.previous_score.cmp(&a.previous_score))
        .then(a.org.cmp(&b.org))
}

/// Ranks every standing: places 1, 2, 3… with no shared places.
pub fn rank<T>(mut standings: Vec<Standing<T>>) -> Vec<Ranked<T>> {
    standings.sort_by(compare);
    standings
        .into_iter()
        .enumerate()
        .map(|(i, standing)| Ranked {
            rank: i + 1,
            standing,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(org: &str, score: i64, members: usize, previous: i64) -> Standing<()> {
        Standing {
            org: org.to_string(),
            score: Decimal::from(score),
            members,
            previous_score: Decimal::from(previous),
            extra: (),
        }
    }

    fn order(standings: Vec<Standing<()>>) -> Vec<(usize, String)> {
        rank(standings)
            .into_iter()
            .map(|r| (r.rank, r.standing.org))
            .collect()
    }

    #[test]
    fn the_higher_score_ranks_first() {
        let ranked = order(vec![
            standing("a", 10, 1, 0),
            standing("b", 30, 1, 0),
            standing("c", 20, 1, 0),
        ]);
        assert_eq!(ranked, [(1, "b".into()), (2, "c".into()), (3, "a".into())]);
    }

    #[test]
    fn a_tie_goes_to_more_contributors() {
        let ranked = order(vec![standing("a", 10, 1, 99), standing("b", 10, 2, 0)]);
        assert_eq!(ranked[0].1, "b");
    }

    #[test]
    fn then_to_the_higher_score_the_month_before() {
        let ranked = order(vec![standing("a", 10, 2, 5), standing("b", 10, 2, 6)]);
        assert_eq!(ranked[0].1, "b");
    }

    #[test]
    fn then_to_the_name() {
        let ranked = order(vec![
            standing("zeta", 10, 2, 5),
            standing("alpha", 10, 2, 5),
        ]);
        assert_eq!(ranked, [(1, "alpha".into()), (2, "zeta".into())]);
    }

    #[test]
    fn places_are_never_shared_and_fractions_count() {
        let mut a = standing("a", 0, 1, 0);
        a.score = "10.5".parse().unwrap();
        let ranked = order(vec![standing("b", 10, 5, 50), a, standing("c", 0, 0, 0)]);
        assert_eq!(ranked, [(1, "a".into()), (2, "b".into()), (3, "c".into())]);
    }

    #[test]
    fn nobody_to_rank_gives_an_empty_ranking() {
        assert!(order(Vec::new()).is_empty());
    }
}
