//! Running an import: an importer of `fairshare-import` reads a source, the store
//! writes what it returns. This crate owns how the two are joined — one transaction per
//! input (or per page for paged APIs, with the resume point written in the same
//! transaction), blocking readers on their own thread feeding the store through a
//! bounded channel, teams assigned by channel, the data sets embedded in the binary —
//! so that the CLI's `import` commands and a scheduler inside `serve` run imports the
//! same way. It prints nothing: it returns summaries and reports progress to a
//! [`Progress`] the caller chooses.

mod embedded;
mod progress;
mod run;
pub mod sources;

pub use embedded::{ensure_embedded_bigmac, ensure_embedded_rates};
pub use progress::{Progress, Quiet};
pub use run::{GitImport, GitOutcome, Importer, Settings};

/// Why an import stopped. Nothing of the input in flight was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Import(#[from] fairshare_import::ImportError),
    #[error(transparent)]
    Store(#[from] fairshare_store::StoreError),
    #[error("the reader stopped: {0}")]
    Reader(String),
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
