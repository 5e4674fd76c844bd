//! Activities: ingesting importer records (one transaction per import, batched,
//! idempotent on source + external id, attributed as they are stored) and counting
//! them for reports.

use std::collections::{HashMap, HashSet};

use fairshare_engine::{
    Affiliation, AttributionInput, DomainIndex, IdentityKey, IdentityKind, attribute,
};
use fairshare_records::{ActivityRecord, OnBehalfOf, PersonRef, Skips};
use serde::Serialize;
use time::OffsetDateTime;

use crate::directory::{domain_index, org_slugs, resolve_person};
use crate::rollups;
use crate::tx::{Tx, on_tx};
use crate::{Backend, Result, Store, StoreError, on_pool};

/// Rows per INSERT statement.
const BATCH: usize = 400;
/// People remembered by an ingest session before it forgets and starts over.
const PEOPLE_CACHE: usize = 50_000;

/// What an import did, printed at its end.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub run_id: i64,
    pub source: String,
    pub input: String,
    /// Items read from the input (records plus skipped items).
    pub read: u64,
    pub new: u64,
    pub already_known: u64,
    pub members_new: u64,
    pub bot_activities: u64,
    /// `reason: count`.
    pub skipped: Vec<(String, u64)>,
    /// Problems that did not stop the import (an unknown `on-behalf-of` slug …), each
    /// with how often it happened and the first item it happened to.
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub message: String,
    pub count: u64,
    pub example: String,
}

/// An import in progress: everything is written in one transaction that commits in
/// [`IngestSession::finish`]; dropping the session rolls it back.
pub struct IngestSession {
    tx: Tx,
    actor: String,
    bot_patterns: Vec<String>,
    domains: DomainIndex,
    orgs: HashMap<String, i64>,
    people: HashMap<IdentityKey, (i64, i64, Option<String>)>,
    affiliations: HashMap<i64, Vec<Affiliation>>,
    bots: HashMap<i64, bool>,
    /// Each member's email addresses: work with another platform's account is
    /// credited by them.
    emails: HashMap<i64, Vec<String>>,
    /// Members with new activities, refreshed in the rollups before the commit.
    changed: rollups::ChangedMembers,
    summary: IngestSummary,
}

struct Row<'a> {
    record: &'a ActivityRecord,
    identity: i64,
    member: i64,
    explicit: Option<i64>,
    org: Option<i64>,
    reason: &'static str,
}

impl Store {
    pub async fn begin_ingest(
        &self,
        source: &str,
        input: &str,
        digest: &str,
        actor: &str,
        bot_patterns: &[String],
    ) -> Result<IngestSession> {
        let mut tx = Tx::begin(self.db()).await?;
        let run_id = tx.start_run(source, input, digest, actor).await?;
        let domains = domain_index(&mut tx).await?;
        let orgs = org_slugs(&mut tx).await?;
        Ok(IngestSession {
            tx,
            actor: actor.to_string(),
            bot_patterns: bot_patterns.to_vec(),
            domains,
            orgs,
            people: HashMap::new(),
            affiliations: HashMap::new(),
            bots: HashMap::new(),
            emails: HashMap::new(),
            changed: rollups::ChangedMembers::default(),
            summary: IngestSummary {
                run_id,
                source: source.to_string(),
                input: input.to_string(),
                ..Default::default()
            },
        })
    }

    /// Where an incremental import of `source` for `scope` got to.
    pub async fn import_cursor(&self, source: &str, scope: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT cursor FROM import_cursors WHERE source = $1 AND scope = $2")
                .bind(source)
                .bind(scope)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(c,)| c))
    }
}

