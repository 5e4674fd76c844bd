//! Fairshare's web server: server-rendered pages that work without JavaScript, the
//! JSON API under `/api/v1/`, and `/healthz`. Handlers live in one module per area
//! (`pages` for HTML, `api` for JSON); both read through [`AppState`]'s store and never
//! write SQL themselves. Templates (`templates/`) and assets (`assets/`) are compiled
//! into the binary.

pub mod account;
mod api;
pub mod auth;
mod breakdown;
mod charts;
pub mod chrome;
mod console;
mod console_nav;
mod details_review;
pub mod error;
mod format;
pub use format::minute;
pub mod github_login;
mod listing;
mod lookup;
mod machine;
pub mod mail;
mod member;
mod metrics;
mod pages;
mod portal;
mod recovery;
pub mod report;
mod server;
mod settings;
mod site;
pub mod spool;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;
use fairshare_engine::ProgrammeRules;
use fairshare_store::Store;
use time::Date;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The rules in fairshare.toml; rules recorded in the console win (see `rules`).
    pub configured_rules: Arc<ProgrammeRules>,
    /// Today's date (UTC). A function so tests can pin the date.
    pub today: Arc<dyn Fn() -> Date + Send + Sync>,
    pub webhooks: Arc<WebhookSecrets>,
    pub site: Arc<SiteSettings>,
    pub mailer: Arc<mail::Mailer>,
    /// Sign-in with GitHub, when configured.
    pub github_login: Option<Arc<github_login::GithubLogin>>,
    /// Rendered public pages, invalidated when a ranking is published.
    pub cache: Arc<site::PageCache>,
    pub limits: Arc<Limits>,
    /// Where webhook deliveries wait when the database cannot take them at once.
    pub spool: Option<Arc<spool::WebhookSpool>>,
    pub contribution_webhooks: Arc<ContributionWebhooks>,
    pub machine: Arc<Machine>,
    /// Requests served, by status class, with their latencies (for `/metrics`).
    pub metrics: Arc<metrics::RequestMetrics>,
}

/// What keeps one client, or one kind of request, from exhausting the server or
/// locking others out. Each is a setting under `[server]` in `fairshare.toml`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A reverse proxy stands in front: throttle by the address it appends to
    /// `X-Forwarded-For`, not by the proxy's own.
    pub trust_proxy: bool,
    /// A client must send its request headers within this time.
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight is closed after this time.
    pub idle_timeout: Duration,
    /// Connections held open at once; at the cap the longest-idle are closed to make
    /// room for new ones.
    pub max_connections: usize,
    /// Rendered public pages kept in memory, in bytes.
    pub cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            trust_proxy: false,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            cache_bytes: 32 << 20,
        }
    }
}

/// What the public site says about the programme.
#[derive(Clone)]
pub struct SiteSettings {
    /// The project's name, as in "Community Partners of …".
    pub project: String,
    pub opencollective_url: Option<String>,
    pub github_sponsors_url: Option<String>,
    /// The project's logo, an address checked as a web link.
    pub logo_url: Option<String>,
    /// The site's public address, without a trailing slash: snippets pasted on other
    /// sites link back with it.
    pub base_url: String,
    /// The programme's policy, rendered from Markdown.
    pub policy_html: String,
}

/// What pages call the project when no name is configured.
pub const DEFAULT_PROJECT: &str = "the project";

/// The project's own name for titles, headers and mail subjects; empty when none is
/// configured.
pub fn brand_name(project: &str) -> &str {
    if project == DEFAULT_PROJECT {
        ""
    } else {
        project
    }
}

/// The policy text that ships, used unless the configuration names another file.
pub const DEFAULT_POLICY: &str = include_str!("../content/become-a-partner.md");

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            project: DEFAULT_PROJECT.into(),
            opencollective_url: None,
            github_sponsors_url: None,
            logo_url: None,
            base_url: "http://localhost".into(),
            policy_html: markdown_html(DEFAULT_POLICY),
        }
    }
}

