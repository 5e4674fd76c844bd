use crate::{fairshare, ok, stderr};

#[tokio::test]
async fn convert_with_ecb_and_big_mac_rates() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let out = ok(dir, db, "rates convert 100 USD INR --date 2026-10-31");
        assert_eq!(
            out.trim(),
            "USD 100.00 = INR 9,495.52 (rate 94.955245, ECB reference rate of 2026-10-30)",
            "{}",
            t.backend
        );
        let out = ok(dir, db, "rates convert 3.068 KWD USD --date 2026-10-31");
        assert!(
            out.contains("Big Mac dollar_ex of the 2026-01-01 release"),
            "{out}"
        );
        let jpy = fairshare(dir, db, "rates convert 12.5 JPY EUR", &[]);
        assert!(stderr(&jpy).contains("12.5 has more decimals than JPY allows (0)"));
        let missing = fairshare(dir, db, "rates convert 100 USD XAU --date 2026-10-31", &[]);
        assert!(
            stderr(&missing).contains("`XAU` is an ISO 4217 code for no currency"),
            "{}",
            stderr(&missing)
        );

        std::fs::write(
            dir.join("rates.csv"),
            "Date,USD,JPY,\n2026-11-02,1.12,N/A,\n2026-11-03,oops,175,\n",
        )
        .unwrap();
        let bad = fairshare(dir, db, "rates import rates.csv", &[]);
        assert!(stderr(&bad).contains("rates.csv:3, column `USD`: `oops` is not a positive rate"));
        let still = ok(dir, db, "rates convert 1 EUR USD --date 2026-11-02");
        assert!(
            still.contains("ECB reference rate of 2026-10-30"),
            "nothing of the bad file was stored: {still}"
        );
        std::fs::write(
            dir.join("rates.csv"),
            "Date,USD,JPY,\n2026-11-02,1.12,N/A,\n",
        )
        .unwrap();
        let out = ok(dir, db, "rates import rates.csv");
        assert!(
            out.contains("1 rates read: 1 new, 0 revised, 0 unchanged"),
            "{out}"
        );
        let now = ok(dir, db, "rates convert 1 EUR USD --date 2026-11-02");
        assert!(
            now.contains("= USD 1.12 (rate 1.12, ECB reference rate of 2026-11-02)"),
            "{now}"
        );
    }
}