impl IngestSession {
    /// Stores a batch of records (any size; written in statements of a few hundred).
    pub async fn add(&mut self, records: &[ActivityRecord]) -> Result<()> {
        for chunk in records.chunks(BATCH) {
            let known_commits = if self.summary.source != "git" {
                self.known_commits(chunk).await?
            } else {
                HashSet::new()
            };
            let mut fresh: Vec<&ActivityRecord> = Vec::with_capacity(chunk.len());
            for record in chunk {
                if record
                    .commit_sha
                    .as_ref()
                    .is_some_and(|sha| known_commits.contains(sha))
                {
                    self.summary.read += 1;
                    self.summary.already_known += 1;
                } else {
                    fresh.push(record);
                }
            }
            self.resolve_people(&fresh).await?;
            let mut rows = Vec::with_capacity(fresh.len());
            for record in fresh {
                rows.push(self.prepare(record).await?);
            }
            self.insert(&rows).await?;
            if self.summary.source == "git" {
                self.replace_other_copies(&rows).await?;
            }
        }
        Ok(())
    }

    /// The commits of `chunk` that some source already stored.
    async fn known_commits(&mut self, chunk: &[ActivityRecord]) -> Result<HashSet<String>> {
        let shas: Vec<&str> = chunk
            .iter()
            .filter_map(|r| r.commit_sha.as_deref())
            .collect();
        if shas.is_empty() {
            return Ok(HashSet::new());
        }
        let rows: Vec<(String,)> = on_tx!(&mut self.tx, conn => {
            let mut query = sqlx::QueryBuilder::new("SELECT DISTINCT commit_sha FROM activities WHERE commit_sha IN (");
            let mut list = query.separated(", ");
            for sha in &shas {
                list.push_bind(sha.to_string());
            }
            list.push_unseparated(")");
            query.build_query_as().fetch_all(conn).await?
        });
        Ok(rows.into_iter().map(|(sha,)| sha).collect())
    }

    /// Finds or creates, in a few statements per batch, everyone in `chunk` not met yet
    /// in this session. People who come with linked identities (which may merge
    /// members) go one by one through `resolve_person`.
    async fn resolve_people(&mut self, chunk: &[&ActivityRecord]) -> Result<()> {
        // Memory stays bounded however many people an input names: past this many,
        // start over (what is needed again is fetched again, in bulk).
        if self.people.len() > PEOPLE_CACHE {
            self.people.clear();
            self.affiliations.clear();
            self.bots.clear();
            self.emails.clear();
        }
        let mut simple: Vec<&PersonRef> = Vec::new();
        for record in chunk {
            let person = &record.person;
            if self.people.contains_key(&person.key) || simple.iter().any(|p| p.key == person.key) {
                continue;
            }
            if person.linked.is_empty() {
                simple.push(person);
                continue;
            }
            let (identity, member, created) =
                resolve_person(&mut self.tx, person, &self.bot_patterns, &self.actor).await?;
            if created {
                self.summary.members_new += 1;
            }
            // A merge may have moved people, a new address joined someone: forget what
            // was cached about members.
            self.affiliations.clear();
            self.bots.clear();
            self.emails.clear();
            self.people.retain(|_, v| v.1 != member);
            self.remember(person, identity, member);
        }
        if simple.is_empty() {
            return Ok(());
        }
        // Who exists already: one query per kind of identity.
        let mut kinds: Vec<IdentityKind> = simple.iter().map(|p| p.key.kind).collect();
        kinds.sort();
        kinds.dedup();
        let mut found_members = Vec::new();
        for kind in kinds {
            let values: Vec<String> = simple
                .iter()
                .filter(|p| p.key.kind == kind)
                .map(|p| p.key.value.clone())
                .collect();
            let rows: Vec<(String, i64, i64)> = on_tx!(&mut self.tx, conn => {
                let mut query = sqlx::QueryBuilder::new("SELECT value, id, member_id FROM identities WHERE kind = ");
                query.push_bind(kind.as_str()).push(" AND value IN (");
                let mut list = query.separated(", ");
                for value in &values {
                    list.push_bind(value.clone());
                }
                list.push_unseparated(")");
                query.build_query_as().fetch_all(conn).await?
            });
            for (value, identity, member) in rows {
                if let Some(person) = simple
                    .iter()
                    .find(|p| p.key.kind == kind && p.key.value == value)
                {
                    self.remember(person, identity, member);
                    found_members.push(member);
                }
            }
        }
        self.load_members(&found_members).await?;
        // The rest are new: members and identities inserted in bulk with reserved ids.
        let new: Vec<&PersonRef> = simple
            .into_iter()
            .filter(|p| !self.people.contains_key(&p.key))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let member_ids = reserve_ids(&mut self.tx, "members", new.len()).await?;
        let identity_ids = reserve_ids(&mut self.tx, "identities", new.len()).await?;
        let now = crate::now();
        let people: Vec<(i64, i64, &PersonRef, String, bool)> = new
            .iter()
            .zip(member_ids.iter().zip(&identity_ids))
            .map(|(person, (&member, &identity))| {
                let display = person
                    .name
                    .clone()
                    .unwrap_or_else(|| person.key.value.clone());
                let bot = (person.key.kind != IdentityKind::Email
                    && fairshare_engine::identity::is_bot(&person.key.value, &self.bot_patterns))
                    || fairshare_engine::identity::is_bot(&display, &self.bot_patterns);
                (member, identity, *person, display, bot)
            })
            .collect();
        on_tx!(&mut self.tx, conn => {
            let mut members = sqlx::QueryBuilder::new("INSERT INTO members (id, display_name, is_bot, created_at) ");
            members.push_values(&people, |mut b, (member, _, _, display, bot)| {
                b.push_bind(*member).push_bind(display.clone()).push_bind(*bot).push_bind(now);
            });
            members.build().execute(&mut *conn).await?;
            let mut identities = sqlx::QueryBuilder::new("INSERT INTO identities (id, kind, value, name, member_id) ");
            identities.push_values(&people, |mut b, (member, identity, person, _, _)| {
                b.push_bind(*identity)
                    .push_bind(person.key.kind.as_str())
                    .push_bind(person.key.value.clone())
                    .push_bind(person.name.clone())
                    .push_bind(*member);
            });
            identities.build().execute(&mut *conn).await?;
        });
        for (member, identity, person, _, bot) in people {
            self.summary.members_new += 1;
            self.remember(person, identity, member);
            self.affiliations.insert(member, Vec::new());
            self.bots.insert(member, bot);
            self.emails.insert(
                member,
                person.key.email().map(str::to_string).into_iter().collect(),
            );
        }
        Ok(())
    }

