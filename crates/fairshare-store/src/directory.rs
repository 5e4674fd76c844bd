//! Who is who: organisations and their email domains, members and their identities,
//! dated affiliations, merges and splits — and keeping every activity's attribution in
//! step with them.

use std::collections::{BTreeSet, HashMap};

use fairshare_engine::{
    Affiliation, AttributionInput, DomainIndex, IdentityKey, IdentityKind, MemberId, PartnerStatus,
    Reason, attribute,
};
use fairshare_records::PersonRef;
use fairshare_records::{AffiliationRecord, OrgName, OrgRecord};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::rollups;
use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column};

#[derive(Debug, Clone, Serialize)]
pub struct Organisation {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub country: Option<String>,
    pub website: Option<String>,
    pub domains: Vec<String>,
    /// Where it is in the programme.
    pub status: PartnerStatus,
}

/// An organisation's place in the programme, for the console's list.
#[derive(Debug, Clone, Serialize)]
pub struct OrganisationStatus {
    pub slug: String,
    pub name: String,
    pub country: Option<String>,
    pub status: PartnerStatus,
    /// The month its status began (set by monthly reviews).
    pub since: Option<String>,
    /// Why the latest monthly review changed its status, if one did.
    pub last_review: Option<String>,
}

/// A member as the console's list shows them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MemberSummary {
    pub id: i64,
    pub display_name: String,
    pub is_bot: bool,
    /// How many identities (addresses, accounts) are theirs.
    pub identities: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgImportSummary {
    pub read: usize,
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Activities whose organisation changed because domains changed.
    pub reattributed: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AffiliationImportSummary {
    pub read: usize,
    pub new: usize,
    pub already_known: usize,
    pub members_new: usize,
    /// `line N: reason` for each refused line.
    pub refused: Vec<String>,
    pub reattributed: u64,
}

/// A member with everything known about them.
#[derive(Debug, Clone, Serialize)]
pub struct MemberDetail {
    pub id: MemberId,
    pub display_name: String,
    pub is_bot: bool,
    /// Agreed to be named on the public pages.
    pub listed: bool,
    pub identities: Vec<String>,
    pub affiliations: Vec<AffiliationDetail>,
    /// Activities per credited organisation (`unaffiliated` when none).
    pub activities_by_org: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AffiliationDetail {
    pub id: i64,
    pub org: String,
    #[serde(with = "fairshare_engine::iso_date::option")]
    pub from: Option<Date>,
    #[serde(with = "fairshare_engine::iso_date::option")]
    pub until: Option<Date>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberChange {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub from_member: i64,
    pub to_member: i64,
    pub identities: Vec<i64>,
    pub reason: String,
    pub undone: bool,
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    slug: String,
    name: String,
    country: Option<String>,
    website: Option<String>,
    status: String,
}

impl OrgRow {
    fn into_organisation(self, domains: Vec<String>) -> Result<Organisation> {
        Ok(Organisation {
            status: parse_column("organisations.status", &self.status)?,
            id: self.id,
            slug: self.slug,
            name: self.name,
            country: self.country,
            website: self.website,
            domains,
        })
    }
}

/// A `member_changes` row (a merge or split), its moved ids as JSON.
#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    at: OffsetDateTime,
    actor: String,
    action: String,
    from_member_id: i64,
    to_member_id: i64,
    identity_ids: String,
    reason: String,
    undone_at: Option<OffsetDateTime>,
}

/// What a merge or split moved, kept so it can be undone.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Moved {
    identities: Vec<i64>,
    affiliations: Vec<i64>,
}

impl Store {
    pub async fn organisations(&self) -> Result<Vec<Organisation>> {
        let orgs: Vec<OrgRow> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, slug, name, country, website, status FROM organisations ORDER BY slug")
                .fetch_all(pool)
                .await?
        });
        let domains: Vec<(String, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT domain, org_id FROM org_domains ORDER BY domain")
                .fetch_all(pool)
                .await?
        });
        let mut domains_of: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for (domain, org) in domains {
            domains_of.entry(org).or_default().push(domain);
        }
        orgs.into_iter()
            .map(|row| {
                let domains = domains_of.remove(&row.id).unwrap_or_default();
                row.into_organisation(domains)
            })
            .collect()
    }

    /// One page of members whose name contains `text` (any case; every member when
    /// empty), by name or by number, with how many match in all.
    pub async fn search_members(
        &self,
        text: &str,
        (by_name, descending): (bool, bool),
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<MemberSummary>, i64)> {
        let pattern = crate::like_pattern(&text.trim().to_lowercase(), false);
        let order = match (by_name, descending) {
            (true, false) => "LOWER(m.display_name), m.id",
            (true, true) => "LOWER(m.display_name) DESC, m.id",
            (false, false) => "m.id",
            (false, true) => "m.id DESC",
        };
        let page_sql = format!(
            "SELECT m.id, m.display_name, m.is_bot, \
             (SELECT COUNT(*) FROM identities i WHERE i.member_id = m.id) AS identities \
             FROM members m WHERE LOWER(m.display_name) LIKE $1 ESCAPE '\\' \
             ORDER BY {order} LIMIT $2 OFFSET $3"
        );
        let (rows, total): (Vec<MemberSummary>, (i64,)) = on_pool!(self.db(), pool => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(page_sql))
                .bind(&pattern)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_as(
                "SELECT COUNT(*) FROM members WHERE LOWER(display_name) LIKE $1 ESCAPE '\\'",
            )
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        Ok((rows, total.0))
    }

    /// Every organisation with its programme status, for the console.
    pub async fn organisation_statuses(&self) -> Result<Vec<OrganisationStatus>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            slug: String,
            name: String,
            country: Option<String>,
            status: String,
            status_since: Option<String>,
            last_review: Option<String>,
        }
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT o.slug, o.name, o.country, o.status, o.status_since, c.reason AS last_review \
                 FROM organisations o \
                 LEFT JOIN (SELECT org_id, MAX(id) AS id FROM status_changes GROUP BY org_id) l ON l.org_id = o.id \
                 LEFT JOIN status_changes c ON c.id = l.id ORDER BY o.status, o.slug",
            )
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(OrganisationStatus {
                    status: parse_column("organisations.status", &row.status)?,
                    slug: row.slug,
                    name: row.name,
                    country: row.country,
                    since: row.status_since,
                    last_review: row.last_review,
                })
            })
            .collect()
    }

    /// People who may be one person: members (not bots) with the same display name,
    /// ignoring case and surrounding spaces, grouped, the largest groups first. A reviewer decides;
    /// nothing is merged automatically on a name alone.
    pub async fn merge_suggestions(&self, limit: i64) -> Result<Vec<Vec<(i64, String)>>> {
        let rows: Vec<(String, i64, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT LOWER(TRIM(m.display_name)), m.id, m.display_name FROM members m \
                 WHERE NOT m.is_bot AND LOWER(TRIM(m.display_name)) IN ( \
                   SELECT LOWER(TRIM(display_name)) FROM members WHERE NOT is_bot AND TRIM(display_name) LIKE '% %' \
                   GROUP BY LOWER(TRIM(display_name)) HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT $1) \
                 ORDER BY 1, m.id",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut groups: Vec<Vec<(i64, String)>> = Vec::new();
        let mut last: Option<String> = None;
        for (key, id, name) in rows {
            if last.as_deref() != Some(key.as_str()) {
                groups.push(Vec::new());
                last = Some(key);
            }
            if let Some(group) = groups.last_mut() {
                group.push((id, name));
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
        Ok(groups)
    }

    /// One organisation by slug, with its domains.
    pub async fn organisation(&self, slug: &str) -> Result<Organisation> {
        let row: Option<OrgRow> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, slug, name, country, website, status FROM organisations WHERE slug = $1")
                .bind(slug)
                .fetch_optional(pool)
                .await?
        });
        let row = row.ok_or_else(|| StoreError::NotFound(format!("no organisation `{slug}`")))?;
        let domains: Vec<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT domain FROM org_domains WHERE org_id = $1 ORDER BY domain")
                .bind(row.id)
                .fetch_all(pool)
                .await?
        });
        row.into_organisation(domains.into_iter().map(|(d,)| d).collect())
    }

    /// Creates or updates organisations by slug, in one transaction. Each row's domains
    /// replace that organisation's domains; a domain held by an organisation outside
    /// the file is an error naming the line.
    pub async fn import_orgs(
        &self,
        input: &str,
        digest: &str,
        rows: &[OrgRecord],
        actor: &str,
    ) -> Result<OrgImportSummary> {
        let mut summary = OrgImportSummary {
            read: rows.len(),
            ..Default::default()
        };
        let mut tx = Tx::begin(self.db()).await?;
        let run_id = tx.start_run("orgs", input, digest, actor).await?;
        let mut changed_domains: BTreeSet<String> = BTreeSet::new();
        let mut ids = Vec::with_capacity(rows.len());
        let mut unchanged_rows = Vec::with_capacity(rows.len());
        let mut domain_changed: BTreeSet<i64> = BTreeSet::new();
        for row in rows {
            #[derive(sqlx::FromRow)]
            struct Existing {
                id: i64,
                name: String,
                country: Option<String>,
                website: Option<String>,
            }
            let existing: Option<Existing> = on_tx!(&mut tx, conn => {
                sqlx::query_as("SELECT id, name, country, website FROM organisations WHERE slug = $1")
                    .bind(&row.slug)
                    .fetch_optional(conn)
                    .await?
            });
            let country = row.country.map(|c| c.to_string());
            let id = match existing {
                Some(Existing {
                    id,
                    name,
                    country: old_country,
                    website,
                }) => {
                    if (name.as_str(), &old_country, &website)
                        == (row.name.as_str(), &country, &row.website)
                    {
                        unchanged_rows.push(id);
                    } else {
                        on_tx!(&mut tx, conn => {
                            sqlx::query("UPDATE organisations SET name = $1, country = $2, website = $3 WHERE id = $4")
                                .bind(&row.name)
                                .bind(&country)
                                .bind(&row.website)
                                .bind(id)
                                .execute(conn)
                                .await?;
                        });
                        summary.updated += 1;
                    }
                    id
                }
                None => {
                    let (id,): (i64,) = on_tx!(&mut tx, conn => {
                        sqlx::query_as(
                            "INSERT INTO organisations (slug, name, country, website, created_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(&row.slug)
                        .bind(&row.name)
                        .bind(&country)
                        .bind(&row.website)
                        .bind(crate::now())
                        .fetch_one(conn)
                        .await?
                    });
                    summary.new += 1;
                    id
                }
            };
            ids.push(id);
            // Every organisation lets go of its dropped domains before any claims one,
            // so two organisations can swap domains in one file.
            if release_domains(&mut tx, id, &row.domains, &mut changed_domains).await? {
                domain_changed.insert(id);
            }
        }
        for (row, id) in rows.iter().zip(&ids) {
            for domain in &row.domains {
                match claim_domain(&mut tx, *id, domain).await? {
                    DomainClaim::AlreadyOwn => {}
                    DomainClaim::TakenBy(slug) => {
                        return Err(StoreError::Invalid(format!(
                            "{input}:{}, column `domains`: {domain} already belongs to organisation `{slug}`",
                            row.line
                        )));
                    }
                    DomainClaim::Claimed => {
                        changed_domains.insert(domain.clone());
                        domain_changed.insert(*id);
                    }
                }
            }
        }
        // An organisation whose only change is its domains counts as updated.
        for id in unchanged_rows {
            if domain_changed.contains(&id) {
                summary.updated += 1;
            } else {
                summary.unchanged += 1;
            }
        }
        let members = members_with_email_domains(&mut tx, &changed_domains).await?;
        summary.reattributed = reattribute(&mut tx, &members).await?;
        let details = serde_json::to_value(&summary).unwrap_or_default();
        tx.finish_run(run_id, &details).await?;
        tx.audit(actor, "orgs.import", &format!("orgs:{input}"), details)
            .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Adds affiliations in one transaction. With `refuse_invalid`, a bad line is
    /// reported and skipped (gitdm files); otherwise it aborts the whole import.
    pub async fn import_affiliations(
        &self,
        input: &str,
        digest: &str,
        rows: &[AffiliationRecord],
        source: &str,
        refuse_invalid: bool,
        actor: &str,
    ) -> Result<AffiliationImportSummary> {
        let mut summary = AffiliationImportSummary {
            read: rows.len(),
            ..Default::default()
        };
        let mut tx = Tx::begin(self.db()).await?;
        let run_id = tx.start_run("affiliations", input, digest, actor).await?;
        let orgs = org_names(&mut tx).await?;
        let mut touched: BTreeSet<i64> = BTreeSet::new();
        for row in rows {
            let problem = match (&row.from, &row.until) {
                (Some(from), Some(until)) if until <= from => {
                    Some(format!("the range {from} to {until} is empty"))
                }
                _ => None,
            };
            let org = match &row.org {
                OrgName::Slug(slug) => orgs.get(&slug.to_lowercase()).copied(),
                OrgName::Name(name) => orgs.get(&name.to_lowercase()).copied(),
            };
            let problem = problem.or_else(|| match (&row.org, org) {
                (_, Some(_)) => None,
                (OrgName::Slug(s), None) | (OrgName::Name(s), None) => Some(format!(
                    "unknown organisation `{s}` (import it first with `fairshare import orgs`)"
                )),
            });
            if let Some(problem) = problem {
                if refuse_invalid {
                    summary
                        .refused
                        .push(format!("line {}: {problem}", row.line));
                    continue;
                }
                return Err(StoreError::Invalid(format!(
                    "{input}:{}: {problem}",
                    row.line
                )));
            }
            let org = org.expect("checked above");
            let (_, member, created) = resolve_person(&mut tx, &row.person, &[], actor).await?;
            if created {
                summary.members_new += 1;
            }
            let exists: Option<(i64,)> = on_tx!(&mut tx, conn => {
                sqlx::query_as(
                    "SELECT id FROM affiliations WHERE member_id = $1 AND org_id = $2 \
                     AND valid_from IS NOT DISTINCT FROM $3 AND valid_until IS NOT DISTINCT FROM $4",
                )
                .bind(member)
                .bind(org)
                .bind(row.from)
                .bind(row.until)
                .fetch_optional(conn)
                .await?
            });
            if exists.is_some() {
                summary.already_known += 1;
                continue;
            }
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO affiliations (member_id, org_id, valid_from, valid_until, source, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(member)
                .bind(org)
                .bind(row.from)
                .bind(row.until)
                .bind(source)
                .bind(actor)
                .bind(crate::now())
                .execute(conn)
                .await?;
            });
            summary.new += 1;
            touched.insert(member);
        }
        summary.reattributed =
            reattribute(&mut tx, &touched.into_iter().collect::<Vec<_>>()).await?;
        let details = serde_json::to_value(&summary).unwrap_or_default();
        tx.finish_run(run_id, &details).await?;
        tx.audit(
            actor,
            "affiliations.import",
            &format!("affiliations:{input}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// A manager's dated affiliation of an existing member with `org` (`from`/`until`
    /// inclusive, either open), with the member's work re-credited; audited with the
    /// reason. Returns how many activities were re-attributed.
    pub async fn affiliate_member(
        &self,
        member: MemberId,
        org: &str,
        from: Option<Date>,
        until: Option<Date>,
        reason: &str,
        actor: &str,
    ) -> Result<u64> {
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            return Err(StoreError::Invalid(format!(
                "the range {from} to {until} is empty"
            )));
        }
        let member = member.0;
        let org_id = self
            .org_id(org.trim())
            .await
            .map_err(|_| StoreError::Invalid(format!("unknown organisation `{}`", org.trim())))?;
        let mut tx = Tx::begin(self.db()).await?;
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO affiliations (member_id, org_id, valid_from, valid_until, source, created_by, created_at) \
                 SELECT $1, $2, $3, $4, 'manager', $5, $6 WHERE NOT EXISTS ( \
                   SELECT 1 FROM affiliations WHERE member_id = $1 AND org_id = $2 \
                   AND valid_from IS NOT DISTINCT FROM $3 AND valid_until IS NOT DISTINCT FROM $4)",
            )
            .bind(member)
            .bind(org_id)
            .bind(from)
            .bind(until)
            .bind(actor)
            .bind(crate::now())
            .execute(conn)
            .await?
            .rows_affected()
        });
        let reattributed = reattribute(&mut tx, &[member]).await?;
        if inserted > 0 {
            tx.audit(
                actor,
                "members.affiliate",
                &format!("member:{member}"),
                serde_json::json!({
                    "org": org.trim(), "from": from.map(|d| d.to_string()),
                    "until": until.map(|d| d.to_string()), "reason": reason,
                    "reattributed": reattributed,
                }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(reattributed)
    }

    /// The member an identity belongs to, or a member by id (`#12` or `12`).
    pub async fn find_member(&self, text: &str) -> Result<MemberId> {
        let trimmed = text.trim().trim_start_matches('#');
        if let Ok(id) = trimmed.parse::<i64>() {
            let found: Option<(i64,)> = on_pool!(self.db(), pool => {
                sqlx::query_as("SELECT id FROM members WHERE id = $1").bind(id).fetch_optional(pool).await?
            });
            return found
                .map(|(id,)| MemberId(id))
                .ok_or_else(|| StoreError::NotFound(format!("no member #{id}")));
        }
        let key = IdentityKey::parse(text).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = Tx::begin(self.db()).await?;
        let found = find_identity(&mut tx, &key).await?;
        tx.commit().await?;
        found
            .map(|(_, member)| MemberId(member))
            .ok_or_else(|| StoreError::NotFound(format!("no member has the identity {key}")))
    }

    pub async fn member(&self, member: MemberId) -> Result<MemberDetail> {
        let id = member.0;
        #[derive(sqlx::FromRow)]
        struct Head {
            id: i64,
            display_name: String,
            is_bot: bool,
            listed: bool,
        }
        let head: Option<Head> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT id, display_name, is_bot, listed FROM members WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let Head {
            id,
            display_name,
            is_bot,
            listed,
        } = head.ok_or_else(|| StoreError::NotFound(format!("no member #{id}")))?;
        let identities: Vec<(String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT kind, value FROM identities WHERE member_id = $1 ORDER BY kind, value")
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        let affiliations: Vec<AffiliationDetail> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.id, o.slug AS org, a.valid_from AS \"from\", a.valid_until AS until, a.source FROM affiliations a \
                 JOIN organisations o ON o.id = a.org_id WHERE a.member_id = $1 ORDER BY a.valid_from, a.id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        let by_org: Vec<(String, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT COALESCE(o.slug, 'unaffiliated'), COUNT(*) FROM activities a \
                 LEFT JOIN organisations o ON o.id = a.org_id WHERE a.member_id = $1 GROUP BY 1 ORDER BY 1",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(MemberDetail {
            id: MemberId(id),
            display_name,
            is_bot,
            listed,
            identities: identities
                .into_iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect(),
            affiliations,
            activities_by_org: by_org,
        })
    }

    /// Merges member `from` into `into`: identities, affiliations and activities move;
    /// attribution follows. Returns the change id (for undo).
    pub async fn merge_members(
        &self,
        from: MemberId,
        into: MemberId,
        actor: &str,
        reason: &str,
    ) -> Result<i64> {
        let (from, into) = (from.0, into.0);
        if from == into {
            return Err(StoreError::Invalid(format!(
                "member #{from} cannot be merged with itself"
            )));
        }
        let mut tx = Tx::begin(self.db()).await?;
        let change = merge(&mut tx, from, into, actor, reason).await?;
        tx.audit(
            actor,
            "members.merge",
            &format!("member:{into}"),
            serde_json::json!({ "from": from, "change": change, "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(change)
    }

    /// Moves one identity (and its activities) out of its member into a new member.
    pub async fn split_identity(
        &self,
        key: &IdentityKey,
        actor: &str,
        reason: &str,
    ) -> Result<(MemberId, i64)> {
        let mut tx = Tx::begin(self.db()).await?;
        let (identity, from) = find_identity(&mut tx, key)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no member has the identity {key}")))?;
        let count: (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT COUNT(*) FROM identities WHERE member_id = $1").bind(from).fetch_one(conn).await?
        });
        if count.0 < 2 {
            return Err(StoreError::Invalid(format!(
                "{key} is member #{from}'s only identity: nothing to split"
            )));
        }
        let name: Option<(Option<String>,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT name FROM identities WHERE id = $1").bind(identity).fetch_optional(conn).await?
        });
        let display = name.and_then(|(n,)| n).unwrap_or_else(|| key.value.clone());
        let to = create_member(&mut tx, &display, false).await?;
        let moved = Moved {
            identities: vec![identity],
            affiliations: vec![],
        };
        move_things(&mut tx, &moved, from, to).await?;
        let change = record_change(&mut tx, "split", from, to, &moved, actor, reason).await?;
        reattribute(&mut tx, &[from, to]).await?;
        tx.audit(
            actor,
            "members.split",
            &format!("member:{from}"),
            serde_json::json!({ "identity": key.to_string(), "new_member": to, "change": change }),
        )
        .await?;
        tx.commit().await?;
        Ok((MemberId(to), change))
    }

    /// Reverses a merge or split: what moved moves back.
    pub async fn undo_member_change(&self, change: i64, actor: &str) -> Result<()> {
        let mut tx = Tx::begin(self.db()).await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            from_member_id: i64,
            to_member_id: i64,
            identity_ids: String,
            undone_at: Option<OffsetDateTime>,
        }
        let row: Option<Row> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT from_member_id, to_member_id, identity_ids, undone_at FROM member_changes WHERE id = $1")
                .bind(change)
                .fetch_optional(conn)
                .await?
        });
        let Row {
            from_member_id: from,
            to_member_id: to,
            identity_ids: moved,
            undone_at: undone,
        } = row.ok_or_else(|| StoreError::NotFound(format!("no member change #{change}")))?;
        if undone.is_some() {
            return Err(StoreError::Conflict(format!(
                "member change #{change} was already undone"
            )));
        }
        let moved: Moved =
            serde_json::from_str(&moved).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        move_things(&mut tx, &moved, to, from).await?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE member_changes SET undone_at = $1, undone_by = $2 WHERE id = $3")
                .bind(crate::now())
                .bind(actor)
                .bind(change)
                .execute(conn)
                .await?;
        });
        reattribute(&mut tx, &[from, to]).await?;
        tx.audit(
            actor,
            "members.undo",
            &format!("member:{from}"),
            serde_json::json!({ "change": change }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn member_changes(&self) -> Result<Vec<MemberChange>> {
        let rows: Vec<ChangeRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, from_member_id, to_member_id, identity_ids, reason, undone_at \
                 FROM member_changes ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| MemberChange {
                identities: serde_json::from_str::<Moved>(&row.identity_ids)
                    .map(|m| m.identities)
                    .unwrap_or_default(),
                id: row.id,
                at: row.at,
                actor: row.actor,
                action: row.action,
                from_member: row.from_member_id,
                to_member: row.to_member_id,
                reason: row.reason,
                undone: row.undone_at.is_some(),
            })
            .collect())
    }
}

