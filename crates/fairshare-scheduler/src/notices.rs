//! Who is told what. Notices to organisations are derived from the audit log, which
//! every decision writes in its own transaction: an entry's mails are queued under
//! keys naming the entry and the reader, then the entry is marked, so a crash in
//! between queues nothing twice and misses nothing. Reviewers and team leads get one
//! digest a day; administrators hear of failing sources and reviews.

use fairshare_store::accounts::Role;
use fairshare_store::audit::AuditEntry;
use fairshare_store::jobs::SourceState;
use fairshare_store::mail_queue::{ALWAYS, Mail};

use crate::Scheduler;

/// The audit actions whose entries are told to someone.
const TOLD: [&str; 12] = [
    "applications.submit",
    "applications.approved",
    "applications.rejected",
    "applications.deferred",
    "applications.invite_staff",
    "claims.approve",
    "claims.reject",
    "organisations.change_approve",
    "organisations.change_reject",
    "partners.status",
    "ranking.publish",
    "ranking.republish",
];

/// Entries older than this are not told (a new deployment does not mail the past).
const HORIZON: time::Duration = time::Duration::days(3);

/// Queues the mails of audit entries not told yet.
pub async fn queue_notices(scheduler: &Scheduler) {
    let work = async {
        let store = &scheduler.store;
        let since = store.clock().now() - HORIZON;
        // Status notices state the programme's minimums: the rules are read once, and
        // only when there is something to tell.
        let mut rules = None;
        loop {
            let entries = store.unnotified_audit(&TOLD, since, 200).await?;
            if entries.is_empty() {
                return Ok::<_, fairshare_store::StoreError>(());
            }
            if rules.is_none() {
                rules = Some(store.rules_in_force(&scheduler.settings.rules).await?);
            }
            let rules = rules.as_ref().expect("read above");
            let mut told = Vec::with_capacity(entries.len());
            for entry in &entries {
                for mail in mails_of(scheduler, rules, entry).await? {
                    store.queue_mail(&mail).await?;
                }
                told.push(entry.id);
            }
            store.mark_notified(&told).await?;
        }
    };
    if let Some(Err(error)) = scheduler.leased("notices", work).await {
        tracing::warn!(%error, "notices could not be queued; retrying at the next tick");
    }
}

