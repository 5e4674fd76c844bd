//! The rollups agree with the activities they count: the report read from them equals
//! the same figures counted from the activities, a tampered count is found by
//! `rollups verify`, and `rollups rebuild` repairs it.

use fairshare_store::Store;
use time::{Date, Duration, Month as CalendarMonth};

use crate::{fairshare, stderr, stdout};

const TODAY: [(&str, &str); 1] = [("FAIRSHARE_TODAY", "2026-11-22")];

fn day(year: i32, month: u8, day: u8) -> Date {
    Date::from_calendar_date(year, CalendarMonth::try_from(month).unwrap(), day).unwrap()
}

/// Runs `fairshare` on `url` and insists on success.
fn run(dir: &std::path::Path, url: &str, args: &[&str]) -> String {
    let out = fairshare(dir, Some(url), args, &TODAY);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

async fn execute(store: &Store, sql: &str) {
    fairshare_store::on_pool!(store.db(), pool => {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await.unwrap();
    });
}

/// Runs a counting query with `days` bound as midnights UTC, in order.
async fn count(store: &Store, sql: String, days: &[Date]) -> Vec<(String, i64)> {
    fairshare_store::on_pool!(store.db(), pool => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for day in days {
            query = query.bind(day.midnight().assume_utc());
        }
        query.fetch_all(pool).await.unwrap()
    })
}

/// The report's figures counted straight from the activities (bots left out).
async fn counted(store: &Store, from: Date, to: Date) -> Vec<(String, Vec<(String, i64)>)> {
    let until = to.next_day().unwrap();
    let length = until - from;
    let humans = "a.member_id NOT IN (SELECT id FROM members WHERE is_bot)";
    let within = format!("a.occurred_at >= $1 AND a.occurred_at < $2 AND {humans}");
    let mut figures = vec![
        (
            "totals",
            format!(
                "SELECT 'all', COUNT(*) FROM activities a WHERE {within} UNION ALL \
                 SELECT 'people', COUNT(DISTINCT a.member_id) FROM activities a WHERE {within} UNION ALL \
                 SELECT 'new', COUNT(DISTINCT a.member_id) FROM activities a WHERE {within} \
                 AND NOT EXISTS (SELECT 1 FROM activities b WHERE b.member_id = a.member_id AND b.occurred_at < $1)"
            ),
            from,
            until,
        ),
        (
            "previous",
            format!(
                "SELECT 'people', COUNT(DISTINCT a.member_id) FROM activities a WHERE {within}"
            ),
            from - length,
            from,
        ),
        (
            "by kind",
            format!(
                "SELECT a.kind, COUNT(*) FROM activities a WHERE {within} GROUP BY a.kind ORDER BY 2 DESC, 1"
            ),
            from,
            until,
        ),
        (
            "by source",
            format!(
                "SELECT a.source, COUNT(*) FROM activities a WHERE {within} GROUP BY a.source ORDER BY 2 DESC, 1"
            ),
            from,
            until,
        ),
        (
            "top contributors",
            format!(
                "SELECT CAST(a.member_id AS TEXT), COUNT(*) FROM activities a WHERE {within} \
                 GROUP BY a.member_id ORDER BY 2 DESC, a.member_id LIMIT 10"
            ),
            from,
            until,
        ),
        (
            "top organisations",
            format!(
                "SELECT o.slug || ' ' || CAST(COUNT(DISTINCT a.member_id) AS TEXT), COUNT(*) FROM activities a \
                 JOIN organisations o ON o.id = a.org_id WHERE {within} \
                 GROUP BY o.id, o.slug ORDER BY 2 DESC, o.id LIMIT 10"
            ),
            from,
            until,
        ),
    ];
    let mut week = from;
    while week < until {
        let end = (week + Duration::days(7)).min(until);
        figures.push((
            "week",
            format!(
                "SELECT 'activities', COUNT(*) FROM activities a WHERE {within} UNION ALL \
                 SELECT 'people', COUNT(DISTINCT a.member_id) FROM activities a WHERE {within}"
            ),
            week,
            end,
        ));
        week = end;
    }
    let mut out = Vec::new();
    for (name, sql, a, b) in figures {
        out.push((name.to_string(), count(store, sql, &[a, b]).await));
    }
    out
}

/// The same figures as the report gives them.
async fn reported(store: &Store, from: Date, to: Date) -> Vec<(String, Vec<(String, i64)>)> {
    let report = store.community_report(from, to).await.unwrap();
    let ids: std::collections::HashMap<String, i64> =
        fairshare_store::on_pool!(store.db(), pool => {
            sqlx::query_as::<_, (String, i64)>("SELECT display_name, id FROM members")
                .fetch_all(pool).await.unwrap()
        })
        .into_iter()
        .collect();
    let pairs = |rows: &[fairshare_store::public::Count]| -> Vec<(String, i64)> {
        rows.iter().map(|c| (c.name.clone(), c.count)).collect()
    };
    let mut out = vec![
        (
            "totals".to_string(),
            vec![
                ("all".to_string(), report.activities),
                ("people".to_string(), report.active_contributors),
                ("new".to_string(), report.new_contributors),
            ],
        ),
        (
            "previous".to_string(),
            vec![("people".to_string(), report.previous_contributors)],
        ),
        ("by kind".to_string(), pairs(&report.by_kind)),
        ("by source".to_string(), pairs(&report.by_source)),
        (
            "top contributors".to_string(),
            report
                .top_contributors
                .iter()
                .map(|c| {
                    // Unlisted people are unnamed in the report: the demo names everyone
                    // it lists, so match by name where there is one.
                    let name = c.name.clone().unwrap_or_default();
                    (
                        ids.get(&name).map(i64::to_string).unwrap_or(name),
                        c.activities,
                    )
                })
                .collect(),
        ),
        (
            "top organisations".to_string(),
            report
                .top_organisations
                .iter()
                .map(|o| (format!("{} {}", o.slug, o.contributors), o.activities))
                .collect(),
        ),
    ];
    for week in &report.trend {
        out.push((
            "week".to_string(),
            vec![
                ("activities".to_string(), week.activities),
                ("people".to_string(), week.contributors),
            ],
        ));
    }
    out
}

