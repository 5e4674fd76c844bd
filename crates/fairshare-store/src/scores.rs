//! Monthly scores: the month's scorable activities loaded per organisation (bots left
//! out), scored by the engine, with the details `explain` shows.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, btree_map};
use std::sync::Arc;

use fairshare_engine::scoring::{
    ActivityCount, ActivityFact, Score, ScoringRules, score, score_counts,
};
use fairshare_engine::{ActivityId, ActivityKind, MemberId, Month};
use serde::Serialize;
use time::OffsetDateTime;

use crate::compliance::ComplianceCache;
use crate::{Db, Result, Store, StoreError, on_pool, parse_column};

/// What evaluations on the same day share: compliance's reference lookups and, when
/// every partner is evaluated (a monthly review), each month's scores of everyone,
/// computed once. Evaluating one organisation scores only that organisation.
#[derive(Debug, Default)]
pub struct EvaluationCache {
    scores: BTreeMap<Month, HashMap<String, OrgScore>>,
    compliance: ComplianceCache,
    everyone: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgScore {
    pub org: String,
    #[serde(flatten)]
    pub score: Score,
}

/// What `explain` shows of an activity besides its points.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityDetail {
    pub id: ActivityId,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub source: String,
    pub member: String,
    pub kind: ActivityKind,
    pub channel: Option<String>,
    pub team: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub attribution: String,
    /// A correction excludes it from scoring.
    pub excluded: bool,
}

/// Organisations whose counts SQLite hands over in one JSON array: sqlx moves SQLite
/// rows between threads one by one, each a wake-up, so a row per organisation (20,000
/// a month) cost more in switching threads than in reading.
const ORGS_PER_BATCH: i64 = 64;

/// One count (organisation, member, kind, channel, team, count) as SQLite's JSON
/// arrays carry it,
/// borrowed from the JSON text: positional, because a month holds hundreds of thousands
/// and arrays keep the JSON half the size of objects (see ARCHITECTURE.md, *Scores from
/// counts*).
#[derive(serde::Deserialize)]
struct CountRow<'a>(
    i64,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    i64,
);

/// One range of organisations' counts of `month` (ids `low..=high`) from the rollup
/// (bots are never in it), as the engine counts them, per organisation. Nothing is
/// allocated per count but the count itself: a month has hundreds of thousands.
/// SQLite hands each organisation's counts over as one JSON array (sqlx moves SQLite
/// rows between threads one by one); PostgreSQL streams its typed rows in organisation
/// order, read in place.
async fn month_counts(
    db: Db,
    month: Month,
    (low, high): (i64, i64),
    rules: Arc<ScoringRules>,
) -> Result<Vec<OrgCounts>> {
    let counts = "FROM rollup_months WHERE month = $1 AND org_id >= $2 AND org_id <= $3 \
                  AND org_id <> 0 AND n > corrected";
    match &db {
        Db::Sqlite(pool) => sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(format!(
            "SELECT org_id / {ORGS_PER_BATCH}, json_group_array(json_array(org_id, member_id, kind, \
             channel, team, n - corrected)) {counts} GROUP BY org_id / {ORGS_PER_BATCH}"
        )))
        .bind(month.to_string())
        .bind(low)
        .bind(high)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(_, json)| Ok(OrgCounts::Json(json)))
        .collect(),
        Db::Postgres(pool) => {
            use futures_util::TryStreamExt;
            use sqlx::Row;
            // Channels and teams matter only to rules that weigh some of them: without
            // impacts, two columns fewer a row (a sixth of the month's decoding).
            let weighed = !rules.impact.is_empty();
            let places = if weighed { ", channel, team" } else { "" };
            let sql = format!(
                "SELECT org_id, member_id, kind, n - corrected{places} {counts} ORDER BY org_id"
            );
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(month.to_string())
                .bind(low)
                .bind(high)
                .fetch(pool);
            let mut by_org: Vec<OrgCounts> = Vec::new();
            while let Some(row) = rows.try_next().await? {
                let org: i64 = row.try_get(0)?;
                let (channel, team) = if weighed {
                    (row.try_get(4)?, row.try_get(5)?)
                } else {
                    ("", "")
                };
                let count = activity_count(
                    row.try_get(1)?,
                    row.try_get(2)?,
                    channel,
                    team,
                    row.try_get(3)?,
                    &rules,
                )?;
                match by_org.last_mut() {
                    Some(OrgCounts::Counts(last, counts)) if *last == org => counts.push(count),
                    _ => by_org.push(OrgCounts::Counts(org, vec![count])),
                }
            }
            Ok(by_org)
        }
    }
}