/// The mails one audit entry means.
async fn mails_of(
    scheduler: &Scheduler,
    rules: &fairshare_engine::ProgrammeRules,
    entry: &AuditEntry,
) -> Result<Vec<Mail>, fairshare_store::StoreError> {
    let store = &scheduler.store;
    let org = entry.subject.strip_prefix("org:").unwrap_or_default();
    let detail = |key: &str| {
        entry
            .details
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let comment = match detail("comment") {
        c if c.trim().is_empty() => String::new(),
        c => format!("\n\nThe reviewer's comment: {c}"),
    };
    let for_admins = |category: &'static str, subject: String, body: String, link: &'static str| async move {
        let name = organisation_name(scheduler, org).await;
        let admins = store.addresses_of(Role::OrgAdmin, Some(org)).await?;
        Ok::<_, fairshare_store::StoreError>(
            admins
                .into_iter()
                .map(|to| Mail {
                    dedupe_key: format!("audit:{}:{to}", entry.id),
                    recipient: to,
                    category: category.to_string(),
                    subject: subject.replace("{org}", &name),
                    body: body.replace("{org}", &name),
                    link: link.to_string(),
                    unsubscribe_token: fairshare_web::auth::random_token(),
                })
                .collect::<Vec<_>>(),
        )
    };
    let mails = match entry.action.as_str() {
        "applications.submit" => {
            for_admins(
                "applications",
                "{org}: your application was received".into(),
                "We received the application of {org} to the partners programme. A reviewer \
                 will decide it; you will get a mail when they do. Meanwhile your portal shows \
                 where {org} stands on both criteria."
                    .into(),
                "/portal",
            )
            .await?
        }
        "applications.approved" | "applications.rejected" | "applications.deferred" => {
            let verdict = entry.action.trim_start_matches("applications.");
            let what = match verdict {
                "approved" => "was approved: {org} is a Community Partner",
                "rejected" => "was not approved",
                _ => "was deferred: the reviewer will look at it again",
            };
            for_admins(
                "applications",
                format!("{{org}}: your application {}", first_words(what)),
                format!("The application of {{org}} {what}.{comment}"),
                "/portal",
            )
            .await?
        }
        "claims.approve" | "claims.reject" => {
            let verdict = if entry.action == "claims.approve" {
                "was verified and now counts towards {org}'s score"
            } else {
                "was not verified"
            };
            for_admins(
                "status",
                "{org}: a claim was decided".into(),
                format!("A claim of work made for {{org}} {verdict}.{comment}"),
                "/portal",
            )
            .await?
        }
        "organisations.change_approve" | "organisations.change_reject" => {
            let verdict = if entry.action.ends_with("approve") {
                "was approved and is now on record"
            } else {
                "was not approved"
            };
            for_admins(
                "status",
                "{org}: your change of details was decided".into(),
                format!("The change of {{org}}'s details you asked for {verdict}.{comment}"),
                "/portal",
            )
            .await?
        }
        "partners.status" => {
            let (month, to, reason) = (detail("month"), detail("to"), detail("reason"));
            let needs = format!(
                "To stay a Community Partner an organisation sponsors the project every month at \
                 least at the fair amount for its country, and its people earn at least {} \
                 points a month with at least {} active contributors, over the last {} months.",
                rules.eligibility.min_monthly_score,
                rules.eligibility.min_members,
                rules.eligibility.months
            );
            let (subject, body) = match to.as_str() {
                "at_risk" => (
                    "{org} is at risk of losing its partner status",
                    format!(
                        "After the review of {month}, {{org}} is at risk: {reason}.\n\n{needs}\n\n\
                         Your portal shows which criterion fails, by how much, and what would fix it."
                    ),
                ),
                "lapsed" => (
                    "{org} is no longer a Community Partner",
                    format!(
                        "After the review of {month}, the partner status of {{org}} lapsed: \
                         {reason}.\n\n{needs}\n\nOnce both criteria pass again, the next review \
                         makes {{org}} a partner again."
                    ),
                ),
                "partner" => (
                    "{org} is a Community Partner again",
                    format!(
                        "After the review of {month}, {{org}} is a Community Partner again: {reason}."
                    ),
                ),
                _ => (
                    "{org}: your partner status changed",
                    format!(
                        "After the review of {month}, the status of {{org}} is now {to}: {reason}."
                    ),
                ),
            };
            for_admins("status", subject.into(), body, "/portal").await?
        }
        "ranking.publish" | "ranking.republish" => ranking_mails(scheduler, entry).await?,
        "applications.invite_staff" => {
            let identity = detail("identity");
            match identity.strip_prefix("email:") {
                Some(address) if address.contains('@') => {
                    let name = organisation_name(scheduler, org).await;
                    vec![Mail {
                        dedupe_key: format!("audit:{}:{address}", entry.id),
                        recipient: address.to_string(),
                        category: ALWAYS.into(),
                        subject: format!("{name} lists you among its staff"),
                        body: format!(
                            "{name} applied to the partners programme and lists you among the \
                             people who work for it. Please confirm or decline in your member \
                             area: sign in (or create an account) with this address."
                        ),
                        link: "/me".into(),
                        unsubscribe_token: fairshare_web::auth::random_token(),
                    }]
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    Ok(mails)
}

/// One mail per ranked organisation's administrators: its rank and its movement.
async fn ranking_mails(
    scheduler: &Scheduler,
    entry: &AuditEntry,
) -> Result<Vec<Mail>, fairshare_store::StoreError> {
    let store = &scheduler.store;
    let Some(month) = entry
        .subject
        .strip_prefix("ranking:")
        .and_then(|m| m.parse().ok())
    else {
        return Ok(Vec::new());
    };
    let Some(ranking) = store.ranking(month).await? else {
        return Ok(Vec::new());
    };
    let mut mails = Vec::new();
    for ranked in &ranking.entries {
        let movement = match ranked.previous_rank {
            None => "new in the ranking".to_string(),
            Some(p) if p == ranked.rank => "the same rank as the month before".to_string(),
            Some(p) if p > ranked.rank => format!("up {} from #{p}", p - ranked.rank),
            Some(p) => format!("down {} from #{p}", ranked.rank - p),
        };
        let name = organisation_name(scheduler, &ranked.org).await;
        for to in store
            .addresses_of(Role::OrgAdmin, Some(&ranked.org))
            .await?
        {
            mails.push(Mail {
                dedupe_key: format!("audit:{}:{to}:{}", entry.id, ranked.org),
                recipient: to,
                category: "ranking".into(),
                subject: format!("{name} is #{} in the ranking of {month}", ranked.rank),
                body: format!(
                    "The ranking of Community Partners for {month} is published. {name} is #{} \
                     with a score of {} ({movement}). The top three are shown on the project's \
                     home page; your portal shows what would move {name} up.",
                    ranked.rank, ranked.score
                ),
                link: "/portal".into(),
                unsubscribe_token: fairshare_web::auth::random_token(),
            });
        }
    }
    Ok(mails)
}

/// One digest a day for each reviewer and team lead with something waiting.
pub async fn queue_digest(scheduler: &Scheduler) {
    let store = &scheduler.store;
    let now = store.clock().now();
    let today = now.date();
    if now.hour() < scheduler.settings.digest_hour {
        return;
    }
    {
        let done = scheduler.done.lock().unwrap_or_else(|e| e.into_inner());
        if done.digest_sent == Some(today) {
            return;
        }
    }
    let work = async {
        let waiting = store.waiting().await?;
        let drafts = store.review_drafts().await?;
        let mut reviewers = store.addresses_of(Role::Reviewer, None).await?;
        reviewers.extend(store.addresses_of(Role::Admin, None).await?);
        reviewers.sort();
        reviewers.dedup();
        let mut lines = Vec::new();
        let count = |n: i64, one: &str, many: &str| match n {
            0 => None,
            1 => Some(format!("- 1 {one}")),
            n => Some(format!("- {n} {many}")),
        };
        lines.extend(count(waiting.applications, "application", "applications"));
        lines.extend(count(
            waiting.organisation_changes,
            "change of organisation details",
            "changes of organisation details",
        ));
        lines.extend(count(
            waiting.price_submissions,
            "Big Mac price submission",
            "Big Mac price submissions",
        ));
        lines.extend(count(
            waiting.claims_total(),
            "claim of work",
            "claims of work",
        ));
        for draft in &drafts {
            lines.push(format!(
                "- the ranking of {} awaits your approval",
                draft.month
            ));
        }
        if !lines.is_empty() {
            for to in &reviewers {
                store
                    .queue_mail(&Mail {
                        dedupe_key: format!("digest:{today}:{to}"),
                        recipient: to.clone(),
                        category: "digest".into(),
                        subject: format!("Partners programme: {} to decide", lines.len()),
                        body: format!(
                            "Waiting for a reviewer today:\n\n{}\n\nNo one decides their own \
                             organisation's requests.",
                            lines.join("\n")
                        ),
                        link: "/admin".into(),
                        unsubscribe_token: fairshare_web::auth::random_token(),
                    })
                    .await?;
            }
        }
        for (team, n) in &waiting.claims {
            for to in store.addresses_of(Role::TeamLead, Some(team)).await? {
                if reviewers.contains(&to) {
                    continue;
                }
                store
                    .queue_mail(&Mail {
                        dedupe_key: format!("digest:{today}:{to}:{team}"),
                        recipient: to.clone(),
                        category: "digest".into(),
                        subject: format!("{team}: {n} claims of work to verify"),
                        body: format!(
                            "{n} claims of work for the {team} team wait for a team lead to \
                             verify them."
                        ),
                        link: "/admin/claims".into(),
                        unsubscribe_token: fairshare_web::auth::random_token(),
                    })
                    .await?;
            }
        }
        Ok::<_, fairshare_store::StoreError>(())
    };
    match scheduler.leased("digest", work).await {
        Some(Ok(())) => {
            scheduler
                .done
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .digest_sent = Some(today)
        }
        Some(Err(error)) => tracing::warn!(%error, "the digest could not be queued"),
        None => {}
    }
}

/// Tells administrators once a source has failed `alert_after` times in a row.
pub async fn alert_failing_source(
    scheduler: &Scheduler,
    source: &SourceState,
    run: i64,
    error: &str,
) {
    let failures = source.failures_in_a_row + 1;
    if failures != scheduler.settings.alert_after {
        return;
    }
    let name = &source.definition.name;
    tell_admins(
        scheduler,
        &format!("source-failing:{name}:{run}"),
        format!("The source `{name}` has failed {failures} times in a row"),
        format!(
            "The {} source `{name}` failed {failures} times in a row. The last error:\n\n{error}\n\n\
             It is retried with backoff; the console shows every run and can pause it or run it now.",
            source.definition.settings.kind()
        ),
        "/admin/sources",
    )
    .await;
}

/// Tells administrators that a month's review could not run (once per month).
pub async fn alert_review_failed(scheduler: &Scheduler, month: &str, error: &str) {
    tell_admins(
        scheduler,
        &format!("review-failed:{month}"),
        format!("The review of {month} could not run"),
        format!(
            "The monthly review of {month} failed:\n\n{error}\n\nIt is retried with backoff. \
             A reviewer can also run it from the console or with `fairshare review-month {month}`."
        ),
        "/admin",
    )
    .await;
}

/// Tells reviewers a draft ranking awaits their approval.
pub async fn draft_ready(scheduler: &Scheduler, month: &str) {
    let store = &scheduler.store;
    let Ok(reviewers) = store.addresses_of(Role::Reviewer, None).await else {
        return;
    };
    for to in reviewers {
        let _ = store
            .queue_mail(&Mail {
                dedupe_key: format!("draft:{month}:{to}"),
                recipient: to,
                category: "digest".into(),
                subject: format!("The ranking of {month} awaits your approval"),
                body: format!(
                    "The monthly review of {month} is prepared. Preview the ranking and every \
                     status change with its reason, then publish it."
                ),
                link: "/admin/sources#review".into(),
                unsubscribe_token: fairshare_web::auth::random_token(),
            })
            .await;
    }
}

async fn tell_admins(scheduler: &Scheduler, key: &str, subject: String, body: String, link: &str) {
    let store = &scheduler.store;
    let Ok(admins) = store.addresses_of(Role::Admin, None).await else {
        return;
    };
    for to in admins {
        let queued = store
            .queue_mail(&Mail {
                dedupe_key: format!("{key}:{to}"),
                recipient: to,
                category: "operations".into(),
                subject: subject.clone(),
                body: body.clone(),
                link: link.into(),
                unsubscribe_token: fairshare_web::auth::random_token(),
            })
            .await;
        if let Err(error) = queued {
            tracing::warn!(%error, "an alert could not be queued");
        }
    }
}

async fn organisation_name(scheduler: &Scheduler, slug: &str) -> String {
    match scheduler.store.organisation(slug).await {
        Ok(org) => org.name,
        _ => slug.to_string(),
    }
}

/// "was approved: …" → "was approved".
fn first_words(text: &str) -> &str {
    text.split(':').next().unwrap_or(text)
}
