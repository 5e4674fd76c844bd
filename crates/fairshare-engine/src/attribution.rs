//! Which organisation an activity is credited to, and why (SPEC §4):
//! an explicit attribution on the item → the member's affiliation valid that day →
//! the email domain of the identity used → unaffiliated. Work made with an account on
//! a platform that shows no address (Discord, Matrix, GitLab, a translation platform)
//! goes by the person's own proven addresses instead, when they all point to one
//! organisation: joining the account to the person is what proved it theirs.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::identity::email_domain;

/// An organisation's id in the store.
pub type OrgId = i64;

/// A member's membership of an organisation over `[from, until)`; open ends allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affiliation {
    pub org: OrgId,
    #[serde(with = "crate::iso_date::option")]
    pub from: Option<Date>,
    #[serde(with = "crate::iso_date::option")]
    pub until: Option<Date>,
}

impl Affiliation {
    pub fn covers(&self, day: Date) -> bool {
        self.from.is_none_or(|from| from <= day) && self.until.is_none_or(|until| day < until)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A trailer such as `on-behalf-of: @acme`, or a choice made when claiming work.
    Explicit,
    Affiliation,
    EmailDomain,
    Unaffiliated,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Explicit => "explicit",
            Reason::Affiliation => "affiliation",
            Reason::EmailDomain => "email_domain",
            Reason::Unaffiliated => "unaffiliated",
        }
    }

    /// Why work is credited where it is, in words.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Explicit => "named in the contribution or the claim",
            Reason::Affiliation => "a recorded affiliation",
            Reason::EmailDomain => "the email address's domain",
            Reason::Unaffiliated => "no organisation found",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        [
            Reason::Explicit,
            Reason::Affiliation,
            Reason::EmailDomain,
            Reason::Unaffiliated,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Free-mail providers: an address there says nothing about an employer.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "laposte.net",
    "orange.fr",
    "free.fr",
    "libero.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "rediffmail.com",
    "naver.com",
    "posteo.de",
    "t-online.de",
    "example.com",
];

/// Domains that never name an organisation, whatever is configured.
pub fn never_maps(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    FREE_MAIL.contains(&domain)
        || domain == "users.noreply.github.com"
        || domain.ends_with(".users.noreply.github.com")
        || domain == "noreply.github.com"
        || domain == "localhost"
        || !domain.contains('.')
        || [
            ".local",
            ".localdomain",
            ".lan",
            ".internal",
            ".home",
            ".localhost",
        ]
        .iter()
        .any(|suffix| domain.ends_with(suffix))
}

/// Email domains of organisations. A lookup tries the address's domain, then each
/// parent domain: the longest configured match wins (`eu.acme.com` before `acme.com`).
#[derive(Debug, Clone, Default)]
pub struct DomainIndex {
    domains: HashMap<String, OrgId>,
}

impl DomainIndex {
    pub fn new(entries: impl IntoIterator<Item = (String, OrgId)>) -> Self {
        DomainIndex {
            domains: entries
                .into_iter()
                .map(|(d, org)| (d.to_lowercase(), org))
                .filter(|(d, _)| !never_maps(d))
                .collect(),
        }
    }

    pub fn org_for_email(&self, email: &str) -> Option<OrgId> {
        let domain = email_domain(email)?.to_lowercase();
        if never_maps(&domain) {
            return None;
        }
        let mut candidate = domain.as_str();
        loop {
            if let Some(org) = self.domains.get(candidate) {
                return Some(*org);
            }
            match candidate.split_once('.') {
                Some((_, parent)) if parent.contains('.') => candidate = parent,
                _ => return None,
            }
        }
    }
}

/// The facts attribution needs about one activity.
#[derive(Debug, Clone, Copy)]
pub struct AttributionInput<'a> {
    pub day: Date,
    pub explicit: Option<OrgId>,
    pub affiliations: &'a [Affiliation],
    /// The email of the identity the activity was made with, if it was an email.
    pub email: Option<&'a str>,
    /// The person's email addresses, for work made with an identity that is not one.
    pub person_emails: &'a [String],
}

