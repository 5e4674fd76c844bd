//! The public site: home page with the top three, the partner directory and partner
//! pages, how to become a partner, recognition, the community report and partner
//! badges. Everything shown comes from published rankings and opted-in names.
//!
//! Pages are cached by address and dropped when public data changes (the cache reads
//! the store's `public_data_version` — the latest audit entry and import run — at most
//! once a second) or the day changes. Requests that miss the same page at once wait
//! for one render instead of each rendering it: after a sync empties the cache under
//! load, the store sees one query set per page, not one per waiting visitor.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fairshare_engine::{CountryCode, Month};
use fairshare_store::public::{CommunityReport, PartnerPage, PublicPartner};
use time::Date;

use crate::AppState;
use crate::charts;
use crate::error::AppError;
use crate::format::grouped;
use crate::lookup::{parse_country, parse_date};
use crate::pages::{error_page, render_string};

/// Rendered public pages by address, valid for one public data version and one day.
#[derive(Default)]
pub struct PageCache {
    inner: Mutex<CacheState>,
    /// The renders under way, by key and generation: later misses wait on them.
    rendering: Mutex<HashMap<(String, u64), Render>>,
}

/// One page's render under way: the first request fills it, the others wait on it.
type Render = std::sync::Arc<tokio::sync::OnceCell<Cached>>;

#[derive(Default)]
struct CacheState {
    version: String,
    day: Option<Date>,
    checked: Option<Instant>,
    /// Counts the clears: a page rendered from the data before a clear is not kept
    /// after it.
    generation: u64,
    pages: HashMap<String, Cached>,
    /// Keys in the order they were stored: the oldest go first when full.
    order: std::collections::VecDeque<String>,
    /// The bodies' bytes held, kept under `Limits::cache_bytes`.
    bytes: usize,
}

impl CacheState {
    fn clear(&mut self) {
        self.generation += 1;
        self.pages.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Keeps `page` under `key`, dropping the oldest pages until the bodies fit in
    /// `budget` bytes. A page larger than an eighth of the budget is not kept.
    fn keep(&mut self, key: String, page: Cached, budget: usize) {
        let size = page.body.len() + key.len();
        if size > budget / 8 || self.pages.contains_key(&key) {
            return;
        }
        while self.bytes + size > budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.pages.remove(&oldest) {
                self.bytes -= gone.body.len() + oldest.len();
            }
        }
        self.bytes += size;
        self.order.push_back(key.clone());
        self.pages.insert(key, page);
    }
}

#[derive(Clone)]
pub struct Cached {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: String,
}

/// How often the cache asks the store whether public data changed.
const VERSION_CHECK: Duration = Duration::from_secs(1);

impl PageCache {
    /// The bytes of page bodies held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("page cache lock").bytes
    }

    /// The cached page for `key`, or renders it with `make` (given its own handle on
    /// the state, so that handlers need not clone it) and keeps it.
    pub async fn get_or_render<F, Fut>(
        &self,
        state: &AppState,
        key: &str,
        make: F,
    ) -> Result<Cached, AppError>
    where
        F: FnOnce(AppState) -> Fut,
        Fut: std::future::Future<Output = Result<(String, &'static str), AppError>>,
    {
        let today = state.today();
        // One request a second asks the store for the version; the others go on with
        // what the cache holds meanwhile.
        let check = {
            let mut cache = self.inner.lock().expect("page cache lock");
            let due = cache.day != Some(today)
                || cache.checked.is_none_or(|at| at.elapsed() >= VERSION_CHECK);
            if due {
                cache.checked = Some(Instant::now());
            }
            due
        };
        if check {
            let version = state.store.public_data_version().await;
            let cleared = {
                let mut cache = self.inner.lock().expect("page cache lock");
                match version {
                    Ok(version) if cache.version != version || cache.day != Some(today) => {
                        cache.clear();
                        cache.version = version;
                        cache.day = Some(today);
                        Some(cache.generation)
                    }
                    Ok(_) => None,
                    Err(e) => {
                        cache.checked = None; // the next request asks again
                        return Err(e.into());
                    }
                }
            };
            // A render whose request went away (closed, timed out) leaves its entry;
            // entries of an older generation are never waited on again.
            if let Some(generation) = cleared {
                self.rendering
                    .lock()
                    .expect("page cache lock")
                    .retain(|(_, of), _| *of >= generation);
            }
        }
        let generation = {
            let cache = self.inner.lock().expect("page cache lock");
            if let Some(hit) = cache.pages.get(key) {
                return Ok(hit.clone());
            }
            cache.generation
        };
        let flight = (key.to_string(), generation);
        let render = self
            .rendering
            .lock()
            .expect("page cache lock")
            .entry(flight.clone())
            .or_default()
            .clone();
        // The first request renders; the others wait for its page. Should it fail, the
        // next waiter renders in its turn.
        let page = render
            .get_or_try_init(|| async {
                let (body, content_type) = make(state.clone()).await?;
                let etag = format!("\"{:016x}\"", fnv1a(body.as_bytes()));
                let page = Cached {
                    body: Bytes::from(body),
                    content_type,
                    etag,
                };
                let mut cache = self.inner.lock().expect("page cache lock");
                if cache.generation == generation {
                    cache.keep(key.to_string(), page.clone(), state.limits.cache_bytes);
                }
                Ok::<_, AppError>(page)
            })
            .await
            .cloned();
        let mut rendering = self.rendering.lock().expect("page cache lock");
        if rendering
            .get(&flight)
            .is_some_and(|current| std::sync::Arc::ptr_eq(current, &render))
            && (page.is_ok() || std::sync::Arc::strong_count(&render) <= 2)
        {
            rendering.remove(&flight);
        }
        page
    }
}