/// Organisations by lower-case slug and lower-case name.
async fn org_names(tx: &mut Tx) -> Result<HashMap<String, i64>> {
    let rows: Vec<(i64, String, String)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id, slug, name FROM organisations").fetch_all(conn).await?
    });
    let mut map = HashMap::new();
    for (id, slug, name) in rows {
        map.insert(name.to_lowercase(), id);
        map.insert(slug.to_lowercase(), id);
    }
    Ok(map)
}

pub(crate) async fn org_slugs(tx: &mut Tx) -> Result<HashMap<String, i64>> {
    let rows: Vec<(i64, String)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id, slug FROM organisations").fetch_all(conn).await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, slug)| (slug.to_lowercase(), id))
        .collect())
}

pub(crate) async fn domain_index(tx: &mut Tx) -> Result<DomainIndex> {
    let rows: Vec<(String, i64)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT domain, org_id FROM org_domains").fetch_all(conn).await?
    });
    Ok(DomainIndex::new(rows))
}

pub(crate) async fn find_identity(tx: &mut Tx, key: &IdentityKey) -> Result<Option<(i64, i64)>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as("SELECT id, member_id FROM identities WHERE kind = $1 AND value = $2")
            .bind(key.kind.as_str())
            .bind(&key.value)
            .fetch_optional(conn)
            .await?
    }))
}

