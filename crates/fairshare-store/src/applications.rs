//! Applications to become a Community Partner: the organisation's details, the
//! automatic evaluation attached when submitted, the staff each of whom confirms, and
//! the reviewer's decision. Every step is audited.

pub use fairshare_engine::Verdict;
use fairshare_engine::eligibility::Evaluation;
use fairshare_engine::lifecycle::after_application;
use fairshare_engine::requests::{Request, approvable};
use fairshare_engine::{CountryCode, IdentityKey, PartnerStatus, RequestKind, RequestState};
use fairshare_records::PersonRef;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::directory::resolve_person;
use crate::org_changes::{DetailsChange, record_change};
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

/// Who applies, as the store sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicant {
    /// A signed-in account (`user`): it may apply for an organisation not on record,
    /// for one it `administers`, or — while that organisation has no administrator —
    /// for one whose email domain its confirmed address is on; never for someone
    /// else's. It becomes the organisation's administrator.
    Account { user: i64, administers: bool },
    /// The operator at the command line (`fairshare apply`), who holds the database.
    Operator,
}

/// What a submitted application recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub application: i64,
    /// The organisation change it asks for (sponsor accounts, and for an organisation
    /// on record its name, country or website), waiting for a reviewer.
    pub change: Option<i64>,
}

impl ApplicationForm {
    /// Trimmed and normalised, or why it cannot be accepted (naming the field).
    pub fn checked(mut self) -> Result<ApplicationForm> {
        self.org = self.org.trim().to_lowercase();
        if self.org.is_empty()
            || self.org.len() > 64
            || !self
                .org
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(StoreError::Invalid(format!(
                "`org`: `{}` must be 1 to 64 letters, digits, `-` or `_`",
                self.org
            )));
        }
        for (field, value) in [
            ("name", &mut self.name),
            ("contact", &mut self.contact),
            ("description", &mut self.description),
        ] {
            *value = value.trim().to_string();
            if value.is_empty() {
                return Err(StoreError::Invalid(format!("`{field}` is required")));
            }
        }
        self.website = crate::optional_web_link("website", self.website.as_deref())?;
        if let Some(account) = &mut self.sponsorship {
            *account = account.clone().checked("sponsorship")?;
        }
        for (i, member) in self.staff.iter_mut().enumerate() {
            member.name = member.name.trim().to_string();
            IdentityKey::parse(&member.handle)
                .map_err(|e| StoreError::Invalid(format!("`staff[{i}].handle`: {e}")))?;
        }
        Ok(self)
    }
}

/// The platforms whose payments Fairshare reads; a sponsor account is on one of them.
pub const PLATFORMS: [&str; 2] = ["opencollective", "github_sponsors"];

impl SponsorAccount {
    /// On a known platform, with the account name normalised.
    pub(crate) fn checked(mut self, field: &str) -> Result<SponsorAccount> {
        self.platform = self.platform.trim().to_string();
        if !PLATFORMS.contains(&self.platform.as_str()) {
            return Err(StoreError::Invalid(format!(
                "`{field}`: the platform must be opencollective or github_sponsors, not `{}`",
                self.platform
            )));
        }
        self.account = crate::payments::normalised_account(&self.account);
        if self.account.is_empty() {
            return Err(StoreError::Invalid(format!(
                "`{field}`: an account name is missing"
            )));
        }
        Ok(self)
    }
}

/// Whether `user`'s confirmed address is on one of organisation `org_id`'s email
/// domains while `slug` has no administrator: staff proven by their mailbox.
async fn domain_staff_of_unadministered(
    tx: &mut Tx,
    user: i64,
    org_id: i64,
    slug: &str,
) -> Result<bool> {
    let found: Option<(i64,)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT u.id FROM users u JOIN org_domains d ON d.org_id = $2 \
             AND u.email LIKE ('%@' || d.domain) \
             WHERE u.id = $1 AND u.email_verified_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.role = 'org_admin' AND r.scope = $3)",
        )
        .bind(user)
        .bind(org_id)
        .bind(slug)
        .fetch_optional(conn)
        .await?
    });
    Ok(found.is_some())
}

