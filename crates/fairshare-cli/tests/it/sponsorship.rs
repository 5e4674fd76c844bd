use crate::{fairshare, ok, stderr};

const ORGS: &str = "slug,name,country,website,domains\n\
tata,Tata Digital,IND,,\n\
acme-eu,Acme Europe,DEU,,\n\
kuwait-co,Kuwait Co,KWT,,\n\
tokyo-co,Tokyo Co,JPN,,\n";

pub const OC_HEADER: &str = "\"datetime\",\"shortId\",\"shortGroup\",\"description\",\"type\",\"kind\",\"isRefund\",\"isRefunded\",\"shortRefundId\",\"displayAmount\",\"amount\",\"paymentProcessorFee\",\"netAmount\",\"balance\",\"currency\",\"accountSlug\",\"accountName\",\"oppositeAccountSlug\",\"oppositeAccountName\",\"paymentMethodService\",\"paymentMethodType\",\"expenseType\",\"expenseTags\",\"payoutMethodType\",\"merchantId\",\"orderMemo\"";

pub fn oc_row(
    when: &str,
    id: &str,
    description: &str,
    kind: &str,
    amount: &str,
    currency: &str,
    from: &str,
) -> String {
    format!(
        "\"{when}\",\"{id}\",\"g\",\"{description}\",\"CREDIT\",\"{kind}\",\"\",\"\",\"\",\"\",{amount},0,{amount},0,\"{currency}\",\"project\",\"Project\",\"{from}\",\"From\",\"STRIPE\",\"CREDITCARD\",,\"\",,,"
    )
}

const GH_HEADER: &str = "Sponsor Handle,Sponsor Profile Name,Sponsor Public Email,Sponsorship Started On,Is Public?,Is Yearly?,Transaction ID,Tier Name,Tier Monthly Amount,Processed Amount,Is Prorated?,Status,Transaction Date,Metadata,Country,Region,VAT";

fn gh_row(handle: &str, id: &str, amount: &str, status: &str, when: &str) -> String {
    format!(
        "{handle},Name,,2026-01-01 00:00:00 +0000,true,false,{id},$45 a month,$45.00,{amount},false,{status},{when},\"\",IND,undefined,"
    )
}

fn compliance(dir: &std::path::Path, db: Option<&str>, org: &str) -> String {
    ok(
        dir,
        db,
        &[
            "compliance",
            "--org",
            org,
            "--from",
            "2026-08",
            "--to",
            "2026-10",
            "--format",
            "csv",
        ],
    )
}

