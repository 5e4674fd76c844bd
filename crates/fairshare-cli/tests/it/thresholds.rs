use crate::{data, fairshare, ok, stderr, stdout};

const HEADER: &str =
    "iso_a3,name,currency_code,local_price,threshold_local,threshold_usd,threshold_eur,basis";

fn row<'a>(csv: &'a str, iso: &str) -> &'a str {
    csv.lines()
        .find(|l| l.starts_with(&format!("{iso},")))
        .unwrap_or_else(|| panic!("no {iso} row in:\n{csv}"))
}

#[tokio::test]
async fn worked_example_after_importing_the_july_2021_file() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let db = Some(t.url.as_str());
        let first = ok(
            dir.path(),
            db,
            &["bigmac", "import", &data("big-mac-source-data-2021-07.csv")],
        );
        assert!(first.contains("1801 rows read"), "{first}");
        let again = ok(
            dir.path(),
            db,
            &["bigmac", "import", &data("big-mac-source-data-2021-07.csv")],
        );
        assert!(
            again.contains("0 new, 0 changed, 1801 unchanged (this file was imported before)"),
            "{again}"
        );

        let csv = ok(
            dir.path(),
            db,
            &["thresholds", "--release", "2021-01-01", "--format", "csv"],
        );
        assert_eq!(csv.lines().next(), Some(HEADER), "{}", t.backend);
        assert_eq!(
            row(&csv, "USA"),
            "USA,United States,USD,5.66,100,100.00,82.30,own row"
        );
        assert_eq!(
            row(&csv, "IND"),
            "IND,India,INR,190,3357,45.74,37.64,own row"
        );
        assert_eq!(
            row(&csv, "EUZ"),
            "EUZ,Euro area,EUR,4.25,75,91.24,75.09,own row"
        );
        assert_eq!(
            row(&csv, "FRA"),
            "FRA,France,EUR,4.25,75,91.24,75.09,euro area"
        );

        let json = ok(
            dir.path(),
            db,
            &[
                "thresholds",
                "--release",
                "2021-01-01",
                "--country",
                "ind",
                "--format",
                "json",
            ],
        );
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["release"], "2021-01-01");
        assert_eq!(json["thresholds"][0]["threshold_local"], "3357");
        assert_eq!(json["published"], false);
    }
}

#[test]
fn data_flag_computes_from_a_file_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("never.db");
    let url = format!("sqlite://{}", db_path.display());
    let csv = ok(
        dir.path(),
        Some(&url),
        &[
            "thresholds",
            "--data",
            &data("big-mac-source-data-2021-07.csv"),
            "--release",
            "2021-01-01",
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        row(&csv, "IND"),
        "IND,India,INR,190,3357,45.74,37.64,own row"
    );
    assert!(
        !db_path.exists(),
        "--data must not create or touch a database"
    );
    assert!(!dir.path().join("fairshare.db").exists());
}

#[tokio::test]
async fn a_bad_file_is_refused_whole_with_its_line_and_column() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let db = Some(t.url.as_str());
        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "name,iso_a3,currency_code,local_price,dollar_ex,GDP_dollar,date\n\
             India,IND,INR,190,73.39,,2030-01-01\n\
             Japan,JPN,JPY,390,104.295,,2030-01-01\n\
             Nepal,NPL,NPR,3OO,133.2,,2030-01-01\n",
        )
        .unwrap();
        let output = fairshare(
            dir.path(),
            db,
            &["bigmac", "import", bad.to_str().unwrap()],
            &[],
        );
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(
            message.contains("bad.csv:4, column `local_price`: `3OO` is not a number"),
            "{message}"
        );
        let releases = ok(dir.path(), db, &["bigmac", "releases", "--format", "json"]);
        let releases: serde_json::Value = serde_json::from_str(&releases).unwrap();
        let dates: Vec<&str> = releases
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["release"].as_str().unwrap())
            .collect();
        assert!(
            !dates.contains(&"2030-01-01"),
            "nothing of the bad file is stored ({})",
            t.backend
        );
        assert_eq!(dates.len(), 43);

        let missing = fairshare(
            dir.path(),
            db,
            &["bigmac", "import", "no-such-file.csv"],
            &[],
        );
        assert!(stderr(&missing).contains("cannot read no-such-file.csv"));
        let unknown = fairshare(dir.path(), db, &["thresholds", "--country", "XYZ"], &[]);
        assert!(stderr(&unknown).contains("`XYZ` is not an ISO 3166-1 alpha-3 country code"));
        let bad_date = fairshare(
            dir.path(),
            db,
            &["thresholds", "--release", "2021-02-30"],
            &[],
        );
        assert!(!bad_date.status.success());
        assert!(stderr(&bad_date).contains("`2021-02-30` is not a date (YYYY-MM-DD)"));
    }
}

