//! The community report over any window of whole UTC days, read from the rollups
//! (`rollups.rs`): totals and mixes from the daily counts, distinct contributors from
//! each member's returns, the top contributors and organisations from the monthly
//! counts with the days at either end. Its cost grows with the days in the window,
//! not with the activities in it. Bots are left out, as everywhere in the rollups.

use std::collections::{BTreeMap, HashMap};

use fairshare_engine::Month;
use time::{Date, Duration};

use crate::public::{CommunityReport, Count, TopContributor, TopOrganisation, TrendPoint};
use crate::{Backend, Result, Store, StoreError, id_list, on_pool};

/// Days in a trend bucket.
const WEEK: i64 = 7;
/// Rows in each top list.
const TOP: usize = 10;

/// Distinct contributors in one bucket of a window.
struct Contributors {
    from: Date,
    active: i64,
    /// Their first activity ever falls in the bucket.
    new: i64,
}

/// Whose top list: members or organisations, each with its monthly and daily rollup.
#[derive(Clone, Copy)]
enum TopOf {
    Members,
    Organisations,
}

impl TopOf {
    fn tables(self) -> (&'static str, &'static str, &'static str) {
        match self {
            TopOf::Members => ("rollup_member_months", "rollup_member_days", "member_id"),
            TopOf::Organisations => ("rollup_org_months", "rollup_org_days", "org_id"),
        }
    }
}

/// A window cut into the whole months inside it and the days at either end.
struct Span {
    from: Date,
    /// Exclusive.
    until: Date,
    /// Whole months inside the window, first and last (none when `months` is empty).
    months: Vec<Month>,
    /// Days outside the whole months, as half-open ranges.
    edges: Vec<(Date, Date)>,
}

impl Span {
    fn of(from: Date, until: Date) -> Span {
        let mut months = Vec::new();
        let mut month = Month::of(from);
        if month.first_day() < from {
            month = month.next();
        }
        while month.next().first_day() <= until {
            months.push(month);
            month = month.next();
        }
        let edges = match (months.first(), months.last()) {
            (Some(first), Some(last)) => {
                vec![(from, first.first_day()), (last.next().first_day(), until)]
            }
            _ => vec![(from, until)],
        };
        Span {
            from,
            until,
            months,
            edges: edges.into_iter().filter(|(a, b)| a < b).collect(),
        }
    }

    /// Every month the window touches, whole or not.
    fn touched(&self) -> Vec<Month> {
        let last = self.until.previous_day().unwrap_or(self.until);
        Month::of(self.from).through(Month::of(last)).collect()
    }
}

