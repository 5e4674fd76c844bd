//! Applications to become a Community Partner: the organisation's details, the
//! automatic evaluation attached when submitted, the staff each of whom confirms, and
//! the reviewer's decision. Every step is audited.

pub use fairshare_engine::Verdict;
use fairshare_engine::eligibility::Evaluation;
use fairshare_engine::lifecycle::after_application;
use fairshare_engine::requests::{Request, approvable, decide};
use fairshare_engine::{CountryCode, IdentityKey, PartnerStatus, RequestKind, RequestState};
use fairshare_records::PersonRef;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::directory::resolve_person;
use crate::tx::{Tx, on_tx};
use crate::{Result, Store, StoreError, on_pool, parse_column};

/// What an organisation submits (`fairshare apply --file application.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    pub org: String,
    pub name: String,
    pub country: CountryCode,
    #[serde(default)]
    pub website: Option<String>,
    pub contact: String,
    pub description: String,
    #[serde(default)]
    pub sponsorship: Option<SponsorAccount>,
    #[serde(default)]
    pub staff: Vec<StaffMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SponsorAccount {
    /// `opencollective` or `github_sponsors`.
    pub platform: String,
    pub account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    pub name: String,
    /// An email or `source:handle`.
    pub handle: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: i64,
    pub org: String,
    pub status: RequestState,
    pub eligible: bool,
    pub submitted_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    pub form: ApplicationForm,
    pub evaluation: serde_json::Value,
    /// `(identity, name, status)` of each listed staff member.
    pub staff: Vec<(String, String, String)>,
}

/// An `applications` row with its organisation's slug.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    org: String,
    status: String,
    eligible: String,
    submitted_by: String,
    submitted_at: OffsetDateTime,
    decided_by: Option<String>,
    comment: Option<String>,
    details: String,
    evaluation: String,
}