/// Counts of a month as the database hands them over.
enum OrgCounts {
    /// SQLite: a JSON array of [`CountRow`]s of up to [`ORGS_PER_BATCH`]
    /// organisations, read where it is scored.
    Json(String),
    /// PostgreSQL: one organisation's, read from its rows as they arrived.
    Counts(i64, Vec<ActivityCount>),
}

impl OrgCounts {
    /// Each organisation with its counts as the engine takes them.
    fn into_counts(self, rules: &ScoringRules) -> Result<Vec<(i64, Vec<ActivityCount>)>> {
        match self {
            OrgCounts::Json(json) => {
                let rows: Vec<CountRow> = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("activity counts of a month: {e}")))?;
                let mut by_org: BTreeMap<i64, Vec<ActivityCount>> = BTreeMap::new();
                for CountRow(org, member, kind, channel, team, n) in rows {
                    by_org
                        .entry(org)
                        .or_default()
                        .push(activity_count(member, &kind, &channel, &team, n, rules)?);
                }
                Ok(by_org.into_iter().collect())
            }
            OrgCounts::Counts(org, counts) => Ok(vec![(org, counts)]),
        }
    }
}

/// A rollup row as the engine counts it ('' stands for no channel, no team).
fn activity_count(
    member: i64,
    kind: &str,
    channel: &str,
    team: &str,
    count: i64,
    rules: &ScoringRules,
) -> Result<ActivityCount> {
    fn keyed(text: &str) -> Option<&str> {
        (!text.is_empty()).then_some(text)
    }
    Ok(ActivityCount::new(
        MemberId(member),
        parse_column("activities.kind", kind)?,
        keyed(channel),
        keyed(team),
        u64::try_from(count)
            .map_err(|_| StoreError::Corrupt(format!("rollup_months: a count of {count}")))?,
        rules,
    ))
}

/// Consecutive ranges of ids, at most `parts`, each holding about the same share of
/// the weights; `weighted` is in id order.
fn balanced_ranges(weighted: &[(i64, i64)], parts: usize) -> Vec<(i64, i64)> {
    let total: i64 = weighted.iter().map(|(_, w)| (*w).max(0)).sum();
    let share = total / i64::try_from(parts.max(1)).unwrap_or(1) + 1;
    let mut ranges = Vec::with_capacity(parts);
    let (mut start, mut filled) = (None, 0i64);
    for (id, weight) in weighted {
        start.get_or_insert(*id);
        filled += (*weight).max(0);
        if filled >= share {
            ranges.push((start.take().unwrap_or(*id), *id));
            filled = 0;
        }
    }
    if let (Some(start), Some((last, _))) = (start, weighted.last()) {
        ranges.push((start, *last));
    }
    ranges
}

/// How a member is named where points are explained: "Name #id" (names repeat).
fn member_label(name: &str, id: i64) -> String {
    format!("{name} #{id}")
}

/// One activity of an organisation's month with what `explain` shows of it.
#[derive(sqlx::FromRow)]
struct OrgActivityRow {
    id: i64,
    member_id: i64,
    kind: String,
    channel: Option<String>,
    team: Option<String>,
    occurred_at: OffsetDateTime,
    source: String,
    display_name: String,
    title: Option<String>,
    url: Option<String>,
    attribution: String,
    /// A correction excludes it from scoring.
    excluded: bool,
}