async fn create_member(tx: &mut Tx, name: &str, is_bot: bool) -> Result<i64> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as("INSERT INTO members (display_name, is_bot, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(name)
            .bind(is_bot)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
    });
    Ok(id)
}

async fn create_identity(
    tx: &mut Tx,
    key: &IdentityKey,
    name: Option<&str>,
    member: i64,
) -> Result<i64> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as("INSERT INTO identities (kind, value, name, member_id) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(key.kind.as_str())
            .bind(&key.value)
            .bind(name)
            .bind(member)
            .fetch_one(conn)
            .await?
    });
    Ok(id)
}

/// The identity and member of `person`, creating what is missing. When the person's
/// identities already belong to different members, those members are merged into the
/// oldest (they share an email or a linked login). Returns (identity, member, created).
pub(crate) async fn resolve_person(
    tx: &mut Tx,
    person: &PersonRef,
    bot_patterns: &[String],
    actor: &str,
) -> Result<(i64, i64, bool)> {
    let mut keys = vec![&person.key];
    keys.extend(person.linked.iter().filter(|k| **k != person.key));
    let mut found: Vec<(usize, i64, i64)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some((identity, member)) = find_identity(tx, key).await? {
            found.push((i, identity, member));
        }
    }
    let mut members: Vec<i64> = found.iter().map(|f| f.2).collect();
    members.sort_unstable();
    members.dedup();
    let mut created = false;
    let member = match members.first() {
        Some(&oldest) => {
            for &other in &members[1..] {
                let shared = keys[found
                    .iter()
                    .find(|f| f.2 == other)
                    .map(|f| f.0)
                    .unwrap_or(0)];
                merge(
                    tx,
                    other,
                    oldest,
                    "fairshare",
                    &format!("automatic: both use {shared}"),
                )
                .await?;
                tx.audit(actor, "members.merge", &format!("member:{oldest}"), serde_json::json!({ "from": other, "reason": format!("automatic: both use {shared}") })).await?;
            }
            oldest
        }
        None => {
            let display = person
                .name
                .clone()
                .unwrap_or_else(|| person.key.value.clone());
            let bot = keys.iter().any(|k| {
                k.kind != IdentityKind::Email
                    && fairshare_engine::identity::is_bot(&k.value, bot_patterns)
            }) || fairshare_engine::identity::is_bot(&display, bot_patterns);
            created = true;
            create_member(tx, &display, bot).await?
        }
    };
    let mut main_identity = None;
    let mut new_address = false;
    for (i, key) in keys.iter().enumerate() {
        let identity = match found.iter().find(|f| f.0 == i) {
            Some(f) => f.1,
            None => {
                new_address |= key.kind == IdentityKind::Email;
                create_identity(tx, key, person.name.as_deref(), member).await?
            }
        };
        if i == 0 {
            main_identity = Some(identity);
        }
    }
    // A new address of someone already known can credit their work on platforms
    // without addresses (see `attribution`): it is credited again.
    if new_address && !created {
        let elsewhere: Option<(i64,)> = on_tx!(tx, conn => {
            sqlx::query_as(
                "SELECT id FROM identities WHERE member_id = $1 AND kind <> 'email' LIMIT 1",
            )
            .bind(member)
            .fetch_optional(conn)
            .await?
        });
        if elsewhere.is_some() {
            reattribute(tx, &[member]).await?;
        }
    }
    Ok((
        main_identity.expect("the person's own key is first"),
        member,
        created,
    ))
}

