//! The normalised records importers return and the store ingests: activities with the
//! person who did them, organisations and affiliations from directory files, payments,
//! Big Mac releases and exchange rates. Plain data, shared by `fairshare-import` (which
//! makes them) and `fairshare-store` (which writes them), so that neither depends on
//! the other.

pub mod github_sponsors;

use fairshare_engine::{ActivityKind, IdentityKey};
use time::{OffsetDateTime, UtcOffset};

/// Who did something, as the source names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    /// The identity the activity was made with.
    pub key: IdentityKey,
    pub name: Option<String>,
    /// Other identities the source links to the same person (a GitHub login's email,
    /// a Slack user's email): the store merges members that share them.
    pub linked: Vec<IdentityKey>,
}

impl PersonRef {
    pub fn new(key: IdentityKey, name: Option<&str>) -> Self {
        PersonRef {
            key,
            name: first_name([name]).map(str::to_string),
            linked: Vec::new(),
        }
    }
}

/// The first of a platform's names for a person that says something, trimmed: an
/// empty display name falls back to the next one, as a platform shows it.
pub fn first_name<'a>(names: impl IntoIterator<Item = Option<&'a str>>) -> Option<&'a str> {
    names
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|name| !name.is_empty())
}

/// An attribution written on the item itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnBehalfOf {
    /// `on-behalf-of: @acme` — an organisation slug.
    Org(String),
    /// `On-behalf-of: Acme <dev@acme.com>` — matched by the email's domain.
    Email { name: Option<String>, email: String },
}

/// Files and lines a commit changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeSize {
    pub files: u32,
    pub added: u32,
    pub removed: u32,
}

/// One contribution, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    /// Unique within its source: re-imports of the same item never duplicate it.
    pub external_id: String,
    pub kind: ActivityKind,
    pub person: PersonRef,
    /// Always UTC.
    pub occurred_at: OffsetDateTime,
    pub team: Option<String>,
    /// Repository (`owner/name`), forum category or chat channel.
    pub channel: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub change: Option<ChangeSize>,
    /// The commit's SHA for commits, from any source: one commit is stored once, the
    /// git repository's version preferred over GH Archive's.
    pub commit_sha: Option<String>,
    pub on_behalf_of: Option<OnBehalfOf>,
}

impl ActivityRecord {
    pub fn new(
        external_id: String,
        kind: ActivityKind,
        person: PersonRef,
        occurred_at: OffsetDateTime,
    ) -> Self {
        ActivityRecord {
            external_id,
            kind,
            person,
            // Whole seconds, so that stored text sorts as time does.
            occurred_at: occurred_at
                .to_offset(UtcOffset::UTC)
                .replace_nanosecond(0)
                .unwrap_or(occurred_at),
            team: None,
            channel: None,
            url: None,
            title: None,
            change: None,
            commit_sha: None,
            on_behalf_of: None,
        }
    }
}

/// Why an item of the input was not imported; counted in the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub reason: String,
    pub count: u64,
}

/// Counts skipped items by reason, keeping the order reasons first appear in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skips(pub Vec<Skip>);

impl Skips {
    pub fn add(&mut self, reason: impl Into<String>) {
        self.add_many(reason, 1);
    }

    pub fn add_many(&mut self, reason: impl Into<String>, count: u64) {
        let reason = reason.into();
        match self.0.iter_mut().find(|s| s.reason == reason) {
            Some(skip) => skip.count += count,
            None => self.0.push(Skip { reason, count }),
        }
    }

    pub fn merge(&mut self, other: Skips) {
        for skip in other.0 {
            self.add_many(skip.reason, skip.count);
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|s| s.count).sum()
    }
}

/// One organisation from `import orgs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRecord {
    pub line: u64,
    pub slug: String,
    pub name: String,
    pub country: Option<fairshare_engine::CountryCode>,
    pub website: Option<String>,
    /// The organisation's complete set of email domains, lower case.
    pub domains: Vec<String>,
}

/// How a source names the organisation of an affiliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgName {
    Slug(String),
    /// A company name as written in gitdm files (matched to a name or slug).
    Name(String),
}

/// One dated affiliation from `import affiliations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliationRecord {
    pub line: u64,
    pub person: PersonRef,
    pub org: OrgName,
    pub from: Option<time::Date>,
    pub until: Option<time::Date>,
}

/// One sponsorship payment from a platform export (or typed in by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub line: u64,
    /// Unique within its source (the platform's transaction id).
    pub external_id: String,
    /// `opencollective` or `github_sponsors`.
    pub platform: String,
    /// The sponsor's account on the platform (Open Collective slug, GitHub login).
    pub account: String,
    pub date: time::Date,
    /// Negative for a refund.
    pub money: fairshare_engine::Money,
    pub coverage: fairshare_engine::compliance::Coverage,
    pub description: Option<String>,
}

/// Open Collective's account for money that came through GitHub Sponsors: never linked
/// to an organisation, since those payments are GitHub Sponsors money seen twice.
pub const GITHUB_SPONSORS_ON_OPEN_COLLECTIVE: &str = "github-sponsors";

/// A parsed Big Mac data file.
#[derive(Debug, Clone)]
pub struct BigMacFile {
    /// Oldest first.
    pub releases: Vec<fairshare_engine::Release>,
    /// Rows the source publishes without a price (`0`), with line and reason: reported,
    /// never stored.
    pub skipped: Vec<SkippedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub line: u64,
    pub reason: String,
}

/// One ECB reference rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub day: time::Date,
    pub currency: fairshare_engine::CurrencyCode,
    /// Units of `currency` per 1 EUR.
    pub per_eur: rust_decimal::Decimal,
}

/// What a sponsorship webhook delivery says, read from its payload by the importer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SponsorshipEvent {
    /// `github_sponsors` or `opencollective`.
    pub platform: String,
    /// The platform's delivery id: a redelivery is recognised and stored once.
    pub delivery_id: String,
    /// `created`, `tier_changed`, `cancelled`, `pending_cancellation`, `pending_tier_change`, …
    pub action: String,
    pub account: Option<String>,
    /// The tier's monthly amount as a decimal string, e.g. `"45.00"`.
    pub tier_amount: Option<String>,
    pub currency: Option<String>,
    pub is_yearly: Option<bool>,
    /// The tier is paid once, not monthly (GitHub Sponsors).
    pub one_time: Option<bool>,
    /// The UTC day the sponsorship started (GitHub Sponsors).
    #[serde(with = "fairshare_engine::iso_date::option")]
    pub started_on: Option<time::Date>,
    /// The body as received, kept for the record.
    pub payload: String,
}

#[cfg(test)]
mod name_tests {
    use super::first_name;

    #[test]
    fn an_empty_display_name_falls_back_to_the_next_name_as_written() {
        assert_eq!(
            first_name([Some(""), Some("  "), Some("RuthC")]),
            Some("RuthC")
        );
        assert_eq!(first_name([None, Some(" Ana ")]), Some("Ana"));
        assert_eq!(first_name([Some(""), None]), None);
    }
}
