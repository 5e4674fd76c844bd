//! What a source is: a name, a kind with its own settings (named like the CLI's
//! flags), an interval, an optional team, and whether it is enabled. One definition
//! is read from `[[sources]]` in `fairshare.toml` or from the console, checked here,
//! and run by the scheduler through the same import code as the CLI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schedule::Every;

/// The settings of each kind of source. Unset API addresses and token variables take
/// the CLI's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SourceSettings {
    /// A git repository: `path` on disk, or `url` that Fairshare clones and fetches
    /// into its data directory.
    Git {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rev: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo_name: Option<String>,
    },
    Github {
        repo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    Discourse {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_username: Option<String>,
    },
    Meetup {
        group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    Opencollective {
        collective: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    GithubSponsors {
        login: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    /// A GitLab project (`group/project`) through REST v4; `commits` also reads its
    /// commit list, for projects not imported through git.
    Gitlab {
        project: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        commits: bool,
    },
    /// A GitHub repository's discussions, through GraphQL.
    GithubDiscussions {
        repo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    /// Messages of chosen Discord channels (ids), read with a bot token.
    Discord {
        #[serde(deserialize_with = "list")]
        channels: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    /// Messages of chosen Matrix rooms (`!id:server` or `#alias:server`).
    Matrix {
        homeserver: String,
        #[serde(deserialize_with = "list")]
        rooms: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
    },
    /// Answers to questions with the project's tags on a Stack Exchange site.
    Stackexchange {
        #[serde(deserialize_with = "list")]
        tags: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
    /// Translations and their reviews on a Weblate server (one project, or all).
    Weblate {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
    },
    /// The ECB's reference rates (the CSV inside `eurofxref-hist.zip`, or the CSV).
    Ecb { url: String },
    /// The Economist's Big Mac source file (`big-mac-source-data-v2.csv`).
    Bigmac {
        url: String,
        /// Store a release with fewer countries than usual (see `bigmac import --partial`).
        #[serde(default)]
        partial: bool,
    },
}

impl SourceSettings {
    /// The kind's name, as written in `kind = "…"`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSettings::Git { .. } => "git",
            SourceSettings::Github { .. } => "github",
            SourceSettings::Discourse { .. } => "discourse",
            SourceSettings::Meetup { .. } => "meetup",
            SourceSettings::Opencollective { .. } => "opencollective",
            SourceSettings::GithubSponsors { .. } => "github-sponsors",
            SourceSettings::Gitlab { .. } => "gitlab",
            SourceSettings::GithubDiscussions { .. } => "github-discussions",
            SourceSettings::Discord { .. } => "discord",
            SourceSettings::Matrix { .. } => "matrix",
            SourceSettings::Stackexchange { .. } => "stackexchange",
            SourceSettings::Weblate { .. } => "weblate",
            SourceSettings::Ecb { .. } => "ecb",
            SourceSettings::Bigmac { .. } => "bigmac",
        }
    }

    /// Every kind, for forms and messages.
    pub const KINDS: [&'static str; 14] = [
        "git",
        "github",
        "github-discussions",
        "gitlab",
        "discourse",
        "discord",
        "matrix",
        "stackexchange",
        "weblate",
        "meetup",
        "opencollective",
        "github-sponsors",
        "ecb",
        "bigmac",
    ];

    /// Whether the kind's work is credited to a team (reference data is not).
    pub fn credits_work(&self) -> bool {
        !matches!(
            self,
            SourceSettings::Ecb { .. }
                | SourceSettings::Bigmac { .. }
                | SourceSettings::Opencollective { .. }
                | SourceSettings::GithubSponsors { .. }
        )
    }

    fn check(&self) -> Result<(), String> {
        let present = |value: &str, key: &str| {
            if value.trim().is_empty() {
                Err(format!("`{key}` must not be empty"))
            } else {
                Ok(())
            }
        };
        let listed = |values: &[String], key: &str| {
            if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
                Err(format!(
                    "`{key}` must list at least one, none of them empty"
                ))
            } else {
                Ok(())
            }
        };
        let link = |url: &str, key: &str| {
            crate::links::web_link(url)
                .map(|_| ())
                .map_err(|why| format!("`{key}`: {why}"))
        };
        match self {
            SourceSettings::Git { path, url, .. } => match (path, url) {
                (Some(_), Some(_)) => Err("set either `path` or `url`, not both".into()),
                (None, None) => Err("needs `path` (a repository on disk) or `url`".into()),
                (Some(p), None) => present(p, "path"),
                (None, Some(u)) => present(u, "url"),
            },
            SourceSettings::Github { repo, .. }
            | SourceSettings::GithubDiscussions { repo, .. } => {
                let mut parts = repo.split('/');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(owner), Some(name), None) if !owner.is_empty() && !name.is_empty() => {
                        Ok(())
                    }
                    _ => Err(format!("`repo`: `{repo}` is not OWNER/NAME")),
                }
            }
            SourceSettings::Discourse { url, .. } => present(url, "url"),
            SourceSettings::Gitlab {
                project, api_url, ..
            } => {
                if !project.trim().trim_matches('/').contains('/') {
                    return Err(format!("`project`: `{project}` is not GROUP/PROJECT"));
                }
                api_url.as_deref().map_or(Ok(()), |u| link(u, "api_url"))
            }
            SourceSettings::Discord { channels, .. } => {
                listed(channels, "channels")?;
                match channels
                    .iter()
                    .find(|c| !c.trim().chars().all(|ch| ch.is_ascii_digit()))
                {
                    Some(c) => Err(format!(
                        "`channels`: `{c}` is not a channel id (Discord: Developer Mode, Copy Channel ID)"
                    )),
                    None => Ok(()),
                }
            }
            SourceSettings::Matrix {
                homeserver, rooms, ..
            } => {
                link(homeserver, "homeserver")?;
                listed(rooms, "rooms")?;
                match rooms
                    .iter()
                    .find(|r| !(r.starts_with('!') || r.starts_with('#')) || !r.contains(':'))
                {
                    Some(r) => Err(format!(
                        "`rooms`: `{r}` is not a room id (!id:server) or alias (#name:server)"
                    )),
                    None => Ok(()),
                }
            }
            SourceSettings::Stackexchange { tags, .. } => listed(tags, "tags"),
            SourceSettings::Weblate { url, .. } => link(url, "url"),
            SourceSettings::Meetup { group, .. } => present(group, "group"),
            SourceSettings::Opencollective { collective, .. } => present(collective, "collective"),
            SourceSettings::GithubSponsors { login, .. } => present(login, "login"),
            SourceSettings::Ecb { url } | SourceSettings::Bigmac { url, .. } => {
                crate::links::web_link(url)
                    .map(|_| ())
                    .map_err(|why| format!("`url`: {why}"))
            }
        }
    }
}

/// A list written as a list (`["a", "b"]`) or as one line (`a, b`, as the console's
/// `key = value` settings write it).
fn list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Line(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Line(line) => line
            .split(',')
            .map(|item| item.trim().to_string())
            .filter(|item| !item.is_empty())
            .collect(),
        OneOrMany::Many(items) => items.into_iter().map(|i| i.trim().to_string()).collect(),
    })
}