    fn remember(&mut self, person: &PersonRef, identity: i64, member: i64) {
        let email = (person.key.kind == IdentityKind::Email).then(|| person.key.value.clone());
        self.people
            .insert(person.key.clone(), (identity, member, email));
    }

    /// Caches whether members are bots and their affiliations, in two queries.
    async fn load_members(&mut self, members: &[i64]) -> Result<()> {
        let mut members: Vec<i64> = members
            .iter()
            .copied()
            .filter(|m| !self.bots.contains_key(m))
            .collect();
        members.sort_unstable();
        members.dedup();
        if members.is_empty() {
            return Ok(());
        }
        let (bots, affiliations): (Vec<(i64, bool)>, Vec<AffiliationRow>) = on_tx!(&mut self.tx, conn => {
            let mut query = sqlx::QueryBuilder::new("SELECT id, is_bot FROM members WHERE id IN (");
            let mut list = query.separated(", ");
            for m in &members {
                list.push_bind(*m);
            }
            list.push_unseparated(")");
            let bots = query.build_query_as().fetch_all(&mut *conn).await?;
            let mut query = sqlx::QueryBuilder::new(
                "SELECT member_id, org_id, valid_from, valid_until FROM affiliations WHERE member_id IN (",
            );
            let mut list = query.separated(", ");
            for m in &members {
                list.push_bind(*m);
            }
            list.push_unseparated(")");
            let affiliations = query.build_query_as().fetch_all(&mut *conn).await?;
            let mut query = sqlx::QueryBuilder::new(
                "SELECT member_id, value FROM identities WHERE kind = 'email' AND member_id IN (",
            );
            let mut list = query.separated(", ");
            for m in &members {
                list.push_bind(*m);
            }
            list.push_unseparated(")");
            let emails: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *conn).await?;
            for (member, email) in emails {
                self.emails.entry(member).or_default().push(email);
            }
            (bots, affiliations)
        });
        for (member, bot) in bots {
            self.bots.insert(member, bot);
            self.affiliations.entry(member).or_default();
        }
        for AffiliationRow {
            member_id: member,
            org_id: org,
            valid_from: from,
            valid_until: until,
        } in affiliations
        {
            self.affiliations
                .entry(member)
                .or_default()
                .push(Affiliation { org, from, until });
        }
        Ok(())
    }

    /// A commit read from the repository itself replaces the copies other sources
    /// (GH Archive) stored before, so it counts once.
    async fn replace_other_copies(&mut self, rows: &[Row<'_>]) -> Result<()> {
        let shas: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.record.commit_sha.as_deref())
            .collect();
        for chunk in shas.chunks(BATCH) {
            // The copies leave the rollups before they leave the ledger.
            let copies: Vec<(i64, i64, OffsetDateTime)> = on_tx!(&mut self.tx, conn => {
                let mut select = sqlx::QueryBuilder::new(
                    "SELECT id, member_id, occurred_at FROM activities WHERE source <> 'git' AND commit_sha IN (",
                );
                let mut list = select.separated(", ");
                for sha in chunk {
                    list.push_bind(sha.to_string());
                }
                select.push(")");
                select.build_query_as().fetch_all(&mut *conn).await?
            });
            if copies.is_empty() {
                continue;
            }
            let ids: Vec<i64> = copies.iter().map(|(id, _, _)| *id).collect();
            rollups::retract(&mut self.tx, &rollups::Scope::Activities(&ids)).await?;
            for (_, member, at) in &copies {
                self.changed.add(*member, at.date());
            }
            on_tx!(&mut self.tx, conn => {
                let mut delete = sqlx::QueryBuilder::new(
                    "DELETE FROM activities WHERE source <> 'git' AND commit_sha IN (",
                );
                let mut list = delete.separated(", ");
                for sha in chunk {
                    list.push_bind(sha.to_string());
                }
                delete.push(")");
                delete.build().execute(conn).await?;
            });
        }
        Ok(())
    }

    async fn prepare<'a>(&mut self, record: &'a ActivityRecord) -> Result<Row<'a>> {
        self.summary.read += 1;
        let (identity, member, email) =
            self.people
                .get(&record.person.key)
                .cloned()
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("{} was not resolved", record.person.key))
                })?;
        if !self.bots.contains_key(&member) {
            self.load_members(&[member]).await?;
        }
        if self.bots[&member] {
            self.summary.bot_activities += 1;
        }
        let explicit = match &record.on_behalf_of {
            None => None,
            Some(OnBehalfOf::Org(slug)) => {
                let found = self
                    .orgs
                    .get(&slug.trim_start_matches('@').to_lowercase())
                    .copied();
                if found.is_none() {
                    self.warn(
                        format!("on-behalf-of names an unknown organisation `{slug}`"),
                        &record.external_id,
                    );
                }
                found
            }
            Some(OnBehalfOf::Email { email, .. }) => {
                let found = self.domains.org_for_email(email);
                if found.is_none() {
                    self.warn(
                        format!("on-behalf-of <{email}> matches no organisation's domain"),
                        &record.external_id,
                    );
                }
                found
            }
        };
        let (org, reason) = attribute(
            AttributionInput {
                day: record.occurred_at.date(),
                explicit,
                affiliations: &self.affiliations[&member],
                email: email.as_deref(),
                person_emails: self.emails.get(&member).map_or(&[], Vec::as_slice),
            },
            &self.domains,
        );
        Ok(Row {
            record,
            identity,
            member,
            explicit,
            org,
            reason: reason.as_str(),
        })
    }

    fn warn(&mut self, message: String, example: &str) {
        match self
            .summary
            .warnings
            .iter_mut()
            .find(|w| w.message == message)
        {
            Some(warning) => warning.count += 1,
            None => self.summary.warnings.push(Warning {
                message,
                count: 1,
                example: example.to_string(),
            }),
        }
    }

    async fn insert(&mut self, rows: &[Row<'_>]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let run_id = self.summary.run_id;
        let source = self.summary.source.clone();
        let inserted = on_tx!(&mut self.tx, conn => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO activities (source, external_id, kind, member_id, identity_id, occurred_at, \
                 team, channel, url, title, commit_sha, files_changed, lines_added, lines_removed, explicit_org_id, \
                 org_id, attribution, run_id) ",
            );
            insert.push_values(rows, |mut b, row| {
                let r = row.record;
                b.push_bind(source.clone())
                    .push_bind(r.external_id.clone())
                    .push_bind(r.kind.as_str())
                    .push_bind(row.member)
                    .push_bind(row.identity)
                    .push_bind(r.occurred_at)
                    .push_bind(r.team.clone())
                    .push_bind(r.channel.clone())
                    .push_bind(r.url.clone())
                    .push_bind(r.title.clone())
                    .push_bind(r.commit_sha.clone())
                    .push_bind(r.change.map(|c| c.files as i32))
                    .push_bind(r.change.map(|c| c.added as i32))
                    .push_bind(r.change.map(|c| c.removed as i32))
                    .push_bind(row.explicit)
                    .push_bind(row.org)
                    .push_bind(row.reason)
                    .push_bind(run_id);
            });
            insert.push(" ON CONFLICT (source, external_id) DO NOTHING RETURNING id, member_id, occurred_at");
            insert.build_query_as::<(i64, i64, OffsetDateTime)>().fetch_all(conn).await?
        });
        if let Some(first_id) = inserted.iter().map(|(id, _, _)| *id).min() {
            let scope = rollups::Scope::RunFrom {
                run: run_id,
                first_id,
            };
            rollups::apply(&mut self.tx, &scope).await?;
        }
        for (_, member, at) in &inserted {
            self.changed.add(*member, at.date());
        }
        let inserted = inserted.len() as u64;
        self.summary.new += inserted;
        self.summary.already_known += rows.len() as u64 - inserted;
        Ok(())
    }

    /// Remembers where an incremental import got to; committed with the data.
    pub async fn set_cursor(&mut self, scope: &str, cursor: &str) -> Result<()> {
        let source = self.summary.source.clone();
        on_tx!(&mut self.tx, conn => {
            sqlx::query(
                "INSERT INTO import_cursors (source, scope, cursor, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source, scope) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(scope)
            .bind(cursor)
            .bind(crate::now())
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    /// Commits everything, with the skipped items counted in the summary.
    pub async fn finish(mut self, skips: &Skips) -> Result<IngestSummary> {
        self.summary.read += skips.total();
        self.summary.skipped = skips
            .0
            .iter()
            .map(|s| (s.reason.clone(), s.count))
            .collect();
        rollups::refresh_members(&mut self.tx, &self.changed).await?;
        let details = serde_json::to_value(&self.summary).unwrap_or_default();
        self.tx.finish_run(self.summary.run_id, &details).await?;
        let subject = format!("import:{}:{}", self.summary.source, self.summary.input);
        self.tx
            .audit(&self.actor, "activities.import", &subject, details)
            .await?;
        self.tx.commit().await?;
        tracing::info!(
            source = self.summary.source,
            input = self.summary.input,
            new = self.summary.new,
            known = self.summary.already_known,
            "import finished"
        );
        Ok(self.summary)
    }
}

/// A grouping key of `fairshare activities --group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKey {
    Org,
    Member,
    Kind,
    Source,
    Team,
    Month,
}

impl GroupKey {
    pub fn parse(text: &str) -> Option<GroupKey> {
        Some(match text.trim() {
            "org" => GroupKey::Org,
            "member" => GroupKey::Member,
            "kind" => GroupKey::Kind,
            "source" => GroupKey::Source,
            "team" => GroupKey::Team,
            "month" => GroupKey::Month,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            GroupKey::Org => "org",
            GroupKey::Member => "member",
            GroupKey::Kind => "kind",
            GroupKey::Source => "source",
            GroupKey::Team => "team",
            GroupKey::Month => "month",
        }
    }

    fn sql(self, backend: Backend) -> &'static str {
        match self {
            GroupKey::Org => "COALESCE(o.slug, 'unaffiliated')",
            GroupKey::Member => "m.display_name || ' #' || CAST(m.id AS TEXT)",
            GroupKey::Kind => "a.kind",
            GroupKey::Source => "a.source",
            GroupKey::Team => "COALESCE(a.team, '')",
            GroupKey::Month => rollups::month_and_day(backend).0,
        }
    }
}

/// Which activities to count.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Inclusive, UTC.
    pub from: Option<OffsetDateTime>,
    /// Exclusive, UTC.
    pub until: Option<OffsetDateTime>,
    pub org: Option<String>,
}

/// One row of a grouped count: the group values in key order, then the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountRow {
    pub keys: Vec<String>,
    pub activities: i64,
    pub members: i64,
}

