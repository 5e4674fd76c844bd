//! Claims of non-code work: an organisation claims, with evidence, that one of its
//! people did something the data sources cannot see; a team lead of that team or a
//! reviewer verifies it (never whoever claimed it). An approved claim becomes an
//! activity through the ordinary ingest, so it is attributed and scored like the rest.

use fairshare_engine::requests::{Request, in_scope};
use fairshare_engine::{ActivityKind, IdentityKey, RequestKind, RequestState, Verdict};
use fairshare_records::{ActivityRecord, PersonRef, Skips};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column};

/// What an organisation claims.
#[derive(Debug, Clone)]
pub struct ClaimForm {
    /// The person's identity (an email, or `source:handle`).
    pub person: String,
    pub person_name: String,
    pub kind: ActivityKind,
    pub day: Date,
    pub team: String,
    pub evidence: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub id: i64,
    pub org: String,
    /// The organisation's name, as people read it.
    pub org_name: String,
    pub person: String,
    pub person_name: String,
    pub kind: ActivityKind,
    #[serde(with = "fairshare_engine::iso_date")]
    pub day: Date,
    pub team: String,
    pub evidence: String,
    pub description: String,
    pub status: RequestState,
    pub claimed_by: String,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
}

/// Kinds that only a claim can bring in (the sources see code, forum and chat).
pub const CLAIMABLE: [ActivityKind; 10] = [
    ActivityKind::EventOrganised,
    ActivityKind::TalkGiven,
    ActivityKind::MeetupHosted,
    ActivityKind::TeamLeadership,
    ActivityKind::ReleaseManagement,
    ActivityKind::Design,
    ActivityKind::Marketing,
    ActivityKind::Translation,
    ActivityKind::DocsChange,
    ActivityKind::OtherTask,
];

/// A `claims` row with its organisation's slug.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    org: String,
    org_name: String,
    person: String,
    person_name: String,
    kind: String,
    day: Date,
    team: String,
    evidence: String,
    description: String,
    status: String,
    claimed_by: String,
    decided_by: Option<String>,
    comment: Option<String>,
}

const SELECT: &str = "SELECT c.id, o.slug AS org, o.name AS org_name, c.person, c.person_name, c.kind, c.day, c.team, c.evidence, \
     c.description, c.status, c.claimed_by, c.decided_by, c.comment \
     FROM claims c JOIN organisations o ON o.id = c.org_id";

fn claim(row: ClaimRow) -> Result<Claim> {
    Ok(Claim {
        kind: parse_column("claims.kind", &row.kind)?,
        status: parse_column("claims.status", &row.status)?,
        id: row.id,
        org: row.org,
        org_name: row.org_name,
        person: row.person,
        person_name: row.person_name,
        day: row.day,
        team: row.team,
        evidence: row.evidence,
        description: row.description,
        claimed_by: row.claimed_by,
        decided_by: row.decided_by,
        comment: row.comment,
    })
}

