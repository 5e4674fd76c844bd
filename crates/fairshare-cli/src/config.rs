//! Configuration: defaults, then `fairshare.toml` (or `--config FILE`), then
//! `FAIRSHARE_*` environment variables (`__` separates sections:
//! `FAIRSHARE_THRESHOLDS__BASE_AMOUNT=120`), then command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use fairshare_engine::ThresholdPolicy;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG_FILE: &str = "fairshare.toml";

/// Variables that start with `FAIRSHARE_` but are not settings.
const NOT_SETTINGS: &[&str] = &["CONFIG", "ACTOR", "LOG", "TEST_POSTGRES_URL", "TODAY"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://PATH` (default `sqlite://fairshare.db`) or `postgres://…`.
    pub database_url: String,
    pub server: ServerConfig,
    pub log: LogConfig,
    /// How fair monthly thresholds are derived from the Big Mac data.
    pub thresholds: ThresholdPolicy,
    pub contributions: ContributionsConfig,
    pub sponsorship: SponsorshipConfig,
    pub scoring: ScoringConfig,
    pub eligibility: fairshare_engine::eligibility::EligibilityRules,
    pub lifecycle: LifecycleConfig,
    pub site: SiteConfig,
    pub mail: MailConfig,
    pub github_login: GithubLoginConfig,
    /// Live contributions from GitHub (`POST /webhooks/github`).
    pub github: GithubConfig,
    /// Live contributions from GitLab (`POST /webhooks/gitlab`).
    pub gitlab: WebhookConfig,
    /// Live translations from Crowdin (`POST /webhooks/crowdin`).
    pub crowdin: WebhookConfig,
    /// Sources the scheduler runs (`[[sources]]`, one table each).
    pub sources: Vec<serde_json::Map<String, serde_json::Value>>,
    /// When and how the monthly review runs on its own.
    pub review: ReviewConfig,
    pub scheduler: SchedulerConfig,
}

/// `[github]`: the repository webhook.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GithubConfig {
    /// The secret GitHub signs deliveries with (better set through
    /// `FAIRSHARE_GITHUB__WEBHOOK_SECRET`); unset turns the webhook off.
    pub webhook_secret: Option<String>,
}

/// `[gitlab]` and `[crowdin]`: a platform's webhook. GitLab sends the secret as
/// `X-Gitlab-Token`; Crowdin carries it in the URL (`?token=`) or a custom
/// `Authorization: Bearer` header.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Better set through `FAIRSHARE_GITLAB__WEBHOOK_SECRET` or
    /// `FAIRSHARE_CROWDIN__WEBHOOK_SECRET`; unset turns the webhook off.
    pub webhook_secret: Option<String>,
}

/// `[review]`: the monthly cycle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Day of the month (1–28) the previous month is reviewed.
    pub day: u8,
    /// Hour of that day, UTC (0–23).
    pub hour: u8,
    /// `auto`: publish at once; `approve`: prepare a draft a reviewer publishes.
    pub publish: String,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        let calendar = fairshare_engine::schedule::ReviewCalendar::default();
        ReviewConfig {
            day: calendar.day,
            hour: calendar.hour,
            publish: "auto".into(),
        }
    }
}

/// `[scheduler]`: the machine inside `serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Run sources, reviews and mail inside `serve` (off: use `fairshare sync` from cron).
    pub enabled: bool,
    /// Where git sources given by `url` are cloned.
    pub data_dir: PathBuf,
    /// Seconds between two looks at what is due (5–3600).
    pub tick_secs: u64,
    /// The hour (UTC) reviewers' and team leads' daily digest goes out.
    pub digest_hour: u8,
    /// Failed runs in a row of a source after which administrators are mailed.
    pub alert_after: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            enabled: true,
            data_dir: "fairshare-data".into(),
            tick_secs: 30,
            digest_hour: 7,
            alert_after: 3,
        }
    }
}

