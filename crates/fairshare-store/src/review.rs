//! The monthly review: every partner re-evaluated (partner → at risk → lapsed after the
//! grace period, back to partner when both criteria pass again, each change a notice),
//! then the month's ranking published as a frozen snapshot with the rules it used.
//! Reviewing a month twice changes nothing; republishing needs a reason and is audited.

use std::collections::{HashMap, HashSet};

use fairshare_engine::lifecycle::{MonthJudgement, Transition, next_status};
use fairshare_engine::ranking::{self, Ranked, Standing};
use fairshare_engine::{Month, PartnerStatus, ProgrammeRules};
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

use crate::scores::EvaluationCache;
use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column, parse_decimal};

/// A partner as a monthly review reads it.
struct ReviewedPartner {
    id: i64,
    slug: String,
    status: PartnerStatus,
    /// The month its status began.
    since: Option<Month>,
}

/// What a review decided for one partner.
struct StatusChange<'a> {
    partner: &'a ReviewedPartner,
    transition: Transition,
}

/// A partner's status moved by a monthly review, with why.
#[derive(Debug, Clone, Serialize)]
pub struct StatusNotice {
    pub org: String,
    pub month: String,
    pub from: PartnerStatus,
    pub to: PartnerStatus,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankingEntry {
    pub rank: i64,
    pub org: String,
    pub score: Decimal,
    pub members: i64,
    pub previous_rank: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ranking {
    pub month: Month,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    pub published_by: String,
    pub rules: serde_json::Value,
    pub entries: Vec<RankingEntry>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewOutcome {
    /// `org: from → to (reason)` for each status change.
    pub changes: Vec<String>,
    pub ranked: usize,
    /// The month had been reviewed before: nothing changed.
    pub already_reviewed: bool,
    /// The ranking as published (or, for a preview, as it would be).
    pub entries: Vec<RankingEntry>,
}

impl Store {
    pub async fn ranking(&self, month: Month) -> Result<Option<Ranking>> {
        let head: Option<(OffsetDateTime, String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT published_at, published_by, rules FROM rankings WHERE month = $1")
                .bind(month.to_string())
                .fetch_optional(pool)
                .await?
        });
        let Some((published_at, published_by, rules)) = head else {
            return Ok(None);
        };
        #[derive(sqlx::FromRow)]
        struct Row {
            rank: i64,
            org: String,
            score: String,
            members: i64,
            previous_rank: Option<i64>,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT rank, org, score, members, previous_rank FROM ranking_entries WHERE month = $1 ORDER BY rank")
                .bind(month.to_string())
                .fetch_all(pool)
                .await?
        });
        let entries = rows
            .into_iter()
            .map(|row| {
                Ok(RankingEntry {
                    score: parse_decimal("score", &row.score)?,
                    rank: row.rank,
                    org: row.org,
                    members: row.members,
                    previous_rank: row.previous_rank,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(Ranking {
            month,
            published_at,
            published_by,
            rules: serde_json::from_str(&rules).unwrap_or_default(),
            entries,
        }))
    }

    /// The status changes monthly reviews made to one organisation (the notices it
    /// sees), newest first.
    pub async fn status_notices(&self, org: &str, limit: i64) -> Result<Vec<StatusNotice>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            org: String,
            month: String,
            from_status: String,
            to_status: String,
            reason: String,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT o.slug AS org, c.month, c.from_status, c.to_status, c.reason FROM status_changes c \
                 JOIN organisations o ON o.id = c.org_id WHERE o.slug = $1 \
                 ORDER BY c.id DESC LIMIT $2",
            )
            .bind(org)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(StatusNotice {
                    from: parse_column("status_changes.from_status", &row.from_status)?,
                    to: parse_column("status_changes.to_status", &row.to_status)?,
                    org: row.org,
                    month: row.month,
                    reason: row.reason,
                })
            })
            .collect()
    }

