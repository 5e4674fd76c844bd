//! Rollups: activity counts per month and per day — by organisation, member, kind,
//! channel, team and source — kept in the same transaction as the activities they
//! count, so scores, the review, reports, partner pages and the portal read thousands
//! of counts instead of millions of activities.
//!
//! Two kinds of table (schema and meaning: migration `0022_rollups.sql`):
//! - **additive** counts (`rollup_months`, `rollup_days`, `rollup_org_months`,
//!   `rollup_org_days`): a write that changes activities calls [`retract`] on them
//!   before the change and [`apply`] after it (an import only applies what it added);
//! - **per member** (`rollup_member_days` with each active day's previous one,
//!   `rollup_returns` and `rollup_day_people` counted from it, `rollup_member_months`):
//!   recomputed for the members whose activities changed, from the first changed day
//!   on ([`refresh_members`]).
//!
//! Every write path to `activities` and `corrections` goes through these functions
//! (ARCHITECTURE.md, *Invariants*). [`Store::verify_rollups`] recomputes every table
//! from the activities and reports any difference; [`Store::rebuild_rollups`] starts
//! over, and is how the first open after the migration builds them.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use crate::tx::{Tx, on_tx};
use crate::{Backend, Result, Store, on_pool};

/// Which activities a change touches.
pub(crate) enum Scope<'a> {
    /// Every activity (a rebuild).
    All,
    /// What one import run stored from this id on.
    RunFrom { run: i64, first_id: i64 },
    /// These activities.
    Activities(&'a [i64]),
    /// One member's activities made with one identity (what a merge or split moves).
    Identity { identity: i64, member: i64 },
}

impl Scope<'_> {
    /// The condition on `activities a`, in chunks small enough for one statement. Only
    /// integers are written into the SQL.
    fn conditions(&self) -> Vec<String> {
        match self {
            Scope::All => vec!["1 = 1".into()],
            Scope::RunFrom { run, first_id } => {
                vec![format!("a.run_id = {run} AND a.id >= {first_id}")]
            }
            Scope::Activities(ids) => ids
                .chunks(1000)
                .map(|chunk| format!("a.id IN ({})", crate::id_list(chunk)))
                .collect(),
            Scope::Identity { identity, member } => {
                vec![format!(
                    "a.identity_id = {identity} AND a.member_id = {member}"
                )]
            }
        }
    }
}

/// The first day of the whole history, for "refresh everything of this member".
pub(crate) const EVER: Date = match Date::from_ordinal_date(1, 1) {
    Ok(day) => day,
    Err(_) => panic!("the year 1 has a first day"),
};

/// The previous-day value of a member's first active day.
const NEVER: &str = "0000-00-00";

/// An additive rollup: its table, key columns and counts, and how each is computed
/// from `activities a` (with `c`, the activity's active correction, if any).
struct Additive {
    table: &'static str,
    keys: &'static [(&'static str, &'static str)],
    counts: &'static [(&'static str, &'static str)],
    /// Extra condition on the activities counted.
    only: &'static str,
}

/// `{month}` and `{day}` in key expressions are the activity's UTC month and day.
const ADDITIVE: &[Additive] = &[
    Additive {
        table: "rollup_months",
        keys: &[
            ("month", "{month}"),
            ("org_id", "COALESCE(a.org_id, 0)"),
            ("member_id", "a.member_id"),
            ("kind", "a.kind"),
            ("channel", "COALESCE(a.channel, '')"),
            ("team", "COALESCE(a.team, '')"),
        ],
        counts: &[("n", "COUNT(*)"), ("corrected", "COUNT(c.id)")],
        only: "",
    },
    Additive {
        table: "rollup_days",
        keys: &[
            ("day", "{day}"),
            ("kind", "a.kind"),
            ("source", "a.source"),
            ("team", "COALESCE(a.team, '')"),
        ],
        counts: &[("n", "COUNT(*)")],
        only: "",
    },
    Additive {
        table: "rollup_org_months",
        keys: &[("month", "{month}"), ("org_id", "a.org_id")],
        counts: &[("n", "COUNT(*)")],
        only: " AND a.org_id IS NOT NULL",
    },
    Additive {
        table: "rollup_org_days",
        keys: &[("org_id", "a.org_id"), ("day", "{day}")],
        counts: &[("n", "COUNT(*)")],
        only: " AND a.org_id IS NOT NULL",
    },
];