impl Config {
    /// What the scheduler runs, checked: every source, the review calendar, limits.
    pub fn scheduler_settings(&self) -> anyhow::Result<fairshare_scheduler::Settings> {
        let sources = fairshare_engine::sources::read_all(&self.sources)
            .map_err(|e| anyhow::anyhow!("fairshare.toml: {e}"))?;
        let review = fairshare_engine::schedule::ReviewCalendar {
            day: self.review.day,
            hour: self.review.hour,
        };
        review
            .validate()
            .map_err(|e| anyhow::anyhow!("fairshare.toml: {e}"))?;
        let publish = match self.review.publish.as_str() {
            "auto" => fairshare_scheduler::Publish::Auto,
            "approve" => fairshare_scheduler::Publish::Approve,
            other => {
                bail!("fairshare.toml: review.publish must be `auto` or `approve`, not `{other}`")
            }
        };
        let s = &self.scheduler;
        if !(5..=3600).contains(&s.tick_secs) {
            bail!(
                "fairshare.toml: scheduler.tick_secs must be from 5 to 3600, not {}",
                s.tick_secs
            );
        }
        if s.digest_hour > 23 {
            bail!(
                "fairshare.toml: scheduler.digest_hour must be from 0 to 23, not {}",
                s.digest_hour
            );
        }
        if !(1..=100).contains(&s.alert_after) {
            bail!(
                "fairshare.toml: scheduler.alert_after must be from 1 to 100, not {}",
                s.alert_after
            );
        }
        Ok(fairshare_scheduler::Settings {
            sources,
            data_dir: s.data_dir.clone(),
            ingest: self.contributions.settings(),
            rules: self.rules()?,
            review,
            publish,
            digest_hour: s.digest_hour,
            alert_after: s.alert_after,
            ..Default::default()
        })
    }
}

impl Config {
    /// The programme's rules as this file sets them; managers may record newer ones in
    /// the console, which then win (see `Context::rules`).
    pub fn rules(&self) -> anyhow::Result<fairshare_engine::ProgrammeRules> {
        let rules = fairshare_engine::ProgrammeRules {
            thresholds: self.thresholds.clone(),
            tolerance: self.sponsorship.tolerance,
            scoring: self.scoring.rules()?,
            eligibility: self.eligibility.clone(),
            grace_months: self.lifecycle.grace_months,
        };
        rules
            .validate()
            .map_err(|e| anyhow::anyhow!("in the configuration: {e}"))?;
        Ok(rules)
    }
}

/// Sign-in with GitHub (an OAuth app's credentials); off while `client_id` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubLoginConfig {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub api_url: String,
}

impl Default for GithubLoginConfig {
    fn default() -> Self {
        GithubLoginConfig {
            client_id: String::new(),
            client_secret: String::new(),
            authorize_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            api_url: "https://api.github.com".into(),
        }
    }
}

/// Outgoing email: address confirmations and password resets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Directory where messages are written as .eml files for a relay to send; unset:
    /// no mail is sent (a warning is logged).
    pub outbox: Option<PathBuf>,
    /// An SMTP server to send through instead of an outbox.
    pub smtp_host: Option<String>,
    /// Default: 587 with STARTTLS, 465 with TLS, 25 with none.
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls`, or `none` for a relay on this machine.
    pub smtp_security: String,
    pub smtp_username: Option<String>,
    /// Better set through `FAIRSHARE_MAIL__SMTP_PASSWORD`.
    pub smtp_password: Option<String>,
    pub from: String,
    /// The site's public address, used in links (default: the bind address).
    pub base_url: Option<String>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            outbox: None,
            smtp_host: None,
            smtp_port: None,
            smtp_security: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            from: "Fairshare <no-reply@localhost>".into(),
            base_url: None,
        }
    }
}

impl MailConfig {
    /// The mail layer, its subjects marked with the project's name; links point at
    /// `base_url`, else at `site.base_url`, else at the address `bind`.
    pub fn mailer(
        &self,
        bind: &str,
        site: &SiteConfig,
    ) -> anyhow::Result<fairshare_web::mail::Mailer> {
        Ok(fairshare_web::mail::Mailer {
            project: fairshare_web::brand_name(&site.project).to_string(),
            transport: self.transport()?,
            from: self.from.clone(),
            base_url: self
                .base_url
                .clone()
                .or_else(|| site.base_url.clone())
                .unwrap_or_else(|| format!("http://{bind}")),
        })
    }

    /// Where mail goes: SMTP, an outbox, or nowhere.
    pub fn transport(&self) -> anyhow::Result<fairshare_web::mail::Transport> {
        use fairshare_web::mail::{SmtpSettings, Transport};
        match (&self.smtp_host, &self.outbox) {
            (Some(_), Some(_)) => bail!("mail: set either smtp_host or outbox, not both"),
            (Some(host), None) => Transport::smtp(&SmtpSettings {
                host: host.clone(),
                port: self.smtp_port,
                security: self.smtp_security.clone(),
                username: self.smtp_username.clone(),
                password: self.smtp_password.clone(),
            })
            .map_err(|e| anyhow::anyhow!(e)),
            (None, Some(dir)) => Ok(Transport::Outbox(dir.clone())),
            (None, None) => Ok(Transport::Off),
        }
    }
}

/// What the public site says about the programme.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    /// The project's name on the public pages.
    pub project: String,
    /// The project's Open Collective page, linked from "Become a partner".
    pub opencollective_url: Option<String>,
    /// The project's GitHub Sponsors page.
    pub github_sponsors_url: Option<String>,
    /// The project's logo (an https:// address), shown with its name in every page's
    /// header.
    pub logo_url: Option<String>,
    /// The site's public address (`https://partners.example.org`): badge snippets that
    /// partners paste elsewhere, and mail links unless `mail.base_url` says otherwise.
    pub base_url: Option<String>,
    /// A Markdown file with the programme's policy (default: the text that ships).
    pub policy_file: Option<PathBuf>,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            project: fairshare_web::DEFAULT_PROJECT.into(),
            opencollective_url: None,
            github_sponsors_url: None,
            logo_url: None,
            base_url: None,
            policy_file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Months a partner may stay at risk before it lapses.
    pub grace_months: u32,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig { grace_months: 1 }
    }
}