impl Store {
    /// Records a claim for `org`; audited.
    pub async fn submit_claim(&self, org: &str, form: &ClaimForm, actor: &str) -> Result<i64> {
        let org_id = self.org_id(org).await?;
        let key = IdentityKey::parse(&form.person)
            .map_err(|e| StoreError::Invalid(format!("person: {e}")))?;
        if !CLAIMABLE.contains(&form.kind) {
            return Err(StoreError::Invalid(format!(
                "{} is counted from the data sources; claims are for non-code work",
                form.kind
            )));
        }
        for (field, value) in [
            ("team", &form.team),
            ("evidence", &form.evidence),
            ("description", &form.description),
        ] {
            if value.trim().is_empty() {
                return Err(StoreError::Invalid(format!("`{field}` is required")));
            }
        }
        fairshare_engine::links::web_link(&form.evidence)
            .map_err(|why| StoreError::Invalid(format!("`evidence`: {why}")))?;
        let mut tx = Tx::begin(self.db()).await?;
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO claims (org_id, person, person_name, kind, day, team, evidence, description, status, claimed_by, claimed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10) RETURNING id",
            )
            .bind(org_id)
            .bind(key.to_string())
            .bind(form.person_name.trim())
            .bind(form.kind.as_str())
            .bind(form.day)
            .bind(form.team.trim())
            .bind(form.evidence.trim())
            .bind(form.description.trim())
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        tx.audit(
            actor,
            "claims.submit",
            &format!("org:{org}"),
            serde_json::json!({ "claim": id, "kind": form.kind, "team": form.team }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The teams a claim may name: those work was recorded in over the 90 days before
    /// `today` (a range of the daily rollup's key, not a scan of it) and those with a
    /// lead to verify it, by name.
    pub async fn known_teams(&self, today: time::Date) -> Result<Vec<String>> {
        let since = (today - time::Duration::days(90)).to_string();
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT DISTINCT team FROM rollup_days WHERE day >= $1 AND team <> '' \
                 UNION SELECT scope FROM user_roles WHERE role = 'team_lead' AND scope <> '' ORDER BY 1",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(team,)| team).collect())
    }

    /// Claims of one organisation, or pending claims of some teams (None: all teams).
    pub async fn claims(
        &self,
        org: Option<&str>,
        pending_in: Option<&[String]>,
    ) -> Result<Vec<Claim>> {
        let rows: Vec<ClaimRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE ($1 = '' OR o.slug = $1) AND ($2 = 0 OR c.status = 'pending') ORDER BY c.id DESC"
            )))
            .bind(org.unwrap_or(""))
            .bind(i64::from(pending_in.is_some()))
            .fetch_all(pool)
            .await?
        });
        let mut claims = rows.into_iter().map(claim).collect::<Result<Vec<_>>>()?;
        claims
            .retain(|c| pending_in.is_none_or(|teams| teams.is_empty() || teams.contains(&c.team)));
        Ok(claims)
    }

    /// Approves or rejects a pending claim. `may_verify` says whether the actor may
    /// verify claims of that team; nobody verifies their own claim. An approval stores
    /// the activity first (idempotent on `claim:ID`), then the decision.
    pub async fn decide_claim(
        &self,
        id: i64,
        verdict: Verdict,
        comment: &str,
        actor: &str,
        may_verify: impl Fn(&str) -> bool,
    ) -> Result<()> {
        let rows: Vec<ClaimRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        let found = rows
            .into_iter()
            .next()
            .map(claim)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("no claim #{id}")))?;
        let concerns = [found.org.clone()];
        let request = Request {
            kind: RequestKind::Claim,
            id,
            state: found.status,
            submitted_by: &found.claimed_by,
            concerns: &concerns,
        };
        let status = self.decide_as(&request, actor, verdict).await?;
        in_scope(&request, may_verify(&found.team), || {
            format!(
                "it belongs to the team {}, which you do not lead",
                found.team
            )
        })?;
        if status == RequestState::Approved {
            let key = IdentityKey::parse(&found.person)
                .map_err(|e| StoreError::Corrupt(format!("claim #{id}: {e}")))?;
            let at: OffsetDateTime = found
                .day
                .with_hms(12, 0, 0)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .assume_utc();
            let mut record = ActivityRecord::new(
                format!("claim:{id}"),
                found.kind,
                PersonRef::new(key, Some(&found.person_name)),
                at,
            );
            record.team = Some(found.team.clone());
            record.url = Some(found.evidence.clone());
            record.title = Some(found.description.clone());
            record.on_behalf_of = Some(fairshare_records::OnBehalfOf::Org(found.org.clone()));
            let mut session = self
                .begin_ingest(
                    "claim",
                    &format!("claim #{id}"),
                    &format!("claim:{id}"),
                    actor,
                    &[],
                )
                .await?;
            session.add(&[record]).await?;
            session.finish(&Skips::default()).await?;
        }
        let mut tx = Tx::begin(self.db()).await?;
        tx.settle("claims", id, status, actor, comment).await?;
        tx.audit(
            actor,
            if status == RequestState::Approved {
                "claims.approve"
            } else {
                "claims.reject"
            },
            &format!("org:{}", found.org),
            serde_json::json!({ "claim": id, "comment": comment }),
        )
        .await?;
        tx.commit().await
    }
}
