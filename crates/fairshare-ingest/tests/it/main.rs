//! Reference data through the importers into the store (The Economist's Big Mac data,
//! the ECB's rates, thresholds computed from them), run against every backend available
//! (SQLite always, PostgreSQL when FAIRSHARE_TEST_POSTGRES_URL is set).

mod bigmac;
mod rates;
mod thresholds;

use std::path::PathBuf;

use fairshare_import::bigmac::BigMacFile;

pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/big-mac")
        .join(name)
}

pub fn read_bigmac(name: &str) -> (BigMacFile, String) {
    let bytes = std::fs::read(data_file(name)).unwrap();
    let file = fairshare_import::bigmac::parse(name, bytes.as_slice()).unwrap();
    (file, fairshare_import::content_digest(&bytes))
}