/// Overrides of the default scoring rules (README lists the defaults).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// Points per activity of a kind, e.g. `review = "2"`.
    pub weights: std::collections::BTreeMap<String, String>,
    /// Most activities of a kind counted per member and month.
    pub caps: std::collections::BTreeMap<String, u32>,
    /// Factor for a repository, channel or team, e.g. `"mautic/mautic" = "1.5"`.
    pub impact: std::collections::BTreeMap<String, String>,
}

impl ScoringConfig {
    /// The default rules with these overrides; a bad key or value names the setting.
    pub fn rules(&self) -> anyhow::Result<fairshare_engine::scoring::ScoringRules> {
        use fairshare_engine::ActivityKind;
        let mut rules = fairshare_engine::scoring::ScoringRules::default();
        let amount = |setting: String, text: &str| -> anyhow::Result<rust_decimal::Decimal> {
            let value: rust_decimal::Decimal = text
                .parse()
                .map_err(|_| anyhow::anyhow!("setting `{setting}`: `{text}` is not a number"))?;
            if value.is_sign_negative() {
                anyhow::bail!("setting `{setting}`: must not be negative");
            }
            Ok(value)
        };
        for (kind, weight) in &self.weights {
            let parsed: ActivityKind = kind
                .parse()
                .map_err(|e| anyhow::anyhow!("setting `scoring.weights.{kind}`: {e}"))?;
            rules
                .weights
                .insert(parsed, amount(format!("scoring.weights.{kind}"), weight)?);
        }
        for (kind, cap) in &self.caps {
            let parsed: ActivityKind = kind
                .parse()
                .map_err(|e| anyhow::anyhow!("setting `scoring.caps.{kind}`: {e}"))?;
            rules.caps.insert(parsed, *cap);
        }
        for (name, factor) in &self.impact {
            rules.impact.insert(
                name.clone(),
                amount(format!("scoring.impact.{name}"), factor)?,
            );
        }
        Ok(rules)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SponsorshipConfig {
    /// Share of the threshold that may be missing for exchange-rate noise (`"0.02"` = 2 %).
    #[serde(with = "fairshare_engine::decimal_text")]
    pub tolerance: rust_decimal::Decimal,
    /// The secret GitHub signs Sponsors webhooks with (better set through
    /// `FAIRSHARE_SPONSORSHIP__GITHUB_WEBHOOK_SECRET`); unset turns the webhook off.
    pub github_webhook_secret: Option<String>,
    /// The token Open Collective's webhook URL carries (`?token=`).
    pub opencollective_webhook_secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContributionsConfig {
    /// Logins or names of bots (`*` matches anything), besides GitHub's `[bot]` accounts.
    /// Bot activity is stored, flagged and never scored.
    pub bot_patterns: Vec<String>,
    /// Repositories (`owner/name`) whose GH Archive events are imported.
    pub github_repositories: Vec<String>,
    /// Slack channels (names) whose messages are imported; empty = all.
    pub slack_channels: Vec<String>,
    /// The team credited for work in a repository, forum category or chat channel
    /// (`"mautic/mautic" = "product"`), when the import does not say.
    pub teams: std::collections::BTreeMap<String, String>,
}

impl ContributionsConfig {
    /// What every contribution import applies: bot patterns and teams by channel.
    pub fn settings(&self) -> fairshare_ingest::Settings {
        fairshare_ingest::Settings {
            bot_patterns: self.bot_patterns.clone(),
            teams: self.teams.clone(),
            default_team: None,
        }
    }
}

impl Default for ContributionsConfig {
    fn default() -> Self {
        ContributionsConfig {
            bot_patterns: vec![
                "*-bot".into(),
                "*_bot".into(),
                "dependabot*".into(),
                "renovate*".into(),
                "github-actions*".into(),
            ],
            github_repositories: Vec::new(),
            slack_channels: Vec::new(),
            teams: Default::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://fairshare.db".into(),
            server: ServerConfig::default(),
            log: LogConfig::default(),
            thresholds: ThresholdPolicy::default(),
            contributions: ContributionsConfig::default(),
            sponsorship: SponsorshipConfig::default(),
            scoring: ScoringConfig::default(),
            eligibility: Default::default(),
            lifecycle: LifecycleConfig::default(),
            site: SiteConfig::default(),
            mail: MailConfig::default(),
            github_login: GithubLoginConfig::default(),
            github: GithubConfig::default(),
            gitlab: WebhookConfig::default(),
            crowdin: WebhookConfig::default(),
            sources: Vec::new(),
            review: ReviewConfig::default(),
            scheduler: SchedulerConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    /// A reverse proxy stands in front: throttle sign-ins by the client address it
    /// appends to `X-Forwarded-For` (otherwise every visitor looks like the proxy).
    pub trust_proxy: bool,
    /// Seconds a client has to send its request headers (1–300).
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may sit idle before it is closed (1–3600).
    pub idle_timeout_secs: u64,
    /// Connections served at once (16–100000); at the cap the longest-idle close.
    pub max_connections: usize,
    /// Memory for rendered public pages, in MiB (1–4096).
    pub cache_mib: usize,
    /// Where webhook deliveries wait when the database cannot take them at once (a
    /// long import holding SQLite's write lock). Default: next to an SQLite database
    /// (`fairshare.db` → `fairshare.db-webhooks`), `fairshare-webhooks` otherwise.
    pub webhook_spool: Option<std::path::PathBuf>,
    /// `GET /metrics` answers a scraper that sends `Authorization: Bearer <token>`;
    /// unset: off (404). Better set through `FAIRSHARE_SERVER__METRICS_TOKEN`.
    pub metrics_token: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = fairshare_web::Limits::default();
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            trust_proxy: limits.trust_proxy,
            header_read_timeout_secs: limits.header_read_timeout.as_secs(),
            idle_timeout_secs: limits.idle_timeout.as_secs(),
            max_connections: limits.max_connections,
            cache_mib: limits.cache_bytes >> 20,
            webhook_spool: None,
            metrics_token: None,
        }
    }
}

impl ServerConfig {
    /// The webhook spool directory for a database at `database_url`.
    pub fn webhook_spool(&self, database_url: &str) -> std::path::PathBuf {
        if let Some(dir) = &self.webhook_spool {
            return dir.clone();
        }
        match sqlite_file(database_url) {
            Some(path) => format!("{}-webhooks", path.display()).into(),
            None => "fairshare-webhooks".into(),
        }
    }

    /// The web server's limits, or which setting is out of its range.
    pub fn limits(&self) -> anyhow::Result<fairshare_web::Limits> {
        let within = |name: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(value)
            } else {
                Err(anyhow::anyhow!(
                    "server.{name} must be from {low} to {high}, not {value}"
                ))
            }
        };
        Ok(fairshare_web::Limits {
            trust_proxy: self.trust_proxy,
            header_read_timeout: std::time::Duration::from_secs(within(
                "header_read_timeout_secs",
                self.header_read_timeout_secs,
                1,
                300,
            )?),
            idle_timeout: std::time::Duration::from_secs(within(
                "idle_timeout_secs",
                self.idle_timeout_secs,
                1,
                3600,
            )?),
            max_connections: within("max_connections", self.max_connections as u64, 16, 100_000)?
                as usize,
            cache_bytes: (within("cache_mib", self.cache_mib as u64, 1, 4096)? as usize) << 20,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// Loads the configuration. `explicit` is `--config`: it must exist. Otherwise
    /// `fairshare.toml` in the working directory is read if present.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match explicit {
            Some(path) => {
                if !path.is_file() {
                    bail!("configuration file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                let default = PathBuf::from(DEFAULT_CONFIG_FILE);
                if default.is_file() {
                    figment = figment.merge(Toml::file_exact(default));
                }
            }
        }
        let env = Env::prefixed("FAIRSHARE_").split("__").filter(|key| {
            !NOT_SETTINGS
                .iter()
                .any(|k| key.as_str().eq_ignore_ascii_case(k))
        });
        figment
            .merge(env)
            .extract()
            .map_err(|e| anyhow::anyhow!(describe(e)))
            .context("invalid configuration")
    }
}

/// Figment's error with the setting's path and where its value came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(source) => format!("{} ({source})", m.name),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| "unknown source".into());
            if path.is_empty() {
                format!("{} in {source}", e.kind)
            } else {
                format!("setting `{path}`: {} in {source}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The file of an SQLite database URL (`sqlite://PATH`, `sqlite:PATH` or a plain path);
/// `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .or_else(|| (!database_url.contains("://")).then_some(database_url))
        .map(|path| path.split('?').next().unwrap_or(path))
        .filter(|path| !path.is_empty() && !path.starts_with(":memory:"))
        .map(std::path::PathBuf::from)
}