/// A fast, stable hash for ETags (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// Pages and API answers: browsers revalidate every time (a cheap 304 with the ETag),
/// so a newly published ranking shows at once.
pub const REVALIDATE: &str = "public, no-cache";
/// Badges are embedded on other sites: an hour's delay is fine there.
const BADGE_CACHE: &str = "public, max-age=3600";

/// Sends a cached page, or 304 when the client already has it.
pub fn send(page: Cached, headers: &HeaderMap, cache_control: &'static str) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == page.etag))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, page.etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, page.content_type.to_string()),
            (header::ETAG, page.etag),
            (header::CACHE_CONTROL, cache_control.to_string()),
        ],
        page.body,
    )
        .into_response()
}

const HTML: &str = "text/html; charset=utf-8";

/// The cache key of a page: its path and the parameters its handler reads, as it
/// parsed them — so unknown parameters, their order and their spelling never make a
/// new entry.
pub(crate) fn page_key(path: &str, params: &impl serde::Serialize) -> String {
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(params).unwrap_or_default()
    )
}

async fn cached_html<F, Fut>(
    state: &AppState,
    key: String,
    headers: &HeaderMap,
    make: F,
) -> Response
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<String, AppError>>,
{
    cached_text(state, key, headers, HTML, make).await
}

/// A cached page of any text type: rendered once per public data version, sent with
/// its ETag, or the error page.
async fn cached_text<F, Fut>(
    state: &AppState,
    key: String,
    headers: &HeaderMap,
    content_type: &'static str,
    make: F,
) -> Response
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<String, AppError>>,
{
    match state
        .cache
        .get_or_render(state, &key, |state| async move {
            make(state).await.map(|text| (text, content_type))
        })
        .await
    {
        Ok(page) => send(page, headers, REVALIDATE),
        Err(e) => error_page(e),
    }
}

/// A partner as the templates show it.
pub struct PartnerView {
    pub rank: i64,
    pub slug: String,
    pub name: String,
    pub initials: String,
    pub country: String,
    pub score: String,
    pub members: i64,
    pub movement: String,
    pub movement_label: String,
    pub services: String,
}

