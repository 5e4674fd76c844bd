//! What the public site, the JSON API and the community report show, read-only: the
//! partner directory of a published ranking, partner profiles (rank history,
//! contribution mix, staff who opted in), recognition, and the community report over a
//! window. Only published rankings are shown, and a person is named only with their
//! consent (`members.listed`); bots never count.

use std::collections::BTreeMap;

use fairshare_engine::{MemberId, Month, PartnerStatus};
use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column, parse_decimal};

/// A partner as the directory shows it, from a published ranking.
#[derive(Debug, Clone, Serialize)]
pub struct PublicPartner {
    pub rank: i64,
    pub slug: String,
    pub name: String,
    pub country: Option<String>,
    pub website: Option<String>,
    #[serde(with = "fairshare_engine::decimal_text")]
    pub score: Decimal,
    pub members: i64,
    pub previous_rank: Option<i64>,
    pub services: Vec<String>,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
}

impl PublicPartner {
    /// Places gained since the previous month (negative: lost); None when new.
    pub fn movement(&self) -> Option<i64> {
        self.previous_rank.map(|p| p - self.rank)
    }
}

/// What an organisation says of itself on its public page.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Profile {
    pub description: String,
    pub services: Vec<String>,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    /// An https address of the organisation's logo.
    pub logo_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankPoint {
    pub month: Month,
    pub rank: i64,
    #[serde(with = "fairshare_engine::decimal_text")]
    pub score: Decimal,
}

/// A month's activities of one organisation by kind and by team.
#[derive(Debug, Clone, Serialize)]
pub struct MonthMix {
    pub month: Month,
    pub by_kind: BTreeMap<String, i64>,
    pub by_team: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerPage {
    pub slug: String,
    pub name: String,
    pub country: Option<String>,
    pub website: Option<String>,
    pub status: PartnerStatus,
    pub profile: Profile,
    /// When its application was approved (or, without one, the month it became a partner).
    pub partner_since: Option<String>,
    pub ranks: Vec<RankPoint>,
    pub mix: Vec<MonthMix>,
    /// Current staff who agreed to be named.
    pub staff: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopContributor {
    /// Their name if they agreed to be named.
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub activities: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TopOrganisation {
    pub slug: String,
    pub name: String,
    pub activities: i64,
    pub contributors: i64,
}

/// One week (or the window's last, shorter stretch) of the trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    #[serde(with = "fairshare_engine::iso_date")]
    pub from: Date,
    pub activities: i64,
    pub contributors: i64,
}

/// The community report over `[from, to]` (whole UTC days).
#[derive(Debug, Clone, Serialize)]
pub struct CommunityReport {
    #[serde(with = "fairshare_engine::iso_date")]
    pub from: Date,
    #[serde(with = "fairshare_engine::iso_date")]
    pub to: Date,
    pub activities: i64,
    pub active_contributors: i64,
    /// Contributors whose first activity ever falls in the window.
    pub new_contributors: i64,
    /// Activities in the window of the same length just before.
    pub previous_activities: i64,
    /// The last day with any activity up to the window's end: the data behind the
    /// report stops there (no import since, or a quiet spell).
    #[serde(with = "fairshare_engine::iso_date::option")]
    pub data_until: Option<Date>,
    /// Contributors active in the window of the same length just before.
    pub previous_contributors: i64,
    /// Of those, the ones active again in this window.
    pub retained_contributors: i64,
    pub by_kind: Vec<Count>,
    pub by_source: Vec<Count>,
    pub by_team: Vec<Count>,
    pub top_contributors: Vec<TopContributor>,
    pub top_organisations: Vec<TopOrganisation>,
    pub trend: Vec<TrendPoint>,
}

impl CommunityReport {
    /// Share of the previous window's contributors active again, in percent.
    pub fn retention_percent(&self) -> Option<Decimal> {
        (self.previous_contributors > 0).then(|| {
            (Decimal::from(self.retained_contributors * 100)
                / Decimal::from(self.previous_contributors))
            .round_dp(1)
        })
    }
}

/// People who agreed to be named, for the recognition page.
#[derive(Debug, Clone, Serialize)]
pub struct Recognition {
    /// Listed people with an activity in the last twelve months, most active first.
    pub contributors: Vec<Count>,
    /// Partners of the latest ranking, in rank order.
    pub partners: Vec<PublicPartner>,
    /// Organisations that paid something in the last twelve months, by name.
    pub sponsors: Vec<String>,
}

/// A ranking entry with its organisation's public details.
#[derive(sqlx::FromRow)]
struct PartnerRow {
    rank: i64,
    org: String,
    name: String,
    country: Option<String>,
    website: Option<String>,
    score: String,
    members: i64,
    previous_rank: Option<i64>,
    services: String,
    languages: String,
    regions: String,
}

/// An organisation's profile columns (lists as JSON arrays).
#[derive(sqlx::FromRow)]
struct ProfileRow {
    description: String,
    services: String,
    languages: String,
    regions: String,
    logo_url: Option<String>,
}

impl ProfileRow {
    fn into_profile(self) -> Result<Profile> {
        Ok(Profile {
            services: strings("services", &self.services)?,
            languages: strings("languages", &self.languages)?,
            regions: strings("regions", &self.regions)?,
            description: self.description,
            logo_url: self.logo_url,
        })
    }
}

fn strings(field: &str, json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))
}

