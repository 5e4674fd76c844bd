//! The frame around every page — the project's name and logo in the title and header,
//! and, on signed-in pages, links to the portal and the console as the person's roles
//! allow. Set once per request by a middleware (the brand) and by signed-in handlers
//! (the links), and read by `pages::render_string`, so no page's own template struct
//! carries it. Public pages never set the links: they are cached and shared by all.

use std::cell::RefCell;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use fairshare_store::accounts::SessionUser;

use crate::AppState;

/// What the layout shows around a page.
#[derive(Clone, Default)]
pub struct Chrome {
    /// The project's name, as configured (`site.project`); empty: "Fairshare" alone.
    pub project: String,
    /// The project's logo (an `https://` address), shown before its name.
    pub logo: Option<String>,
    /// Signed in: the header links to the portal and the console as the roles allow.
    pub signed_in: Option<SignedInLinks>,
}

#[derive(Clone, Copy, Default)]
pub struct SignedInLinks {
    pub portal: bool,
    pub console: bool,
}

impl Chrome {
    /// The frame as the templates' runtime values (`"chrome"|value::<Chrome>`).
    pub fn values(&self) -> (&'static str, &dyn std::any::Any) {
        ("chrome", self)
    }

    /// The title's suffix and the header's name: "Acme · Fairshare", or "Fairshare".
    pub fn site_name(&self) -> String {
        if self.project.is_empty() {
            "Fairshare".into()
        } else {
            format!("{} community partners", self.project)
        }
    }
}

tokio::task_local! {
    static CHROME: RefCell<Chrome>;
}

/// Middleware: the request's frame starts with the project's brand.
pub async fn scope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let chrome = Chrome {
        project: crate::brand_name(&state.site.project).to_string(),
        logo: state.site.logo_url.clone(),
        signed_in: None,
    };
    CHROME.scope(RefCell::new(chrome), next.run(request)).await
}

/// A signed-in page: the header shows the portal and console links `user` may use.
pub fn signed_in(user: &SessionUser) {
    let links = SignedInLinks {
        portal: user.user.can_review() || !user.user.organisations().is_empty(),
        console: crate::console::verifier(user),
    };
    let _ = CHROME.try_with(|chrome| chrome.borrow_mut().signed_in = Some(links));
}

/// The request's frame; the bare default outside a request (mails, tests).
pub fn current() -> Chrome {
    CHROME
        .try_with(|chrome| chrome.borrow().clone())
        .unwrap_or_default()
}