/// Credits an activity. When affiliations overlap on a day, the one that started
/// latest wins (a new job supersedes an old one not yet closed).
pub fn attribute(input: AttributionInput<'_>, domains: &DomainIndex) -> (Option<OrgId>, Reason) {
    if let Some(org) = input.explicit {
        return (Some(org), Reason::Explicit);
    }
    if let Some(affiliation) = input
        .affiliations
        .iter()
        .filter(|a| a.covers(input.day))
        .max_by_key(|a| (a.from, a.org))
    {
        return (Some(affiliation.org), Reason::Affiliation);
    }
    let by_domain = match input.email {
        Some(email) => domains.org_for_email(email),
        None => {
            // Only when the person's addresses agree: two employers' addresses leave
            // the choice to an affiliation.
            let mut orgs = input
                .person_emails
                .iter()
                .filter_map(|e| domains.org_for_email(e));
            orgs.next()
                .filter(|first| orgs.all(|other| other == *first))
        }
    };
    match by_domain {
        Some(org) => (Some(org), Reason::EmailDomain),
        None => (None, Reason::Unaffiliated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn index() -> DomainIndex {
        DomainIndex::new([
            ("acme.com".to_string(), 1),
            ("eu.acme.com".to_string(), 2),
            ("gmail.com".to_string(), 3),
        ])
    }

    #[test]
    fn longest_domain_wins_and_free_mail_never_maps() {
        let index = index();
        assert_eq!(index.org_for_email("ana@acme.com"), Some(1));
        assert_eq!(index.org_for_email("ana@dev.eu.acme.com"), Some(2));
        assert_eq!(index.org_for_email("ana@eu.acme.com"), Some(2));
        assert_eq!(index.org_for_email("ana@notacme.com"), None);
        assert_eq!(
            index.org_for_email("ana@gmail.com"),
            None,
            "free mail is never an employer"
        );
        assert_eq!(index.org_for_email("1+ana@users.noreply.github.com"), None);
        assert_eq!(index.org_for_email("ana@laptop.local"), None);
        assert_eq!(index.org_for_email("ana@localhost"), None);
    }

    #[test]
    fn attribution_order() {
        let index = index();
        let affiliations = [
            Affiliation {
                org: 7,
                from: Some(date!(2024 - 01 - 01)),
                until: Some(date!(2025 - 01 - 01)),
            },
            Affiliation {
                org: 8,
                from: Some(date!(2024 - 06 - 01)),
                until: None,
            },
        ];
        let input = |day, explicit| AttributionInput {
            day,
            explicit,
            affiliations: &affiliations,
            email: Some("ana@acme.com"),
            person_emails: &[],
        };
        assert_eq!(
            attribute(input(date!(2024 - 03 - 01), Some(9)), &index),
            (Some(9), Reason::Explicit)
        );
        assert_eq!(
            attribute(input(date!(2024 - 03 - 01), None), &index),
            (Some(7), Reason::Affiliation)
        );
        // Overlap: the later start wins.
        assert_eq!(
            attribute(input(date!(2024 - 07 - 01), None), &index),
            (Some(8), Reason::Affiliation)
        );
        // Before any affiliation: the email domain.
        assert_eq!(
            attribute(input(date!(2023 - 12 - 31), None), &index),
            (Some(1), Reason::EmailDomain)
        );
        let none = AttributionInput {
            day: date!(2023 - 01 - 01),
            explicit: None,
            affiliations: &[],
            email: Some("ana@gmail.com"),
            person_emails: &["ana@acme.com".to_string()],
        };
        assert_eq!(
            attribute(none, &index),
            (None, Reason::Unaffiliated),
            "work made with an address goes by that address"
        );
    }

    #[test]
    fn work_on_a_platform_without_addresses_goes_by_the_persons_own() {
        let index = DomainIndex::new([("acme.com".to_string(), 1), ("beta.io".to_string(), 2)]);
        let chat = |person_emails: &[String]| {
            attribute(
                AttributionInput {
                    day: date!(2026 - 03 - 01),
                    explicit: None,
                    affiliations: &[],
                    email: None,
                    person_emails,
                },
                &index,
            )
        };
        let emails = |list: &[&str]| list.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        assert_eq!(
            chat(&emails(&["ana@gmail.com", "ana@acme.com"])),
            (Some(1), Reason::EmailDomain)
        );
        assert_eq!(
            chat(&emails(&["ana@acme.com", "ana@beta.io"])),
            (None, Reason::Unaffiliated),
            "two employers' addresses: an affiliation decides"
        );
        assert_eq!(chat(&[]), (None, Reason::Unaffiliated));
    }

    #[test]
    fn ranges_are_half_open() {
        let a = Affiliation {
            org: 1,
            from: Some(date!(2024 - 01 - 01)),
            until: Some(date!(2024 - 02 - 01)),
        };
        assert!(a.covers(date!(2024 - 01 - 01)));
        assert!(a.covers(date!(2024 - 01 - 31)));
        assert!(!a.covers(date!(2024 - 02 - 01)));
        let open = Affiliation {
            org: 1,
            from: None,
            until: None,
        };
        assert!(open.covers(date!(1990 - 01 - 01)));
    }
}
