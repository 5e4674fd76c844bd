//! Translations on a Weblate server through its changes API (`/api/changes/`, or one
//! project's `/api/projects/SLUG/changes/`): a translation added or changed, and a
//! suggestion made, are `translation` for their author; a translation approved and a
//! suggestion accepted are `translation_review` for whoever did it (never for
//! approving one's own). Machine, bulk and
//! file-upload changes are skipped (they are not one person's string-by-string work),
//! and so is everything that is not translating (repository, component, user events).
//!
//! People are `weblate:USERNAME`, read from the user links of each change; the channel
//! is the translation's language code, which `teams` maps to a translation team.

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ImportError;
use crate::http::{ApiClient, Lenient};
use crate::paged::{Newest, Page, PagedSource, encoded, rfc3339};
use crate::record::{ActivityRecord, PersonRef, Skips};

#[derive(Deserialize)]
struct Changes {
    #[serde(default)]
    next: Option<String>,
    results: Vec<Lenient<Change>>,
}

#[derive(Deserialize)]
struct Change {
    id: u64,
    action: u32,
    timestamp: String,
    #[serde(default)]
    user: Value,
    #[serde(default)]
    author: Value,
    #[serde(default)]
    translation: Option<String>,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

/// What a change's action counts as, or why it is not counted.
fn credit(action: u32) -> Result<(ActivityKind, Who), &'static str> {
    match action {
        // Translation changed, translation added, suggestion added.
        2 | 5 | 4 => Ok((ActivityKind::Translation, Who::Author)),
        // Suggestion accepted, translation approved.
        7 | 36 => Ok((ActivityKind::TranslationReview, Who::User)),
        6 => Err("automatic (machine) translation"),
        9 | 27 | 32 | 54 => Err("bulk or uploaded change (not one string's work)"),
        _ => Err("not a translation (repository, component or account event)"),
    }
}

#[derive(Clone, Copy)]
enum Who {
    /// The change's author (who wrote the text), else its user.
    Author,
    /// Who performed the change.
    User,
}

pub struct Weblate {
    client: ApiClient,
    base: String,
    project: Option<String>,
    /// The newest change time seen (changes come newest first: stored at the end).
    newest: Newest,
}

impl Weblate {
    /// `url` is the server (`https://hosted.weblate.org`); `project` a project slug,
    /// or every project the token sees.
    pub fn new(
        url: &str,
        project: Option<&str>,
        token: Option<String>,
    ) -> Result<Weblate, ImportError> {
        let base = url.trim_end_matches('/').to_string();
        Ok(Weblate {
            client: ApiClient::new("Weblate", &base, token, Default::default())?
                .with_scheme("Token"),
            base,
            project: project
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
            newest: Newest::default(),
        })
    }
}

impl PagedSource for Weblate {
    fn source(&self) -> &'static str {
        "weblate"
    }

    fn input(&self) -> String {
        match &self.project {
            Some(project) => format!("{} {project}", self.base),
            None => self.base.clone(),
        }
    }

    async fn streams(&self) -> Result<Vec<String>, ImportError> {
        Ok(vec![self.input()])
    }

    async fn page(
        &self,
        _stream: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError> {
        let path = at.map(str::to_string).unwrap_or_else(|| {
            let list = match &self.project {
                Some(project) => format!("api/projects/{}/changes/", encoded(project)),
                None => "api/changes/".to_string(),
            };
            match resume {
                Some(after) => format!("{list}?timestamp_after={}", encoded(after)),
                None => list,
            }
        });
        let (changes, _): (Changes, _) = self.client.get(&path).await?;
        let mut page = Page {
            next: changes.next,
            ..Page::default()
        };
        for change in changes.results {
            let Some(change) = change.read("Weblate change", &path, &mut page.skips) else {
                continue;
            };
            self.newest.see(&change.timestamp);
            if let Some(record) = self.convert(&change, &path, &mut page.skips)? {
                page.records.push(record);
            }
        }
        self.newest.at_end(&mut page);
        Ok(page)
    }
}

impl Weblate {
    fn convert(
        &self,
        change: &Change,
        path: &str,
        skips: &mut Skips,
    ) -> Result<Option<ActivityRecord>, ImportError> {
        let (kind, who) = match credit(change.action) {
            Ok(credit) => credit,
            Err(why) => {
                skips.add(why);
                return Ok(None);
            }
        };
        let person = match who {
            Who::Author => username(&change.author).or_else(|| username(&change.user)),
            Who::User => {
                let reviewer = username(&change.user);
                if reviewer.is_some() && reviewer == username(&change.author) {
                    skips.add("approval of one's own translation");
                    return Ok(None);
                }
                reviewer
            }
        };
        let Some(person) = person else {
            skips.add("change without a user's name (anonymous, or an old Weblate's user id)");
            return Ok(None);
        };
        let Ok(key) = IdentityKey::new(IdentityKind::Weblate, &person) else {
            skips.add("change without a user's name (anonymous, or an old Weblate's user id)");
            return Ok(None);
        };
        let at = rfc3339(
            &format!("Weblate {path}"),
            &format!("change {}: timestamp", change.id),
            &change.timestamp,
        )?;
        let mut record = ActivityRecord::new(
            format!("change:{}", change.id),
            kind,
            PersonRef::new(key, Some(&person)),
            at,
        );
        // `…/api/translations/PROJECT/COMPONENT/LANGUAGE/`
        let parts = change
            .translation
            .as_deref()
            .map(segments)
            .unwrap_or_default();
        record.channel = parts.last().cloned();
        record.title = match parts.as_slice() {
            [.., project, component, _language] => Some(format!("{project}/{component}")),
            _ => change
                .component
                .as_deref()
                .map(segments)
                .and_then(|p| (p.len() >= 2).then(|| p[p.len() - 2..].join("/"))),
        };
        record.url = change.unit.clone().or_else(|| change.translation.clone());
        Ok(Some(record))
    }
}

/// The path's segments after `/api/…/`: `[project, component, language]`.
fn segments(link: &str) -> Vec<String> {
    let path = link.split_once("/api/").map_or(link, |(_, p)| p);
    path.split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// The username of a change's `user` or `author` link (`…/api/users/NAME/`).
fn username(value: &Value) -> Option<String> {
    let link = value.as_str()?;
    segments(link).into_iter().next_back()
}