impl EvaluationCache {
    /// For evaluating many organisations: months are scored for everyone at once.
    pub fn for_everyone() -> Self {
        EvaluationCache {
            everyone: true,
            ..Default::default()
        }
    }

    /// Every organisation's score for `month`, by slug, computed on first use.
    pub async fn month_scores(
        &mut self,
        store: &Store,
        month: Month,
        rules: &ScoringRules,
    ) -> Result<&HashMap<String, OrgScore>> {
        Ok(match self.scores.entry(month) {
            btree_map::Entry::Occupied(found) => found.into_mut(),
            btree_map::Entry::Vacant(slot) => {
                let scores = store.month_scores(month, rules).await?;
                slot.insert(scores.into_iter().map(|s| (s.org.clone(), s)).collect())
            }
        })
    }
}

impl Store {
    /// Every organisation's score for `month`, highest first (ties: more members, then slug).
    /// The database counts the month's scorable activities per member, kind, channel and
    /// team, so the work here grows with the people active, not with their activities.
    pub async fn month_scores(&self, month: Month, rules: &ScoringRules) -> Result<Vec<OrgScore>> {
        // The month is read in one range of organisations per core, each on its own
        // connection and task: the database aggregates the ranges side by side.
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let reads: Vec<_> = self
            .month_org_ranges(month, workers)
            .await?
            .into_iter()
            .map(|range| {
                let rules = Arc::new(rules.clone());
                tokio::spawn(month_counts(self.db().clone(), month, range, rules))
            })
            .collect();
        // The slugs are read while the counts arrive.
        let db = self.db().clone();
        let slugs = tokio::spawn(async move {
            let slugs: Result<HashMap<i64, String>> = Ok(on_pool!(&db, pool => {
                sqlx::query_as::<_, (i64, String)>("SELECT id, slug FROM organisations")
                    .fetch_all(pool)
                    .await?
            })
            .into_iter()
            .collect());
            slugs
        });
        let stopped = |e: tokio::task::JoinError| {
            StoreError::Corrupt(format!("reading the month's counts stopped: {e}"))
        };
        let mut rows = Vec::new();
        for read in reads {
            rows.extend(read.await.map_err(stopped)??);
        }
        let slugs = slugs.await.map_err(stopped)??;
        let score_one = |counts: OrgCounts| -> Result<Vec<OrgScore>> {
            counts
                .into_counts(rules)?
                .into_iter()
                .map(|(org, counts)| {
                    Ok(OrgScore {
                        org: slugs.get(&org).cloned().ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "activity credited to unknown organisation {org}"
                            ))
                        })?,
                        score: score_counts(&counts, rules),
                    })
                })
                .collect()
        };
        // Reading and scoring each organisation's counts is independent work: dealt
        // out to one thread per core.
        let mut hands: Vec<Vec<OrgCounts>> = (0..workers).map(|_| Vec::new()).collect();
        for (i, counts) in rows.into_iter().enumerate() {
            hands[i % workers].push(counts);
        }
        let score_one = &score_one;
        let mut scores = std::thread::scope(|scope| {
            let handles: Vec<_> = hands
                .into_iter()
                .map(|hand| {
                    scope.spawn(move || hand.into_iter().map(score_one).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Result<Vec<Vec<_>>>>()
        })?
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        scores.sort_by(|a, b| {
            b.score
                .score
                .cmp(&a.score.score)
                .then(b.score.members.cmp(&a.score.members))
                .then(a.org.cmp(&b.org))
        });
        Ok(scores)
    }

    /// `parts` ranges of organisation ids that together cover `month`'s counts, each
    /// with about as many counts (from the per-organisation totals).
    async fn month_org_ranges(&self, month: Month, parts: usize) -> Result<Vec<(i64, i64)>> {
        let totals: Vec<(i64, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT org_id, n FROM rollup_org_months WHERE month = $1 AND org_id <> 0 ORDER BY org_id",
            )
            .bind(month.to_string())
            .fetch_all(pool)
            .await?
        });
        Ok(balanced_ranges(&totals, parts))
    }

    /// One organisation's score in each month of `first..=last` that it has counts in,
    /// read in one query from the monthly rollup (the portal's standing and trends).
    pub async fn org_scores(
        &self,
        org: &str,
        first: Month,
        last: Month,
        rules: &ScoringRules,
    ) -> Result<BTreeMap<Month, OrgScore>> {
        let org_id = self.org_id(org).await?;
        self.org_months_scores(org_id, org, first, last, rules)
            .await
    }

    /// Members as `explain` names them ("Name #id"), for points counted per member.
    pub async fn member_labels(&self, members: &[MemberId]) -> Result<BTreeMap<MemberId, String>> {
        if members.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
        let sql = format!(
            "SELECT id, display_name FROM members WHERE id IN ({})",
            crate::id_list(&ids)
        );
        let rows: Vec<(i64, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name)| (MemberId(id), member_label(&name, id)))
            .collect())
    }

    /// One organisation's score in each month of `first..=last` that it has counts in,
    /// read in one query from the monthly rollup.
    async fn org_months_scores(
        &self,
        org_id: i64,
        org: &str,
        first: Month,
        last: Month,
        rules: &ScoringRules,
    ) -> Result<BTreeMap<Month, OrgScore>> {
        let counts = "FROM rollup_months WHERE org_id = $1 AND month >= $2 AND month <= $3 \
                      AND n > corrected";
        let mut by_month: BTreeMap<Month, Vec<ActivityCount>> = BTreeMap::new();
        match self.db() {
            // A JSON array a month, as for a month's scores (see `ORGS_PER_BATCH`).
            Db::Sqlite(pool) => {
                let months: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT month, json_group_array(json_array(org_id, member_id, kind, channel, \
                     team, n - corrected)) {counts} GROUP BY month"
                )))
                .bind(org_id)
                .bind(first.to_string())
                .bind(last.to_string())
                .fetch_all(pool)
                .await?;
                for (month, json) in months {
                    let month: Month = parse_column("rollup_months.month", &month)?;
                    let counts = OrgCounts::Json(json)
                        .into_counts(rules)?
                        .into_iter()
                        .flat_map(|(_, counts)| counts)
                        .collect();
                    by_month.insert(month, counts);
                }
            }
            Db::Postgres(pool) => {
                let rows: Vec<(String, i64, String, String, String, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT month, member_id, kind, channel, team, n - corrected {counts}"
                    )))
                    .bind(org_id)
                    .bind(first.to_string())
                    .bind(last.to_string())
                    .fetch_all(pool)
                    .await?;
                for (month, member, kind, channel, team, count) in rows {
                    let month: Month = parse_column("rollup_months.month", &month)?;
                    by_month.entry(month).or_default().push(activity_count(
                        member, &kind, &channel, &team, count, rules,
                    )?);
                }
            }
        }
        by_month
            .into_iter()
            .map(|(month, counts)| {
                Ok((
                    month,
                    OrgScore {
                        org: org.to_string(),
                        score: score_counts(&counts, rules),
                    },
                ))
            })
            .collect()
    }

    /// One organisation's score for `month` with every activity's details.
    pub async fn explain(
        &self,
        org: &str,
        month: Month,
        rules: &ScoringRules,
    ) -> Result<(OrgScore, BTreeMap<ActivityId, ActivityDetail>)> {
        let org_id = self.org_id(org).await?;
        self.org_month(org_id, org, month, rules).await
    }

    /// The month's activities of one organisation (bots left out), read once: scored
    /// unless a correction excludes them, and described for `explain`.
    async fn org_month(
        &self,
        org_id: i64,
        org: &str,
        month: Month,
        rules: &ScoringRules,
    ) -> Result<(OrgScore, BTreeMap<ActivityId, ActivityDetail>)> {
        let rows: Vec<OrgActivityRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.id, a.member_id, a.kind, a.channel, a.team, a.occurred_at, a.source, m.display_name, \
                 a.title, a.url, a.attribution, \
                 EXISTS (SELECT 1 FROM corrections c WHERE c.activity_id = a.id AND c.removed_at IS NULL) AS excluded \
                 FROM activities a JOIN members m ON m.id = a.member_id \
                 WHERE a.org_id = $1 AND a.occurred_at >= $2 AND a.occurred_at < $3 AND NOT m.is_bot",
            )
            .bind(org_id)
            .bind(month.first_day().midnight().assume_utc())
            .bind(month.next().first_day().midnight().assume_utc())
            .fetch_all(pool)
            .await?
        });
        let mut facts = Vec::with_capacity(rows.len());
        let mut details = BTreeMap::new();
        for OrgActivityRow {
            id,
            member_id: member,
            kind,
            channel,
            team,
            occurred_at,
            source,
            display_name: name,
            title,
            url,
            attribution,
            excluded,
        } in rows
        {
            let kind: ActivityKind = parse_column("activities.kind", &kind)?;
            if !excluded {
                facts.push(ActivityFact {
                    id: ActivityId(id),
                    member: MemberId(member),
                    kind,
                    channel: channel.clone(),
                    team: team.clone(),
                });
            }
            details.insert(
                ActivityId(id),
                ActivityDetail {
                    id: ActivityId(id),
                    occurred_at,
                    source,
                    member: member_label(&name, member),
                    kind,
                    channel,
                    team,
                    title,
                    url,
                    attribution,
                    excluded,
                },
            );
        }
        let scored = OrgScore {
            org: org.to_string(),
            score: score(&facts, rules),
        };
        Ok((scored, details))
    }
}