/// The activity's UTC month (`YYYY-MM`) and day (`YYYY-MM-DD`) as text.
pub(crate) fn month_and_day(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Sqlite => (
            "substr(a.occurred_at, 1, 7)",
            "substr(a.occurred_at, 1, 10)",
        ),
        Backend::Postgres => (
            "to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM')",
            "to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        ),
    }
}

impl Additive {
    /// The counts of the activities matching `condition`, negated when `sign` is "-".
    fn select(&self, backend: Backend, condition: &str, sign: &str) -> String {
        let (month, day) = month_and_day(backend);
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(name, expr)| {
                let expr = expr.replace("{month}", month).replace("{day}", day);
                format!("{expr} AS {name}")
            })
            .collect();
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(name, expr)| format!("{sign}{expr} AS {name}"))
            .collect();
        let positions: Vec<String> = (1..=self.keys.len()).map(|i| i.to_string()).collect();
        let corrections = if self.counts.iter().any(|(_, e)| e.contains("c.")) {
            " LEFT JOIN corrections c ON c.activity_id = a.id AND c.removed_at IS NULL"
        } else {
            ""
        };
        format!(
            "SELECT {}, {} FROM activities a{corrections} WHERE {condition}{} \
             AND a.member_id NOT IN (SELECT id FROM members WHERE is_bot) GROUP BY {}",
            keys.join(", "),
            counts.join(", "),
            self.only,
            positions.join(", ")
        )
    }

    fn columns(&self) -> Vec<&'static str> {
        self.keys
            .iter()
            .chain(self.counts)
            .map(|(name, _)| *name)
            .collect()
    }

    /// Adds (or with `sign` "-", subtracts) the counts of the activities matching
    /// `condition`.
    fn upsert(&self, backend: Backend, condition: &str, sign: &str) -> String {
        let keys: Vec<&str> = self.keys.iter().map(|(name, _)| *name).collect();
        let updates: Vec<String> = self
            .counts
            .iter()
            .map(|(name, _)| format!("{name} = {t}.{name} + excluded.{name}", t = self.table))
            .collect();
        format!(
            "INSERT INTO {} ({}) {} ON CONFLICT ({}) DO UPDATE SET {}",
            self.table,
            self.columns().join(", "),
            self.select(backend, condition, sign),
            keys.join(", "),
            updates.join(", ")
        )
    }

    /// The stored rows, zeros left out, in the shape of [`Additive::select`].
    fn stored(&self) -> String {
        format!(
            "SELECT {} FROM {} WHERE n <> 0",
            self.columns().join(", "),
            self.table
        )
    }
}

async fn execute(tx: &mut Tx, sql: String) -> Result<u64> {
    Ok(on_tx!(tx, conn => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?.rows_affected()
    }))
}

/// Adds the activities in `scope` to the additive rollups: after they were stored or
/// changed.
pub(crate) async fn apply(tx: &mut Tx, scope: &Scope<'_>) -> Result<()> {
    change(tx, scope, "").await
}

/// Takes the activities in `scope` out of the additive rollups: before they are
/// changed or deleted.
pub(crate) async fn retract(tx: &mut Tx, scope: &Scope<'_>) -> Result<()> {
    change(tx, scope, "-").await
}

async fn change(tx: &mut Tx, scope: &Scope<'_>, sign: &str) -> Result<()> {
    let backend = tx.backend();
    for condition in scope.conditions() {
        for table in ADDITIVE {
            execute(tx, table.upsert(backend, &condition, sign)).await?;
        }
    }
    Ok(())
}

/// The members whose activities changed, each with the first day that changed: what
/// [`refresh_members`] recomputes. An import collects them as it goes.
#[derive(Debug, Default)]
pub(crate) struct ChangedMembers(BTreeMap<i64, Date>);

