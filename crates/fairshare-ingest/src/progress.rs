//! How far a long import got: the CLI draws a bar on a terminal, a scheduler stays quiet.

/// Receives progress from a running import. Called from the reader's thread too.
pub trait Progress: Send + Sync {
    /// A new count starts, of `unit` (`"commits read"`).
    fn start(&self, unit: &'static str);
    /// The count so far.
    fn set(&self, position: u64);
    /// Adds to the count.
    fn add(&self, delta: u64);
    /// The count is over.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: &'static str) {}
    fn set(&self, _: u64) {}
    fn add(&self, _: u64) {}
    fn finish(&self) {}
}
