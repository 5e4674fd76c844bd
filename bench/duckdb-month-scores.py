#!/usr/bin/env python3
"""The reference for `fairshare scores --month`: the same month's aggregation in DuckDB
over the same rows. Exports the activities, members and corrections of a Fairshare
database (an SQLite file or a PostgreSQL URL) once into a DuckDB file, then times the
month's scores there (default weights and caps, as bench/month-scores.sql).

    pip install duckdb
    python3 bench/duckdb-month-scores.py /tmp/p.db /tmp/p.duckdb 2026-10      # export once, time
    python3 bench/duckdb-month-scores.py /tmp/p.db /tmp/p.duckdb 2026-10 -q   # time only: for hyperfine

Prints the query's own time (best of 5, in-process) and the top three organisations,
to compare with `fairshare scores`.
"""
import os
import subprocess
import sys
import time

import duckdb

source, target, month = sys.argv[1:4]
quiet = "-q" in sys.argv[4:]
year, mon = (int(x) for x in month.split("-"))
start = f"{year:04d}-{mon:02d}-01"
end = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}-01"

TABLES = {  # table: its columns with their DuckDB types
    "activities": {"id": "BIGINT", "member_id": "BIGINT", "org_id": "BIGINT", "kind": "VARCHAR",
                   "channel": "VARCHAR", "team": "VARCHAR", "occurred_at": "VARCHAR"},
    "members": {"id": "BIGINT", "is_bot": "VARCHAR"},
    "corrections": {"activity_id": "BIGINT", "removed_at": "VARCHAR"},
    "organisations": {"id": "BIGINT", "slug": "VARCHAR"},
}


def export(table, columns, path):
    """Writes `table` as CSV with a header, through the database's own client."""
    if source.startswith(("postgres://", "postgresql://")):
        sql = f"COPY (SELECT {columns} FROM {table}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with open(path, "w") as out:
            subprocess.run(["psql", source, "-qc", sql], stdout=out, check=True)
    else:
        with open(path, "w") as out:
            subprocess.run(["sqlite3", "-header", "-csv", source, f"SELECT {columns} FROM {table}"],
                           stdout=out, check=True)


if not os.path.exists(target):
    db = duckdb.connect(target)
    for table, columns in TABLES.items():
        path = f"{target}.{table}.csv"
        export(table, ", ".join(columns), path)
        # Native types, as a DuckDB user would have them: time as a timestamp, the bot
        # flag (SQLite 0/1, PostgreSQL t/f) as a boolean.
        convert = {"occurred_at": "CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at",
                   "is_bot": "is_bot IN ('1', 't', 'true') AS is_bot"}
        select = ", ".join(convert.get(c, c) for c in columns)
        types = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        if os.path.getsize(path) == 0:  # an empty table: sqlite3 writes no header
            db.execute(f"CREATE TABLE {table} AS SELECT {select} FROM "
                       f"(SELECT {', '.join(f'CAST(NULL AS {t}) AS {c}' for c, t in columns.items())}) "
                       "WHERE false")
        else:
            db.execute(f"CREATE TABLE {table} AS SELECT {select} FROM "
                       f"read_csv('{path}', header = true, delim = ',', columns = {{{types}}})")
        os.remove(path)
    db.close()

db = duckdb.connect(target, read_only=True)
# The weights and caps: the same VALUES list as the SQLite reference, read from it.
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "month-scores.sql")) as reference:
    text = reference.read()
RULES = text[text.index("WITH rules"):text.index("counts AS (")]
QUERY = RULES + f"""counts AS (
    SELECT a.org_id, a.member_id, a.kind, COUNT(*) AS n
    FROM activities a JOIN members m ON m.id = a.member_id
    WHERE a.occurred_at >= TIMESTAMPTZ '{start} 00:00:00+00' AND a.occurred_at < TIMESTAMPTZ '{end} 00:00:00+00'
      AND a.org_id IS NOT NULL AND NOT m.is_bot
      AND a.id NOT IN (SELECT activity_id FROM corrections WHERE removed_at IS NULL)
    GROUP BY a.org_id, a.member_id, a.kind)
SELECT o.slug, SUM(r.weight * LEAST(c.n, r.cap)) AS score, COUNT(DISTINCT c.member_id) AS members,
       SUM(c.n) AS activities
FROM counts c JOIN rules r ON r.kind = c.kind JOIN organisations o ON o.id = c.org_id
GROUP BY o.slug ORDER BY score DESC, members DESC, o.slug
"""
best = None
for _ in range(1 if quiet else 5):
    began = time.perf_counter()
    rows = db.execute(QUERY).fetchall()
    took = time.perf_counter() - began
    best = took if best is None else min(best, took)
if not quiet:
    print(f"DuckDB {duckdb.__version__}: {len(rows)} organisations scored in {best * 1000:.0f} ms "
          "(the query alone, best of 5)")
    for row in rows[:3]:
        print(row)