/// One source, as defined once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceDefinition {
    pub name: String,
    pub every: Every,
    pub team: Option<String>,
    pub enabled: bool,
    #[serde(flatten)]
    pub settings: SourceSettings,
}

/// The keys every kind shares.
const COMMON: [&str; 4] = ["name", "every", "team", "enabled"];

impl SourceDefinition {
    /// Reads a definition from its keys (a `[[sources]]` table, or a stored one),
    /// with an error that says which key is wrong and why.
    pub fn from_keys(keys: &Map<String, Value>) -> Result<SourceDefinition, String> {
        let text = |key: &str| -> Result<Option<String>, String> {
            match keys.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(other) => Err(format!("`{key}` must be text, not {other}")),
            }
        };
        let name = text("name")?.ok_or("needs a `name`")?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "`name`: `{name}` must be 1 to 64 letters, digits, `-`, `_` or `.`"
            ));
        }
        let within = |why: String| format!("source `{name}`: {why}");
        let every: Every = text("every")
            .map_err(within)?
            .ok_or_else(|| within("needs `every` (15m, 6h, 1d…)".into()))?
            .parse()
            .map_err(|why| within(format!("`every`: {why}")))?;
        let team = text("team").map_err(within)?.filter(|t| !t.is_empty());
        let enabled = match keys.get("enabled") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(within(format!(
                    "`enabled` must be true or false, not {other}"
                )));
            }
        };
        let own: Map<String, Value> = keys
            .iter()
            .filter(|(k, _)| !COMMON.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.contains_key("kind") {
            return Err(within(format!(
                "needs a `kind`: one of {}",
                SourceSettings::KINDS.join(", ")
            )));
        }
        let settings: SourceSettings = serde_json::from_value(Value::Object(own))
            .map_err(|e| within(e.to_string().replace("variant", "kind")))?;
        settings.check().map_err(within)?;
        if team.is_some() && !settings.credits_work() {
            return Err(within(format!(
                "`team`: a {} source credits no work to a team",
                settings.kind()
            )));
        }
        Ok(SourceDefinition {
            name,
            every,
            team,
            enabled,
            settings,
        })
    }

    /// The keys this definition is read back from (what is stored).
    pub fn to_keys(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// Checks a whole `[[sources]]` list: each definition, and that names are unique.
pub fn read_all(tables: &[Map<String, Value>]) -> Result<Vec<SourceDefinition>, String> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(tables.len());
    for (index, table) in tables.iter().enumerate() {
        let definition =
            SourceDefinition::from_keys(table).map_err(|why| format!("sources[{index}]: {why}"))?;
        if let Some(first) = seen.insert(definition.name.clone(), index) {
            return Err(format!(
                "sources[{index}]: the name `{}` is already used by sources[{first}]",
                definition.name
            ));
        }
        out.push(definition);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_definition_reads_its_kind_and_settings() {
        let source = SourceDefinition::from_keys(&keys(json!({
            "name": "code", "kind": "github", "every": "6h", "team": "product",
            "repo": "mautic/mautic", "token_env": "GH"
        })))
        .unwrap();
        assert_eq!(source.every.to_string(), "6h");
        assert_eq!(source.team.as_deref(), Some("product"));
        assert!(source.enabled);
        assert_eq!(
            source.settings,
            SourceSettings::Github {
                repo: "mautic/mautic".into(),
                token_env: Some("GH".into()),
                api_url: None
            }
        );
        // What is stored reads back the same.
        assert_eq!(
            SourceDefinition::from_keys(&source.to_keys()).unwrap(),
            source
        );
    }

    #[test]
    fn mistakes_name_the_source_and_the_key() {
        let error = |value| SourceDefinition::from_keys(&keys(value)).unwrap_err();
        assert!(
            error(json!({"name": "forum", "kind": "discourse", "every": "1h", "ur": "x"}))
                .contains("unknown field `ur`")
        );
        assert!(
            error(json!({"name": "forum", "kind": "discorse", "every": "1h"}))
                .contains("unknown kind `discorse`")
        );
        assert!(
            error(json!({"name": "forum", "kind": "discourse", "every": "1 hour", "url": "x"}))
                .starts_with("source `forum`: `every`")
        );
        assert!(error(json!({"name": "g", "kind": "git", "every": "1h"})).contains("`path`"));
        assert!(
            error(json!({"name": "rates", "kind": "ecb", "every": "1d", "url": "javascript:x"}))
                .contains("`url`")
        );
        assert!(error(json!({"name": "a b", "kind": "git", "every": "1h"})).contains("`name`"));
        assert!(
            error(
                json!({"name": "oc", "kind": "opencollective", "every": "1d",
            "collective": "mautic", "team": "x"})
            )
            .contains("credits no work")
        );
    }

    #[test]
    fn lists_are_read_as_lists_or_as_one_line() {
        let line = SourceDefinition::from_keys(&keys(json!({
            "name": "chat", "kind": "discord", "every": "1h", "channels": "123, 456"
        })))
        .unwrap();
        let list = SourceDefinition::from_keys(&keys(json!({
            "name": "chat", "kind": "discord", "every": "1h", "channels": ["123", "456"]
        })))
        .unwrap();
        assert_eq!(line, list);
        assert_eq!(SourceDefinition::from_keys(&line.to_keys()).unwrap(), line);
        let error = |value| SourceDefinition::from_keys(&keys(value)).unwrap_err();
        assert!(
            error(json!({"name": "chat", "kind": "discord", "every": "1h", "channels": "general"}))
                .contains("`general` is not a channel id")
        );
        assert!(
            error(json!({"name": "rooms", "kind": "matrix", "every": "1h",
                "homeserver": "https://matrix.org", "rooms": "mautic"}))
            .contains("is not a room id")
        );
        assert!(
            error(json!({"name": "so", "kind": "stackexchange", "every": "1d", "tags": ""}))
                .contains("`tags` must list at least one")
        );
        assert!(
            error(json!({"name": "gl", "kind": "gitlab", "every": "1h", "project": "mautic"}))
                .contains("GROUP/PROJECT")
        );
    }

    #[test]
    fn names_are_unique() {
        let one = json!({"name": "code", "kind": "git", "every": "1h", "path": "/r"});
        let error = read_all(&[keys(one.clone()), keys(one)]).unwrap_err();
        assert_eq!(
            error,
            "sources[1]: the name `code` is already used by sources[0]"
        );
    }
}
