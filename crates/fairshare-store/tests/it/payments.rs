//! Payment imports: a transaction id stands for one payment, whatever the input.

use fairshare_engine::compliance::Coverage;
use fairshare_engine::{CurrencyCode, Money};
use fairshare_records::PaymentRecord;
use fairshare_store::StoreError;
use rust_decimal::Decimal;
use time::macros::date;

fn payment(line: u64, id: &str, cents: i64) -> PaymentRecord {
    PaymentRecord {
        line,
        external_id: id.into(),
        platform: "opencollective".into(),
        account: "acme".into(),
        date: date!(2026 - 09 - 02),
        money: Money::new(
            Decimal::new(cents, 2),
            CurrencyCode::parse_iso("EUR").unwrap(),
        ),
        coverage: Coverage::Month,
        description: None,
    }
}

/// How many payments are stored (the test's account is linked to no organisation).
async fn stored(store: &fairshare_store::Store) -> i64 {
    let accounts = store.unlinked_accounts().await.unwrap();
    accounts.iter().map(|a| a.payments).sum()
}

#[tokio::test]
async fn two_rows_with_one_id_and_different_amounts_are_refused_naming_both_lines() {
    for t in fairshare_testkit::stores().await {
        let rows = [payment(2, "oc:a1", 7550), payment(7, "oc:a1", 755000)];
        let err = t
            .store
            .import_payments("oc", "export.csv", "d1", &rows, "tester")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Conflict(_)), "{text}");
        assert!(text.contains("export.csv:2 and export.csv:7"), "{text}");
        assert!(
            text.contains("75.50 EUR") && text.contains("7550.00 EUR"),
            "{text}"
        );
        assert_eq!(stored(&t.store).await, 0, "{}", t.backend);
    }
}

#[tokio::test]
async fn the_same_row_twice_is_one_payment() {
    for t in fairshare_testkit::stores().await {
        let rows = [payment(2, "oc:a1", 7550), payment(3, "oc:a1", 7550)];
        let summary = t
            .store
            .import_payments("oc", "export.csv", "d1", &rows, "tester")
            .await
            .unwrap();
        assert_eq!(
            (summary.new, summary.already_known),
            (1, 1),
            "{}",
            t.backend
        );
    }
}

#[tokio::test]
async fn an_id_stored_earlier_that_comes_back_changed_is_refused_naming_both_inputs() {
    for t in fairshare_testkit::stores().await {
        t.store
            .import_payments(
                "oc",
                "august.csv",
                "d1",
                &[payment(2, "oc:a1", 7550)],
                "tester",
            )
            .await
            .unwrap();
        let mut changed = payment(4, "oc:a1", 7550);
        changed.date = date!(2026 - 10 - 01);
        let err = t
            .store
            .import_payments(
                "oc",
                "october.csv",
                "d2",
                &[payment(2, "oc:b2", 100), changed],
                "tester",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("october.csv:4") && err.contains("august.csv"),
            "{err}"
        );
        assert!(
            err.contains("2026-09-02") && err.contains("2026-10-01"),
            "{err}"
        );
        assert_eq!(stored(&t.store).await, 1, "{}", t.backend);
    }
}
