//! Importers on real inputs: a git repository built for the test, real payload shapes.

mod apis;
mod git;