impl ChangedMembers {
    pub(crate) fn add(&mut self, member: i64, day: Date) {
        self.0
            .entry(member)
            .and_modify(|first| *first = (*first).min(day))
            .or_insert(day);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Recomputes the per-member rollups of `changed` from each member's first changed day.
pub(crate) async fn refresh_members(tx: &mut Tx, changed: &ChangedMembers) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&i64, &Date)> = changed.0.iter().collect();
    let fills: Vec<String> = rows
        .chunks(1000)
        .map(|chunk| {
            let values: Vec<String> = chunk
                .iter()
                .map(|(member, day)| format!("({member}, '{day}')"))
                .collect();
            format!(
                "INSERT INTO rollup_dirty (member_id, from_day) VALUES {}",
                values.join(", ")
            )
        })
        .collect();
    refresh_dirty(tx, fills).await
}

/// Fills `rollup_dirty` (a temporary table of each changed member's first changed
/// day) with `fills`, then recomputes those members' rollups from it.
async fn refresh_dirty(tx: &mut Tx, fills: Vec<String>) -> Result<()> {
    let backend = tx.backend();
    let integer = match backend {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGINT",
    };
    execute(
        tx,
        format!(
            "CREATE TEMP TABLE IF NOT EXISTS rollup_dirty \
             (member_id {integer} PRIMARY KEY, from_day TEXT NOT NULL, prev_day TEXT)"
        ),
    )
    .await?;
    execute(tx, "DELETE FROM rollup_dirty".into()).await?;
    for statement in fills.into_iter().chain(refresh_statements(backend)) {
        execute(tx, statement).await?;
    }
    execute(tx, "DELETE FROM rollup_dirty".into()).await?;
    Ok(())
}

/// The members' active days, each with the previous one, recomputed from
/// `rollup_dirty`'s first days on; then what is counted from them.
fn refresh_statements(backend: Backend) -> Vec<String> {
    let (_, day) = month_and_day(backend);
    let from = match backend {
        Backend::Sqlite => "x.from_day",
        Backend::Postgres => "(CAST(x.from_day AS DATE)::timestamp AT TIME ZONE 'UTC')",
    };
    let returns = |sign: &str| {
        format!(
            "INSERT INTO rollup_returns (day, prev_day, n) \
             SELECT d.day, d.prev_day, {sign}COUNT(*) FROM rollup_member_days d \
             JOIN rollup_dirty x ON x.member_id = d.member_id WHERE d.day >= x.from_day \
             GROUP BY d.day, d.prev_day \
             ON CONFLICT (day, prev_day) DO UPDATE SET n = rollup_returns.n + excluded.n"
        )
    };
    let people = |sign: &str| {
        format!(
            "INSERT INTO rollup_day_people (day, n) \
             SELECT d.day, {sign}COUNT(*) FROM rollup_member_days d \
             JOIN rollup_dirty x ON x.member_id = d.member_id WHERE d.day >= x.from_day \
             GROUP BY d.day \
             ON CONFLICT (day) DO UPDATE SET n = rollup_day_people.n + excluded.n"
        )
    };
    vec![
        format!(
            "UPDATE rollup_dirty SET prev_day = COALESCE((SELECT MAX(d.day) FROM rollup_member_days d \
             WHERE d.member_id = rollup_dirty.member_id AND d.day < rollup_dirty.from_day), '{NEVER}')"
        ),
        returns("-"),
        people("-"),
        "DELETE FROM rollup_member_days WHERE member_id IN (SELECT member_id FROM rollup_dirty) \
         AND day >= (SELECT x.from_day FROM rollup_dirty x WHERE x.member_id = rollup_member_days.member_id)"
            .into(),
        format!(
            "INSERT INTO rollup_member_days (member_id, day, prev_day, n) \
             SELECT g.member_id, g.day, \
             COALESCE(LAG(g.day) OVER (PARTITION BY g.member_id ORDER BY g.day), x.prev_day), g.n FROM \
             (SELECT a.member_id, {day} AS day, COUNT(*) AS n FROM rollup_dirty x \
              JOIN activities a ON a.member_id = x.member_id AND a.occurred_at >= {from} \
              WHERE a.member_id NOT IN (SELECT id FROM members WHERE is_bot) GROUP BY 1, 2) g \
             JOIN rollup_dirty x ON x.member_id = g.member_id"
        ),
        returns(""),
        people(""),
        "DELETE FROM rollup_member_months WHERE member_id IN (SELECT member_id FROM rollup_dirty) \
         AND month >= (SELECT substr(x.from_day, 1, 7) FROM rollup_dirty x \
         WHERE x.member_id = rollup_member_months.member_id)"
            .into(),
        "INSERT INTO rollup_member_months (month, member_id, n) \
         SELECT substr(d.day, 1, 7), d.member_id, SUM(d.n) FROM rollup_member_days d \
         JOIN rollup_dirty x ON x.member_id = d.member_id \
         WHERE d.day >= substr(x.from_day, 1, 7) || '-01' GROUP BY 1, 2"
            .into(),
    ]
}