/// Markdown to HTML; raw HTML in the source is shown as text, not run, and a link or
/// image whose address is not `http(s)` (or `mailto:` for a link) keeps only its text.
pub fn markdown_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd, html};
    let mut dropped = Vec::new();
    let events = Parser::new(markdown).filter_map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let unsafe_link = !format::is_link(dest_url) && !dest_url.starts_with('#');
            dropped.push(unsafe_link);
            (!unsafe_link).then_some(event)
        }
        Event::End(TagEnd::Link) => (!dropped.pop().unwrap_or(false)).then_some(event),
        Event::Start(Tag::Image { ref dest_url, .. })
            if !dest_url.to_ascii_lowercase().starts_with("https://")
                || !format::is_link(dest_url) =>
        {
            dropped.push(true);
            None
        }
        Event::Start(Tag::Image { .. }) => {
            dropped.push(false);
            Some(event)
        }
        Event::End(TagEnd::Image) => (!dropped.pop().unwrap_or(false)).then_some(event),
        other => Some(other),
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// Shared secrets that authenticate the platforms' webhooks; an unset secret turns
/// that webhook off (503).
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    /// GitHub signs each delivery with it (`X-Hub-Signature-256`).
    pub github_sponsors: Option<String>,
    /// Open Collective does not sign webhooks: the URL carries it (`?token=`).
    pub opencollective: Option<String>,
    /// GitHub signs repository deliveries (`/webhooks/github`) with it.
    pub github: Option<String>,
    /// GitLab sends it as `X-Gitlab-Token` (`/webhooks/gitlab`).
    pub gitlab: Option<String>,
    /// Crowdin carries it in the URL (`?token=`) or an `Authorization: Bearer` header.
    pub crowdin: Option<String>,
}

/// What the contribution webhooks (GitHub, GitLab, Crowdin) store: the repositories
/// and projects they read (none listed: every one the secret signs), and the bot
/// patterns and teams every contribution import applies.
#[derive(Clone)]
pub struct ContributionWebhooks {
    pub repositories: Arc<fairshare_import::github_archive::ArchiveFilter>,
    /// GitLab projects (`group/project`), compared without case.
    pub gitlab_projects: Vec<String>,
    pub settings: fairshare_ingest::Settings,
}

impl ContributionWebhooks {
    /// Whether GitLab deliveries of `project` are read.
    pub fn wants_gitlab(&self, project: &str) -> bool {
        self.gitlab_projects.is_empty()
            || self
                .gitlab_projects
                .iter()
                .any(|p| p.eq_ignore_ascii_case(project))
    }
}

impl Default for ContributionWebhooks {
    fn default() -> Self {
        ContributionWebhooks {
            repositories: Arc::new(fairshare_import::github_archive::ArchiveFilter::new(&[])),
            gitlab_projects: Vec::new(),
            settings: Default::default(),
        }
    }
}

/// What the console and the probes say about the programme's machine.
#[derive(Clone, Default)]
pub struct Machine {
    /// The monthly review's calendar, when the scheduler runs inside this server.
    pub review: Option<fairshare_engine::schedule::ReviewCalendar>,
    /// `approve`: the scheduler prepares drafts that reviewers publish.
    pub approve_reviews: bool,
    /// `GET /metrics`: off when unset; otherwise a request must carry
    /// `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
}

impl AppState {
    pub fn new(store: Store, configured_rules: ProgrammeRules) -> Self {
        AppState {
            store,
            configured_rules: Arc::new(configured_rules),
            today: Arc::new(|| time::OffsetDateTime::now_utc().date()),
            webhooks: Arc::new(WebhookSecrets::default()),
            site: Arc::new(SiteSettings::default()),
            mailer: Arc::new(mail::Mailer::default()),
            github_login: None,
            cache: Arc::new(site::PageCache::default()),
            limits: Arc::new(Limits::default()),
            spool: None,
            contribution_webhooks: Arc::new(ContributionWebhooks::default()),
            machine: Arc::new(Machine::default()),
            metrics: Arc::new(metrics::RequestMetrics::default()),
        }
    }