fn threshold(dir: &std::path::Path, db: Option<&str>, country: &str) -> String {
    let csv = ok(
        dir,
        db,
        &["thresholds", "--country", country, "--format", "csv"],
    );
    csv.lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn month_by_month_compliance_from_exports_and_manual_entries() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        std::fs::write(dir.join("orgs.csv"), ORGS).unwrap();
        ok(dir, db, "import orgs orgs.csv");

        // A USD sponsorship for an India-based organisation, with a refund in October.
        let gh = [
            GH_HEADER.to_string(),
            gh_row(
                "tata-dev",
                "ch_1",
                "$45.00",
                "settled",
                "2026-08-05 10:00:00 +0200",
            ),
            gh_row(
                "tata-dev",
                "ch_2",
                "$45.00",
                "settled",
                "2026-09-05 10:00:00 +0200",
            ),
            gh_row(
                "tata-dev",
                "ch_3",
                "$45.00",
                "settled",
                "2026-10-05 10:00:00 +0200",
            ),
            gh_row(
                "tata-dev",
                "ch_3r",
                "$45.00",
                "refunded",
                "2026-10-20 10:00:00 +0200",
            ),
        ]
        .join("\n");
        std::fs::write(dir.join("sponsors.csv"), gh).unwrap();
        let out = ok(dir, db, "import github-sponsors sponsors.csv");
        assert!(out.contains("4 payments read: 4 new"), "{out}");
        assert!(out.contains("1 sponsor accounts are not linked"), "{out}");
        let again = ok(dir, db, "import github-sponsors sponsors.csv");
        assert!(again.contains("0 new, 4 already known"), "{again}");
        assert_eq!(
            ok(dir, db, "payments unlinked --format csv"),
            "platform,account,payments,last_payment\ngithub_sponsors,tata-dev,4,2026-10-20\n"
        );
        ok(
            dir,
            db,
            "payments link --org tata --platform github-sponsors --account Tata-Dev",
        );
        let inr = threshold(dir, db, "IND");
        let tata = compliance(dir, db, "tata");
        let lines: Vec<&str> = tata.lines().collect();
        assert_eq!(
            lines[0], "month,paid,required,currency,compliant,streak",
            "{}",
            t.backend
        );
        assert!(
            lines[1].starts_with("2026-08,")
                && lines[1].ends_with(&format!(",{inr}.00,INR,true,1")),
            "{tata}"
        );
        assert!(lines[2].ends_with(",true,2"), "{tata}");
        // The refund is converted at its own date: what is left is exchange-rate noise.
        assert!(
            lines[3].ends_with(",false,0"),
            "the refund cancels October: {tata}"
        );

        // A yearly Open Collective contribution counts a twelfth each month.
        let eur = threshold(dir, db, "DEU");
        let oc = [
            OC_HEADER.to_string(),
            oc_row(
                "2026-09-01T08:00:00",
                "a1",
                "Yearly contribution from Acme",
                "CONTRIBUTION",
                "1200",
                "EUR",
                "acme-eu-oc",
            ),
            oc_row(
                "2026-09-01T08:00:00",
                "a2",
                "Host Fee",
                "HOST_FEE",
                "-120",
                "EUR",
                "opensource",
            ),
            oc_row(
                "2026-08-07T08:00:00",
                "a3",
                "Contribution from GitHub Sponsors",
                "CONTRIBUTION",
                "45",
                "USD",
                "github-sponsors",
            ),
        ]
        .join("\n");
        std::fs::write(dir.join("oc.csv"), oc).unwrap();
        let out = ok(dir, db, "import opencollective oc.csv");
        assert!(
            out.contains("3 payments read: 2 new") || out.contains("2 payments read: 2 new"),
            "{out}"
        );
        assert!(out.contains("HOST_FEE transaction"), "{out}");
        ok(
            dir,
            db,
            "payments link --org acme-eu --platform opencollective --account acme-eu-oc",
        );
        let id = ok(
            dir,
            db,
            &[
                "--as",
                "maria",
                "payments",
                "add",
                "--org",
                "acme-eu",
                "--amount",
                &eur,
                "--currency",
                "EUR",
                "--date",
                "2026-08-14",
                "--reference",
                "INV-2026-08",
            ],
        );
        assert!(id.contains("recorded"), "{id}");
        let acme = compliance(dir, db, "acme-eu");
        assert!(acme.lines().nth(1).unwrap().ends_with(",true,1"), "{acme}");
        assert!(
            acme.lines().nth(2).unwrap().starts_with("2026-09,100.00,"),
            "{acme}"
        );
        assert!(acme.lines().nth(3).unwrap().ends_with(",true,3"), "{acme}");

        // The GitHub Sponsors payout listed by Open Collective is the same money.
        let dup = ok(dir, db, "payments duplicates --format csv");
        assert!(
            dup.contains(",45.00,USD,2026-08-07,2026-08-05,tata-dev"),
            "{dup}"
        );
        let refused = fairshare(
            dir,
            db,
            "payments link --org tata --platform opencollective --account github-sponsors",
            &[],
        );
        assert!(
            stderr(&refused).contains("GitHub Sponsors' payout account"),
            "{}",
            stderr(&refused)
        );

        // KWD (three decimals) and JPY (none) are exact; a removed payment stops counting.
        ok(
            dir,
            db,
            "payments add --org kuwait-co --amount 9.999 --currency KWD --date 2026-10-02 --reference wire",
        );
        let jpy = ok(
            dir,
            db,
            "payments add --org tokyo-co --amount 100000 --currency JPY --date 2026-10-02 --reference wire",
        );
        let jpy_id = jpy
            .split('#')
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string();
        assert!(
            compliance(dir, db, "tokyo-co")
                .lines()
                .nth(3)
                .unwrap()
                .ends_with(",true,1")
        );
        ok(
            dir,
            db,
            &[
                "payments",
                "remove",
                &jpy_id,
                "--reason",
                "sent back: wrong project",
            ],
        );
        assert!(
            compliance(dir, db, "tokyo-co")
                .lines()
                .nth(3)
                .unwrap()
                .ends_with(",false,0")
        );
        let bad = fairshare(
            dir,
            db,
            "payments add --org tokyo-co --amount 100.5 --currency JPY --date 2026-10-02 --reference x",
            &[],
        );
        assert!(stderr(&bad).contains("100.5 has more decimals than JPY allows (0)"));
        let kw = compliance(dir, db, "kuwait-co");
        assert!(kw.lines().nth(3).unwrap().contains(",KWD,"), "{kw}");

        // A currency with no rate anywhere is an error, never a silent zero.
        // Gold is an ISO 4217 code but not money anyone pays in; amounts that could be
        // misread, and negative ones, are refused rather than guessed.
        for (line, says) in [
            (
                "payments add --org tokyo-co --amount 1 --currency XAU --date 2026-09-02 --reference gold",
                "`XAU` is an ISO 4217 code for no currency, a precious metal or a fund",
            ),
            (
                "payments add --org acme-eu --amount 75,00 --currency EUR --date 2026-09-02 --reference comma",
                "--amount: `75,00` could be misread",
            ),
            (
                "payments add --org acme-eu --amount=-75 --currency EUR --date 2026-09-02 --reference minus",
                "must be more than zero",
            ),
        ] {
            let refused = fairshare(dir, db, line, &[]);
            assert!(!refused.status.success(), "{line}");
            assert!(
                stderr(&refused).contains(says),
                "{line}: {}",
                stderr(&refused)
            );
        }
        let audit = ok(dir, db, "audit --format csv");
        assert!(
            audit.contains(",maria,payments.add,org:acme-eu,") && audit.contains("payments.remove"),
            "{audit}"
        );
    }
}