    /// Reviews `month` (complete): statuses, notices, and the ranking snapshot. One
    /// review or republication at a time, across every process and instance: one
    /// started meanwhile waits, then finds the month reviewed.
    pub async fn review_month(
        &self,
        month: Month,
        rules: &ProgrammeRules,
        republish: Option<&str>,
        actor: &str,
    ) -> Result<ReviewOutcome> {
        self.exclusively(
            crate::locks::Exclusive::Review,
            self.review_month_alone(month, rules, republish, actor, false),
        )
        .await
    }

    /// What reviewing `month` would do now — status changes with reasons and the
    /// ranking — without writing anything: the draft a reviewer approves.
    pub async fn preview_review(
        &self,
        month: Month,
        rules: &ProgrammeRules,
    ) -> Result<ReviewOutcome> {
        self.review_month_alone(month, rules, None, "preview", true)
            .await
    }

    async fn review_month_alone(
        &self,
        month: Month,
        rules: &ProgrammeRules,
        republish: Option<&str>,
        actor: &str,
        preview: bool,
    ) -> Result<ReviewOutcome> {
        let existing = self.ranking(month).await?;
        match (&existing, republish) {
            (Some(_), None) => {
                return Ok(ReviewOutcome {
                    already_reviewed: true,
                    ..Default::default()
                });
            }
            (None, Some(_)) => {
                return Err(StoreError::Invalid(format!(
                    "{month} has no published ranking to republish"
                )));
            }
            (Some(_), Some(reason)) if reason.trim().is_empty() => {
                return Err(StoreError::Invalid(
                    "republishing needs a reason (--reason)".into(),
                ));
            }
            _ => {}
        }
        let as_of = month.next().first_day();
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            slug: String,
            status: String,
            status_since: Option<String>,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, slug, status, status_since FROM organisations WHERE status IN ('partner', 'at_risk') ORDER BY slug")
                .fetch_all(pool)
                .await?
        });
        let orgs: Vec<ReviewedPartner> = rows
            .into_iter()
            .map(|row| {
                Ok(ReviewedPartner {
                    id: row.id,
                    status: parse_column("organisations.status", &row.status)?,
                    since: row.status_since.as_deref().and_then(|s| s.parse().ok()),
                    slug: row.slug,
                })
            })
            .collect::<Result<_>>()?;
        let mut changes: Vec<StatusChange> = Vec::new();
        // Every partner is judged on the same months: score each month once.
        let mut cache = EvaluationCache::for_everyone();
        if existing.is_none() {
            for partner in &orgs {
                let evaluation = self
                    .evaluate_cached(&partner.slug, as_of, rules, &mut cache)
                    .await?;
                let reasons = evaluation
                    .financial
                    .reasons
                    .iter()
                    .chain(&evaluation.practical.reasons)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ");
                let judgement = MonthJudgement {
                    month,
                    eligible: evaluation.eligible,
                    reasons: &reasons,
                };
                if let Some(transition) =
                    next_status(partner.status, partner.since, judgement, rules.grace_months)
                {
                    changes.push(StatusChange {
                        partner,
                        transition,
                    });
                }
            }
        }
        let previous_scores: HashMap<String, Decimal> = cache
            .month_scores(self, month.previous(), &rules.scoring)
            .await?
            .iter()
            .map(|(org, s)| (org.clone(), s.score.score))
            .collect();
        let scores = cache.month_scores(self, month, &rules.scoring).await?;
        let previous = self.ranking(month.previous()).await?;
        let previous_ranks: HashMap<&str, i64> = previous
            .iter()
            .flat_map(|p| &p.entries)
            .map(|e| (e.org.as_str(), e.rank))
            .collect();

        let lapsed: HashSet<&str> = changes
            .iter()
            .filter(|c| c.transition.to == PartnerStatus::Lapsed)
            .map(|c| c.partner.slug.as_str())
            .collect();
        let standings: Vec<Standing<String>> = orgs
            .iter()
            .filter(|partner| !lapsed.contains(partner.slug.as_str()))
            .map(|partner| {
                let s = scores.get(&partner.slug);
                Standing {
                    org: partner.slug.clone(),
                    score: s.map(|s| s.score.score).unwrap_or_default(),
                    members: s.map(|s| s.score.members).unwrap_or(0),
                    previous_score: previous_scores
                        .get(&partner.slug)
                        .copied()
                        .unwrap_or_default(),
                    extra: s
                        .map(|s| serde_json::to_string(&s.score.by_kind).unwrap_or_default())
                        .unwrap_or_else(|| "{}".into()),
                }
            })
            .collect();
        let ranked = ranking::rank(standings);
        let described: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "{}: {} → {} ({})",
                    c.partner.slug, c.partner.status, c.transition.to, c.transition.reason
                )
            })
            .collect();
        let entries: Vec<RankingEntry> = ranked
            .iter()
            .map(|Ranked { rank, standing }| RankingEntry {
                rank: *rank as i64,
                org: standing.org.clone(),
                score: standing.score.normalize(),
                members: standing.members as i64,
                previous_rank: previous_ranks.get(standing.org.as_str()).copied(),
            })
            .collect();
        if preview {
            return Ok(ReviewOutcome {
                changes: described,
                ranked: ranked.len(),
                already_reviewed: false,
                entries,
            });
        }
        let rules_json = serde_json::json!({ "scoring": &rules.scoring, "eligibility": &rules.eligibility, "grace_months": rules.grace_months });
        let mut tx = Tx::begin(self.db()).await?;
        let key = month.to_string();
        for change in &changes {
            let (partner, to, reason) = (
                change.partner,
                change.transition.to.as_str(),
                &change.transition.reason,
            );
            on_tx!(&mut tx, conn => {
                sqlx::query("UPDATE organisations SET status = $1, status_since = $2 WHERE id = $3")
                    .bind(to)
                    .bind(&key)
                    .bind(partner.id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("INSERT INTO status_changes (org_id, month, from_status, to_status, reason, at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(partner.id)
                    .bind(&key)
                    .bind(partner.status.as_str())
                    .bind(to)
                    .bind(reason)
                    .bind(crate::now())
                    .execute(&mut *conn)
                    .await?;
            });
            tx.audit(
                actor,
                "partners.status",
                &format!("org:{}", partner.slug),
                serde_json::json!({ "month": key, "from": partner.status.as_str(), "to": to, "reason": reason }),
            )
            .await?;
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("DELETE FROM ranking_entries WHERE month = $1").bind(&key).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM rankings WHERE month = $1").bind(&key).execute(&mut *conn).await?;
            sqlx::query("INSERT INTO rankings (month, published_at, published_by, rules, reason) VALUES ($1, $2, $3, $4, $5)")
                .bind(&key)
                .bind(crate::now())
                .bind(actor)
                .bind(rules_json.to_string())
                .bind(republish.unwrap_or("monthly review"))
                .execute(&mut *conn)
                .await?;
        });
        for Ranked { rank, standing } in &ranked {
            let previous_rank = previous_ranks.get(standing.org.as_str()).copied();
            on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO ranking_entries (month, rank, org, score, members, previous_rank, breakdown) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&key)
                    .bind(*rank as i64)
                    .bind(&standing.org)
                    .bind(standing.score.normalize().to_string())
                    .bind(standing.members as i64)
                    .bind(previous_rank)
                    .bind(&standing.extra)
                    .execute(conn)
                    .await?;
            });
        }
        let action = if republish.is_some() {
            "ranking.republish"
        } else {
            "ranking.publish"
        };
        tx.audit(
            actor,
            action,
            &format!("ranking:{key}"),
            serde_json::json!({ "entries": ranked.len(), "reason": republish }),
        )
        .await?;
        tx.commit().await?;
        Ok(ReviewOutcome {
            changes: described,
            ranked: ranked.len(),
            already_reviewed: false,
            entries,
        })
    }
}