    pub fn today(&self) -> Date {
        (self.today)()
    }

    /// The programme's rules in force: the newest version recorded in the console, else
    /// the configuration's. Read from the store each time, so every instance of the
    /// app applies a change at once.
    pub async fn rules(&self) -> Result<ProgrammeRules, fairshare_store::StoreError> {
        self.store.rules_in_force(&self.configured_rules).await
    }
}

/// The JSON API's routes; `openapi.json` documents exactly these (a test checks it).
pub fn api_routes() -> Vec<(&'static str, axum::routing::MethodRouter<AppState>)> {
    vec![
        ("/api/v1/openapi.json", get(api::openapi)),
        ("/api/v1/partners", get(api::partners)),
        ("/api/v1/partners/{slug}", get(api::partner)),
        ("/api/v1/rankings", get(api::rankings)),
        ("/api/v1/rankings/{month}", get(api::ranking)),
        ("/api/v1/report", get(api::report)),
        ("/api/v1/thresholds", get(api::thresholds)),
        ("/api/v1/thresholds/{iso_a3}", get(api::threshold)),
    ]
}

/// The API, readable from any site's scripts (GET only, no credentials).
fn api_router() -> Router<AppState> {
    api_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = api::OPENAPI;

/// The whole application as a router, ready to serve or to test in-process.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(site::home))
        .route("/partners", get(site::partners))
        .route("/partners/{slug}", get(site::partner))
        .route("/become-a-partner", get(site::become_a_partner))
        .route("/recognition", get(site::recognition))
        .route("/report", get(site::report))
        .route("/report.csv", get(site::report_csv))
        .route("/badges/{file}", get(site::badge))
        .route("/thresholds", get(pages::thresholds))
        .route("/assets/style.css", get(pages::stylesheet))
        .route("/healthz", get(api::healthz))
        .merge(api_router())
        .route("/login", get(account::login_form).post(account::login))
        .route("/login/github", get(github_login::start))
        .route("/login/github/callback", get(github_login::callback))
        .route("/logout", axum::routing::post(account::logout))
        .route("/account", get(account::account))
        .route("/me", get(member::me))
        .route("/me/listing", axum::routing::post(member::set_listing))
        .route("/me/dispute", axum::routing::post(member::dispute))
        .route("/me/accounts", axum::routing::post(member::ask_account))
        .route("/me/identities", axum::routing::post(member::add_address))
        .route("/me/link", get(member::follow_link))
        .route("/me/data.json", get(member::download))
        .route("/me/forget", axum::routing::post(member::forget))
        .route("/admin/disputes/{id}/decide", axum::routing::post(console::decide_dispute))
        .route(
            "/admin/accounts/{id}/decide",
            axum::routing::post(console::decide_account),
        )
        .route("/me/staff/{application}", axum::routing::post(member::answer_staff))
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/verify", get(recovery::verify))
        .route("/account/verify", axum::routing::post(recovery::resend_verification))
        .route("/forgot", get(recovery::forgot_form).post(recovery::forgot))
        .route("/reset", get(recovery::reset_form).post(recovery::reset))
        .route("/apply", get(account::apply_form).post(account::apply))
        .route("/admin/review", axum::routing::post(console::review))
        .route("/portal", get(portal::portal))
        .route("/portal/breakdown", get(breakdown::breakdown))
        .route("/portal/claims", axum::routing::post(portal::submit_claim))
        .route("/portal/profile", axum::routing::post(portal::save_profile))
        .route("/portal/staff", axum::routing::post(portal::invite_staff))
        .route("/portal/price", axum::routing::post(portal::submit_price))
        .route("/portal/details", axum::routing::post(portal::request_details))
        .route("/admin", get(console::admin))
        .route("/admin/claims", get(console::claims_queue))
        .route("/admin/corrections", get(console::corrections))
        .route("/admin/corrections/{action}", axum::routing::post(console::correct))
        .route("/admin/prices", get(console::prices))
        .route("/admin/prices/{id}/decide", axum::routing::post(console::decide_price))
        .route("/admin/runs", get(console::runs))
        .route("/admin/audit", get(console::audit))
        .route("/admin/changes", get(details_review::changes))
        .route("/admin/changes/{id}/decide", axum::routing::post(details_review::decide))
        .route("/admin/settings", get(settings::settings).post(settings::save))
        .route("/admin/settings/comparable", axum::routing::post(settings::comparable))
        .route("/admin/organisations", get(console::organisations))
        .route("/admin/members", get(console::members))
        .route("/admin/members/{action}", axum::routing::post(console::member_action))
        .route("/admin/claims/{id}/decide", axum::routing::post(console::decide_claim))
        .route("/admin/applications/{id}/decide", axum::routing::post(console::decide))
        .route(
            "/webhooks/github-sponsors",
            axum::routing::post(webhooks::github_sponsors).layer(tower_http::limit::RequestBodyLimitLayer::new(1 << 20)),
        )
        .route(
            "/webhooks/github",
            axum::routing::post(webhooks::github).layer(tower_http::limit::RequestBodyLimitLayer::new(25 << 20)),
        )
        .route("/readyz", get(metrics::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/admin/sources", get(machine::sources).post(machine::add_source))
        .route("/admin/sources/{name}/{action}", axum::routing::post(machine::source_action))
        .route("/admin/review-drafts/{month}/publish", axum::routing::post(machine::publish_draft))
        .route("/unsubscribe", get(machine::unsubscribe_form).post(machine::unsubscribe))
        .route("/account/mail", axum::routing::post(machine::mail_choices))
        .route(
            "/webhooks/gitlab",
            axum::routing::post(webhooks::gitlab).layer(tower_http::limit::RequestBodyLimitLayer::new(25 << 20)),
        )
        .route(
            "/webhooks/crowdin",
            axum::routing::post(webhooks::crowdin).layer(tower_http::limit::RequestBodyLimitLayer::new(5 << 20)),
        )
        .route(
            "/webhooks/opencollective",
            axum::routing::post(webhooks::opencollective).layer(tower_http::limit::RequestBodyLimitLayer::new(1 << 20)),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), chrome::scope))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; form-action 'self'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            // tower-http's own span, at its level and target, with the address redacted.
            tracing::debug_span!(
                target: "tower_http::trace::make_span",
                "request",
                method = %request.method(),
                uri = %Redacted(request.uri()),
                version = ?request.version(),
            )
        }))
}

