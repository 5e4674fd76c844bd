//! What a contributor asks of the programme about themselves (`/me`): their own
//! contributions, page by page; identities joined up once proven theirs (another
//! address by its emailed link, a GitHub account by signing in with it — never by a
//! display name); a dispute of the organisation their work is credited to, which
//! reviewers settle; everything held about them, as one document; and being forgotten —
//! identities and names removed, anonymous counts kept, audited.

use fairshare_engine::{ActivityKind, IdentityKey, MemberId, RequestState, Verdict};
use fairshare_records::PersonRef;
use serde::Serialize;
use time::OffsetDateTime;

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column};

/// What a forgotten person is called wherever their name was.
pub const FORGOTTEN_NAME: &str = "Forgotten contributor";

/// One of a person's own contributions as they see it.
#[derive(Debug, Clone, Serialize)]
pub struct OwnActivity {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub source: String,
    pub kind: ActivityKind,
    pub title: Option<String>,
    pub url: Option<String>,
    /// The organisation it is credited to, by slug and name (none: unaffiliated).
    pub org: Option<(String, String)>,
    /// Why it is credited there (`email_domain`, `affiliation`, …).
    pub attribution: String,
    /// A correction excludes it from scoring.
    pub excluded: bool,
}

/// A person's dispute of where their work is credited.
#[derive(Debug, Clone, Serialize)]
pub struct Dispute {
    pub id: i64,
    pub member: MemberId,
    pub member_name: String,
    /// The organisation the work is credited to, by slug and name (none: unaffiliated).
    pub org: Option<(String, String)>,
    pub reason: String,
    pub status: RequestState,
    pub raised_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OwnActivityRow {
    id: i64,
    occurred_at: OffsetDateTime,
    source: String,
    kind: String,
    title: Option<String>,
    url: Option<String>,
    slug: Option<String>,
    name: Option<String>,
    attribution: String,
    excluded: bool,
}

#[derive(sqlx::FromRow)]
struct DisputeRow {
    id: i64,
    member_id: i64,
    member_name: String,
    slug: Option<String>,
    name: Option<String>,
    reason: String,
    status: String,
    raised_by: String,
    raised_at: OffsetDateTime,
    decided_by: Option<String>,
    comment: Option<String>,
}

fn org_of(slug: Option<String>, name: Option<String>) -> Option<(String, String)> {
    slug.map(|slug| {
        let name = name.unwrap_or_else(|| slug.clone());
        (slug, name)
    })
}

const DISPUTES: &str = "SELECT d.id, d.member_id, m.display_name AS member_name, o.slug, o.name, \
     d.reason, d.status, d.raised_by, d.raised_at, d.decided_by, d.comment \
     FROM attribution_disputes d JOIN members m ON m.id = d.member_id \
     LEFT JOIN organisations o ON o.id = d.org_id";

fn dispute(row: DisputeRow) -> Result<Dispute> {
    Ok(Dispute {
        status: parse_column("attribution_disputes.status", &row.status)?,
        id: row.id,
        member: MemberId(row.member_id),
        member_name: row.member_name,
        org: org_of(row.slug, row.name),
        reason: row.reason,
        raised_by: row.raised_by,
        raised_at: row.raised_at,
        decided_by: row.decided_by,
        comment: row.comment,
    })
}

impl Store {
    /// Joins two identities one person proved are theirs: `proven` (the address they
    /// signed in with) and `other` (an address whose emailed link they followed, a
    /// GitHub account they signed in with). One member holds both afterwards; members
    /// that held them apart are merged, their work and counts moved (each merge audited
    /// and undoable in the console). Returns that member; nothing happens (`None`) while
    /// neither identity has contributed, so signing in alone makes no one a member.
    pub async fn link_identities(
        &self,
        proven: &IdentityKey,
        other: &IdentityKey,
        how: &str,
        actor: &str,
    ) -> Result<Option<MemberId>> {
        self.join_identities(proven, other, how, actor, false).await
    }