async fn merge(tx: &mut Tx, from: i64, into: i64, actor: &str, reason: &str) -> Result<i64> {
    let identities: Vec<(i64,)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id FROM identities WHERE member_id = $1").bind(from).fetch_all(conn).await?
    });
    if identities.is_empty() {
        return Err(StoreError::NotFound(format!("no member #{from}")));
    }
    let exists: Option<(i64,)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id FROM members WHERE id = $1").bind(into).fetch_optional(conn).await?
    });
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("no member #{into}")));
    }
    let affiliations: Vec<(i64,)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id FROM affiliations WHERE member_id = $1").bind(from).fetch_all(conn).await?
    });
    let moved = Moved {
        identities: identities.into_iter().map(|(id,)| id).collect(),
        affiliations: affiliations.into_iter().map(|(id,)| id).collect(),
    };
    move_things(tx, &moved, from, into).await?;
    let change = record_change(tx, "merge", from, into, &moved, actor, reason).await?;
    reattribute(tx, &[into]).await?;
    Ok(change)
}

/// Moves identities (with their activities) and affiliations from one member to another.
async fn move_things(tx: &mut Tx, moved: &Moved, from: i64, to: i64) -> Result<()> {
    for &identity in &moved.identities {
        let before = rollups::Scope::Identity {
            identity,
            member: from,
        };
        rollups::retract(tx, &before).await?;
        on_tx!(tx, conn => {
            sqlx::query("UPDATE identities SET member_id = $1 WHERE id = $2 AND member_id = $3")
                .bind(to).bind(identity).bind(from).execute(&mut *conn).await?;
            sqlx::query("UPDATE activities SET member_id = $1 WHERE identity_id = $2 AND member_id = $3")
                .bind(to).bind(identity).bind(from).execute(&mut *conn).await?;
        });
        let after = rollups::Scope::Identity {
            identity,
            member: to,
        };
        rollups::apply(tx, &after).await?;
    }
    let mut changed = rollups::ChangedMembers::default();
    changed.add(from, rollups::EVER);
    changed.add(to, rollups::EVER);
    rollups::refresh_members(tx, &changed).await?;
    for affiliation in &moved.affiliations {
        on_tx!(tx, conn => {
            sqlx::query("UPDATE affiliations SET member_id = $1 WHERE id = $2 AND member_id = $3")
                .bind(to).bind(affiliation).bind(from).execute(conn).await?;
        });
    }
    Ok(())
}

