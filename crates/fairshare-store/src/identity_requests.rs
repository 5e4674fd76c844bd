//! Identities on other platforms joined to a person on someone's word, checked: a
//! person asks from `/me` that `discord:…`, `matrix:…` or `gitlab:…` be counted as
//! theirs, and a reviewer confirms or refuses; a manager links one to a member
//! directly from the console. Either is audited, and a join that merges two members
//! is undoable like any merge. Email addresses and GitHub accounts are never joined
//! this way: they are proven by an emailed link or by signing in.

use fairshare_engine::{IdentityKey, IdentityKind, MemberId, RequestState, Verdict};
use serde::Serialize;
use time::OffsetDateTime;

use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column};

/// A person's request that an identity be counted as theirs.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRequest {
    pub id: i64,
    /// The address they signed in with.
    pub requester: String,
    pub identity: String,
    pub reason: String,
    pub status: RequestState,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    /// The member who holds the identity now, if it has contributed.
    pub holder: Option<MemberId>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    requester: String,
    identity: String,
    reason: String,
    status: String,
    raised_at: OffsetDateTime,
    decided_by: Option<String>,
    comment: Option<String>,
    holder: Option<i64>,
}

/// Identities proven another way, and so never asked for.
fn askable(identity: &IdentityKey) -> Result<()> {
    match identity.kind {
        IdentityKind::Email => Err(StoreError::Invalid(
            "an email address is added with the link we send to it, not asked for".into(),
        )),
        IdentityKind::Github => Err(StoreError::Invalid(
            "a GitHub account joins when you sign in with GitHub".into(),
        )),
        _ => Ok(()),
    }
}

impl Store {
    /// `requester` (the address a person signed in with) asks that `identity` be
    /// counted as theirs. One open request per person and identity; audited.
    pub async fn request_identity(
        &self,
        requester: &IdentityKey,
        identity: &IdentityKey,
        reason: &str,
    ) -> Result<i64> {
        askable(identity)?;
        let reason = reason.trim();
        if reason.chars().count() > 2000 {
            return Err(StoreError::Invalid(
                "`reason`: at most 2,000 characters".into(),
            ));
        }
        let mut tx = Tx::begin(self.db()).await?;
        let own = crate::directory::find_identity(&mut tx, requester).await?;
        let held = crate::directory::find_identity(&mut tx, identity).await?;
        if let (Some((_, mine)), Some((_, theirs))) = (own, held)
            && mine == theirs
        {
            return Err(StoreError::Invalid(format!("{identity} is already yours")));
        }
        let open: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "SELECT id FROM identity_requests WHERE requester = $1 AND identity_kind = $2 \
                 AND identity_value = $3 AND status = 'pending'",
            )
            .bind(requester.to_string())
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .fetch_optional(conn)
            .await?
        });
        if let Some((id,)) = open {
            // Asking twice is safe: the first request stands.
            return Ok(id);
        }
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO identity_requests (requester, identity_kind, identity_value, reason, status, raised_at) \
                 VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id",
            )
            .bind(requester.to_string())
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .bind(reason)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        tx.audit(
            &requester.value,
            "members.identity_asked",
            &format!("identity_request:{id}"),
            serde_json::json!({ "identity": identity.to_string(), "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Requests, newest first: the open ones or all, of everyone or of one requester.
    pub async fn identity_requests(
        &self,
        open_only: bool,
        requester: Option<&IdentityKey>,
    ) -> Result<Vec<IdentityRequest>> {
        let requester = requester.map(ToString::to_string).unwrap_or_default();
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT r.id, r.requester, r.identity_kind || ':' || r.identity_value AS identity, \
                 r.reason, r.status, r.raised_at, r.decided_by, r.comment, i.member_id AS holder \
                 FROM identity_requests r \
                 LEFT JOIN identities i ON i.kind = r.identity_kind AND i.value = r.identity_value \
                 WHERE ($1 = 0 OR r.status = 'pending') AND ($2 = '' OR r.requester = $2) \
                 ORDER BY r.id DESC",
            )
            .bind(i64::from(open_only))
            .bind(requester)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(IdentityRequest {
                    status: parse_column("identity_requests.status", &row.status)?,
                    id: row.id,
                    requester: row.requester,
                    identity: row.identity,
                    reason: row.reason,
                    raised_at: row.raised_at,
                    decided_by: row.decided_by,
                    comment: row.comment,
                    holder: row.holder.map(MemberId),
                })
            })
            .collect()
    }

    /// A reviewer decides a request: approved joins the identity to the requester
    /// (merging the members that held them apart), rejected says why. Audited.
    pub async fn decide_identity_request(
        &self,
        id: i64,
        verdict: Verdict,
        comment: &str,
        actor: &str,
    ) -> Result<()> {
        let found: Option<(String, String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT requester, identity_kind || ':' || identity_value, status \
                 FROM identity_requests WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let Some((requester, identity, state)) = found else {
            return Err(StoreError::NotFound(format!("no identity request #{id}")));
        };
        // The engine's one rule: open, not deferred, never the requester's own.
        let asked_by = requester.strip_prefix("email:").unwrap_or(&requester);
        let status = self
            .decide_as(
                &fairshare_engine::requests::Request {
                    kind: fairshare_engine::RequestKind::AccountLink,
                    id,
                    state: parse_column("identity_requests.status", &state)?,
                    submitted_by: asked_by,
                    concerns: &[],
                },
                actor,
                verdict,
            )
            .await?;
        if verdict == Verdict::Approve {
            let parse = |text: &str| {
                IdentityKey::parse(text).map_err(|e| StoreError::Invalid(e.to_string()))
            };
            self.join_identities(
                &parse(&requester)?,
                &parse(&identity)?,
                &format!("confirmed by a reviewer (request #{id})"),
                actor,
                true,
            )
            .await?;
        }
        let mut tx = Tx::begin(self.db()).await?;
        let changed = tx
            .settle("identity_requests", id, status, actor, comment)
            .await?;
        if !changed {
            return Err(StoreError::Conflict(format!(
                "identity request #{id} is not waiting for a decision"
            )));
        }
        tx.audit(
            actor,
            &format!("identity_requests.{}", status.as_str()),
            &format!("identity_request:{id}"),
            serde_json::json!({ "identity": identity, "comment": comment.trim() }),
        )
        .await?;
        tx.commit().await
    }

    /// A manager links `identity` to `member`: its work, past and future, is theirs.
    /// A member that held it apart is merged in (undoable). Audited.
    pub async fn link_identity(
        &self,
        member: MemberId,
        identity: &IdentityKey,
        reason: &str,
        actor: &str,
    ) -> Result<MemberId> {
        let own: Option<(String, String)> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT kind, value FROM identities WHERE member_id = $1 ORDER BY id LIMIT 1")
                .bind(member.0)
                .fetch_optional(pool)
                .await?
        });
        let Some((kind, value)) = own else {
            return Err(StoreError::NotFound(format!(
                "member #{} has no identity to link to",
                member.0
            )));
        };
        let proven = IdentityKey::parse(&format!("{kind}:{value}"))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let joined = self
            .join_identities(&proven, identity, reason, actor, true)
            .await?;
        Ok(joined.unwrap_or(member))
    }
}