/// Query parameters whose values are secrets (the Open Collective webhook's `token`,
/// emailed `token`s, OAuth's `code` and `state`): logged as `REDACTED`.
const SECRET_PARAMETERS: [&str; 6] = ["token", "code", "state", "secret", "password", "key"];

/// The request's address as logs may show it: secret parameters' values replaced.
pub fn redacted(uri: &axum::http::Uri) -> String {
    Redacted(uri).to_string()
}

/// Writes an address with secret parameters' values replaced, only when a log line
/// is actually written.
struct Redacted<'a>(&'a axum::http::Uri);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.path())?;
        let Some(query) = self.0.query() else {
            return Ok(());
        };
        for (i, pair) in query.split('&').enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            match pair.split_once('=') {
                Some((name, _))
                    if SECRET_PARAMETERS
                        .iter()
                        .any(|secret| name.eq_ignore_ascii_case(secret)) =>
                {
                    write!(f, "{name}=REDACTED")?
                }
                _ => f.write_str(pair)?,
            }
        }
        Ok(())
    }
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_until(listener, state, shutdown_signal()).await
}

/// Serves within the state's [`Limits`] until `shutdown` completes.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    let limits = state.limits.clone();
    server::run(listener, router(state), &limits, shutdown).await?;
    tracing::info!("shut down gracefully");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
        _ = terminate => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}