async fn record_change(
    tx: &mut Tx,
    action: &str,
    from: i64,
    to: i64,
    moved: &Moved,
    actor: &str,
    reason: &str,
) -> Result<i64> {
    let (id,): (i64,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO member_changes (at, actor, action, from_member_id, to_member_id, identity_ids, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(crate::now())
        .bind(actor)
        .bind(action)
        .bind(from)
        .bind(to)
        .bind(serde_json::to_string(moved).unwrap_or_default())
        .bind(reason)
        .fetch_one(conn)
        .await?
    });
    Ok(id)
}

pub(crate) async fn member_affiliations(tx: &mut Tx, member: i64) -> Result<Vec<Affiliation>> {
    let rows: Vec<(i64, Option<Date>, Option<Date>)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT org_id, valid_from, valid_until FROM affiliations WHERE member_id = $1")
            .bind(member)
            .fetch_all(conn)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(org, from, until)| Affiliation { org, from, until })
        .collect())
}

pub(crate) async fn members_with_email_domains(
    tx: &mut Tx,
    domains: &BTreeSet<String>,
) -> Result<Vec<i64>> {
    let mut members = BTreeSet::new();
    for domain in domains {
        let rows: Vec<(i64,)> = on_tx!(tx, conn => {
            sqlx::query_as(
                "SELECT DISTINCT member_id FROM identities WHERE kind = 'email' AND (value LIKE $1 OR value LIKE $2)",
            )
            .bind(format!("%@{domain}"))
            .bind(format!("%.{domain}"))
            .fetch_all(conn)
            .await?
        });
        members.extend(rows.into_iter().map(|(m,)| m));
    }
    Ok(members.into_iter().collect())
}

