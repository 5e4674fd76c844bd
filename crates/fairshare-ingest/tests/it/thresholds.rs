use fairshare_engine::{Basis, CountryCode, CurrencyCode, EuroAreaRule, ThresholdPolicy};
use fairshare_engine::{RequestState, Verdict};
use fairshare_store::{NewSubmission, StoreError};
use rust_decimal::{Decimal, RoundingStrategy};
use time::macros::date;

use crate::read_bigmac;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn code(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

#[tokio::test]
async fn worked_example_of_the_july_2021_file() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let (july, digest) = read_bigmac("big-mac-source-data-2021-07.csv");
        t.store
            .import_bigmac("2021-07.csv", &digest, &july, None, "tester")
            .await
            .unwrap();
        let set = t
            .store
            .thresholds(date!(2021 - 01 - 01), &ThresholdPolicy::default())
            .await
            .unwrap();
        assert!(set.publication.is_none());
        let row = |iso: &str| set.country(code(iso)).unwrap().clone();
        assert_eq!(
            (row("USA").threshold_local, row("USA").currency),
            (dec("100"), CurrencyCode::USD)
        );
        assert_eq!(row("IND").threshold_local, dec("3357"), "{}", t.backend);
        assert_eq!(row("EUZ").threshold_local, dec("75"));
        assert_eq!(row("FRA").basis, Basis::EuroArea);
    }
}

/// Every country of every stored release follows
/// `threshold_local ≈ base_amount × local_price / local_price(base)`, within the rounding.
#[tokio::test]
async fn every_country_of_every_release_follows_the_formula() {
    let t = fairshare_testkit::sqlite().await;
    fairshare_ingest::ensure_embedded_bigmac(&t.store)
        .await
        .unwrap();
    for policy in [
        ThresholdPolicy::default(),
        ThresholdPolicy {
            euro_area: EuroAreaRule::OwnRow,
            base_amount: dec("250"),
            ..ThresholdPolicy::default()
        },
    ] {
        let mut checked = 0;
        for release in t.store.release_dates().await.unwrap() {
            let data = t.store.release(release).await.unwrap().unwrap();
            let base = data.price(policy.base_country).unwrap().local_price;
            let euro = data.price(code("EUZ"));
            let set = t.store.thresholds(release, &policy).await.unwrap();
            assert!(set.rows.len() >= data.prices.len());
            for row in &set.rows {
                let source = match row.basis {
                    Basis::OwnRow => data.price(row.iso_a3).unwrap(),
                    Basis::EuroArea => euro.unwrap(),
                    ref other => panic!("unexpected basis {other:?}"),
                };
                assert_eq!(row.local_price, source.local_price);
                assert_eq!(row.currency, source.currency);
                let exact = policy.base_amount * source.local_price / base;
                assert!(
                    (row.threshold_local - exact).abs() <= dec("0.5"),
                    "{release} {}: {} vs {exact}",
                    row.iso_a3,
                    row.threshold_local
                );
                let usd = (exact / source.dollar_ex)
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                assert_eq!(row.threshold_usd, usd, "{release} {}", row.iso_a3);
                checked += 1;
            }
        }
        assert!(checked > 2000, "checked {checked} rows");
    }
}

#[tokio::test]
async fn publication_is_frozen_and_refused_twice() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let release = date!(2026 - 01 - 01);
        let published = t
            .store
            .publish_release_in_force(
                date!(2026 - 11 - 22),
                &ThresholdPolicy::default(),
                "manager",
            )
            .await
            .unwrap();
        assert_eq!(published, Some(release));
        // A later policy change does not alter the published thresholds.
        let generous = ThresholdPolicy {
            base_amount: dec("200"),
            ..ThresholdPolicy::default()
        };
        let set = t.store.thresholds(release, &generous).await.unwrap();
        assert_eq!(set.publication.as_ref().unwrap().published_by, "manager");
        assert_eq!(set.policy, ThresholdPolicy::default());
        assert_eq!(
            set.country(code("USA")).unwrap().threshold_local,
            dec("100")
        );
        let again = t
            .store
            .publish_thresholds(release, &generous, "manager", "again")
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{}",
            t.backend
        );
        assert_eq!(
            t.store
                .publish_release_in_force(date!(2026 - 11 - 22), &generous, "manager")
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn missing_countries_are_mapped_or_priced_with_four_eyes() {
    for t in fairshare_testkit::stores().await {
        fairshare_ingest::ensure_embedded_bigmac(&t.store)
            .await
            .unwrap();
        let release = date!(2026 - 01 - 01);
        let policy = ThresholdPolicy::default();

        let mapping = t
            .store
            .map_country(code("BGD"), code("IND"), "manager")
            .await
            .unwrap();
        assert_eq!(mapping.recorded_by, "manager");
        let refused = t
            .store
            .map_country(code("IND"), code("PAK"), "manager")
            .await;
        assert!(matches!(refused, Err(StoreError::Invalid(_))));

        let submission = t
            .store
            .submit_price(
                NewSubmission {
                    country: code("NPL"),
                    currency: CurrencyCode::parse("NPR").unwrap(),
                    local_price: dec("250"),
                    dollar_ex: dec("133.2"),
                    evidence: "https://example.org/menu.jpg".into(),
                    release,
                },
                "applicant",
            )
            .await
            .unwrap();
        assert_eq!(submission.status, RequestState::Pending);
        let before = t.store.thresholds(release, &policy).await.unwrap();
        assert!(
            before.country(code("NPL")).is_none(),
            "pending prices are not used"
        );
        let bgd = before.country(code("BGD")).unwrap();
        assert_eq!(bgd.basis, Basis::Comparable { like: code("IND") });
        assert_eq!(bgd.currency.as_str(), "INR");

        let own = t
            .store
            .decide_submission(submission.id, Verdict::Approve, "applicant", None)
            .await;
        assert!(
            matches!(own, Err(StoreError::Refused(ref r)) if r.is_forbidden()),
            "no self-approval"
        );
        let approved = t
            .store
            .decide_submission(
                submission.id,
                Verdict::Approve,
                "manager",
                Some("menu photo checks out"),
            )
            .await
            .unwrap();
        assert_eq!(approved.decided_by.as_deref(), Some("manager"));
        let after = t.store.thresholds(release, &policy).await.unwrap();
        let npl = after.country(code("NPL")).unwrap();
        assert_eq!(
            npl.basis,
            Basis::SubmittedPrice {
                submission_id: submission.id
            }
        );
        assert_eq!(npl.currency.as_str(), "NPR");
        // 100 × 250 / local_price(USA, 2026-01)
        let usa = t
            .store
            .release(release)
            .await
            .unwrap()
            .unwrap()
            .price(code("USA"))
            .unwrap()
            .local_price;
        let exact = dec("100") * dec("250") / usa;
        assert!((npl.threshold_local - exact).abs() <= dec("0.5"));
        let twice = t
            .store
            .decide_submission(submission.id, Verdict::Reject, "manager", None)
            .await;
        assert!(matches!(
            twice,
            Err(StoreError::Refused(
                fairshare_engine::Refusal::AlreadyDecided { .. }
            ))
        ));

        let actions: Vec<String> = t
            .store
            .audit_log(Some("bigmac:"), 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.actor, e.action))
            .collect();
        for expected in [
            "manager bigmac.map",
            "applicant bigmac.submit",
            "manager bigmac.approve",
        ] {
            assert!(
                actions.contains(&expected.to_string()),
                "{}: {actions:?}",
                t.backend
            );
        }
    }
}
