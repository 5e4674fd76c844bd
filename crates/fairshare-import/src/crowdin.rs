//! Crowdin's webhooks (one event, or `{"events": […]}` when batched): a suggestion
//! added and a translation updated are `translation` for the translator, a suggestion
//! approved is `translation_review` for whoever approved it (and `translation` for its
//! translator, in case their suggestion's delivery was missed). Machine and
//! pre-translations, approving one's own suggestion, and other events (comments,
//! files, builds) are not counted.
//!
//! The same translation read twice (suggested, then exported as updated) has one id,
//! so it counts once. People are `crowdin:USERNAME`; the channel is the target
//! language (`es`), which `teams` maps to a translation team.

use fairshare_engine::{ActivityKind, IdentityKey, IdentityKind};
use serde_json::Value;
use time::OffsetDateTime;

use crate::record::{ActivityRecord, PersonRef, Skips};
use crate::webhooks::{BadDelivery, Delivery};

/// A delivery's body, received at `received_at` (Crowdin dates no approval).
pub fn webhook(body: &[u8], received_at: OffsetDateTime) -> Result<Delivery, BadDelivery> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| BadDelivery("the body is not JSON".into()))?;
    let events: Vec<&Value> = match payload["events"].as_array() {
        Some(events) => events.iter().collect(),
        None => vec![&payload],
    };
    let mut records = Vec::new();
    let mut skips = Skips::default();
    let mut projects = Vec::new();
    for (index, event) in events.into_iter().enumerate() {
        let name = event["event"]
            .as_str()
            .ok_or_else(|| BadDelivery(format!("event {index}: `event` is missing")))?;
        let within = |why: String| BadDelivery(format!("event {index} ({name}): {why}"));
        let translation = match name {
            "suggestion.added" | "suggestion.approved" => &event["translation"],
            "translation.updated" => &event["newTranslation"],
            other => {
                skips.add(format!("Crowdin `{other}` (not a translation)"));
                continue;
            }
        };
        let project = &translation["string"]["project"];
        let project_id = id_text(&project["id"])
            .ok_or_else(|| within("`translation.string.project.id` is missing".into()))?;
        let translation_id = id_text(&translation["id"])
            .ok_or_else(|| within("`translation.id` is missing".into()))?;
        if let Some(identifier) = project["identifier"].as_str()
            && !projects.iter().any(|p| p == identifier)
        {
            projects.push(identifier.to_string());
        }
        if translation["isPreTranslated"].as_bool() == Some(true)
            || !translation["provider"].is_null()
        {
            skips.add("machine or pre-translation");
            continue;
        }
        let translator = person(&translation["user"]);
        let written_at = translation["createdAt"]
            .as_str()
            .map(|at| crate::paged::rfc3339("Crowdin delivery", "translation.createdAt", at))
            .transpose()
            .map_err(|e| within(e.to_string()))?
            .unwrap_or(received_at);
        let make = |id: String, kind, person: PersonRef, at| {
            let mut record = ActivityRecord::new(id, kind, person, at);
            record.channel = translation["targetLanguage"]["id"]
                .as_str()
                .map(str::to_string);
            record.url = translation["string"]["url"].as_str().map(str::to_string);
            record.title = project["name"]
                .as_str()
                .or(project["identifier"].as_str())
                .map(|p| match translation["string"]["file"]["name"].as_str() {
                    Some(file) => format!("{p}: {file}"),
                    None => p.to_string(),
                });
            record
        };
        let translated = format!("translation:{project_id}:{translation_id}");
        match &translator {
            Some(translator) => records.push(make(
                translated,
                ActivityKind::Translation,
                translator.clone(),
                written_at,
            )),
            None => skips.add("translation without its translator's username"),
        }
        if name == "suggestion.approved" {
            match person(&event["user"]) {
                Some(approver) if translator.as_ref().map(|t| &t.key) == Some(&approver.key) => {
                    skips.add("approval of one's own suggestion")
                }
                Some(approver) => records.push(make(
                    format!("approval:{project_id}:{translation_id}"),
                    ActivityKind::TranslationReview,
                    approver,
                    received_at,
                )),
                None => skips.add("approval without its approver's username"),
            }
        }
    }
    if records.is_empty() && skips.0.is_empty() {
        return Ok(Delivery::Ignored("the delivery holds no events".into()));
    }
    Ok(Delivery::Activities {
        scope: if projects.is_empty() {
            "crowdin".into()
        } else {
            projects.join(", ")
        },
        records,
        skips,
    })
}

/// Crowdin writes ids as text or as numbers.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn person(user: &Value) -> Option<PersonRef> {
    let username = user["username"].as_str()?;
    let key = IdentityKey::new(IdentityKind::Crowdin, username).ok()?;
    Some(PersonRef::new(
        key,
        crate::record::first_name([user["fullName"].as_str(), Some(username)]),
    ))
}