impl Store {
    /// Activities and distinct members per group, ordered by the group values.
    pub async fn count_activities(
        &self,
        filter: &ActivityFilter,
        keys: &[GroupKey],
    ) -> Result<Vec<CountRow>> {
        let backend = self.backend();
        if let Some(slug) = filter.org.as_deref().filter(|s| *s != "unaffiliated") {
            self.org_id(slug).await?;
        }
        let select: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{} AS k{i}", k.sql(backend)))
            .collect();
        let mut sql = String::from("SELECT ");
        for s in &select {
            sql.push_str(s);
            sql.push_str(", ");
        }
        sql.push_str(
            "COUNT(*) AS activities, COUNT(DISTINCT a.member_id) AS members FROM activities a \
             JOIN members m ON m.id = a.member_id LEFT JOIN organisations o ON o.id = a.org_id WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.from.is_some() {
            sql.push_str(&format!(" AND a.occurred_at >= {}", next()));
        }
        if filter.until.is_some() {
            sql.push_str(&format!(" AND a.occurred_at < {}", next()));
        }
        match filter.org.as_deref() {
            Some("unaffiliated") => sql.push_str(" AND a.org_id IS NULL"),
            Some(_) => sql.push_str(&format!(" AND o.slug = {}", next())),
            None => {}
        }
        if !keys.is_empty() {
            let positions: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
            sql.push_str(&format!(
                " GROUP BY {} ORDER BY {}",
                positions.join(", "),
                positions.join(", ")
            ));
        }
        let rows = on_pool!(self.db(), pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(from) = filter.from {
                query = query.bind(from);
            }
            if let Some(until) = filter.until {
                query = query.bind(until);
            }
            if let Some(org) = filter.org.as_deref().filter(|o| *o != "unaffiliated") {
                query = query.bind(org.to_string());
            }
            let rows = query.fetch_all(pool).await?;
            use sqlx::Row as _;
            rows.iter()
                .map(|row| {
                    let mut values = Vec::with_capacity(keys.len());
                    for i in 0..keys.len() {
                        values.push(row.try_get::<String, _>(i)?);
                    }
                    Ok(CountRow {
                        keys: values,
                        activities: row.try_get("activities")?,
                        members: row.try_get("members")?,
                    })
                })
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }
}

/// A member's dated affiliation, as attribution reads it.
#[derive(sqlx::FromRow)]
struct AffiliationRow {
    member_id: i64,
    org_id: i64,
    valid_from: Option<time::Date>,
    valid_until: Option<time::Date>,
}

/// Reserves `n` fresh ids of `table` inside the caller's write transaction, so rows
/// can be inserted in bulk and referenced at once.
async fn reserve_ids(tx: &mut Tx, table: &'static str, n: usize) -> Result<Vec<i64>> {
    Ok(match tx {
        // SQLite: the transaction already holds the write lock (the run row was
        // written first), so nobody else can take ids meanwhile.
        Tx::Sqlite(t) => {
            let (max,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT COALESCE(MAX(id), 0) FROM {table}"
            )))
            .fetch_one(&mut **t)
            .await?;
            (1..=n as i64).map(|i| max + i).collect()
        }
        // PostgreSQL: draw from the identity column's own sequence, safe across sessions.
        Tx::Postgres(t) => {
            let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)"
            )))
            .bind(n as i64)
            .fetch_all(&mut **t)
            .await?;
            rows.into_iter().map(|(id,)| id).collect()
        }
    })
}
