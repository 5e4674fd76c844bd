//! The reference data this binary ships (The Economist's Big Mac data, the ECB's
//! reference rates), stored once per version of the file.

use fairshare_import::{bigmac, content_digest, ecb};
use fairshare_store::rates::RatesImportSummary;
use fairshare_store::{BigMacImportSummary, Store};

use crate::Result;

/// Imports the Big Mac data set embedded in this binary unless this exact file was
/// imported before. Returns what was done, if anything.
pub async fn ensure_embedded_bigmac(store: &Store) -> Result<Option<BigMacImportSummary>> {
    let digest = content_digest(bigmac::EMBEDDED_CSV.as_bytes());
    if store.digest_imported("bigmac", &digest).await? {
        return Ok(None);
    }
    let file = bigmac::parse(bigmac::EMBEDDED_NAME, bigmac::EMBEDDED_CSV.as_bytes())?;
    Ok(Some(
        store
            .import_bigmac(bigmac::EMBEDDED_NAME, &digest, &file, None, "fairshare")
            .await?,
    ))
}

/// Stores the ECB history embedded in this binary unless this exact file was imported
/// before.
pub async fn ensure_embedded_rates(store: &Store) -> Result<Option<RatesImportSummary>> {
    let digest = content_digest(ecb::EMBEDDED_CSV.as_bytes());
    if store.digest_imported("ecb", &digest).await? {
        return Ok(None);
    }
    let rates = ecb::parse(ecb::EMBEDDED_NAME, ecb::EMBEDDED_CSV.as_bytes())?;
    Ok(Some(
        store
            .import_rates(ecb::EMBEDDED_NAME, &digest, &rates, "fairshare")
            .await?,
    ))
}
