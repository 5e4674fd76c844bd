//! The console's own navigation, at the top of every console page: its pages, the one
//! shown, and how many items wait on each queue — so a reviewer sees the month's work
//! from any console page. Team leads, who only verify claims, see only that page.

use fairshare_store::accounts::SessionUser;

use crate::AppState;
use crate::error::AppError;

/// One link of the console's navigation.
pub(crate) struct ConsoleLink {
    pub href: &'static str,
    pub label: &'static str,
    /// Items waiting for a decision there (0: nothing, or not a queue).
    pub waiting: i64,
    pub current: bool,
}

/// The links shown above a console page.
pub(crate) struct ConsoleNav {
    pub links: Vec<ConsoleLink>,
}

/// The navigation for `user` on the console page at `here`, with the queues' counts.
pub(crate) async fn console_nav(
    state: &AppState,
    user: &SessionUser,
    here: &str,
) -> Result<ConsoleNav, AppError> {
    let waiting = state.store.waiting().await?;
    // Reviewers verify every team's claims (no list); team leads their own teams'.
    let teams = crate::console::verified_teams(user);
    let claims: i64 = waiting
        .claims
        .iter()
        .filter(|(team, _)| teams.as_ref().is_none_or(|t| t.contains(team)))
        .map(|(_, n)| n)
        .sum();
    let pages: [(&'static str, &'static str, i64); 11] = [
        ("/admin", "Applications and review", waiting.applications),
        ("/admin/claims", "Claims", claims),
        (
            "/admin/changes",
            "Organisation changes",
            waiting.organisation_changes,
        ),
        (
            "/admin/prices",
            "Price submissions",
            waiting.price_submissions,
        ),
        ("/admin/corrections", "Corrections", 0),
        ("/admin/organisations", "Organisations", 0),
        ("/admin/members", "Members and disputes", waiting.disputes),
        ("/admin/runs", "Import runs", 0),
        ("/admin/sources", "Sources and schedule", 0),
        ("/admin/settings", "Settings", 0),
        ("/admin/audit", "Audit log", 0),
    ];
    let reviewer = user.user.can_review();
    Ok(ConsoleNav {
        links: pages
            .into_iter()
            .filter(|(href, _, _)| reviewer || *href == "/admin/claims")
            .map(|(href, label, waiting)| ConsoleLink {
                href,
                label,
                waiting,
                current: href == here,
            })
            .collect(),
    })
}
