//! Importers: each module reads one external source (a file format, an API or a
//! webhook body) and returns the records of `fairshare-records`. Importers never touch
//! the database; `fairshare-ingest` hands what they return to the store, which writes
//! it in one transaction.

pub mod activities_csv;
pub mod bigmac;
pub mod crowdin;
pub mod directory;
pub mod discord;
pub mod discourse;
pub mod ecb;
pub mod error;
pub mod git;
pub mod github;
pub mod github_archive;
pub mod github_discussions;
pub mod github_sponsors;
pub mod gitlab;
pub mod http;
pub mod matrix;
pub mod meetup;
pub mod opencollective;
pub mod paged;
pub mod record;
pub mod slack;
pub mod sponsorship;
pub mod stackexchange;
pub mod tabular;
pub mod webhooks;
pub mod weblate;

pub use error::{ImportError, Location};
pub use record::{ActivityRecord, ChangeSize, OnBehalfOf, PaymentRecord, PersonRef, Skips};

use sha2::{Digest, Sha256};

/// Hex SHA-256 of a source's bytes: identifies an imported file in the run log.
pub fn content_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hex SHA-256 of everything `input` yields, read in blocks: a large file's digest
/// without holding it in memory.
pub fn reader_digest(mut input: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut input, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