#[tokio::test]
async fn published_thresholds_survive_a_restating_file() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let db = Some(t.url.as_str());
        ok(
            dir.path(),
            db,
            &["bigmac", "import", &data("big-mac-source-data-2021-07.csv")],
        );
        let published = ok(
            dir.path(),
            db,
            &[
                "--as",
                "maria",
                "thresholds",
                "publish",
                "--release",
                "2021-01-01",
            ],
        );
        assert!(published.contains("published the thresholds of the 2021-01-01 release"));
        let again = fairshare(
            dir.path(),
            db,
            &["thresholds", "publish", "--release", "2021-01-01"],
            &[],
        );
        assert!(stderr(&again).contains("already published"));

        let restated = ok(
            dir.path(),
            db,
            &["bigmac", "import", &data("big-mac-source-data-v2.csv")],
        );
        assert!(
            restated.contains("restate the published release(s) 2021-01-01"),
            "{restated}"
        );
        assert!(
            restated.contains("2021-01-01 USA: local_price 5.66 → 4.89"),
            "{restated}"
        );
        let csv = ok(
            dir.path(),
            db,
            &["thresholds", "--release", "2021-01-01", "--format", "csv"],
        );
        assert_eq!(
            row(&csv, "IND"),
            "IND,India,INR,190,3357,45.74,37.64,own row",
            "{}",
            t.backend
        );
        let audit = ok(
            dir.path(),
            db,
            &["audit", "--subject", "bigmac:release:", "--format", "csv"],
        );
        assert!(
            audit.contains(",maria,thresholds.publish,bigmac:release:2021-01-01,"),
            "{audit}"
        );
    }
}

#[tokio::test]
async fn missing_countries_by_mapping_and_approved_price() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let db = Some(t.url.as_str());
        ok(
            dir.path(),
            db,
            &["--as", "maria", "bigmac", "map", "BGD", "--like", "IND"],
        );
        let submitted = ok(
            dir.path(),
            db,
            &[
                "--as",
                "ana",
                "bigmac",
                "submit",
                "NPL",
                "--price",
                "250",
                "--currency",
                "NPR",
                "--rate",
                "133.2",
                "--evidence",
                "https://example.org/menu.jpg",
            ],
        );
        assert!(
            submitted.contains("price submission #1 for NPL recorded"),
            "{submitted}"
        );
        let pending = fairshare(dir.path(), db, &["thresholds", "--country", "NPL"], &[]);
        assert!(stderr(&pending).contains("NPL has no threshold in the 2026-01-01 release"));
        let own = fairshare(
            dir.path(),
            db,
            &["--as", "ana", "bigmac", "approve", "1"],
            &[],
        );
        assert!(stderr(&own).contains("someone else must decide it"));
        ok(
            dir.path(),
            db,
            &[
                "--as",
                "maria",
                "bigmac",
                "approve",
                "1",
                "--comment",
                "photo checks out",
            ],
        );

        // The in-force release was published before the approval, so it stays frozen;
        // an unpublished release shows the new basis at once.
        let csv = ok(
            dir.path(),
            db,
            &["thresholds", "--release", "2025-06-01", "--format", "csv"],
        );
        assert!(row(&csv, "BGD").ends_with(",comparable: IND"), "{csv}");
        assert!(row(&csv, "BGD").starts_with("BGD,Bangladesh,INR,"));
        assert!(
            csv.lines().all(|l| !l.starts_with("NPL,")),
            "the price was submitted for 2026-01-01"
        );
        let frozen = ok(dir.path(), db, &["thresholds", "--format", "csv"]);
        assert!(
            frozen.lines().all(|l| !l.starts_with("NPL,")),
            "published thresholds never change"
        );

        let bad_currency = fairshare(
            dir.path(),
            db,
            &[
                "bigmac",
                "submit",
                "NPL",
                "--price",
                "250",
                "--currency",
                "NRP",
                "--rate",
                "133.2",
                "--evidence",
                "https://example.org/x",
            ],
            &[],
        );
        assert!(stderr(&bad_currency).contains("`NRP` is not an ISO 4217 currency code"));
        let listing = ok(
            dir.path(),
            db,
            &["bigmac", "submissions", "--format", "csv"],
        );
        assert!(
            listing.contains("1,NPL,NPR,250,133.2,2026-01-01,approved,ana,maria,"),
            "{listing}"
        );
    }
}