/// One transaction node as Open Collective's GraphQL API returns it.
#[allow(clippy::too_many_arguments)] // mirrors the payload's fields one to one
fn oc_node(
    id: &str,
    kind: &str,
    direction: &str,
    refund: bool,
    when: &str,
    cents: i64,
    currency: &str,
    from: &str,
    frequency: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": id, "kind": kind, "type": direction, "isRefund": refund, "createdAt": when,
        "description": format!("{frequency} contribution"),
        "amount": {"valueInCents": cents, "currency": currency},
        "fromAccount": {"slug": from}, "order": {"frequency": frequency}
    })
}

#[tokio::test]
async fn open_collective_graphql_pages_and_matches_the_csv_ids() {
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    std::fs::write(dir.join("orgs.csv"), ORGS).unwrap();
    ok(dir, db, "import orgs orgs.csv");
    // The CSV export already holds the first transaction (shortId = first 8 of the id).
    let csv = [
        OC_HEADER.to_string(),
        oc_row(
            "2026-09-01T08:00:00",
            "d3f98b95",
            "Monthly contribution",
            "CONTRIBUTION",
            "99",
            "EUR",
            "acme-eu-oc",
        ),
    ]
    .join("\n");
    std::fs::write(dir.join("oc.csv"), csv).unwrap();
    ok(dir, db, "import opencollective oc.csv");

    let server = MockServer::start().await;
    let page = |nodes: Vec<serde_json::Value>| serde_json::json!({"data": {"account": {"slug": "project", "transactions": {"totalCount": 3, "nodes": nodes}}}});
    Mock::given(method("POST"))
        .and(path("/graphql/v2"))
        .and(body_string_contains("\"offset\":0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![
            oc_node(
                "d3f98b95-1a2b-4c3d-8e9f-000000000001",
                "CONTRIBUTION",
                "CREDIT",
                false,
                "2026-09-01T08:00:00.000Z",
                9900,
                "EUR",
                "acme-eu-oc",
                "MONTHLY",
            ),
            oc_node(
                "a1b2c3d4-1a2b-4c3d-8e9f-000000000002",
                "CONTRIBUTION",
                "CREDIT",
                false,
                "2026-10-01T08:00:00.000Z",
                118800,
                "EUR",
                "acme-eu-oc",
                "YEARLY",
            ),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql/v2"))
        .and(body_string_contains("\"offset\":2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![oc_node(
            "e5f6a7b8-1a2b-4c3d-8e9f-000000000003",
            "CONTRIBUTION",
            "DEBIT",
            true,
            "2026-10-03T08:00:00.000Z",
            -118800,
            "EUR",
            "acme-eu-oc",
            "YEARLY",
        )])))
        .mount(&server)
        .await;
    let api = server.uri();
    let out = ok(
        dir,
        db,
        &[
            "import",
            "opencollective",
            "--collective",
            "project",
            "--api-url",
            api.as_str(),
        ],
    );
    assert!(
        out.contains("3 payments read: 2 new, 1 already known"),
        "{out}"
    );
    ok(
        dir,
        db,
        "payments link --org acme-eu --platform opencollective --account acme-eu-oc",
    );
    let listed = ok(dir, db, "payments list --org acme-eu --format csv");
    assert!(
        listed.contains(",2026-10-01,1188.00,EUR,year,opencollective,acme-eu-oc,"),
        "{listed}"
    );
    assert!(
        listed.contains(",2026-10-03,-1188.00,EUR,year,"),
        "the refund: {listed}"
    );

    let missing = fairshare(
        dir,
        db,
        "import opencollective --collective nobody --api-url http://127.0.0.1:9",
        &[],
    );
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("Open Collective"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test]
async fn github_sponsors_graphql_activities_become_charges() {
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let t = fairshare_testkit::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (dir, db) = (dir.path(), Some(t.url.as_str()));
    std::fs::write(dir.join("orgs.csv"), ORGS).unwrap();
    ok(dir, db, "import orgs orgs.csv");
    let node = |id: &str, action: &str, when: &str, cents: Option<i64>| {
        serde_json::json!({
            "id": id, "action": action, "timestamp": when,
            "sponsor": {"login": "Tata-Dev"},
            "sponsorsTier": cents.map(|c| serde_json::json!({"monthlyPriceInCents": c, "isOneTime": false})),
        })
    };
    let page = |nodes: Vec<serde_json::Value>, next: Option<&str>| {
        serde_json::json!({"data": {"repositoryOwner": {"sponsorsActivities": {
            "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next}, "nodes": nodes}}}})
    };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("\"cursor\":null"))
        .and(body_string_contains("period: ALL"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![
                node("A1", "NEW_SPONSORSHIP", "2026-07-10T09:00:00Z", Some(5000)),
                node("A2", "TIER_CHANGE", "2026-08-20T09:00:00Z", Some(10000)),
            ],
            Some("c2"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("\"cursor\":\"c2\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![node(
                "A3",
                "CANCELLED_SPONSORSHIP",
                "2026-10-15T09:00:00Z",
                None,
            )],
            None,
        )))
        .mount(&server)
        .await;
    let api = server.uri();
    let args = [
        "import",
        "github-sponsors",
        "--login",
        "mautic",
        "--api-url",
        api.as_str(),
    ];
    let out = ok(dir, db, &args);
    assert!(out.contains("3 sponsors activities read"), "{out}");
    assert!(out.contains("4 payments read: 4 new"), "{out}");
    assert!(ok(dir, db, &args).contains("0 new, 4 already known"));
    ok(
        dir,
        db,
        "payments link --org tata --platform github-sponsors --account tata-dev",
    );
    let listed = ok(dir, db, "payments list --org tata --format csv");
    let amounts: Vec<&str> = listed
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(
        amounts,
        ["50.00", "50.00", "100.00", "100.00"],
        "the mid-month tier change applies from September: {listed}"
    );

    // The dashboard export's real transaction wins for August.
    let gh = [
        GH_HEADER.to_string(),
        gh_row(
            "tata-dev",
            "ch_aug",
            "$47.10",
            "settled",
            "2026-08-10 10:00:00 +0000",
        ),
    ]
    .join("\n");
    std::fs::write(dir.join("sponsors.csv"), gh).unwrap();
    ok(dir, db, "import github-sponsors sponsors.csv");
    let listed = ok(dir, db, "payments list --org tata --format csv");
    let august: Vec<&str> = listed.lines().filter(|l| l.contains(",2026-08-")).collect();
    assert_eq!(august.len(), 1, "{listed}");
    assert!(
        august[0].contains(",47.10,USD,month,github_sponsors,"),
        "{listed}"
    );
}