impl Store {
    /// The latest month with a published ranking.
    pub async fn latest_ranking_month(&self) -> Result<Option<Month>> {
        let row: Option<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT month FROM rankings ORDER BY month DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        });
        row.map(|(m,)| {
            m.parse()
                .map_err(|_| StoreError::Corrupt(format!("ranking month `{m}`")))
        })
        .transpose()
    }

    /// Every month with a published ranking, oldest first.
    pub async fn ranking_months(&self) -> Result<Vec<Month>> {
        let rows: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT month FROM rankings ORDER BY month")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(m,)| {
                m.parse()
                    .map_err(|_| StoreError::Corrupt(format!("ranking month `{m}`")))
            })
            .collect()
    }

    /// Changes whenever anything public may have changed: every state change is
    /// audited (a ranking published, a profile edited, a consent given, a claim
    /// approved) and every import is a run. Caches of public pages key on it.
    pub async fn public_data_version(&self) -> Result<String> {
        let (audit, runs): (i64, i64) = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_log), (SELECT COALESCE(MAX(id), 0) FROM import_runs)",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(format!("{audit}.{runs}"))
    }

    /// The latest published ranking's month and partners (none before the first).
    pub async fn latest_partners(&self) -> Result<(Option<Month>, Vec<PublicPartner>)> {
        Ok(match self.latest_ranking_month().await? {
            Some(month) => (Some(month), self.public_partners(month).await?),
            None => (None, Vec::new()),
        })
    }

    /// The partners of `month`'s published ranking, in rank order.
    pub async fn public_partners(&self, month: Month) -> Result<Vec<PublicPartner>> {
        self.ranked_partners(month, None).await
    }

    /// The latest ranking's month, its first three and `slug`'s own place in rank
    /// order: what the portal and a badge need, without reading the whole ranking.
    pub async fn latest_podium_and(
        &self,
        slug: &str,
    ) -> Result<(Option<Month>, Vec<PublicPartner>)> {
        Ok(match self.latest_ranking_month().await? {
            Some(month) => (Some(month), self.ranked_partners(month, Some(slug)).await?),
            None => (None, Vec::new()),
        })
    }

    /// `month`'s ranked partners: all of them, or with `podium_and` the first three and
    /// that organisation.
    async fn ranked_partners(
        &self,
        month: Month,
        podium_and: Option<&str>,
    ) -> Result<Vec<PublicPartner>> {
        let only = match podium_and {
            None => "",
            Some(_) => " AND (e.rank <= 3 OR e.org = $2)",
        };
        let sql = format!(
            "SELECT e.rank, e.org, o.name, o.country, o.website, e.score, e.members, e.previous_rank, \
             o.services, o.languages, o.regions \
             FROM ranking_entries e JOIN organisations o ON o.slug = e.org \
             WHERE e.month = $1{only} ORDER BY e.rank"
        );
        let rows: Vec<PartnerRow> = on_pool!(self.db(), pool => {
            let query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(month.to_string());
            match podium_and {
                None => query,
                Some(slug) => query.bind(slug),
            }
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(PublicPartner {
                    score: parse_decimal("score", &row.score)?,
                    services: strings("services", &row.services)?,
                    languages: strings("languages", &row.languages)?,
                    regions: strings("regions", &row.regions)?,
                    rank: row.rank,
                    slug: row.org,
                    name: row.name,
                    country: row.country,
                    website: row.website,
                    members: row.members,
                    previous_rank: row.previous_rank,
                })
            })
            .collect()
    }

    /// An organisation's public page; None unless it is, or was, a ranked partner.
    pub async fn partner_page(&self, slug: &str, today: Date) -> Result<Option<PartnerPage>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            name: String,
            country: Option<String>,
            website: Option<String>,
            status: String,
            status_since: Option<String>,
            #[sqlx(flatten)]
            profile: ProfileRow,
        }
        let row: Option<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, name, country, website, status, status_since, description, services, languages, regions, logo_url \
                 FROM organisations WHERE slug = $1",
            )
            .bind(slug)
            .fetch_optional(pool)
            .await?
        });
        let Some(Row {
            id,
            name,
            country,
            website,
            status,
            status_since: since,
            profile,
        }) = row
        else {
            return Ok(None);
        };
        let status: PartnerStatus = parse_column("organisations.status", &status)?;
        let ranks: Vec<(String, i64, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT month, rank, score FROM ranking_entries WHERE org = $1 ORDER BY month")
                .bind(slug)
                .fetch_all(pool)
                .await?
        });
        if ranks.is_empty() && !status.is_partner() {
            return Ok(None);
        }
        let ranks = ranks
            .into_iter()
            .map(|(month, rank, score)| {
                Ok(RankPoint {
                    month: month
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("ranking month `{month}`")))?,
                    rank,
                    score: parse_decimal("score", &score)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let approved: Option<(Option<OffsetDateTime>,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT MAX(decided_at) FROM applications WHERE org_id = $1 AND status = 'approved'")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        // The first ranking it appears in, else its approval, else its status date.
        let partner_since = match (ranks.first(), approved.and_then(|(at,)| at)) {
            (Some(first), _) => Some(first.month.to_string()),
            (None, Some(at)) => Some(at.date().to_string()),
            (None, None) => since,
        };
        let last = Month::of(today).previous();
        let first = (1..12).fold(last, |m, _| m.previous());
        let rows: Vec<(String, String, String, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT month, kind, team, CAST(SUM(n) AS BIGINT) FROM rollup_months \
                 WHERE org_id = $1 AND month >= $2 AND month <= $3 GROUP BY month, kind, team",
            )
            .bind(id)
            .bind(first.to_string())
            .bind(last.to_string())
            .fetch_all(pool)
            .await?
        });
        let mut mix: Vec<MonthMix> = first
            .through(last)
            .map(|month| MonthMix {
                month,
                by_kind: BTreeMap::new(),
                by_team: BTreeMap::new(),
            })
            .collect();
        for (month, kind, team, count) in rows {
            let month: Month = parse_column("rollup_months.month", &month)?;
            let Some(entry) = mix.iter_mut().find(|m| m.month == month) else {
                continue;
            };
            *entry.by_kind.entry(kind).or_default() += count;
            let team = if team.is_empty() {
                "no team".into()
            } else {
                team
            };
            *entry.by_team.entry(team).or_default() += count;
        }
        // Its people who agreed to be named: affiliated today, or credited to it in the
        // last twelve months however that came about (an email domain, a trailer).
        let mut since = Month::of(today);
        for _ in 0..12 {
            since = since.previous();
        }
        let staff: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT DISTINCT m.display_name FROM members m \
                 WHERE m.listed AND NOT m.is_bot AND (m.id IN ( \
                   SELECT f.member_id FROM affiliations f WHERE f.org_id = $1 \
                   AND (f.valid_from IS NULL OR f.valid_from <= $2) AND (f.valid_until IS NULL OR f.valid_until >= $2)) \
                 OR m.id IN (SELECT r.member_id FROM rollup_months r WHERE r.org_id = $1 AND r.month >= $3 AND r.n > 0)) \
                 ORDER BY m.display_name",
            )
            .bind(id)
            .bind(today)
            .bind(since.to_string())
            .fetch_all(pool)
            .await?
        });
        Ok(Some(PartnerPage {
            slug: slug.to_string(),
            name,
            country,
            website,
            status,
            profile: profile.into_profile()?,
            partner_since,
            ranks,
            mix,
            staff: staff.into_iter().map(|(n,)| n).collect(),
        }))
    }

    /// What an organisation shows of itself.
    pub async fn partner_profile_of(&self, slug: &str) -> Result<Profile> {
        let row: Option<ProfileRow> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT description, services, languages, regions, logo_url FROM organisations WHERE slug = $1")
                .bind(slug)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("no organisation `{slug}`")))?
            .into_profile()
    }

    /// Sets what an organisation shows of itself; audited.
    pub async fn set_profile(&self, slug: &str, profile: &Profile, actor: &str) -> Result<()> {
        if let Some(logo) = &profile.logo_url
            && (!logo.trim().to_ascii_lowercase().starts_with("https://")
                || fairshare_engine::links::web_link(logo).is_err())
        {
            return Err(StoreError::Invalid(
                "`logo_url` must be an https:// address of an image".into(),
            ));
        }
        let id = self.org_id(slug).await?;
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let mut tx = Tx::begin(self.db()).await?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE organisations SET description = $1, services = $2, languages = $3, regions = $4, logo_url = $5 WHERE id = $6")
                .bind(&profile.description)
                .bind(json(&profile.services))
                .bind(json(&profile.languages))
                .bind(json(&profile.regions))
                .bind(&profile.logo_url)
                .bind(id)
                .execute(conn)
                .await?;
        });
        tx.audit(
            actor,
            "organisations.profile",
            &format!("org:{slug}"),
            serde_json::to_value(profile).unwrap_or_default(),
        )
        .await?;
        tx.commit().await
    }

    /// Records a person's consent (or its withdrawal) to be named on public pages.
    pub async fn set_listed(&self, member: MemberId, listed: bool, actor: &str) -> Result<()> {
        let member = member.0;
        let mut tx = Tx::begin(self.db()).await?;
        let changed = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE members SET listed = $1 WHERE id = $2")
                .bind(listed)
                .bind(member)
                .execute(conn)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no member #{member}")));
        }
        tx.audit(
            actor,
            if listed {
                "members.opt_in"
            } else {
                "members.opt_out"
            },
            &format!("member:{member}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await
    }

    /// The recognition page's lists, for the twelve months before `today`.
    pub async fn recognition(&self, today: Date) -> Result<Recognition> {
        let contributors: Vec<(String, i64)> = on_pool!(self.db(), pool => {
            // The people who agreed to be named, each with their daily counts (bots are
            // never in the rollups).
            sqlx::query_as(
                "SELECT m.display_name, CAST(SUM(d.n) AS BIGINT) FROM members m \
                 JOIN rollup_member_days d ON d.member_id = m.id AND d.day >= $1 \
                 WHERE m.listed GROUP BY m.id, m.display_name \
                 ORDER BY SUM(d.n) DESC, m.display_name LIMIT 500",
            )
            .bind((today - Duration::days(365)).to_string())
            .fetch_all(pool)
            .await?
        });
        let sponsors: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT DISTINCT o.name FROM payments p \
                 LEFT JOIN sponsor_accounts s ON s.platform = p.platform AND s.account = p.account \
                 JOIN organisations o ON o.id = COALESCE(p.org_id, s.org_id) \
                 WHERE p.paid_on >= $1 AND p.removed_at IS NULL ORDER BY o.name",
            )
            .bind(today - Duration::days(365))
            .fetch_all(pool)
            .await?
        });
        let (_, partners) = self.latest_partners().await?;
        Ok(Recognition {
            contributors: contributors
                .into_iter()
                .map(|(name, count)| Count { name, count })
                .collect(),
            partners,
            sponsors: sponsors.into_iter().map(|(n,)| n).collect(),
        })
    }
}