/// An activity with what its attribution depends on: when, the explicit organisation,
/// the identity it was made with; and what it is now.
#[derive(sqlx::FromRow)]
struct AttributionRow {
    id: i64,
    occurred_at: OffsetDateTime,
    explicit_org_id: Option<i64>,
    org_id: Option<i64>,
    attribution: String,
    kind: String,
    value: String,
}

/// Recomputes the attribution of every activity of `members`; returns how many
/// activities changed organisation or reason.
pub(crate) async fn reattribute(tx: &mut Tx, members: &[i64]) -> Result<u64> {
    let domains = domain_index(tx).await?;
    let mut changed = 0;
    for &member in members {
        let affiliations = member_affiliations(tx, member).await?;
        let emails: Vec<String> = on_tx!(tx, conn => {
            sqlx::query_scalar("SELECT value FROM identities WHERE kind = 'email' AND member_id = $1")
                .bind(member)
                .fetch_all(conn)
                .await?
        });
        let rows: Vec<AttributionRow> = on_tx!(tx, conn => {
            sqlx::query_as(
                "SELECT a.id, a.occurred_at, a.explicit_org_id, a.org_id, a.attribution, i.kind, i.value \
                 FROM activities a JOIN identities i ON i.id = a.identity_id WHERE a.member_id = $1",
            )
            .bind(member)
            .fetch_all(conn)
            .await?
        });
        let mut updates = Vec::new();
        for AttributionRow {
            id,
            occurred_at: at,
            explicit_org_id: explicit,
            org_id: org,
            attribution: reason,
            kind,
            value,
        } in rows
        {
            let (new_org, new_reason) = attribute(
                AttributionInput {
                    day: at.date(),
                    explicit,
                    affiliations: &affiliations,
                    email: (kind == "email").then_some(value.as_str()),
                    person_emails: &emails,
                },
                &domains,
            );
            if new_org != org || Reason::parse(&reason) != Some(new_reason) {
                updates.push((id, new_org, new_reason));
            }
        }
        // The moved activities leave their old organisation's counts and join the new.
        let ids: Vec<i64> = updates.iter().map(|(id, _, _)| *id).collect();
        let scope = rollups::Scope::Activities(&ids);
        rollups::retract(tx, &scope).await?;
        for (id, new_org, new_reason) in &updates {
            on_tx!(tx, conn => {
                sqlx::query("UPDATE activities SET org_id = $1, attribution = $2 WHERE id = $3")
                    .bind(new_org)
                    .bind(new_reason.as_str())
                    .bind(id)
                    .execute(conn)
                    .await?;
            });
        }
        rollups::apply(tx, &scope).await?;
        changed += updates.len() as u64;
    }
    Ok(changed)
}

