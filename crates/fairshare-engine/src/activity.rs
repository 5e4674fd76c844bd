//! Kinds of contribution (SPEC §4) and the sources they come from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a person did. Every kind gets a configurable weight when scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Commit,
    PrOpened,
    PrMerged,
    Review,
    IssueOpened,
    IssueClosed,
    /// A comment on an issue or pull request.
    Comment,
    DocsChange,
    Translation,
    /// Approving or reviewing someone else's translation on a translation platform.
    TranslationReview,
    ForumPost,
    ForumSolution,
    /// A reply in a chat thread: helping someone.
    ChatHelp,
    /// A top-level chat message (imported for the record, not help by itself).
    ChatMessage,
    EventOrganised,
    TalkGiven,
    MeetupHosted,
    /// Leading a community team for one month.
    TeamLeadership,
    ReleaseManagement,
    Design,
    Marketing,
    OtherTask,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 22] = [
        ActivityKind::Commit,
        ActivityKind::PrOpened,
        ActivityKind::PrMerged,
        ActivityKind::Review,
        ActivityKind::IssueOpened,
        ActivityKind::IssueClosed,
        ActivityKind::Comment,
        ActivityKind::DocsChange,
        ActivityKind::Translation,
        ActivityKind::TranslationReview,
        ActivityKind::ForumPost,
        ActivityKind::ForumSolution,
        ActivityKind::ChatHelp,
        ActivityKind::ChatMessage,
        ActivityKind::EventOrganised,
        ActivityKind::TalkGiven,
        ActivityKind::MeetupHosted,
        ActivityKind::TeamLeadership,
        ActivityKind::ReleaseManagement,
        ActivityKind::Design,
        ActivityKind::Marketing,
        ActivityKind::OtherTask,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Commit => "commit",
            ActivityKind::PrOpened => "pr_opened",
            ActivityKind::PrMerged => "pr_merged",
            ActivityKind::Review => "review",
            ActivityKind::IssueOpened => "issue_opened",
            ActivityKind::IssueClosed => "issue_closed",
            ActivityKind::Comment => "comment",
            ActivityKind::DocsChange => "docs_change",
            ActivityKind::Translation => "translation",
            ActivityKind::TranslationReview => "translation_review",
            ActivityKind::ForumPost => "forum_post",
            ActivityKind::ForumSolution => "forum_solution",
            ActivityKind::ChatHelp => "chat_help",
            ActivityKind::ChatMessage => "chat_message",
            ActivityKind::EventOrganised => "event_organised",
            ActivityKind::TalkGiven => "talk_given",
            ActivityKind::MeetupHosted => "meetup_hosted",
            ActivityKind::TeamLeadership => "team_leadership",
            ActivityKind::ReleaseManagement => "release_management",
            ActivityKind::Design => "design",
            ActivityKind::Marketing => "marketing",
            ActivityKind::OtherTask => "other_task",
        }
    }
}

impl ActivityKind {
    /// The kind in words, as a person reads it on a page.
    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Commit => "Commit",
            ActivityKind::PrOpened => "Pull request opened",
            ActivityKind::PrMerged => "Pull request merged",
            ActivityKind::Review => "Review",
            ActivityKind::IssueOpened => "Issue opened",
            ActivityKind::IssueClosed => "Issue closed",
            ActivityKind::Comment => "Comment",
            ActivityKind::DocsChange => "Documentation change",
            ActivityKind::Translation => "Translation",
            ActivityKind::TranslationReview => "Translation review",
            ActivityKind::ForumPost => "Forum post",
            ActivityKind::ForumSolution => "Forum solution",
            ActivityKind::ChatHelp => "Chat help",
            ActivityKind::ChatMessage => "Chat message",
            ActivityKind::EventOrganised => "Event organised",
            ActivityKind::TalkGiven => "Talk given",
            ActivityKind::MeetupHosted => "Meetup hosted",
            ActivityKind::TeamLeadership => "Team leadership",
            ActivityKind::ReleaseManagement => "Release management",
            ActivityKind::Design => "Design",
            ActivityKind::Marketing => "Marketing",
            ActivityKind::OtherTask => "Other task",
        }
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activity kind `{0}` (expected one of: {list})", list = ActivityKind::ALL.map(|k| k.as_str()).join(", "))]
pub struct UnknownKind(pub String);

impl FromStr for ActivityKind {
    type Err = UnknownKind;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        let wanted = match wanted.as_str() {
            // Spellings people write in spreadsheets.
            "event_organized" => "event_organised",
            "talk" => "talk_given",
            "meetup" => "meetup_hosted",
            other => other,
        }
        .to_string();
        ActivityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| UnknownKind(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_forgive_spelling() {
        for kind in ActivityKind::ALL {
            assert_eq!(kind.as_str().parse::<ActivityKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(
            "Event organized".parse::<ActivityKind>().unwrap(),
            ActivityKind::EventOrganised
        );
        assert_eq!(
            "talk".parse::<ActivityKind>().unwrap(),
            ActivityKind::TalkGiven
        );
        let err = "dancing".parse::<ActivityKind>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown activity kind `dancing` (expected one of: commit, pr_opened")
        );
    }
}