impl PartnerView {
    fn of(p: &PublicPartner) -> Self {
        let (movement, movement_label) = match p.movement() {
            None => ("new".to_string(), "new in the ranking".to_string()),
            Some(0) => ("–".to_string(), "same place as last month".to_string()),
            Some(n) if n > 0 => (format!("▲ {n}"), format!("up {n} since last month")),
            Some(n) => (format!("▼ {}", -n), format!("down {} since last month", -n)),
        };
        PartnerView {
            rank: p.rank,
            slug: p.slug.clone(),
            initials: initials(&p.name),
            name: p.name.clone(),
            country: country_name(p.country.as_deref()),
            score: grouped(p.score),
            members: p.members,
            movement,
            movement_label,
            services: p.services.join(", "),
        }
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

pub fn country_name(code: Option<&str>) -> String {
    match code {
        None => "—".into(),
        Some(code) => CountryCode::parse_lenient(code)
            .ok()
            .and_then(|c| c.iso_name())
            .map(str::to_string)
            .unwrap_or_else(|| code.to_string()),
    }
}

struct Headline {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    title: &'static str,
    project: String,
    month: String,
    top: Vec<PartnerView>,
    headlines: Vec<Headline>,
}

pub async fn home(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    cached_html(
        &state,
        page_key(uri.path(), &()),
        &headers,
        |state| async move {
            let (month, partners) = state.store.latest_partners().await?;
            let mut headlines = vec![Headline {
                value: grouped(partners.len().into()),
                label: "community partners".into(),
            }];
            if let Some(m) = month {
                let (activities, contributors) = state
                    .store
                    .activity_totals(m.first_day(), m.next().first_day())
                    .await?;
                headlines.push(Headline {
                    value: grouped(contributors.into()),
                    label: format!("people contributed in {}", month_name(m)),
                });
                headlines.push(Headline {
                    value: grouped(activities.into()),
                    label: format!("contributions in {}", month_name(m)),
                });
            }
            let countries: BTreeSet<&str> = partners
                .iter()
                .filter_map(|p| p.country.as_deref())
                .collect();
            headlines.push(Headline {
                value: countries.len().to_string(),
                label: "countries among the partners".into(),
            });
            render_string(&HomePage {
                title: "Community partners",
                project: state.site.project.clone(),
                month: month.map(month_name).unwrap_or_default(),
                top: partners.iter().take(3).map(PartnerView::of).collect(),
                headlines,
            })
        },
    )
    .await
}

pub fn month_name(month: Month) -> String {
    let first = month.first_day();
    format!("{} {}", first.month(), first.year())
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
pub struct DirectoryFilter {
    #[serde(default)]
    country: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    language: String,
    /// From 1; [`PARTNERS_PER_PAGE`] a page.
    #[serde(default)]
    page: String,
}

/// Partners on one page of the directory: a large programme's list stays light.
pub const PARTNERS_PER_PAGE: usize = 100;

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "partners.html")]
struct PartnersPage {
    title: &'static str,
    month: String,
    partners: Vec<PartnerView>,
    total: usize,
    countries: Vec<Choice>,
    services: Vec<Choice>,
    languages: Vec<Choice>,
    filtered: bool,
    /// Partners matching the filters, on every page.
    matching: usize,
    page: usize,
    pages: usize,
    /// The positions of the first and last partner shown, among those matching.
    first: usize,
    last: usize,
    /// The filters as a query string to carry to the other pages (`&country=…`).
    carried: String,
}

fn choices(values: BTreeSet<String>, chosen: &str, label: impl Fn(&str) -> String) -> Vec<Choice> {
    values
        .into_iter()
        .map(|value| Choice {
            label: label(&value),
            selected: value == chosen,
            value,
        })
        .collect()
}

pub async fn partners(
    State(state): State<AppState>,
    Query(filter): Query<DirectoryFilter>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached_html(
        &state,
        page_key(uri.path(), &filter),
        &headers,
        |state| async move {
            let page = crate::lookup::whole_number("page", Some(&filter.page), 1, usize::MAX)?;
            let (month, all) = state.store.latest_partners().await?;
            let matching: Vec<&PublicPartner> = all
                .iter()
                .filter(|p| {
                    filter.country.is_empty()
                        || p.country.as_deref() == Some(filter.country.as_str())
                })
                .filter(|p| filter.service.is_empty() || p.services.contains(&filter.service))
                .filter(|p| filter.language.is_empty() || p.languages.contains(&filter.language))
                .collect();
            let pages = matching.len().div_ceil(PARTNERS_PER_PAGE).max(1);
            if page > pages {
                return Err(AppError::NotFound(format!(
                    "page {page} is past the last page of partners ({pages})"
                )));
            }
            let shown: Vec<PartnerView> = matching
                .iter()
                .skip((page - 1) * PARTNERS_PER_PAGE)
                .take(PARTNERS_PER_PAGE)
                .map(|p| PartnerView::of(p))
                .collect::<Vec<_>>();
            let last = (page - 1) * PARTNERS_PER_PAGE + shown.len();
            let kept: Vec<(&str, &String)> = [
                ("country", &filter.country),
                ("service", &filter.service),
                ("language", &filter.language),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
            let carried = match serde_urlencoded::to_string(&kept).unwrap_or_default() {
                query if query.is_empty() => query,
                query => format!("&{query}"),
            };
            render_string(&PartnersPage {
                title: "Partners",
                month: month.map(month_name).unwrap_or_default(),
                total: all.len(),
                countries: choices(
                    all.iter().filter_map(|p| p.country.clone()).collect(),
                    &filter.country,
                    |c| country_name(Some(c)),
                ),
                services: choices(
                    all.iter().flat_map(|p| p.services.clone()).collect(),
                    &filter.service,
                    str::to_string,
                ),
                languages: choices(
                    all.iter().flat_map(|p| p.languages.clone()).collect(),
                    &filter.language,
                    str::to_string,
                ),
                filtered: !(filter.country.is_empty()
                    && filter.service.is_empty()
                    && filter.language.is_empty()),
                partners: shown,
                matching: matching.len(),
                first: (page - 1) * PARTNERS_PER_PAGE + 1,
                last,
                page,
                pages,
                carried,
            })
        },
    )
    .await
}

struct RankRow {
    month: String,
    rank: i64,
    score: String,
}

#[derive(Template)]
#[template(path = "partner.html")]
struct PartnerTemplate {
    title: String,
    page: PartnerPage,
    country: String,
    status: &'static str,
    rank_chart: String,
    score_chart: String,
    /// The badge's absolute address, when the organisation is in the latest ranking
    /// (a former partner's page shows neither a badge nor a snippet).
    badge: Option<String>,
    base_url: String,
    ranks: Vec<RankRow>,
    kinds_chart: String,
    teams_chart: String,
    monthly_chart: String,
    total_12_months: String,
}

pub async fn partner(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached_html(
        &state,
        page_key(uri.path(), &()),
        &headers,
        |state| async move {
            let page = crate::lookup::partner_page(&state, &slug).await?;
            let (_, podium_and_self) = state.store.latest_podium_and(&slug).await?;
            let base_url = state.site.base_url.clone();
            let badge = (page.status.public_title().is_some()
                && podium_and_self.iter().any(|p| p.slug == slug))
            .then(|| format!("{base_url}/badges/{slug}.svg"));
            let mut kinds: HashMap<String, i64> = HashMap::new();
            let mut teams: HashMap<String, i64> = HashMap::new();
            for month in &page.mix {
                for (k, n) in &month.by_kind {
                    *kinds.entry(k.clone()).or_default() += n;
                }
                for (t, n) in &month.by_team {
                    *teams.entry(t.clone()).or_default() += n;
                }
            }
            let sorted = |map: HashMap<String, i64>| {
                let mut v: Vec<(String, i64)> = map.into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                v
            };
            let kinds = sorted(kinds);
            let total: i64 = kinds.iter().map(|k| k.1).sum();
            // Every chart on the page covers the same twelve months, up to the last
            // complete one.
            let mut months = vec![Month::of(state.today()).previous()];
            while months.len() < 12 {
                let earlier = months[months.len() - 1].previous();
                months.push(earlier);
            }
            months.reverse();
            let labels: Vec<String> = months.iter().map(|m| m.to_string()).collect();
            let monthly: Vec<(String, i64)> = months
                .iter()
                .map(|month| {
                    let n = page
                        .mix
                        .iter()
                        .filter(|m| m.month == *month)
                        .map(|m| m.by_kind.values().sum::<i64>())
                        .sum();
                    (month.to_string(), n)
                })
                .collect();
            let ranked =
                |pick: fn(&fairshare_store::public::RankPoint) -> i64| -> Vec<Option<i64>> {
                    months
                        .iter()
                        .map(|month| page.ranks.iter().find(|r| r.month == *month).map(pick))
                        .collect()
                };
            let places = ranked(|r| r.rank);
            let scores: Vec<(String, i64)> = labels
                .iter()
                .zip(ranked(|r| r.score.trunc().try_into().unwrap_or(0)))
                .filter_map(|(label, score)| score.map(|s| (label.clone(), s)))
                .collect();
            render_string(&PartnerTemplate {
                title: page.name.clone(),
                country: country_name(page.country.as_deref()),
                status: page.status.public_title().unwrap_or("Former partner"),
                rank_chart: charts::rank_line("Place in each month's ranking", &labels, &places),
                score_chart: charts::line("Score in each month's ranking", &scores),
                badge,
                base_url,
                ranks: page
                    .ranks
                    .iter()
                    .rev()
                    .map(|r| RankRow {
                        month: month_name(r.month),
                        rank: r.rank,
                        score: grouped(r.score),
                    })
                    .collect(),
                kinds_chart: charts::bars(
                    "Contributions by kind, last 12 months",
                    &crate::format::kind_labels(kinds),
                ),
                teams_chart: charts::bars("Contributions by team, last 12 months", &sorted(teams)),
                monthly_chart: charts::line("Contributions per month", &monthly),
                total_12_months: grouped(total.into()),
                page,
            })
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "become.html")]
struct BecomePage {
    title: &'static str,
    policy: String,
    countries: Vec<Choice>,
    answer: Option<String>,
    country: String,
    code: String,
    opencollective_url: Option<String>,
    github_sponsors_url: Option<String>,
    /// The rules in force, in words: what the automatic evaluation asks for.
    minimums: Vec<String>,
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
pub struct CountryQuery {
    #[serde(default)]
    pub(crate) country: String,
}

/// A country's monthly amount in words, or why it has none yet.
pub(crate) fn monthly_amount(set: &fairshare_store::ThresholdSet, code: CountryCode) -> String {
    match set.country(code) {
        Some(t) => format!("{} {} per month", t.currency, grouped(t.threshold_local)),
        None => format!(
            "{} has no threshold in the {} release yet: a comparable country or a price \
             submission sets it (see the threshold calculator)",
            country_name(Some(code.as_str())),
            set.release
        ),
    }
}

pub async fn become_a_partner(
    State(state): State<AppState>,
    Query(query): Query<CountryQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached_html(
        &state,
        page_key(uri.path(), &query),
        &headers,
        |state| async move {
            let set = crate::lookup::threshold_set(&state, None).await?;
            let rules = state.rules().await?;
            let eligibility = &rules.eligibility;
            let mut minimums = vec![
                format!(
                    "Sponsorship at least your country's monthly amount in each of the last {} complete months{}.",
                    eligibility.months,
                    if rules.tolerance.is_zero() {
                        String::new()
                    } else {
                        format!(
                            " (up to {} % short still counts)",
                            (rules.tolerance * rust_decimal::Decimal::from(100)).normalize()
                        )
                    }
                ),
                format!(
                    "A contribution score of at least {} points in each of those months.",
                    crate::format::points_text(eligibility.min_monthly_score)
                ),
            ];
            if eligibility.min_members > 0 {
                minimums.push(format!(
                    "At least {} of your people contributing in each of those months.",
                    eligibility.min_members
                ));
            }
            let mut answer = None;
            if !query.country.is_empty() {
                let code = parse_country("country", &query.country)?;
                answer = Some(monthly_amount(&set, code));
            }
            render_string(&BecomePage {
                title: "Become a partner",
                policy: state.site.policy_html.clone(),
                countries: set
                    .rows
                    .iter()
                    .map(|t| Choice {
                        value: t.iso_a3.to_string(),
                        label: t.name.clone(),
                        selected: t.iso_a3.as_str() == query.country,
                    })
                    .collect(),
                answer,
                country: country_name(Some(&query.country)),
                code: query.country.clone(),
                opencollective_url: state.site.opencollective_url.clone(),
                github_sponsors_url: state.site.github_sponsors_url.clone(),
                minimums,
            })
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "recognition.html")]
struct RecognitionPage {
    title: &'static str,
    partners: Vec<PartnerView>,
    sponsors: Vec<String>,
    contributors: Vec<(String, String)>,
}

pub async fn recognition(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    cached_html(
        &state,
        page_key(uri.path(), &()),
        &headers,
        |state| async move {
            let r = state.store.recognition(state.today()).await?;
            render_string(&RecognitionPage {
                title: "Recognition",
                partners: r.partners.iter().map(PartnerView::of).collect(),
                sponsors: r.sponsors,
                contributors: r
                    .contributors
                    .into_iter()
                    .map(|c| (c.name, grouped(c.count.into())))
                    .collect(),
            })
        },
    )
    .await
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
pub struct Window {
    pub days: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The report window from `?days=` or `?from=&to=` (default: the last 90 days to yesterday).
/// The longest report window: ten years.
pub const MOST_REPORT_DAYS: i64 = 3660;

pub fn report_window(window: &Window, today: Date) -> Result<(Date, Date), AppError> {
    match (&window.from, &window.to) {
        (Some(from), Some(to)) => {
            let (from, to) = (parse_date("from", from)?, parse_date("to", to)?);
            if to < from {
                return Err(AppError::BadRequest(format!(
                    "`to` ({to}) is before `from` ({from})"
                )));
            }
            if to > today {
                return Err(AppError::BadRequest(format!(
                    "`to` ({to}) is in the future: a report covers days that happened"
                )));
            }
            if (to - from).whole_days() >= MOST_REPORT_DAYS {
                return Err(AppError::BadRequest(format!(
                    "a report covers at most {MOST_REPORT_DAYS} days (ten years): `from` {from} to `to` {to} is longer"
                )));
            }
            Ok((from, to))
        }
        (Some(_), None) | (None, Some(_)) => Err(AppError::BadRequest(
            "give both `from` and `to`, or `days`".into(),
        )),
        (None, None) => {
            let days: i64 = match &window.days {
                Some(text) => text
                    .parse()
                    .ok()
                    .filter(|d| (1..=MOST_REPORT_DAYS).contains(d))
                    .ok_or_else(|| {
                        AppError::BadRequest(format!(
                            "`days` must be a whole number from 1 to {MOST_REPORT_DAYS}, not `{text}`"
                        ))
                    })?,
                None => crate::report::DEFAULT_DAYS,
            };
            Ok(crate::report::last_days(today, days))
        }
    }
}

pub async fn report(
    State(state): State<AppState>,
    Query(window): Query<Window>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached_html(
        &state,
        page_key(uri.path(), &window),
        &headers,
        |state| async move {
            let (from, to) = report_window(&window, state.today())?;
            let report = state.store.community_report(from, to).await?;
            Ok(crate::report::report_html(&report, false))
        },
    )
    .await
}

/// `/report.csv`: the same report's figures, one `section,name,value` row each, for a
/// spreadsheet.
pub async fn report_csv(
    State(state): State<AppState>,
    Query(window): Query<Window>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached_text(
        &state,
        page_key(uri.path(), &window),
        &headers,
        "text/csv; charset=utf-8",
        |state| async move {
            let (from, to) = report_window(&window, state.today())?;
            let report = state.store.community_report(from, to).await?;
            Ok(crate::report::report_csv(&report))
        },
    )
    .await
}

/// `/badges/{slug}.svg`: the partner's status and this month's rank, to embed anywhere.
pub async fn badge(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(slug) = file.strip_suffix(".svg").map(str::to_string) else {
        return error_page(AppError::NotFound("badges end in .svg".into()));
    };
    let page = state
        .cache
        .get_or_render(&state, &page_key(uri.path(), &()), |state| async move {
            let (month, partners) = state.store.latest_podium_and(&slug).await?;
            let found = partners.iter().find(|p| p.slug == slug).ok_or_else(|| {
                AppError::NotFound(format!("`{slug}` is not in the latest ranking"))
            })?;
            Ok((badge_svg(found, month), "image/svg+xml"))
        })
        .await;
    match page {
        Ok(page) => send(page, &headers, BADGE_CACHE),
        Err(e) => error_page(e),
    }
}

fn badge_svg(partner: &PublicPartner, month: Option<Month>) -> String {
    let left = "Community Partner";
    let right = format!(
        "#{} in {}",
        partner.rank,
        month.map(month_name).unwrap_or_default()
    );
    let lw = 8 + left.len() as i64 * 7;
    let rw = 8 + right.chars().count() as i64 * 7;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="22" role="img" aria-label="{name}: {left}, {right}"><title>{name}: {left}, {right}</title><rect width="{lw}" height="22" rx="4" fill="#1b1f24"/><rect x="{lw}" width="{rw}" height="22" rx="4" fill="#0b5cad"/><rect x="{lw}" width="6" height="22" fill="#0b5cad"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="6" y="15">{left}</text><text x="{rx}" y="15">{right}</text></g></svg>"##,
        w = lw + rw,
        name = charts::escape(&partner.name),
        left = left,
        right = charts::escape(&right),
        rx = lw + 6,
    )
}

/// Rows of counts for a chart and a table.
pub fn count_rows(counts: &[fairshare_store::public::Count]) -> Vec<(String, i64)> {
    counts.iter().map(|c| (c.name.clone(), c.count)).collect()
}

/// Used by the report template.
pub fn retention_text(report: &CommunityReport) -> String {
    match report.retention_percent() {
        Some(p) => format!(
            "{p} % ({} of {})",
            grouped(report.retained_contributors.into()),
            grouped(report.previous_contributors.into())
        ),
        None => "no contributors in the previous window".into(),
    }
}