impl Store {
    /// Creates or updates the applying organisation and links its sponsor account, so
    /// that it can be evaluated before the application is recorded.
    pub async fn prepare_applicant(&self, form: &ApplicationForm, actor: &str) -> Result<()> {
        if !form
            .org
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || form.org.is_empty()
        {
            return Err(StoreError::Invalid(format!(
                "`org`: `{}` may only contain letters, digits, `-` and `_`",
                form.org
            )));
        }
        let mut tx = Tx::begin(self.db()).await?;
        let existing: Option<(i64, String)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id, status FROM organisations WHERE slug = $1").bind(&form.org).fetch_optional(conn).await?
        });
        match existing {
            Some((_, status))
                if parse_column::<PartnerStatus>("organisations.status", &status)?.is_partner() =>
            {
                return Err(StoreError::Conflict(format!(
                    "`{}` is already a partner",
                    form.org
                )));
            }
            Some((id, _)) => {
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE organisations SET name = $1, country = $2, website = $3 WHERE id = $4")
                        .bind(&form.name)
                        .bind(form.country.as_str())
                        .bind(&form.website)
                        .bind(id)
                        .execute(conn)
                        .await?;
                });
            }
            None => {
                on_tx!(&mut tx, conn => {
                    sqlx::query("INSERT INTO organisations (slug, name, country, website, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&form.org)
                        .bind(&form.name)
                        .bind(form.country.as_str())
                        .bind(&form.website)
                        .bind(crate::now())
                        .execute(conn)
                        .await?;
                });
            }
        }
        tx.audit(
            actor,
            "applications.prepare",
            &format!("org:{}", form.org),
            serde_json::json!({ "name": form.name, "country": form.country }),
        )
        .await?;
        tx.commit().await?;
        if let Some(account) = &form.sponsorship {
            self.link_account(&form.org, &account.platform, &account.account, actor)
                .await?;
        }
        Ok(())
    }

    /// Records the application with its evaluation; its staff await confirmation.
    pub async fn submit_application(
        &self,
        form: &ApplicationForm,
        evaluation: &Evaluation,
        actor: &str,
    ) -> Result<i64> {
        let mut staff = Vec::with_capacity(form.staff.len());
        for (i, member) in form.staff.iter().enumerate() {
            let key = IdentityKey::parse(&member.handle)
                .map_err(|e| StoreError::Invalid(format!("`staff[{i}].handle`: {e}")))?;
            staff.push((key, member.name.clone()));
        }
        let mut tx = Tx::begin(self.db()).await?;
        let (org,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM organisations WHERE slug = $1").bind(&form.org).fetch_one(conn).await?
        });
        let open: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM applications WHERE org_id = $1 AND status IN ('pending', 'deferred')")
                .bind(org)
                .fetch_optional(conn)
                .await?
        });
        if let Some((id,)) = open {
            return Err(StoreError::Conflict(format!(
                "`{}` already has application #{id} under review",
                form.org
            )));
        }
        let (id,): (i64,) = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "INSERT INTO applications (org_id, status, details, evaluation, eligible, submitted_by, submitted_at) \
                 VALUES ($1, 'pending', $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(org)
            .bind(serde_json::to_string(form).unwrap_or_default())
            .bind(serde_json::to_string(evaluation).unwrap_or_default())
            .bind(evaluation.eligible.to_string())
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        for (key, name) in &staff {
            on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO application_staff (application_id, identity, name, status) VALUES ($1, $2, $3, 'pending')")
                    .bind(id)
                    .bind(key.to_string())
                    .bind(name)
                    .execute(conn)
                    .await?;
            });
        }
        on_tx!(&mut tx, conn => {
            // The applicant's own words become its public description.
            sqlx::query("UPDATE organisations SET status = 'applicant', description = $2 WHERE id = $1")
                .bind(org)
                .bind(&form.description)
                .execute(conn)
                .await?;
        });
        tx.audit(
            actor,
            "applications.submit",
            &format!("org:{}", form.org),
            serde_json::json!({ "application": id, "eligible": evaluation.eligible }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn applications(&self) -> Result<Vec<Application>> {
        self.applications_where(0, "").await
    }

    /// The latest application of an organisation, if it applied.
    pub async fn latest_application_of(&self, org: &str) -> Result<Option<Application>> {
        Ok(self.applications_where(0, org).await?.pop())
    }

    /// Applications by id (0: any) and organisation slug (empty: any), oldest first.
    async fn applications_where(&self, id: i64, org: &str) -> Result<Vec<Application>> {
        let rows: Vec<Row> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.id, o.slug AS org, a.status, a.eligible, a.submitted_by, a.submitted_at, a.decided_by, a.comment, a.details, a.evaluation \
                 FROM applications a JOIN organisations o ON o.id = a.org_id \
                 WHERE ($1 = 0 OR a.id = $1) AND ($2 = '' OR o.slug = $2) ORDER BY a.id",
            )
            .bind(id)
            .bind(org)
            .fetch_all(pool)
            .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for Row {
            id,
            org,
            status,
            eligible,
            submitted_by,
            submitted_at,
            decided_by,
            comment,
            details,
            evaluation,
        } in rows
        {
            let staff: Vec<(String, String, String)> = on_pool!(self.db(), pool => {
                sqlx::query_as("SELECT identity, name, status FROM application_staff WHERE application_id = $1 ORDER BY id")
                    .bind(id)
                    .fetch_all(pool)
                    .await?
            });
            out.push(Application {
                id,
                org,
                status: parse_column("applications.status", &status)?,
                eligible: eligible == "true",
                submitted_by,
                submitted_at,
                decided_by,
                comment,
                form: serde_json::from_str(&details)
                    .map_err(|e| StoreError::Corrupt(format!("application #{id}: {e}")))?,
                evaluation: serde_json::from_str(&evaluation).unwrap_or_default(),
                staff,
            });
        }
        Ok(out)
    }

    pub async fn application(&self, id: i64) -> Result<Application> {
        self.applications_where(id, "")
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("no application #{id}")))
    }

    /// A reviewer's decision with a comment. Approving needs the attached evaluation to
    /// say eligible: money alone, or work alone, never makes a partner.
    pub async fn decide_application(
        &self,
        id: i64,
        decision: Verdict,
        comment: &str,
        actor: &str,
    ) -> Result<()> {
        if comment.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a decision needs a comment (--comment)".into(),
            ));
        }
        let application = self.application(id).await?;
        let request = Request {
            kind: RequestKind::Application,
            id,
            state: application.status,
            submitted_by: &application.submitted_by,
        };
        let status = decide(&request, actor, decision)?;
        approvable(
            &request,
            decision,
            if application.eligible {
                Ok(())
            } else {
                Err("its evaluation says not eligible (defer it, or reject it)")
            },
        )?;
        let org_status = after_application(decision);
        let mut tx = Tx::begin(self.db()).await?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE applications SET status = $1, decided_by = $2, decided_at = $3, comment = $4 WHERE id = $5")
                .bind(status.as_str())
                .bind(actor)
                .bind(crate::now())
                .bind(comment)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE organisations SET status = $1 WHERE slug = $2")
                .bind(org_status.as_str())
                .bind(&application.org)
                .execute(&mut *conn)
                .await?;
        });
        tx.audit(
            actor,
            &format!("applications.{status}"),
            &format!("org:{}", application.org),
            serde_json::json!({ "application": id, "comment": comment }),
        )
        .await?;
        tx.commit().await
    }

    /// Invites a person to confirm they work for `org`: a pending staff entry on its
    /// latest application, which the person answers in their member area. Audited.
    pub async fn invite_staff(&self, org: &str, member: &StaffMember, actor: &str) -> Result<()> {
        let key = IdentityKey::parse(&member.handle)
            .map_err(|e| StoreError::Invalid(format!("handle: {e}")))?;
        if member.name.trim().is_empty() {
            return Err(StoreError::Invalid("`name` is required".into()));
        }
        let org_id = self.org_id(org).await?;
        let mut tx = Tx::begin(self.db()).await?;
        let latest: (Option<i64>,) = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT MAX(id) FROM applications WHERE org_id = $1").bind(org_id).fetch_one(conn).await?
        });
        let application = latest.0.ok_or_else(|| {
            StoreError::Invalid(format!(
                "`{org}` has not applied yet: staff are invited with the application"
            ))
        })?;
        let pending: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM application_staff WHERE application_id = $1 AND identity = $2 AND status = 'pending'")
                .bind(application)
                .bind(key.to_string())
                .fetch_optional(conn)
                .await?
        });
        if pending.is_some() {
            return Err(StoreError::Conflict(format!("{key} is already invited")));
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("INSERT INTO application_staff (application_id, identity, name, status) VALUES ($1, $2, $3, 'pending')")
                .bind(application)
                .bind(key.to_string())
                .bind(member.name.trim())
                .execute(conn)
                .await?;
        });
        tx.audit(
            actor,
            "applications.invite_staff",
            &format!("org:{org}"),
            serde_json::json!({ "application": application, "identity": key.to_string() }),
        )
        .await?;
        tx.commit().await
    }

    /// Applications that list `identity` as staff and wait for that person's answer:
    /// `(application id, organisation slug, organisation name)`.
    pub async fn pending_staff_of(
        &self,
        identity: &IdentityKey,
    ) -> Result<Vec<(i64, String, String)>> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT a.id, o.slug, o.name FROM application_staff s JOIN applications a ON a.id = s.application_id \
                 JOIN organisations o ON o.id = a.org_id WHERE s.identity = $1 AND s.status = 'pending' ORDER BY a.id",
            )
            .bind(identity.to_string())
            .fetch_all(pool)
            .await?
        }))
    }

    /// A listed staff member confirms (or declines) working for the organisation; a
    /// confirmation becomes an affiliation from today.
    pub async fn confirm_staff(
        &self,
        id: i64,
        identity: &IdentityKey,
        confirm: bool,
        actor: &str,
    ) -> Result<()> {
        let application = self.application(id).await?;
        let mut tx = Tx::begin(self.db()).await?;
        let changed = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE application_staff SET status = $1, decided_at = $2 WHERE application_id = $3 AND identity = $4 AND status = 'pending'")
                .bind(if confirm { "confirmed" } else { "declined" })
                .bind(crate::now())
                .bind(id)
                .bind(identity.to_string())
                .execute(conn)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "{identity} is not awaiting confirmation on application #{id}"
            )));
        }
        if confirm {
            let (org,): (i64,) = on_tx!(&mut tx, conn => {
                sqlx::query_as("SELECT id FROM organisations WHERE slug = $1").bind(&application.org).fetch_one(conn).await?
            });
            let (_, member, _) =
                resolve_person(&mut tx, &PersonRef::new(identity.clone(), None), &[], actor)
                    .await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO affiliations (member_id, org_id, valid_from, valid_until, source, created_by, created_at) \
                     VALUES ($1, $2, $3, NULL, 'application', $4, $5)",
                )
                .bind(member)
                .bind(org)
                .bind(crate::now().date())
                .bind(actor)
                .bind(crate::now())
                .execute(conn)
                .await?;
            });
            crate::directory::reattribute(&mut tx, &[member]).await?;
        }
        tx.audit(
            actor,
            if confirm {
                "applications.staff_confirmed"
            } else {
                "applications.staff_declined"
            },
            &format!("org:{}", application.org),
            serde_json::json!({ "application": id, "identity": identity.to_string() }),
        )
        .await?;
        tx.commit().await
    }
}