impl Store {
    /// Evaluates an organisation's eligibility on `as_of` (SPEC §5): the last complete
    /// months' compliance and work. A financial criterion that cannot be computed (no
    /// HQ country, no threshold, a missing rate) fails with that reason.
    pub async fn evaluate(
        &self,
        org: &str,
        as_of: time::Date,
        rules: &fairshare_engine::ProgrammeRules,
    ) -> Result<fairshare_engine::eligibility::Evaluation> {
        let mut cache = EvaluationCache::default();
        self.evaluate_cached(org, as_of, rules, &mut cache).await
    }

    /// Evaluates an organisation that is not on record yet, as its application will
    /// be judged: headquartered in `country`, with no payments and no work credited.
    pub async fn evaluate_newcomer(
        &self,
        country: fairshare_engine::CountryCode,
        as_of: time::Date,
        programme: &fairshare_engine::ProgrammeRules,
    ) -> Result<fairshare_engine::eligibility::Evaluation> {
        use fairshare_engine::eligibility::{evaluate, practical_month};
        let rules = &programme.eligibility;
        let (months, first, last) = evaluated_span(as_of, rules)?;
        let mut cache = ComplianceCache::default();
        let financial = self
            .compliance_of(
                None,
                country,
                first,
                last,
                &programme.thresholds,
                programme.tolerance,
                &mut cache,
            )
            .await;
        let practical = months
            .iter()
            .map(|month| practical_month(*month, Default::default(), 0, 0, rules))
            .collect();
        with_financial_problem(financial, |financial| evaluate(financial, practical, rules))
    }