#[tokio::test]
async fn an_unpublished_release_shows_an_approved_price() {
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let db = Some(t.url.as_str());
    ok(
        dir.path(),
        db,
        &[
            "--as",
            "ana",
            "bigmac",
            "submit",
            "NPL",
            "--price",
            "250",
            "--currency",
            "NPR",
            "--rate",
            "133.2",
            "--evidence",
            "https://example.org/menu.jpg",
            "--release",
            "2025-03-01",
        ],
    );
    ok(dir.path(), db, &["--as", "maria", "bigmac", "approve", "1"]);
    let csv = ok(
        dir.path(),
        db,
        &[
            "thresholds",
            "--release",
            "2025-06-01",
            "--country",
            "NPL",
            "--format",
            "csv",
        ],
    );
    // 100 × 250 / 5.79 (US price, January 2025) = 4317.79
    let nepal = row(&csv, "NPL");
    assert!(
        nepal.starts_with("NPL,Nepal,NPR,250,4318,32.42,"),
        "{nepal}"
    );
    assert!(nepal.ends_with(",submitted price"), "{nepal}");
}

#[test]
fn configuration_comes_from_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fairshare.toml"),
        "[thresholds]\nbase_amount = \"150\"\neuro_area = \"own-row\"\n",
    )
    .unwrap();
    let shown = ok(dir.path(), None, &["config", "show"]);
    assert!(shown.contains("base_amount = \"150\""), "{shown}");
    assert!(shown.contains("euro_area = \"own-row\""));
    let july = data("big-mac-source-data-2021-07.csv");
    let args = [
        "thresholds",
        "--data",
        july.as_str(),
        "--release",
        "2021-01-01",
        "--format",
        "csv",
    ];
    let csv = stdout(&fairshare(
        dir.path(),
        None,
        &args,
        &[("FAIRSHARE_THRESHOLDS__BASE_AMOUNT", "200")],
    ));
    assert!(row(&csv, "USA").contains(",200,"), "{csv}");
    // Own-row rule: Germany from its own price, 200 × 4.46 / 5.66 = 157.6
    assert!(
        row(&csv, "DEU").starts_with("DEU,Germany,EUR,4.46,158,"),
        "{csv}"
    );

    std::fs::write(
        dir.path().join("fairshare.toml"),
        "[thresholds]\nbase_amout = 1\n",
    )
    .unwrap();
    let bad = fairshare(dir.path(), None, &["config", "show"], &[]);
    assert!(!bad.status.success());
    let message = stderr(&bad);
    assert!(
        message.contains("unknown field: found `base_amout`"),
        "{message}"
    );
    assert!(message.contains("fairshare.toml"), "{message}");
    let float = fairshare(
        dir.path(),
        None,
        &["config", "show"],
        &[("FAIRSHARE_CONFIG", "missing.toml")],
    );
    assert!(stderr(&float).contains("configuration file missing.toml does not exist"));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    for format in ["table", "csv", "json"] {
        let mut child = crate::fairshare_command(
            dir.path(),
            Some(&db),
            &["thresholds", "--format", format],
            &[],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        // Like `| head -0`: the reader is gone before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("error"),
            "{format}: {}",
            stderr(&out)
        );
    }
}
