//! People's identities across sources: normalised keys, GitHub noreply addresses,
//! bot detection.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which namespace an identity's value lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Email,
    Github,
    Discourse,
    Slack,
    Meetup,
    /// A GitLab username (gitlab.com or the community's own instance).
    Gitlab,
    /// A Discord user's id (a snowflake: names change, ids do not).
    Discord,
    /// A Matrix user id without its `@`: `ana:matrix.org`.
    Matrix,
    /// A Stack Exchange user on one site: `stackoverflow:22656`.
    Stackexchange,
    Weblate,
    Crowdin,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 11] = [
        IdentityKind::Email,
        IdentityKind::Github,
        IdentityKind::Discourse,
        IdentityKind::Slack,
        IdentityKind::Meetup,
        IdentityKind::Gitlab,
        IdentityKind::Discord,
        IdentityKind::Matrix,
        IdentityKind::Stackexchange,
        IdentityKind::Weblate,
        IdentityKind::Crowdin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Github => "github",
            IdentityKind::Discourse => "discourse",
            IdentityKind::Slack => "slack",
            IdentityKind::Meetup => "meetup",
            IdentityKind::Gitlab => "gitlab",
            IdentityKind::Discord => "discord",
            IdentityKind::Matrix => "matrix",
            IdentityKind::Stackexchange => "stackexchange",
            IdentityKind::Weblate => "weblate",
            IdentityKind::Crowdin => "crowdin",
        }
    }

    pub fn parse(text: &str) -> Option<IdentityKind> {
        IdentityKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A normalised identity: `email:ana@acme.com`, `github:octocat` (logins are
/// case-insensitive on GitHub, Discourse and Slack handles too, so values are lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdentityKey {
    pub kind: IdentityKind,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("`{0}` is not an email address")]
    BadEmail(String),
    #[error(
        "`{0}` is not an identity: use an email address or SOURCE:HANDLE (sources: email, github, discourse, slack, meetup, gitlab, discord, matrix, stackexchange, weblate, crowdin)"
    )]
    BadKey(String),
}

impl IdentityKey {
    /// An email identity, except that GitHub noreply addresses become the GitHub login.
    pub fn from_email(email: &str) -> Result<IdentityKey, IdentityError> {
        let email = normalise_email(email)?;
        Ok(match github_noreply_login(&email) {
            Some(login) => IdentityKey {
                kind: IdentityKind::Github,
                value: login,
            },
            None => IdentityKey {
                kind: IdentityKind::Email,
                value: email,
            },
        })
    }

    pub fn new(kind: IdentityKind, value: &str) -> Result<IdentityKey, IdentityError> {
        if kind == IdentityKind::Email {
            return IdentityKey::from_email(value);
        }
        let value = value.trim().trim_start_matches('@').to_lowercase();
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(IdentityError::BadKey(format!("{}:{value}", kind.as_str())));
        }
        Ok(IdentityKey { kind, value })
    }

    /// Parses what a person writes: `ana@acme.com` or `github:octocat`.
    pub fn parse(text: &str) -> Result<IdentityKey, IdentityError> {
        let text = text.trim();
        if let Some((kind, value)) = text.split_once(':')
            && let Some(kind) = IdentityKind::parse(&kind.to_ascii_lowercase())
        {
            return IdentityKey::new(kind, value);
        }
        if text.contains('@') && !text.starts_with('@') {
            return IdentityKey::from_email(text);
        }
        Err(IdentityError::BadKey(text.to_string()))
    }

    /// The email address, for email identities.
    pub fn email(&self) -> Option<&str> {
        (self.kind == IdentityKind::Email).then_some(self.value.as_str())
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

/// Lower-cased, trimmed, and shaped like `local@domain`.
pub fn normalise_email(email: &str) -> Result<String, IdentityError> {
    let email = email
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase();
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(IdentityError::BadEmail(email)),
    }
}

/// `12345+octocat@users.noreply.github.com` and `octocat@users.noreply.github.com`
/// stand for the GitHub login `octocat`.
pub fn github_noreply_login(email: &str) -> Option<String> {
    let local = email
        .to_ascii_lowercase()
        .strip_suffix("@users.noreply.github.com")?
        .to_string();
    let login = match local.split_once('+') {
        Some((id, login)) if id.chars().all(|c| c.is_ascii_digit()) => login.to_string(),
        _ => local,
    };
    (!login.is_empty()).then_some(login)
}

/// The domain of an email address.
pub fn email_domain(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, d)| d)
}

/// Whether a login or name belongs to a bot: GitHub's `[bot]` suffix, or one of the
/// configured patterns (`*` matches any run of characters; case-insensitive).
pub fn is_bot(handle: &str, patterns: &[String]) -> bool {
    let handle = handle.to_lowercase();
    handle.ends_with("[bot]")
        || patterns
            .iter()
            .any(|p| wildcard_match(&p.to_lowercase(), &handle))
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noreply_addresses_are_github_logins() {
        let key = IdentityKey::from_email("12345+OctoCat@users.noreply.github.com").unwrap();
        assert_eq!(key.to_string(), "github:octocat");
        let key = IdentityKey::from_email("octocat@users.noreply.github.com").unwrap();
        assert_eq!(key.to_string(), "github:octocat");
        let key = IdentityKey::from_email(" Ana@Acme.COM ").unwrap();
        assert_eq!(key.to_string(), "email:ana@acme.com");
    }

    #[test]
    fn written_identities_parse() {
        assert_eq!(
            IdentityKey::parse("github:@OctoCat").unwrap().to_string(),
            "github:octocat"
        );
        assert_eq!(
            IdentityKey::parse("ana@acme.com").unwrap().kind,
            IdentityKind::Email
        );
        assert!(IdentityKey::parse("octocat").is_err());
        assert!(IdentityKey::parse("twitter:octocat").is_err());
        assert!(IdentityKey::parse("email:not-an-email").is_err());
    }

    #[test]
    fn bots_are_recognised() {
        let patterns = vec![
            "*-bot".to_string(),
            "mautibot".to_string(),
            "ci*runner".to_string(),
        ];
        assert!(is_bot("dependabot[bot]", &[]));
        assert!(is_bot("release-bot", &patterns));
        assert!(is_bot("MautiBot", &patterns));
        assert!(is_bot("ci-build-runner", &patterns));
        assert!(!is_bot("robert", &patterns));
        assert!(!is_bot("bottle", &patterns));
    }
}