/// The per-member tables as the activities say they should be, each in its stored
/// shape: (table, expected rows, stored rows, columns).
fn per_member_checks(backend: Backend) -> Vec<(&'static str, String, String, Vec<&'static str>)> {
    let (month, day) = month_and_day(backend);
    let member_days = format!(
        "SELECT g.member_id, g.day, COALESCE(LAG(g.day) OVER (PARTITION BY g.member_id ORDER BY g.day), '{NEVER}') AS prev_day, g.n \
         FROM (SELECT a.member_id, {day} AS day, COUNT(*) AS n FROM activities a \
         WHERE a.member_id NOT IN (SELECT id FROM members WHERE is_bot) GROUP BY 1, 2) g"
    );
    vec![
        (
            "rollup_member_days",
            member_days.clone(),
            "SELECT member_id, day, prev_day, n FROM rollup_member_days".into(),
            vec!["member_id", "day", "prev_day", "n"],
        ),
        (
            "rollup_returns",
            format!(
                "SELECT e.day, e.prev_day, COUNT(*) AS n FROM ({member_days}) e GROUP BY e.day, e.prev_day"
            ),
            "SELECT day, prev_day, n FROM rollup_returns WHERE n <> 0".into(),
            vec!["day", "prev_day", "n"],
        ),
        (
            "rollup_day_people",
            format!("SELECT e.day, COUNT(*) AS n FROM ({member_days}) e GROUP BY e.day"),
            "SELECT day, n FROM rollup_day_people WHERE n <> 0".into(),
            vec!["day", "n"],
        ),
        (
            "rollup_member_months",
            format!(
                "SELECT {month} AS month, a.member_id, COUNT(*) AS n FROM activities a \
                 WHERE a.member_id NOT IN (SELECT id FROM members WHERE is_bot) GROUP BY 1, 2"
            ),
            "SELECT month, member_id, n FROM rollup_member_months WHERE n <> 0".into(),
            vec!["month", "member_id", "n"],
        ),
    ]
}

const TABLES: &[&str] = &[
    "rollup_months",
    "rollup_days",
    "rollup_org_months",
    "rollup_org_days",
    "rollup_member_days",
    "rollup_returns",
    "rollup_day_people",
    "rollup_member_months",
];

/// One rollup table checked against the activities.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RollupCheck {
    pub table: String,
    /// Rows the activities give.
    pub expected_rows: i64,
    /// Rows the activities give that are missing or differ in the table.
    pub missing: i64,
    /// Rows in the table the activities do not give.
    pub unexpected: i64,
    /// Up to five differing rows, columns joined by `|`, each marked `-` (missing) or
    /// `+` (unexpected).
    pub examples: Vec<String>,
}

impl RollupCheck {
    pub fn agrees(&self) -> bool {
        self.missing == 0 && self.unexpected == 0
    }
}

/// What a rebuild wrote.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildSummary {
    /// Rows per table.
    pub rows: Vec<(String, i64)>,
}