#[tokio::test]
async fn the_report_read_from_rollups_equals_the_activities_counted_one_by_one() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        run(
            dir.path(),
            &t.url,
            &[
                "demo",
                "--orgs",
                "12",
                "--members",
                "120",
                "--months",
                "14",
                "--seed",
                "7",
            ],
        );
        // Everyone named, so the top contributors can be matched by name.
        execute(&t.store, "UPDATE members SET listed = TRUE").await;
        let windows = [
            (day(2026, 8, 24), day(2026, 11, 21)),  // the default 90 days
            (day(2024, 11, 22), day(2026, 11, 21)), // two years
            (day(2026, 10, 1), day(2026, 10, 31)),  // one whole month
            (day(2026, 11, 3), day(2026, 11, 9)),   // inside a month
            (day(2026, 9, 30), day(2026, 10, 1)),   // two days across months
        ];
        for (from, to) in windows {
            let expected = counted(&t.store, from, to).await;
            let got = reported(&t.store, from, to).await;
            assert_eq!(got, expected, "{}: {from} to {to}", t.backend);
        }
        // Retention: those active in the previous window who came back.
        let (from, to) = windows[0];
        let until = to.next_day().unwrap();
        let report = t.store.community_report(from, to).await.unwrap();
        let retained = count(
            &t.store,
            "SELECT 'retained', COUNT(DISTINCT p.member_id) FROM activities p \
             WHERE p.occurred_at >= $1 AND p.occurred_at < $2 \
             AND p.member_id NOT IN (SELECT id FROM members WHERE is_bot) \
             AND EXISTS (SELECT 1 FROM activities c WHERE c.member_id = p.member_id \
             AND c.occurred_at >= $2 AND c.occurred_at < $3)"
                .into(),
            &[from - (until - from), from, until],
        )
        .await;
        assert_eq!(retained[0].1, report.retained_contributors, "{}", t.backend);
        // The window before, and the last day with any activity.
        let previous = count(
            &t.store,
            "SELECT 'previous', COUNT(*) FROM activities \
             WHERE occurred_at >= $1 AND occurred_at < $2 \
             AND member_id NOT IN (SELECT id FROM members WHERE is_bot)"
                .into(),
            &[from - (until - from), from],
        )
        .await;
        assert_eq!(previous[0].1, report.previous_activities, "{}", t.backend);
        // Nothing after the day the data ends, something on it.
        let last = report.data_until.expect("the demo has activity");
        let store = &t.store;
        let between = |a: Date, b: Date| async move {
            let sql = "SELECT 'n', COUNT(*) FROM activities WHERE occurred_at >= $1 AND occurred_at < $2 \
                       AND member_id NOT IN (SELECT id FROM members WHERE is_bot)";
            count(store, sql.into(), &[a, b]).await
        };
        let day_after = last.next_day().unwrap();
        assert!(between(last, day_after).await[0].1 > 0, "{}", t.backend);
        assert_eq!(between(day_after, until).await[0].1, 0, "{}", t.backend);
    }
}

#[tokio::test]
async fn a_tampered_rollup_is_found_by_verify_and_repaired_by_rebuild() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        run(
            dir.path(),
            &t.url,
            &[
                "demo",
                "--orgs",
                "6",
                "--members",
                "40",
                "--months",
                "4",
                "--seed",
                "3",
            ],
        );
        let clean = run(
            dir.path(),
            &t.url,
            &["rollups", "verify", "--format", "csv"],
        );
        assert!(clean.contains("rollup_months,"), "{clean}");
        let scores = run(
            dir.path(),
            &t.url,
            &["scores", "--month", "2026-10", "--format", "csv"],
        );

        execute(
            &t.store,
            "UPDATE rollup_months SET n = n + 5 WHERE month = '2026-10' AND org_id <> 0",
        )
        .await;
        execute(&t.store, "DELETE FROM rollup_returns").await;
        let out = fairshare(dir.path(), Some(&t.url), &["rollups", "verify"], &TODAY);
        assert!(
            !out.status.success(),
            "{}: a tampered count passes",
            t.backend
        );
        let why = stderr(&out);
        assert!(
            why.contains("rollup_months") && why.contains("rollup_returns"),
            "{}: {why}",
            t.backend
        );
        assert!(
            !why.contains("rollup_days"),
            "{}: only the tampered tables are named: {why}",
            t.backend
        );

        let rebuilt = run(
            dir.path(),
            &t.url,
            &["rollups", "rebuild", "--format", "json"],
        );
        assert!(rebuilt.contains("rollup_member_days"), "{rebuilt}");
        run(dir.path(), &t.url, &["rollups", "verify"]);
        assert_eq!(
            run(
                dir.path(),
                &t.url,
                &["scores", "--month", "2026-10", "--format", "csv"]
            ),
            scores,
            "{}: the rebuilt counts score as before",
            t.backend
        );
    }
}
