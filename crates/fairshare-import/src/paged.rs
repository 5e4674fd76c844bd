//! The one shape of a paged API import: a reader names its streams (a project's merge
//! requests, a channel, a room, a tag) and reads each page by page, every page
//! converted into records with the point to resume from. `fairshare-ingest` drives any
//! reader the same way: each page stored in one transaction with its resume point, so
//! an interrupted run loses at most the page in flight and a re-run reads only what is
//! new (and stores nothing twice: ids are the platform's own).

use crate::error::ImportError;
use crate::record::{ActivityRecord, Skips};

/// One page of a stream, converted.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<ActivityRecord>,
    pub skips: Skips,
    /// Where the next page of this stream is (`None`: the stream is read to its end).
    pub next: Option<String>,
    /// Stored with this page: where a later run starts this stream. `None` keeps
    /// the point stored before (a newest-first API moves it only at its last page).
    pub resume: Option<String>,
}

/// A paged API, read stream by stream.
#[allow(async_fn_in_trait)] // used through generics only, where Send is inferred
pub trait PagedSource {
    /// The source name activities are stored under (`gitlab`, `matrix`, …).
    fn source(&self) -> &'static str;
    /// What the run reads, for the run log (`gitlab.com group/project`).
    fn input(&self) -> String;
    /// The streams to read; each keeps its own resume point under its name.
    async fn streams(&self) -> Result<Vec<String>, ImportError>;
    /// The page at `at` of `stream` (its first page when `None`, starting after
    /// `resume`, the point an earlier run stored).
    async fn page(
        &self,
        stream: &str,
        at: Option<&str>,
        resume: Option<&str>,
    ) -> Result<Page, ImportError>;
}

/// The newest time a newest-first stream has shown so far (GitLab's commits, Weblate's
/// changes): such a stream's resume point may move only once it is read to its end,
/// so its last page stores what [`Newest::at_end`] gives.
#[derive(Debug, Default)]
pub struct Newest(std::sync::Mutex<Option<(time::OffsetDateTime, String)>>);

impl Newest {
    /// Notes an item's RFC 3339 time (compared as times, whatever their offsets).
    pub fn see(&self, text: &str) {
        let Ok(at) =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        else {
            return;
        };
        let mut newest = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if newest.as_ref().is_none_or(|(seen, _)| *seen < at) {
            *newest = Some((at, text.to_string()));
        }
    }

    /// The resume point for `page`: the newest time seen, on the stream's last page.
    pub fn at_end(&self, page: &mut Page) {
        if page.next.is_none() {
            page.resume = self
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|(_, text)| text.clone());
        }
    }
}

/// Reads an RFC 3339 time, with the field and item named in the error.
pub fn rfc3339(source: &str, what: &str, text: &str) -> Result<time::OffsetDateTime, ImportError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
        |_| {
            ImportError::invalid(
                source,
                None,
                Some(what),
                format!("`{text}` is not an RFC 3339 time"),
            )
        },
    )
}

/// Percent-encodes one path segment or query value (`group/project` →
/// `group%2Fproject`, `#room:server` → `%23room%3Aserver`).
pub fn encoded(text: &str) -> String {
    // RFC 3986's unreserved characters stay as they are.
    const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, COMPONENT).to_string()
}