/// The organisation columns an application may ask to change.
#[derive(sqlx::FromRow)]
struct OnRecord {
    id: i64,
    status: String,
    name: String,
    country: Option<String>,
    website: Option<String>,
}

impl Store {
    /// The evaluation an application is judged on: the organisation's own, or for one
    /// not on record yet, that of a newcomer in its country (no payments, no work).
    pub async fn evaluate_application(
        &self,
        form: &ApplicationForm,
        as_of: time::Date,
        rules: &fairshare_engine::ProgrammeRules,
    ) -> Result<Evaluation> {
        match self.org_id(&form.org).await {
            Ok(_) => self.evaluate(&form.org, as_of, rules).await,
            Err(StoreError::NotFound(_)) => {
                self.evaluate_newcomer(form.country, as_of, rules).await
            }
            Err(e) => Err(e),
        }
    }

    /// Records an application, in one transaction or not at all. An application
    /// creates its organisation, or comes from someone who already administers it;
    /// whatever it asks to change that decides money or credit — an organisation on
    /// record's name, country and website, and any sponsor account — becomes an
    /// organisation change waiting for a reviewer, as from the portal. A new
    /// organisation's applicant becomes its first administrator.
    pub async fn submit_application(
        &self,
        form: &ApplicationForm,
        applicant: Applicant,
        evaluation: &Evaluation,
        actor: &str,
    ) -> Result<Submitted> {
        let form = form.clone().checked()?;
        let mut tx = Tx::begin(self.db()).await?;
        let existing: Option<OnRecord> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id, status, name, country, website FROM organisations WHERE slug = $1")
                .bind(&form.org)
                .fetch_optional(conn)
                .await?
        });
        let linked: Vec<(String, String)> = match &existing {
            Some(org) => on_tx!(&mut tx, conn => {
                sqlx::query_as("SELECT platform, account FROM sponsor_accounts WHERE org_id = $1")
                    .bind(org.id)
                    .fetch_all(conn)
                    .await?
            }),
            None => Vec::new(),
        };
        let new_accounts: Vec<SponsorAccount> = form
            .sponsorship
            .iter()
            .filter(|a| !linked.contains(&(a.platform.clone(), a.account.clone())))
            .cloned()
            .collect();
        let (org_id, change) = match existing {
            Some(org) => {
                if parse_column::<PartnerStatus>("organisations.status", &org.status)?.is_partner()
                {
                    return Err(StoreError::Conflict(format!(
                        "`{}` is already a partner",
                        form.org
                    )));
                }
                if let Applicant::Account {
                    user,
                    administers: false,
                } = applicant
                    && !domain_staff_of_unadministered(&mut tx, user, org.id, &form.org).await?
                {
                    return Err(StoreError::Forbidden(format!(
                        "`{}` is an organisation on record: only its administrators may apply for it. Ask one of them to add you, or choose another identifier.",
                        form.org
                    )));
                }
                let country = form.country.as_str().to_string();
                let asks = org.name != form.name
                    || org.country.as_deref() != Some(country.as_str())
                    || (form.website.is_some() && org.website != form.website)
                    || !new_accounts.is_empty();
                let change = asks.then(|| DetailsChange {
                    name: (org.name != form.name).then(|| form.name.clone()),
                    country: form.country,
                    website: form.website.clone().or(org.website.clone()),
                    domains: None,
                    sponsor_accounts: new_accounts,
                });
                (org.id, change)
            }
            None => {
                let (id,): (i64,) = on_tx!(&mut tx, conn => {
                    sqlx::query_as(
                        "INSERT INTO organisations (slug, name, country, website, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (slug) DO NOTHING RETURNING id",
                    )
                    .bind(&form.org)
                    .bind(&form.name)
                    .bind(form.country.as_str())
                    .bind(&form.website)
                    .bind(crate::now())
                    .fetch_optional(conn)
                    .await?
                    .ok_or_else(|| StoreError::Conflict(format!("`{}` was just taken: choose another identifier", form.org)))?
                });
                let change = (!new_accounts.is_empty()).then(|| DetailsChange {
                    name: None,
                    country: form.country,
                    website: form.website.clone(),
                    domains: None,
                    sponsor_accounts: new_accounts,
                });
                (id, change)
            }
        };
        let open: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id FROM applications WHERE org_id = $1 AND status IN ('pending', 'deferred')")
                .bind(org_id)
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
            .bind(org_id)
            .bind(serde_json::to_string(&form).unwrap_or_default())
            .bind(serde_json::to_string(evaluation).unwrap_or_default())
            .bind(evaluation.eligible.to_string())
            .bind(actor)
            .bind(crate::now())
            .fetch_one(conn)
            .await?
        });
        for member in &form.staff {
            let key = IdentityKey::parse(&member.handle)
                .map_err(|e| StoreError::Invalid(format!("staff handle: {e}")))?;
            on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO application_staff (application_id, identity, name, status) VALUES ($1, $2, $3, 'pending')")
                    .bind(id)
                    .bind(key.to_string())
                    .bind(&member.name)
                    .execute(conn)
                    .await?;
            });
        }
        on_tx!(&mut tx, conn => {
            // The applicant's own words become its public description.
            sqlx::query("UPDATE organisations SET status = 'applicant', description = $2 WHERE id = $1")
                .bind(org_id)
                .bind(&form.description)
                .execute(conn)
                .await?;
        });
        let change = match change {
            Some(change) => Some(record_change(&mut tx, org_id, &form.org, change, actor).await?),
            None => None,
        };
        if let Applicant::Account { user, .. } = applicant {
            let granted = on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO user_roles (user_id, role, scope) VALUES ($1, 'org_admin', $2) ON CONFLICT DO NOTHING")
                    .bind(user)
                    .bind(&form.org)
                    .execute(conn)
                    .await?
                    .rows_affected()
            });
            if granted > 0 {
                tx.audit(
                    actor,
                    "users.grant",
                    &format!("user:{user}"),
                    serde_json::json!({ "role": "org_admin", "scope": form.org }),
                )
                .await?;
            }
        }
        tx.audit(
            actor,
            "applications.submit",
            &format!("org:{}", form.org),
            serde_json::json!({ "application": id, "eligible": evaluation.eligible, "change": change }),
        )
        .await?;
        tx.commit().await?;
        Ok(Submitted {
            application: id,
            change,
        })
    }

    /// Judges an open application on today's facts before a decision: when today's
    /// evaluation differs from the one attached (a deferred application whose missing
    /// month is now paid), today's is recorded first, audited. Returns it.
    pub async fn evaluate_open_application_again(
        &self,
        id: i64,
        as_of: time::Date,
        rules: &fairshare_engine::ProgrammeRules,
        actor: &str,
    ) -> Result<Option<Evaluation>> {
        let application = self.application(id).await?;
        if !application.status.is_open() {
            return Ok(None);
        }
        let now = self
            .evaluate_application(&application.form, as_of, rules)
            .await?;
        if now.eligible != application.eligible {
            self.refresh_open_application(&application.org, &now, actor)
                .await?;
        }
        Ok(Some(now))
    }

    /// Re-evaluates an organisation's open application once a reviewer has changed
    /// the facts it is judged on (an approved organisation change); audited.
    pub async fn refresh_open_application(
        &self,
        org: &str,
        evaluation: &Evaluation,
        actor: &str,
    ) -> Result<Option<i64>> {
        let org_id = self.org_id(org).await?;
        let mut tx = Tx::begin(self.db()).await?;
        let open: Option<(i64,)> = on_tx!(&mut tx, conn => {
            sqlx::query_as(
                "UPDATE applications SET evaluation = $1, eligible = $2 \
                 WHERE org_id = $3 AND status IN ('pending', 'deferred') RETURNING id",
            )
            .bind(serde_json::to_string(evaluation).unwrap_or_default())
            .bind(evaluation.eligible.to_string())
            .bind(org_id)
            .fetch_optional(conn)
            .await?
        });
        if let Some((id,)) = open {
            tx.audit(
                actor,
                "applications.reevaluate",
                &format!("org:{org}"),
                serde_json::json!({ "application": id, "eligible": evaluation.eligible }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(open.map(|(id,)| id))
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
        let concerns = [application.org.clone()];
        let request = Request {
            kind: RequestKind::Application,
            id,
            state: application.status,
            submitted_by: &application.submitted_by,
            concerns: &concerns,
        };
        let status = self.decide_as(&request, actor, decision).await?;
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