/// What claiming an email domain for an organisation did.
pub(crate) enum DomainClaim {
    AlreadyOwn,
    Claimed,
    /// Another organisation (this slug) has it.
    TakenBy(String),
}

/// Removes `org`'s domains that are not in `keep`, noting each in `changed`; whether
/// any was removed.
pub(crate) async fn release_domains(
    tx: &mut Tx,
    org: i64,
    keep: &[String],
    changed: &mut BTreeSet<String>,
) -> Result<bool> {
    let old: Vec<(String,)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT domain FROM org_domains WHERE org_id = $1")
            .bind(org)
            .fetch_all(conn)
            .await?
    });
    let mut any = false;
    for (domain,) in old {
        if !keep.contains(&domain) {
            on_tx!(tx, conn => {
                sqlx::query("DELETE FROM org_domains WHERE domain = $1").bind(&domain).execute(conn).await?;
            });
            changed.insert(domain);
            any = true;
        }
    }
    Ok(any)
}

/// Gives `domain` to `org` unless another organisation has it.
pub(crate) async fn claim_domain(tx: &mut Tx, org: i64, domain: &str) -> Result<DomainClaim> {
    let owner: Option<(i64, String)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT d.org_id, o.slug FROM org_domains d JOIN organisations o ON o.id = d.org_id \
             WHERE d.domain = $1",
        )
        .bind(domain)
        .fetch_optional(conn)
        .await?
    });
    Ok(match owner {
        Some((owner, _)) if owner == org => DomainClaim::AlreadyOwn,
        Some((_, slug)) => DomainClaim::TakenBy(slug),
        None => {
            on_tx!(tx, conn => {
                sqlx::query("INSERT INTO org_domains (domain, org_id) VALUES ($1, $2)")
                    .bind(domain)
                    .bind(org)
                    .execute(conn)
                    .await?;
            });
            DomainClaim::Claimed
        }
    })
}
