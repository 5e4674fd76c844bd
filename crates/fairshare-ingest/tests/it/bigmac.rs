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
            .import_bigmac("v2.csv", &digest, &file, None, "tester")
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
            .import_bigmac("2021-07.csv", &july_digest, &july, None, "tester")
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
            .import_bigmac("v2.csv", &v2_digest, &v2, None, "tester")
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

/// A release of the given countries, each priced like the United States.
fn release_file(date: &str, countries: &[&str]) -> (fairshare_import::bigmac::BigMacFile, String) {
    let mut csv = String::from("name,iso_a3,currency_code,local_price,dollar_ex,date\n");
    for code in countries {
        csv.push_str(&format!("{code},{code},USD,5.79,1,{date}\n"));
    }
    let file = fairshare_import::bigmac::parse("new.csv", csv.as_bytes()).unwrap();
    (file, fairshare_import::content_digest(csv.as_bytes()))
}

fn checks(partial: bool) -> Option<fairshare_store::ReleaseChecks> {
    Some(fairshare_store::ReleaseChecks {
        base_country: CountryCode::parse("USA").unwrap(),
        partial,
    })
}

#[tokio::test]
async fn a_release_without_the_base_country_stores_nothing_even_when_dated_in_the_future() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let before = t.store.release_dates().await.unwrap();
        for date in ["2026-07-01", "2031-01-01"] {
            let (file, digest) = release_file(date, &["DEU", "JPN", "IND"]);
            let err = t
                .store
                .import_bigmac("new.csv", &digest, &file, checks(true), "tester")
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("no row for the base country USA"), "{err}");
            assert!(!t.store.digest_imported("bigmac", &digest).await.unwrap());
        }
        assert_eq!(
            t.store.release_dates().await.unwrap(),
            before,
            "{}",
            t.backend
        );
    }
}

#[tokio::test]
async fn a_release_of_a_few_countries_needs_partial_and_is_then_never_in_force_on_its_own() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let (file, digest) = release_file("2026-07-01", &["USA", "DEU", "JPN"]);
        let err = t
            .store
            .import_bigmac("new.csv", &digest, &file, checks(false), "tester")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lists 3 countries, markedly fewer than the 71 of the 2026-01-01 release"),
            "{err}"
        );
        assert_eq!(
            t.store.release_dates().await.unwrap().len(),
            43,
            "{}",
            t.backend
        );

        let summary = t
            .store
            .import_bigmac("new.csv", &digest, &file, checks(true), "tester")
            .await
            .unwrap();
        assert_eq!(summary.partial, ["2026-07-01"]);
        let later = date!(2026 - 08 - 01);
        let policy = ThresholdPolicy::default();
        assert_eq!(
            t.store.release_in_force(later).await.unwrap(),
            Some(date!(2026 - 01 - 01))
        );
        assert_eq!(
            t.store
                .publish_release_in_force(later, &policy, "fairshare")
                .await
                .unwrap(),
            Some(date!(2026 - 01 - 01)),
            "the complete release is published, the partial one is not"
        );
        let partial = t.store.release_on_or_before(later).await.unwrap().unwrap();
        t.store
            .publish_thresholds(partial, &policy, "manager", "checked by hand")
            .await
            .unwrap();
        assert_eq!(
            t.store.release_in_force(later).await.unwrap(),
            Some(date!(2026 - 07 - 01))
        );
    }
}

#[tokio::test]
async fn a_base_country_missing_from_the_release_in_force_is_refused_in_the_rules() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let current = fairshare_engine::ProgrammeRules::default();
        let mut rules = current.clone();
        rules.thresholds.base_country = CountryCode::parse("NPL").unwrap();
        let err = t
            .store
            .record_rules(&rules, &current, "try Nepal", "manager")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("`base_country`: NPL is not in the"), "{err}");
    }
}
