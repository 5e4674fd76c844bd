use fairshare_engine::{CurrencyCode, DollarRates, Money, RateBasis};
use time::macros::date;

fn cur(c: &str) -> CurrencyCode {
    CurrencyCode::parse(c).unwrap()
}

#[tokio::test]
async fn ecb_rates_import_once_and_convert() {
    for t in fairshare_testkit::stores().await {
        let first = fairshare_ingest::ensure_embedded_rates(&t.store)
            .await
            .unwrap()
            .unwrap();
        assert!(first.new > 200_000, "{}: {first:?}", t.backend);
        assert!(
            fairshare_ingest::ensure_embedded_rates(&t.store)
                .await
                .unwrap()
                .is_none()
        );

        let revised = fairshare_import::ecb::parse(
            "fix.csv",
            "Date,USD,JPY,\n2026-10-30,1.1173,175.68,\n2026-11-02,1.12,N/A,\n".as_bytes(),
        )
        .unwrap();
        let s = t
            .store
            .import_rates("fix.csv", "d", &revised, "tester")
            .await
            .unwrap();
        assert_eq!((s.new, s.changed, s.unchanged), (1, 1, 1), "{}", t.backend);

        let table = t
            .store
            .rate_table(
                &[cur("USD"), cur("INR")],
                date!(2026 - 10 - 31),
                date!(2026 - 10 - 31),
            )
            .await
            .unwrap();
        let c = table
            .convert(
                Money::parse("100", cur("USD")).unwrap(),
                cur("INR"),
                date!(2026 - 10 - 31),
                &DollarRates::default(),
            )
            .unwrap();
        assert_eq!(
            c.basis,
            RateBasis::Ecb {
                date: date!(2026 - 10 - 30)
            }
        );
        assert_eq!(c.to.rounded().amount.to_string(), "9494.67"); // 100 × 106.084 / 1.1173
    }
}
