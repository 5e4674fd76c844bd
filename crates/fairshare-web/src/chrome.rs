//! The frame around every page — the project's name and logo in the title and header,
//! and, on signed-in pages, links to the portal and the console as the person's roles
//! allow. Set once per request by a middleware (the brand) and by signed-in handlers
//! (the links), and read by `pages::render_string`, so no page's own template struct
//! carries it. Public pages never set the links: they are cached and shared by all.
//!
//! It also carries the confirmation after an action: a handler that changed something
//! redirects with `?done=<what>` (`done_at`), and the signed-in page it lands on says
//! so in words from `DONE` — never text from the address itself.

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
    /// The confirmation shown above a signed-in page after an action.
    pub notice: Option<&'static str>,
    /// The `done` the request asked for; shown only once the page is a signed-in one.
    pending_notice: Option<&'static str>,
}

/// What each `done` confirms, in words.
const DONE: &[(&str, &str)] = &[
    (
        "decided",
        "Your decision is recorded, with your comment, in the audit log.",
    ),
    (
        "reviewed",
        "The month is reviewed and its ranking published.",
    ),
    (
        "claim-decided",
        "The claim is decided; the organisation sees your answer.",
    ),
    (
        "corrected",
        "The correction is recorded and the scores use it from now on.",
    ),
    ("price-decided", "The price submission is decided."),
    (
        "member-changed",
        "The change to the member is recorded (it can be undone).",
    ),
    (
        "source-saved",
        "The source is saved; the scheduler reads it on its next run.",
    ),
    ("draft-published", "The review draft is published."),
    (
        "applied",
        "Your application is submitted with its evaluation; a reviewer decides and you will get an email.",
    ),
    (
        "claim-sent",
        "Your claim is sent; the lead of its team verifies it.",
    ),
    ("profile-saved", "Your public profile is saved."),
    (
        "change-asked",
        "Your requested change waits for a reviewer.",
    ),
    (
        "staff-invited",
        "The invitation is sent; the person confirms it in their member area.",
    ),
    (
        "price-sent",
        "Your price submission is sent; two reviewers check it.",
    ),
    (
        "rules-saved",
        "The rules are recorded and in force from now on.",
    ),
    (
        "link-sent",
        "A link is on its way to that address: follow it while signed in here to add it.",
    ),
    (
        "linked",
        "The address is yours here now: its contributions are counted with yours.",
    ),
    (
        "nothing-to-link",
        "Neither address has contributions yet, so there is nothing to join: add it again once work made with it is recorded.",
    ),
    (
        "account-asked",
        "Sent: a reviewer checks that the account is yours, and the answer shows here.",
    ),
    (
        "account-decided",
        "Decided; the person sees your answer in their member area.",
    ),
    (
        "dispute-sent",
        "Your dispute is sent; a reviewer looks at it and the answer shows here.",
    ),
    (
        "dispute-decided",
        "The dispute is settled; the person sees your answer in their member area.",
    ),
    (
        "forgotten",
        "You are forgotten: your addresses, accounts and names are removed from your contributions, which stay only as anonymous counts.",
    ),
    ("saved", "Saved."),
];

/// `path` with `?done=<what>` (before any `#fragment`): the landing page confirms it.
pub fn done_at(path: &str, what: &str) -> String {
    let (address, fragment) = match path.split_once('#') {
        Some((address, fragment)) => (address, format!("#{fragment}")),
        None => (path, String::new()),
    };
    let joiner = if address.contains('?') { '&' } else { '?' };
    format!("{address}{joiner}done={what}{fragment}")
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
    let pending_notice = request.uri().query().and_then(|query| {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
        let (_, what) = pairs.into_iter().find(|(key, _)| key == "done")?;
        DONE.iter()
            .find(|(code, _)| *code == what)
            .map(|(_, words)| *words)
    });
    let chrome = Chrome {
        project: crate::brand_name(&state.site.project).to_string(),
        logo: state.site.logo_url.clone(),
        signed_in: None,
        notice: None,
        pending_notice,
    };
    CHROME.scope(RefCell::new(chrome), next.run(request)).await
}

/// A signed-in page: the header shows the portal and console links `user` may use.
pub fn signed_in(user: &SessionUser) {
    let links = SignedInLinks {
        portal: user.user.can_review() || !user.user.organisations().is_empty(),
        console: crate::console::verifier(user),
    };
    let _ = CHROME.try_with(|chrome| {
        let mut chrome = chrome.borrow_mut();
        chrome.signed_in = Some(links);
        chrome.notice = chrome.pending_notice;
    });
}

/// The request's frame; the bare default outside a request (mails, tests).
pub fn current() -> Chrome {
    CHROME
        .try_with(|chrome| chrome.borrow().clone())
        .unwrap_or_default()
}
