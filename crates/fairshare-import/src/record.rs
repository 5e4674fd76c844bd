//! The normalised records importers return and the store ingests; they live in
//! `fairshare-records`, which the store shares without depending on the importers.

pub use fairshare_records::*;