impl Store {
    /// Recomputes every rollup from the activities and compares it with what is stored.
    pub async fn verify_rollups(&self) -> Result<Vec<RollupCheck>> {
        let backend = self.backend();
        let mut checks: Vec<(&str, String, String, Vec<&str>)> = ADDITIVE
            .iter()
            .map(|t| {
                (
                    t.table,
                    t.select(backend, "1 = 1", ""),
                    t.stored(),
                    t.columns(),
                )
            })
            .collect();
        checks.extend(per_member_checks(backend));
        let mut results = Vec::with_capacity(checks.len());
        for (table, expected, stored, columns) in checks {
            let text = columns
                .iter()
                .map(|c| format!("CAST(t.{c} AS TEXT)"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let count = |a: &str, b: &str| format!("SELECT COUNT(*) FROM ({a} EXCEPT {b}) t");
            let sample = |a: &str, b: &str| {
                format!("SELECT {text} FROM ({a} EXCEPT {b}) t ORDER BY 1 LIMIT 5")
            };
            let (expected_rows, missing, unexpected, mut gone, extra): (
                i64,
                i64,
                i64,
                Vec<(String,)>,
                Vec<(String,)>,
            ) = on_pool!(self.db(), pool => {
                let total: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM ({expected}) t")))
                    .fetch_one(pool).await?;
                let missing: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count(&expected, &stored)))
                    .fetch_one(pool).await?;
                let unexpected: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count(&stored, &expected)))
                    .fetch_one(pool).await?;
                let gone = sqlx::query_as(sqlx::AssertSqlSafe(sample(&expected, &stored)))
                    .fetch_all(pool).await?;
                let extra = sqlx::query_as(sqlx::AssertSqlSafe(sample(&stored, &expected)))
                    .fetch_all(pool).await?;
                (total.0, missing.0, unexpected.0, gone, extra)
            });
            let mut examples: Vec<String> = gone.drain(..).map(|(r,)| format!("- {r}")).collect();
            examples.extend(extra.into_iter().map(|(r,)| format!("+ {r}")));
            examples.truncate(5);
            results.push(RollupCheck {
                table: table.to_string(),
                expected_rows,
                missing,
                unexpected,
                examples,
            });
        }
        Ok(results)
    }

    /// Empties every rollup and counts it again from the activities, in one
    /// transaction (readers see the old counts until it commits).
    pub async fn rebuild_rollups(&self) -> Result<RebuildSummary> {
        let mut tx = Tx::begin(self.db()).await?;
        rebuild(&mut tx).await?;
        let mut rows = Vec::new();
        for table in TABLES {
            let (n,): (i64,) = on_tx!(&mut tx, conn => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut *conn)
                    .await?
            });
            rows.push((table.to_string(), n));
        }
        tx.audit(
            "system",
            "rollups.rebuild",
            "rollups",
            serde_json::to_value(&rows).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        self.analyze_rollups().await?;
        Ok(RebuildSummary { rows })
    }

    /// Gives the planner fresh statistics on tables just filled in bulk: PostgreSQL's
    /// autovacuum may not have seen them yet, and without them it read the two-year
    /// report five times slower. SQLite plans from its indexes alone.
    async fn analyze_rollups(&self) -> Result<()> {
        if let crate::Db::Postgres(pool) = self.db() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ANALYZE {}",
                TABLES.join(", ")
            )))
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Builds the rollups once after the migration that added them, if activities
    /// were stored before it. Two instances opening at once build them once: the
    /// state row is claimed inside the building transaction.
    pub(crate) async fn ensure_rollups_built(&self) -> Result<()> {
        let built: (Option<String>,) = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT CAST(built_at AS TEXT) FROM rollup_state WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        if built.0.is_some() {
            return Ok(());
        }
        let mut tx = Tx::begin(self.db()).await?;
        let claimed = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE rollup_state SET built_at = $1 WHERE id = 1 AND built_at IS NULL")
                .bind(crate::now())
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        if claimed == 1 {
            tracing::info!("building the activity rollups (once, after an upgrade)");
            rebuild(&mut tx).await?;
        }
        tx.commit().await?;
        if claimed == 1 {
            self.analyze_rollups().await?;
        }
        Ok(())
    }
}

async fn rebuild(tx: &mut Tx) -> Result<()> {
    if let Tx::Postgres(_) = tx {
        // Writers wait until the rebuild commits, so none slips between its reads.
        execute(
            tx,
            "LOCK TABLE activities, corrections, members IN SHARE MODE".into(),
        )
        .await?;
    }
    for table in TABLES {
        execute(tx, format!("DELETE FROM {table}")).await?;
    }
    apply(tx, &Scope::All).await?;
    // Every member with activities, from the first day: filled inside the database.
    let everyone = format!(
        "INSERT INTO rollup_dirty (member_id, from_day) SELECT DISTINCT member_id, '{EVER}' \
         FROM activities WHERE member_id NOT IN (SELECT id FROM members WHERE is_bot)"
    );
    refresh_dirty(tx, vec![everyone]).await
}