    /// `evaluate` reusing month scores across organisations (a monthly review evaluates
    /// every partner over the same months: score each month once).
    pub async fn evaluate_cached(
        &self,
        org: &str,
        as_of: time::Date,
        programme: &fairshare_engine::ProgrammeRules,
        cache: &mut EvaluationCache,
    ) -> Result<fairshare_engine::eligibility::Evaluation> {
        let (policy, tolerance, scoring, rules) = (
            &programme.thresholds,
            programme.tolerance,
            &programme.scoring,
            &programme.eligibility,
        );
        use fairshare_engine::eligibility::{evaluate, practical_month};
        let org_id = self.org_id(org).await?;
        let (months, first, last) = evaluated_span(as_of, rules)?;
        let financial = self
            .org_compliance(org, first, last, policy, tolerance, &mut cache.compliance)
            .await;
        // One organisation alone: its months in one query; a review: every
        // organisation's month, scored once for all.
        let own = if cache.everyone {
            BTreeMap::new()
        } else {
            self.org_months_scores(org_id, org, first, last, scoring)
                .await?
        };
        let mut practical = Vec::with_capacity(months.len());
        for month in &months {
            let scored = if cache.everyone {
                cache
                    .month_scores(self, *month, scoring)
                    .await?
                    .get(org)
                    .cloned()
            } else {
                own.get(month).cloned()
            };
            let (points, members, activities) = scored
                .map(|s| (s.score.score, s.score.members, s.score.activities))
                .unwrap_or_default();
            practical.push(practical_month(*month, points, members, activities, rules));
        }
        with_financial_problem(financial, |financial| evaluate(financial, practical, rules))
    }
}

