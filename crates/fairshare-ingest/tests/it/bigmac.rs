use fairshare_engine::{CountryCode, ThresholdPolicy};
use rust_decimal::Decimal;
use time::macros::date;

use crate::read_bigmac;

#[tokio::test]
async fn embedded_import_is_idempotent() {
    for t in fairshare_testkit::stores().await {
        let first = fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.releases_new, 43, "{}", t.backend);
        assert_eq!(first.rows_new, first.rows_read);
        assert_eq!(first.skipped.len(), 1, "Venezuela 2018 has no price");
        assert!(
            fairshare_ingest::ensure_embedded_bigmac(&t.store)
                .await
                .unwrap()
                .is_none()
        );

        let (file, digest) = read_bigmac("big-mac-source-data-v2.csv");
        let again = t
            .store
            .import_bigmac("v2.csv", &digest, &file, "tester")
            .await
            .unwrap();
        assert!(again.already_imported);
        assert_eq!(
            (again.rows_new, again.rows_changed),
            (0, 0),
            "{}",
            t.backend
        );
        assert_eq!(again.rows_unchanged, again.rows_read);
        assert_eq!(t.store.release_dates().await.unwrap().len(), 43);
        let latest = t
            .store
            .release(date!(2026 - 01 - 01))
            .await
            .unwrap()
            .unwrap();
        let ind = latest.price(CountryCode::parse("IND").unwrap()).unwrap();
        assert_eq!(ind.local_price.to_string(), "227");
    }
}

#[tokio::test]
async fn newer_file_restates_unpublished_releases_only() {
    for t in fairshare_testkit::stores().await {
        let (july, july_digest) = read_bigmac("big-mac-source-data-2021-07.csv");
        let (v2, v2_digest) = read_bigmac("big-mac-source-data-v2.csv");
        t.store
            .import_bigmac("2021-07.csv", &july_digest, &july, "tester")
            .await
            .unwrap();
        let policy = ThresholdPolicy::default();
        let jan_2021 = date!(2021 - 01 - 01);
        t.store
            .publish_thresholds(jan_2021, &policy, "manager", "test")
            .await
            .unwrap();

        let summary = t
            .store
            .import_bigmac("v2.csv", &v2_digest, &v2, "tester")
            .await
            .unwrap();
        let usa = summary
            .frozen
            .iter()
            .find(|f| f.release == jan_2021 && f.iso_a3 == "USA")
            .unwrap_or_else(|| panic!("{}: {:?}", t.backend, summary.frozen));
        assert_eq!(usa.difference, "local_price 5.66 → 4.89");
        assert!(summary.frozen.iter().all(|f| f.release == jan_2021));
        assert!(
            summary.rows_changed > 0,
            "unpublished releases take the restated prices"
        );

        let stored = t.store.release(jan_2021).await.unwrap().unwrap();
        let usa = stored.price(CountryCode::parse("USA").unwrap()).unwrap();
        assert_eq!(usa.local_price, "5.66".parse::<Decimal>().unwrap());
        let set = t.store.thresholds(jan_2021, &policy).await.unwrap();
        let india = set.country(CountryCode::parse("IND").unwrap()).unwrap();
        assert_eq!(india.threshold_local.to_string(), "3357");
        // July 2021 was not published: it follows the newer file.
        let july_2021 = t
            .store
            .release(date!(2021 - 07 - 01))
            .await
            .unwrap()
            .unwrap();
        let usa_july = july_2021.price(CountryCode::parse("USA").unwrap()).unwrap();
        assert_ne!(usa_july.local_price.to_string(), "5.65");
    }
}

#[tokio::test]
async fn every_run_is_audited() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let log = t.store.audit_log(Some("bigmac:"), 10).await.unwrap();
        assert_eq!(log.len(), 1, "{}", t.backend);
        assert_eq!(log[0].action, "bigmac.import");
        assert_eq!(log[0].actor, "fairshare");
        assert_eq!(log[0].details["rows_new"], serde_json::json!(2372));
    }
}