fn month_list(months: &[Month]) -> String {
    months
        .iter()
        .map(|m| format!("'{m}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn day_ranges(column: &str, edges: &[(Date, Date)]) -> String {
    let ranges: Vec<String> = edges
        .iter()
        .map(|(a, b)| format!("({column} >= '{a}' AND {column} < '{b}')"))
        .collect();
    if ranges.is_empty() {
        "1 = 0".into()
    } else {
        format!("({})", ranges.join(" OR "))
    }
}

impl Store {
    /// The community report over the whole UTC days `from..=to`.
    pub async fn community_report(&self, from: Date, to: Date) -> Result<CommunityReport> {
        if to < from {
            return Err(StoreError::Invalid(format!(
                "the report window ends ({to}) before it starts ({from})"
            )));
        }
        let until = to.next_day().unwrap_or(to);
        let length = until - from;
        let before = from - length;
        // The report's questions are independent: asked at once, on connections of
        // their own, so the database answers them side by side (a two-year report on
        // PostgreSQL: their sum is ~270 ms, the longest ~80 ms).
        let (whole, previous, both, weeks, mixes, top_contributors, top_organisations) = tokio::try_join!(
            self.contributors(from, until, length.whole_days()),
            self.contributors(before, from, length.whole_days()),
            self.contributors(before, until, 2 * length.whole_days()),
            self.contributors(from, until, WEEK),
            self.day_mixes(before, from, until),
            self.top_contributors(from, until),
            self.top_organisations(from, until),
        )?;
        let sum = |buckets: &[Contributors]| buckets.iter().map(|b| b.active).sum::<i64>();
        let (active, previous_active) = (sum(&whole), sum(&previous));
        let retained = active + previous_active - sum(&both);
        let mut by_kind = BTreeMap::<String, i64>::new();
        let mut by_source = BTreeMap::<String, i64>::new();
        let mut by_team = BTreeMap::<String, i64>::new();
        let mut by_week = BTreeMap::<Date, i64>::new();
        let (mut previous_activities, mut data_until) = (0, None);
        for (mix, key, n) in mixes {
            match mix.as_str() {
                "previous" => {
                    previous_activities = n;
                    None
                }
                "latest" if key.is_empty() => None,
                "latest" => {
                    data_until = Some(crate::parse_day("rollup_days day", &key)?);
                    None
                }
                "kind" => by_kind.insert(key, n),
                "source" => by_source.insert(key, n),
                "team" if key.is_empty() => by_team.insert("no team".into(), n),
                "team" => by_team.insert(key, n),
                "week" => {
                    let week: i64 = crate::parse_column("rollup_days week", &key)?;
                    by_week.insert(from + Duration::days(week * WEEK), n)
                }
                other => return Err(StoreError::Corrupt(format!("report mix `{other}`"))),
            };
        }
        let trend = weeks
            .iter()
            .map(|w| TrendPoint {
                from: w.from,
                activities: by_week.get(&w.from).copied().unwrap_or(0),
                contributors: w.active,
            })
            .collect();
        Ok(CommunityReport {
            from,
            to,
            activities: by_week.values().sum(),
            previous_activities,
            data_until,
            active_contributors: active,
            new_contributors: whole.iter().map(|b| b.new).sum(),
            previous_contributors: previous_active,
            retained_contributors: retained,
            by_kind: ranked(by_kind),
            by_source: ranked(by_source),
            by_team: ranked(by_team),
            top_contributors,
            top_organisations,
            trend,
        })
    }

    /// Activities and distinct contributors (bots left out) on the days `[from, until)`.
    pub async fn activity_totals(&self, from: Date, until: Date) -> Result<(i64, i64)> {
        let (activities,): (i64,) = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rollup_days WHERE day >= $1 AND day < $2",
            )
            .bind(from.to_string())
            .bind(until.to_string())
            .fetch_one(pool)
            .await?
        });
        let length = (until - from).whole_days();
        let contributors = self.contributors(from, until, length).await?;
        Ok((activities, contributors.iter().map(|b| b.active).sum()))
    }

    /// Distinct contributors in each bucket of `bucket` days of `[from, until)`: a
    /// member counts in a bucket on their first active day in it, the day whose
    /// previous active day falls before the bucket. So a bucket's contributors are its
    /// days' people (`rollup_day_people`) less the returns from inside the bucket
    /// (`rollup_returns`): a few index seeks per day, whatever the number of people.
    async fn contributors(
        &self,
        from: Date,
        until: Date,
        bucket: i64,
    ) -> Result<Vec<Contributors>> {
        let days = (until - from).whole_days();
        if days <= 0 {
            return Ok(Vec::new());
        }
        // Per day: its people, less those whose previous day is already in the bucket
        // (few rows, one index range), and the first-timers.
        let (series, day, bucket_start) = match self.backend() {
            Backend::Sqlite => (
                "(WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < $2) SELECT i FROM c) AS g",
                "date($1, '+' || g.i || ' days')",
                "date($1, '+' || (g.i / $3 * $3) || ' days')",
            ),
            Backend::Postgres => (
                "generate_series(0, $2 - 1) AS g(i)",
                "to_char(CAST($1 AS DATE) + g.i, 'YYYY-MM-DD')",
                "to_char(CAST($1 AS DATE) + g.i / $3 * $3, 'YYYY-MM-DD')",
            ),
        };
        // A day's returns from before a short bucket are most of its rows, those from
        // inside it few: short buckets subtract the few from the day's people, long ones
        // add up the returns from before them.
        let active = if bucket <= 31 {
            format!(
                "(SELECT p.n FROM rollup_day_people p WHERE p.day = {day}) - COALESCE((SELECT SUM(r.n) \
                 FROM rollup_returns r WHERE r.day = {day} AND r.prev_day >= {bucket_start}), 0)"
            )
        } else {
            format!(
                "(SELECT SUM(r.n) FROM rollup_returns r WHERE r.day = {day} AND r.prev_day < {bucket_start})"
            )
        };
        let sql = format!(
            "SELECT t.b, CAST(COALESCE(SUM(t.active), 0) AS BIGINT), \
             CAST(COALESCE(SUM(t.first), 0) AS BIGINT) FROM (SELECT {bucket_start} AS b, \
             {active} AS active, \
             (SELECT r.n FROM rollup_returns r WHERE r.day = {day} AND r.prev_day = '0000-00-00') AS first \
             FROM {series}) t GROUP BY t.b ORDER BY t.b"
        );
        let as_int = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        let rows: Vec<(String, i64, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(from.to_string())
                .bind(as_int(days))
                .bind(as_int(bucket.max(1)))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(day, active, new)| {
                Ok(Contributors {
                    from: crate::parse_day("rollup_returns.day", &day)?,
                    active,
                    new,
                })
            })
            .collect()
    }

    /// The activities of `[from, until)` totalled by kind, by source, by team and by
    /// week (numbered from `from`), as (`kind`|`source`|`team`|`week`, key, total),
    /// summed in the database: two years of daily counts are tens of thousands of rows,
    /// and a handful of totals is all the report needs.
    /// The window's totals by kind, source, team and week, the previous window's total
    /// (`previous`, from `before`) and the last day with activity before `until`
    /// (`latest`), in one statement.
    async fn day_mixes(
        &self,
        before: Date,
        from: Date,
        until: Date,
    ) -> Result<Vec<(String, String, i64)>> {
        let window = "SELECT day, kind, source, team, n FROM rollup_days \
                      WHERE day >= $1 AND day < $2 AND n <> 0";
        let mixes = match self.backend() {
            Backend::Sqlite => {
                let week = "CAST(julianday(day) - julianday($1) AS INTEGER) / $3";
                format!(
                    "WITH d AS ({window}) \
                     SELECT 'kind', kind, CAST(SUM(n) AS BIGINT) FROM d GROUP BY kind \
                     UNION ALL SELECT 'source', source, CAST(SUM(n) AS BIGINT) FROM d GROUP BY source \
                     UNION ALL SELECT 'team', team, CAST(SUM(n) AS BIGINT) FROM d GROUP BY team \
                     UNION ALL SELECT 'week', CAST({week} AS TEXT), CAST(SUM(n) AS BIGINT) FROM d \
                     GROUP BY {week}"
                )
            }
            // One pass over the window instead of four over a materialised CTE (half
            // the time on two years of days).
            Backend::Postgres => format!(
                "SELECT CASE WHEN GROUPING(kind) = 0 THEN 'kind' WHEN GROUPING(source) = 0 THEN 'source' \
                 WHEN GROUPING(team) = 0 THEN 'team' ELSE 'week' END, \
                 COALESCE(kind, source, team, CAST(week AS TEXT)), CAST(SUM(n) AS BIGINT) \
                 FROM (SELECT kind, source, team, n, (CAST(day AS DATE) - CAST($1 AS DATE)) / $3 AS week \
                 FROM ({window}) w) d GROUP BY GROUPING SETS ((kind), (source), (team), (week))"
            ),
        };
        let sql = format!(
            "{mixes} \
             UNION ALL SELECT 'previous', '', CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rollup_days \
             WHERE day >= $4 AND day < $1 \
             UNION ALL SELECT 'latest', COALESCE(MAX(day), ''), 0 FROM rollup_days WHERE day < $2 AND n <> 0"
        );
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(from.to_string())
                .bind(until.to_string())
                .bind(WEEK)
                .bind(before.to_string())
                .fetch_all(pool)
                .await?
        }))
    }

    /// The most active contributors of the window, named if they agreed to be, with the
    /// organisation their latest activity in the window is credited to.
    async fn top_contributors(&self, from: Date, until: Date) -> Result<Vec<TopContributor>> {
        let top = self.top(TopOf::Members, from, until).await?;
        if top.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT m.id, m.display_name, m.listed, o.name FROM members m \
             LEFT JOIN organisations o ON o.id = (SELECT a.org_id FROM activities a \
             WHERE a.member_id = m.id AND a.occurred_at >= $1 AND a.occurred_at < $2 \
             ORDER BY a.occurred_at DESC LIMIT 1) \
             WHERE m.id IN ({})",
            id_list(&top.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        );
        let rows: Vec<(i64, String, bool, Option<String>)> = on_pool!(self.db(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(from.midnight().assume_utc())
                .bind(until.midnight().assume_utc())
                .fetch_all(pool)
                .await?
        });
        let people: HashMap<i64, (String, bool, Option<String>)> = rows
            .into_iter()
            .map(|(id, name, listed, org)| (id, (name, listed, org)))
            .collect();
        Ok(top
            .into_iter()
            .filter_map(|(id, activities)| {
                let (name, listed, organisation) = people.get(&id)?.clone();
                Some(TopContributor {
                    name: listed.then_some(name),
                    organisation,
                    activities,
                })
            })
            .collect())
    }

    /// The organisations credited with the most activities in the window, with their
    /// distinct contributors.
    async fn top_organisations(&self, from: Date, until: Date) -> Result<Vec<TopOrganisation>> {
        let top = self.top(TopOf::Organisations, from, until).await?;
        if top.is_empty() {
            return Ok(Vec::new());
        }
        let span = Span::of(from, until);
        let ids = id_list(&top.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        let whole_months = if span.months.is_empty() {
            String::new()
        } else {
            format!(
                "SELECT org_id, member_id FROM rollup_months WHERE org_id IN ({ids}) \
                 AND month IN ({}) UNION ",
                month_list(&span.months)
            )
        };
        let edges: Vec<String> = span
            .edges
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let (a, b) = (2 * i + 1, 2 * i + 2);
                format!(
                    "SELECT a.org_id, a.member_id FROM activities a WHERE a.org_id IN ({ids}) \
                     AND a.occurred_at >= ${a} AND a.occurred_at < ${b} \
                     AND a.member_id NOT IN (SELECT id FROM members WHERE is_bot)"
                )
            })
            .collect();
        let edges = if edges.is_empty() {
            "SELECT 0, 0 WHERE 1 = 0".to_string()
        } else {
            edges.join(" UNION ")
        };
        let sql = format!(
            "SELECT o.id, o.slug, o.name, CAST(COUNT(DISTINCT u.member_id) AS BIGINT) FROM \
             ({whole_months}{edges}) u JOIN organisations o ON o.id = u.org_id GROUP BY o.id, o.slug, o.name"
        );
        let rows: Vec<(i64, String, String, i64)> = on_pool!(self.db(), pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for (a, b) in &span.edges {
                query = query.bind(a.midnight().assume_utc()).bind(b.midnight().assume_utc());
            }
            query.fetch_all(pool).await?
        });
        let found: HashMap<i64, (String, String, i64)> = rows
            .into_iter()
            .map(|(id, slug, name, people)| (id, (slug, name, people)))
            .collect();
        Ok(top
            .into_iter()
            .filter_map(|(id, activities)| {
                let (slug, name, contributors) = found.get(&id)?.clone();
                Some(TopOrganisation {
                    slug,
                    name,
                    activities,
                    contributors,
                })
            })
            .collect())
    }

    /// The `TOP` members or organisations with the most activities in `[from, until)`,
    /// most first (ties: lower id), exactly, without counting everyone. Candidates are
    /// each touched month's `n` largest; anyone else has at most the `n+1`-th largest
    /// count of each month, so when the last of the top candidates has more than the
    /// sum of those, nobody else can be in the list. Otherwise `n` doubles.
    async fn top(&self, of: TopOf, from: Date, until: Date) -> Result<Vec<(i64, i64)>> {
        let span = Span::of(from, until);
        let touched = span.touched();
        let (months_table, _, key) = of.tables();
        let mut n = 32usize;
        loop {
            let sql = format!(
                "WITH ms(month) AS (VALUES {}), \
                 bounds AS (SELECT ms.month, COALESCE((SELECT x.n FROM {months_table} x \
                   WHERE x.month = ms.month ORDER BY x.n DESC LIMIT 1 OFFSET {n}), 0) AS bound FROM ms) \
                 SELECT b.month, b.bound, t.{key} FROM bounds b \
                 LEFT JOIN {months_table} t ON t.month = b.month AND t.n > b.bound",
                touched
                    .iter()
                    .map(|m| format!("('{m}')"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let rows: Vec<(String, i64, Option<i64>)> = on_pool!(self.db(), pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
            });
            let mut bounds = BTreeMap::<String, i64>::new();
            let mut candidates = Vec::new();
            for (month, bound, id) in rows {
                bounds.insert(month, bound);
                candidates.extend(id);
            }
            candidates.sort_unstable();
            candidates.dedup();
            let mut totals = self.window_totals(&span, Some(&candidates), of).await?;
            totals.retain(|(_, total)| *total > 0);
            totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let others_at_most: i64 = bounds.values().sum();
            let proven = match totals.get(TOP - 1) {
                Some((_, last)) => *last > others_at_most,
                None => others_at_most == 0,
            };
            if proven {
                totals.truncate(TOP);
                return Ok(totals);
            }
            if n >= 4096 {
                // Counts too even to prune (many ties): count everyone.
                let mut totals = self.window_totals(&span, None, of).await?;
                totals.retain(|(_, total)| *total > 0);
                totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                totals.truncate(TOP);
                return Ok(totals);
            }
            n *= 4;
        }
    }

    /// Exact counts in the window of `candidates` (or of everyone): whole months from
    /// the monthly rollup, the days at either end from the daily one.
    async fn window_totals(
        &self,
        span: &Span,
        candidates: Option<&[i64]>,
        of: TopOf,
    ) -> Result<Vec<(i64, i64)>> {
        let (months_table, days_table, key) = of.tables();
        let chunks: Vec<String> = match candidates {
            Some([]) => return Ok(Vec::new()),
            Some(ids) => ids
                .chunks(5000)
                .map(|chunk| format!("{key} IN ({})", id_list(chunk)))
                .collect(),
            None => vec!["1 = 1".into()],
        };
        let whole = if span.months.is_empty() {
            "1 = 0".to_string()
        } else {
            format!("month IN ({})", month_list(&span.months))
        };
        let edges = day_ranges("day", &span.edges);
        let mut totals = BTreeMap::<i64, i64>::new();
        for chosen in chunks {
            let sql = format!(
                "SELECT {key}, CAST(SUM(n) AS BIGINT) FROM {months_table} WHERE {chosen} AND {whole} GROUP BY {key} \
                 UNION ALL \
                 SELECT {key}, CAST(SUM(n) AS BIGINT) FROM {days_table} WHERE {chosen} AND {edges} GROUP BY {key}"
            );
            let rows: Vec<(i64, i64)> = on_pool!(self.db(), pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
            });
            for (id, n) in rows {
                *totals.entry(id).or_default() += n;
            }
        }
        Ok(totals.into_iter().collect())
    }
}

/// Counts, most first (ties by name).
fn ranked(counts: BTreeMap<String, i64>) -> Vec<Count> {
    let mut rows: Vec<Count> = counts
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(name, count)| Count { name, count })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    rows
}