/// The complete months an evaluation on `as_of` looks at, with the first and last.
fn evaluated_span(
    as_of: time::Date,
    rules: &fairshare_engine::eligibility::EligibilityRules,
) -> Result<(Vec<Month>, Month, Month)> {
    let months = fairshare_engine::eligibility::evaluated_months(Month::of(as_of), rules.months);
    match (months.first().copied(), months.last().copied()) {
        (Some(first), Some(last)) => Ok((months, first, last)),
        _ => Err(StoreError::Invalid(
            "eligibility.months must be at least 1".into(),
        )),
    }
}

/// An evaluation whose financial criterion could not be computed (no HQ country, no
/// threshold, a missing rate) fails it with that reason instead of failing the page.
fn with_financial_problem(
    financial: Result<Vec<fairshare_engine::compliance::MonthCompliance>>,
    evaluate: impl FnOnce(
        Vec<fairshare_engine::compliance::MonthCompliance>,
    ) -> fairshare_engine::eligibility::Evaluation,
) -> Result<fairshare_engine::eligibility::Evaluation> {
    let (months, problem) = match financial {
        Ok(months) => (months, None),
        Err(StoreError::Invalid(reason)) => (Vec::new(), Some(reason)),
        Err(e) => return Err(e),
    };
    let mut evaluation = evaluate(months);
    if let Some(reason) = problem {
        evaluation.financial.passed = false;
        evaluation.eligible = false;
        evaluation.financial.reasons.insert(0, reason);
    }
    Ok(evaluation)
}

#[cfg(test)]
mod tests {
    use super::balanced_ranges;

    #[test]
    fn ranges_cover_every_id_once_with_about_equal_weight() {
        // One heavy organisation first, then a long tail.
        let weighted: Vec<(i64, i64)> = std::iter::once((1, 50))
            .chain((2..=101).map(|id| (id, 1)))
            .collect();
        let ranges = balanced_ranges(&weighted, 2);
        assert_eq!(ranges, vec![(1, 27), (28, 101)]); // 76 and 74 of 150
        let ranges = balanced_ranges(&weighted, 3);
        assert_eq!(ranges.first().map(|r| r.0), Some(1));
        assert_eq!(ranges.last().map(|r| r.1), Some(101));
        assert!(ranges.windows(2).all(|w| w[1].0 > w[0].1), "{ranges:?}");
        assert!(ranges.len() <= 3, "{ranges:?}");
    }

    #[test]
    fn no_weights_no_ranges() {
        assert!(balanced_ranges(&[], 2).is_empty());
    }
}