    /// [`Store::link_identities`]; `even_unknown` also makes the member when neither
    /// identity has contributed yet (a reviewer confirmed the link, so the work that
    /// arrives later is already theirs).
    pub(crate) async fn join_identities(
        &self,
        proven: &IdentityKey,
        other: &IdentityKey,
        how: &str,
        actor: &str,
        even_unknown: bool,
    ) -> Result<Option<MemberId>> {
        let mut tx = Tx::begin(self.db()).await?;
        let known = crate::directory::find_identity(&mut tx, proven)
            .await?
            .is_some()
            || crate::directory::find_identity(&mut tx, other)
                .await?
                .is_some();
        if !known && !even_unknown {
            return Ok(None);
        }
        let mut person = PersonRef::new(proven.clone(), None);
        person.linked = vec![other.clone()];
        let (_, member, _) = crate::directory::resolve_person(&mut tx, &person, &[], actor).await?;
        tx.audit(
            actor,
            "members.link",
            &format!("member:{member}"),
            serde_json::json!({ "identity": other.to_string(), "how": how }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(MemberId(member)))
    }

    /// Keeps a link (its token's hash) that adds `identity` to user `user`'s person
    /// once followed, valid for `valid`.
    pub async fn start_identity_link(
        &self,
        user: i64,
        identity: &IdentityKey,
        token_hash: &str,
        valid: time::Duration,
    ) -> Result<()> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO identity_links (token_hash, user_id, identity, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user)
            .bind(identity.to_string())
            .bind(crate::now() + valid)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Follows a link kept by [`Store::start_identity_link`], for the user it was made
    /// for only, once, before it expires: the identity it adds.
    pub async fn redeem_identity_link(&self, token_hash: &str, user: i64) -> Result<IdentityKey> {
        let row: Option<(String,)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "UPDATE identity_links SET used_at = $1 WHERE token_hash = $2 AND user_id = $3 \
                 AND used_at IS NULL AND expires_at > $1 RETURNING identity",
            )
            .bind(crate::now())
            .bind(token_hash)
            .bind(user)
            .fetch_optional(pool)
            .await?
        });
        let (identity,) = row.ok_or_else(|| {
            StoreError::Invalid(
                "this link is not valid any more, or was sent to another account: ask for a new one"
                    .into(),
            )
        })?;
        IdentityKey::parse(&identity).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// One page of `member`'s contributions, newest first, with how many there are.
    pub async fn own_activities(
        &self,
        member: MemberId,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OwnActivity>, i64)> {
        let (rows, total): (Vec<OwnActivityRow>, (i64,)) = on_pool!(self.db(), pool => {
            let rows = sqlx::query_as(
                "SELECT a.id, a.occurred_at, a.source, a.kind, a.title, a.url, o.slug, o.name, a.attribution, \
                 EXISTS (SELECT 1 FROM corrections c WHERE c.activity_id = a.id AND c.removed_at IS NULL) AS excluded \
                 FROM activities a LEFT JOIN organisations o ON o.id = a.org_id \
                 WHERE a.member_id = $1 ORDER BY a.occurred_at DESC, a.id DESC LIMIT $2 OFFSET $3",
            )
            .bind(member.0)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            let total = sqlx::query_as("SELECT COUNT(*) FROM activities WHERE member_id = $1")
                .bind(member.0)
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        let activities = rows
            .into_iter()
            .map(|row| {
                Ok(OwnActivity {
                    kind: parse_column("activities.kind", &row.kind)?,
                    org: org_of(row.slug, row.name),
                    id: row.id,
                    occurred_at: row.occurred_at,
                    source: row.source,
                    title: row.title,
                    url: row.url,
                    attribution: row.attribution,
                    excluded: row.excluded,
                })
            })
            .collect::<Result<_>>()?;
        Ok((activities, total.0))
    }

    /// A person disputes that their work is credited to `org` (`None`: to no
    /// organisation). One open dispute per person and organisation; audited.
    pub async fn raise_dispute(
        &self,
        member: MemberId,
        org: Option<&str>,
        reason: &str,
        actor: &str,
    ) -> Result<i64> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(
                "`reason`: say where your work belongs and why".into(),
            ));
        }
        if reason.chars().count() > 2000 {
            return Err(StoreError::Invalid(
                "`reason`: at most 2,000 characters".into(),
            ));
        }
        let org_id = match org {
            Some(slug) => Some(self.org_id(slug).await?),
            None => None,
        };
        let mut tx = Tx::begin(self.db()).await?;
        let open: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "SELECT id FROM attribution_disputes WHERE member_id = $1 \
                 AND COALESCE(org_id, 0) = COALESCE($2, 0) AND status = 'pending'",
            )
            .bind(member.0)
            .bind(org_id)
            .fetch_optional(conn)
            .await?
        });
        if let Some((id,)) = open {
            // Asking twice is safe: the first request stands.
            return Ok(id);
        }
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO attribution_disputes (member_id, org_id, reason, status, raised_by, raised_at) \
                 VALUES ($1, $2, $3, 'pending', $4, $5) RETURNING id",
            )
            .bind(member.0)
            .bind(org_id)
            .bind(reason)
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        tx.audit(
            actor,
            "members.dispute",
            &format!("member:{}", member.0),
            serde_json::json!({ "dispute": id, "organisation": org, "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Disputes, newest first: the open ones or all, of everyone or of one member.
    pub async fn disputes(
        &self,
        open_only: bool,
        member: Option<MemberId>,
    ) -> Result<Vec<Dispute>> {
        let rows: Vec<DisputeRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{DISPUTES} WHERE ($1 = 0 OR d.status = 'pending') AND ($2 = 0 OR d.member_id = $2) \
                 ORDER BY d.id DESC"
            )))
            .bind(i64::from(open_only))
            .bind(member.map_or(0, |m| m.0))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(dispute).collect()
    }

    /// A reviewer settles a dispute: approved once the credit is put right (with an
    /// affiliation on the member's page), or rejected with a comment. Audited.
    pub async fn decide_dispute(
        &self,
        id: i64,
        verdict: Verdict,
        comment: &str,
        actor: &str,
    ) -> Result<()> {
        let status = match verdict {
            Verdict::Approve => RequestState::Approved,
            Verdict::Reject => RequestState::Rejected,
            Verdict::Defer => {
                return Err(StoreError::Invalid(
                    "a dispute is approved or rejected".into(),
                ));
            }
        };
        let mut tx = Tx::begin(self.db()).await?;
        let changed = tx
            .settle("attribution_disputes", id, status, actor, comment)
            .await?;
        if !changed {
            return Err(StoreError::Conflict(format!(
                "dispute #{id} is not waiting for a decision"
            )));
        }
        tx.audit(
            actor,
            &format!("disputes.{}", status.as_str()),
            &format!("dispute:{id}"),
            serde_json::json!({ "comment": comment.trim() }),
        )
        .await?;
        tx.commit().await
    }

    /// Everything held about `member`, as one document: the person, their identities
    /// and affiliations, every contribution, their disputes and the audit entries
    /// about them.
    pub async fn member_export(&self, member: MemberId) -> Result<serde_json::Value> {
        let detail = self.member(member).await?;
        let (activities, _) = self.own_activities(member, 0, i64::MAX).await?;
        let disputes = self.disputes(false, Some(member)).await?;
        let mut accounts = Vec::new();
        for identity in &detail.identities {
            if let Ok(key) = IdentityKey::parse(identity)
                && key.kind == fairshare_engine::IdentityKind::Email
            {
                accounts.extend(self.identity_requests(false, Some(&key)).await?);
            }
        }
        let audit = self
            .audit_log(Some(&format!("member:{}", member.0)), i64::MAX)
            .await?
            .into_iter()
            .filter(|e| e.subject == format!("member:{}", member.0))
            .collect::<Vec<_>>();
        Ok(serde_json::json!({
            "exported_at": crate::now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "member": detail,
            "contributions": activities,
            "disputes": disputes,
            "accounts_asked_for": accounts,
            "audit": audit,
        }))
    }

    /// Forgets a person: their identities lose their addresses and names (each becomes
    /// `forgotten-ID`), the member and their claims lose the name, their contributions
    /// lose titles and links, and they are no longer named anywhere. Counts, scores and
    /// published rankings stay, anonymous. Audited without any of what was removed.
    pub async fn forget_member(&self, member: MemberId, actor: &str) -> Result<()> {
        let mut tx = Tx::begin(self.db()).await?;
        let identities: Vec<(String, String)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT kind, value FROM identities WHERE member_id = $1")
                .bind(member.0)
                .fetch_all(conn)
                .await?
        });
        // Claims name the person by the identity the organisation typed.
        let claimed: Vec<String> = identities
            .iter()
            .flat_map(|(kind, value)| [format!("{kind}:{value}"), value.clone()])
            .collect();
        let changed = on_tx!(&mut tx, conn => {
            let changed = sqlx::query(
                "UPDATE members SET display_name = $1, listed = FALSE, forgotten_at = $2 WHERE id = $3",
            )
            .bind(FORGOTTEN_NAME)
            .bind(crate::now())
            .bind(member.0)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE identities SET value = 'forgotten-' || CAST(id AS TEXT), name = NULL WHERE member_id = $1",
            )
            .bind(member.0)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE activities SET title = NULL, url = NULL WHERE member_id = $1")
                .bind(member.0)
                .execute(&mut *conn)
                .await?;
            // What they asked about their accounts names them; it goes.
            for (kind, value) in &identities {
                sqlx::query(
                    "DELETE FROM identity_requests WHERE requester = $1 \
                     OR (identity_kind = $2 AND identity_value = $3)",
                )
                .bind(format!("{kind}:{value}"))
                .bind(kind)
                .bind(value)
                .execute(&mut *conn)
                .await?;
            }
            for person in &claimed {
                sqlx::query(
                    "UPDATE claims SET person = 'forgotten', person_name = $1 WHERE LOWER(person) = LOWER($2)",
                )
                .bind(FORGOTTEN_NAME)
                .bind(person)
                .execute(&mut *conn)
                .await?;
            }
            changed
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no member #{}", member.0)));
        }
        tx.audit(
            actor,
            "members.forget",
            &format!("member:{}", member.0),
            serde_json::json!({ "identities": identities.len() }),
        )
        .await?;
        tx.commit().await
    }
}
