//! Monthly scores: the month's scorable activities loaded per organisation (bots left
//! out), scored by the engine, with the details `explain` shows.

use std::collections::BTreeMap;

use fairshare_engine::scoring::{ActivityFact, Score, ScoringRules, score};
use fairshare_engine::{ActivityKind, Month};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Result, Store, StoreError, on_pool};

/// Month scores computed once and shared by several evaluations.
#[derive(Debug, Default)]
pub struct ScoreCache(BTreeMap<Month, Vec<OrgScore>>);

#[derive(Debug, Clone, Serialize)]
pub struct OrgScore {
    pub org: String,
    #[serde(flatten)]
    pub score: Score,
}

/// What `explain` shows of an activity besides its points.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityDetail {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub source: String,
    pub member: String,
    pub channel: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub attribution: String,
}

type FactRow = (i64, String, i64, String, Option<String>, Option<String>);
type DetailRow = (
    i64,
    OffsetDateTime,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

impl Store {
    /// Every organisation's score for `month`, highest first (ties: more members, then slug).
    pub async fn month_scores(&self, month: Month, rules: &ScoringRules) -> Result<Vec<OrgScore>> {
        self.scores_where(month, rules, None).await
    }

    /// Scores of every organisation, or of one (`only`).
    async fn scores_where(
        &self,
        month: Month,
        rules: &ScoringRules,
        only: Option<&str>,
    ) -> Result<Vec<OrgScore>> {
        let rows: Vec<FactRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.id, o.slug, a.member_id, a.kind, a.channel, a.team FROM activities a \
                 JOIN organisations o ON o.id = a.org_id JOIN members m ON m.id = a.member_id \
                 WHERE a.occurred_at >= $1 AND a.occurred_at < $2 AND NOT m.is_bot \
                 AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.activity_id = a.id AND c.removed_at IS NULL) \
                 AND ($3 = '' OR o.slug = $3)",
            )
            .bind(month.first_day().midnight().assume_utc())
            .bind(month.next().first_day().midnight().assume_utc())
            .bind(only.unwrap_or(""))
            .fetch_all(pool)
            .await?
        });
        let mut by_org: BTreeMap<String, Vec<ActivityFact>> = BTreeMap::new();
        for (id, org, member, kind, channel, team) in rows {
            let kind: ActivityKind =
                kind.parse()
                    .map_err(|e: fairshare_engine::activity::UnknownKind| {
                        StoreError::Corrupt(e.to_string())
                    })?;
            by_org.entry(org).or_default().push(ActivityFact {
                id,
                member,
                kind,
                channel,
                team,
            });
        }
        let mut scores: Vec<OrgScore> = by_org
            .into_iter()
            .map(|(org, facts)| OrgScore {
                org,
                score: score(&facts, rules),
            })
            .collect();
        scores.sort_by(|a, b| {
            b.score
                .score
                .cmp(&a.score.score)
                .then(b.score.members.cmp(&a.score.members))
                .then(a.org.cmp(&b.org))
        });
        Ok(scores)
    }

    /// One organisation's score for `month` with every activity's details.
    pub async fn explain(
        &self,
        org: &str,
        month: Month,
        rules: &ScoringRules,
    ) -> Result<(OrgScore, BTreeMap<i64, ActivityDetail>)> {
        self.org_id(org).await?;
        let scored = self
            .scores_where(month, rules, Some(org))
            .await?
            .into_iter()
            .find(|s| s.org == org)
            .unwrap_or_else(|| OrgScore {
                org: org.to_string(),
                score: score(&[], rules),
            });
        let rows: Vec<DetailRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.id, a.occurred_at, a.source, m.display_name, m.id, a.channel, a.title, a.url, a.attribution \
                 FROM activities a JOIN organisations o ON o.id = a.org_id JOIN members m ON m.id = a.member_id \
                 WHERE o.slug = $1 AND a.occurred_at >= $2 AND a.occurred_at < $3 AND NOT m.is_bot",
            )
            .bind(org)
            .bind(month.first_day().midnight().assume_utc())
            .bind(month.next().first_day().midnight().assume_utc())
            .fetch_all(pool)
            .await?
        });
        let details = rows
            .into_iter()
            .map(
                |(id, occurred_at, source, name, member, channel, title, url, attribution)| {
                    (
                        id,
                        ActivityDetail {
                            id,
                            occurred_at,
                            source,
                            member: format!("{name} #{member}"),
                            channel,
                            title,
                            url,
                            attribution,
                        },
                    )
                },
            )
            .collect();
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
        policy: &fairshare_engine::ThresholdPolicy,
        tolerance: rust_decimal::Decimal,
        scoring: &ScoringRules,
        rules: &fairshare_engine::eligibility::EligibilityRules,
    ) -> Result<fairshare_engine::eligibility::Evaluation> {
        let mut cache = ScoreCache::default();
        self.evaluate_cached(org, as_of, policy, tolerance, scoring, rules, &mut cache)
            .await
    }

    /// `evaluate` reusing month scores across organisations (a monthly review evaluates
    /// every partner over the same months: score each month once).
    #[allow(clippy::too_many_arguments)]
    pub async fn evaluate_cached(
        &self,
        org: &str,
        as_of: time::Date,
        policy: &fairshare_engine::ThresholdPolicy,
        tolerance: rust_decimal::Decimal,
        scoring: &ScoringRules,
        rules: &fairshare_engine::eligibility::EligibilityRules,
        cache: &mut ScoreCache,
    ) -> Result<fairshare_engine::eligibility::Evaluation> {
        use fairshare_engine::eligibility::{evaluate, evaluated_months, practical_month};
        self.org_id(org).await?;
        let months = evaluated_months(Month::of(as_of), rules.months);
        let (Some(first), Some(last)) = (months.first().copied(), months.last().copied()) else {
            return Err(StoreError::Invalid(
                "eligibility.months must be at least 1".into(),
            ));
        };
        let (financial, problem) = match self
            .org_compliance(org, first, last, policy, tolerance)
            .await
        {
            Ok(months) => (months, None),
            Err(StoreError::Invalid(reason)) => (Vec::new(), Some(reason)),
            Err(e) => return Err(e),
        };
        let mut practical = Vec::with_capacity(months.len());
        for month in &months {
            if !cache.0.contains_key(month) {
                let scores = self.month_scores(*month, scoring).await?;
                cache.0.insert(*month, scores);
            }
            let scored = cache.0[month].iter().find(|s| s.org == org).cloned();
            let (points, members, activities) = scored
                .map(|s| (s.score.score, s.score.members, s.score.activities))
                .unwrap_or_default();
            practical.push(practical_month(*month, points, members, activities, rules));
        }
        let mut evaluation = evaluate(financial, practical, rules);
        if let Some(reason) = problem {
            evaluation.financial.passed = false;
            evaluation.eligible = false;
            evaluation.financial.reasons.insert(0, reason);
        }
        Ok(evaluation)
    }
}
