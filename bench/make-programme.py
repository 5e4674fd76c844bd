#!/usr/bin/env python3
"""Fills a migrated, empty Fairshare database -- an SQLite file or a PostgreSQL URL --
with a large synthetic programme for the engine benchmarks: ORGS organisations in 20
countries (a quarter of them partners paying monthly, one in ten of those short of the
threshold), MEMBERS people (70 % working for an organisation, 0.5 % bots), and
ACTIVITIES activities spread over MONTHS months ending with LAST (YYYY-MM), long-tailed
(a few people do most of the work), every kind, five teams, a few channels.
Deterministic: both backends get the same rows.

It writes the tables directly, in bulk, because the benchmark measures reading and
scoring, not importing (import speed has its own benchmarks). Create the database
first with the binary so the schema is Fairshare's own, and count the rollups after:

    fairshare --database sqlite:///tmp/p.db thresholds > /dev/null
    python3 bench/make-programme.py /tmp/p.db 20000 500000 10000000 24 2026-10
    fairshare --database sqlite:///tmp/p.db rollups rebuild

PostgreSQL (through `psql` and COPY; no Python driver needed):

    python3 bench/make-programme.py postgres://postgres@127.0.0.1/bench 20000 500000 10000000 24 2026-10
"""
import csv
import random
import sqlite3
import subprocess
import sys

path = sys.argv[1]
n_orgs, n_members, n_activities, n_months = (int(a) for a in sys.argv[2:6])
last_year, last_month = (int(x) for x in sys.argv[6].split("-"))
rng = random.Random(11)

COUNTRIES = ["USA", "DEU", "FRA", "IND", "BRA", "JPN", "GBR", "NLD", "ESP", "POL",
             "ZAF", "CAN", "MEX", "AUS", "CHE", "SWE", "KOR", "IDN", "TUR", "ARG"]
TEAMS = ["product", "education", "marketing", "community", "legal"]
CHANNELS = ["acme/app", "acme/app", "acme/app", "acme/docs", "forum", "#help"]
KINDS = {  # kind: relative frequency
    "commit": 30, "review": 15, "pr_opened": 10, "pr_merged": 8, "issue_opened": 8,
    "issue_closed": 4, "comment": 15, "docs_change": 5, "translation": 5,
    "forum_post": 12, "forum_solution": 4, "chat_help": 10, "chat_message": 20,
    "event_organised": 0.05, "talk_given": 0.2, "meetup_hosted": 0.1,
    "team_leadership": 0.05, "release_management": 0.05, "design": 0.5,
    "marketing": 0.5, "other_task": 0.5,
}
NOW = "2026-11-01T00:00:00Z"


def months():
    y, m = last_year, last_month
    out = []
    for _ in range(n_months):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(out))


class Sqlite:
    """Writes through Python's sqlite3, journal off: the file is thrown away on failure."""

    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;")

    def scalar(self, sql):
        return self.db.execute(sql).fetchone()[0]

    def insert_run(self):
        return self.db.execute(
            "INSERT INTO import_runs (source, input_name, digest, actor, started_at) "
            "VALUES ('bench', 'make-programme.py', 'bench', 'bench', ?)", (NOW,)).lastrowid

    def rows(self, table, columns, rows):
        marks = ", ".join("?" for _ in columns)
        self.db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            ([1 if v is True else 0 if v is False else v for v in row] for row in rows))

    def without_indexes(self, table):
        indexes = self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL", (table,)).fetchall()
        for name, _ in indexes:
            self.db.execute(f"DROP INDEX {name}")
        return [sql for _, sql in indexes]

    def execute(self, sql):
        self.db.execute(sql)

    def done(self):
        self.db.commit()


class Postgres:
    """Writes through `psql` with COPY, one table at a time."""

    def __init__(self, url):
        self.url = url

    def psql(self, sql, stdin=None):
        out = subprocess.run(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql],
                             input=stdin, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"psql: {out.stderr.strip()}")
        return out.stdout.strip()

    def scalar(self, sql):
        return int(self.psql(sql))

    def insert_run(self):
        return int(self.psql(
            "INSERT INTO import_runs (source, input_name, digest, actor, started_at) "
            f"VALUES ('bench', 'make-programme.py', 'bench', 'bench', '{NOW}') RETURNING id"
        ).splitlines()[0])

    def rows(self, table, columns, rows):
        copy = subprocess.Popen(
            ["psql", self.url, "-v", "ON_ERROR_STOP=1", "-q", "-c",
             f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"],
            stdin=subprocess.PIPE, text=True)
        writer = csv.writer(copy.stdin, lineterminator="\n")
        for row in rows:
            writer.writerow(["t" if v is True else "f" if v is False else "" if v is None else v
                             for v in row])
        copy.stdin.close()
        if copy.wait() != 0:
            sys.exit(f"COPY {table} failed")

    def without_indexes(self, table):
        indexes = self.psql(
            "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE tablename = "
            f"'{table}' AND schemaname = current_schema() AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)").splitlines()
        for line in indexes:
            self.psql(f"DROP INDEX {line.split(' ', 1)[0]}")
        return [line.split(" ", 1)[1] for line in indexes]

    def execute(self, sql):
        self.psql(sql)

    def done(self):
        # Rows were written with their ids: move each identity past them.
        for table in ["organisations", "members", "identities", "payments", "activities"]:
            self.psql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                      f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
        self.psql("ANALYZE")


db = Postgres(path) if path.startswith(("postgres://", "postgresql://")) else Sqlite(path)
if db.scalar("SELECT COUNT(*) FROM activities"):
    sys.exit(f"{path} already has activities: start from an empty database")
run = db.insert_run()

first_y, first_m = months()[0]
partner_since = f"{first_y:04d}-{first_m:02d}"
db.rows("organisations",
        ["id", "slug", "name", "country", "website", "created_at", "status", "status_since"],
        ((i, f"org-{i:05d}", f"Organisation {i}", COUNTRIES[i % len(COUNTRIES)],
          f"https://org-{i:05d}.example", NOW,
          "partner" if i % 4 == 0 else "none", partner_since if i % 4 == 0 else None)
         for i in range(1, n_orgs + 1)))
db.rows("org_domains", ["domain", "org_id"],
        ((f"org-{i:05d}.example", i) for i in range(1, n_orgs + 1)))

# Partners pay every month in dollars, generously; one in ten pays a token amount.
def payments():
    serial = 0
    for i in range(4, n_orgs + 1, 4):
        amount = "9.00" if i % 40 == 0 else "900.00"
        for y, m in months():
            serial += 1
            yield (serial, "manual", f"bench:{serial:09d}", i, f"{y:04d}-{m:02d}-03", amount,
                   "USD", "month", "bench transfer", "bench", NOW)


db.rows("payments", ["id", "source", "external_id", "org_id", "paid_on", "amount", "currency",
                     "coverage", "description", "created_by", "created_at"], payments())

# People: 70 % at an organisation (a few large ones employ many), the rest on their own.
member_org = [None] * (n_members + 1)
for p in range(1, n_members + 1):
    if rng.random() < 0.7:
        member_org[p] = 1 + int(n_orgs * rng.random() ** 2)
db.rows("members", ["id", "display_name", "is_bot", "created_at"],
        ((p, f"Person {p}", p % 200 == 0, NOW) for p in range(1, n_members + 1)))
db.rows("identities", ["id", "kind", "value", "name", "member_id"],
        ((p, "email", f"person{p}@" + (f"org-{member_org[p]:05d}.example" if member_org[p]
                                       else "gmail.com"), f"Person {p}", p)
         for p in range(1, n_members + 1)))

# Activities month by month (as imports arrive), members drawn from a long tail.
indexes = db.without_indexes("activities")
kinds, weights = list(KINDS), list(KINDS.values())
per_month = -(-n_activities // n_months)  # at least n_activities in all
serial = 0


def activities():
    global serial
    for y, m in months():
        picks = rng.choices(kinds, weights, k=per_month)
        for kind in picks:
            serial += 1
            person = 1 + int(n_members * rng.random() ** 3)
            org = member_org[person]
            second = rng.randrange(28 * 86400)
            day, rest = divmod(second, 86400)
            at = (f"{y:04d}-{m:02d}-{day + 1:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:"
                  f"{rest % 60:02d}Z")
            yield (serial, "bench", f"{serial:010d}", kind, person, person, at, TEAMS[person % 5],
                   CHANNELS[serial % 6], f"{kind} {serial}", org,
                   "domain" if org else "unaffiliated", run)
        print(f"{y:04d}-{m:02d}: {per_month} activities", file=sys.stderr)


db.rows("activities", ["id", "source", "external_id", "kind", "member_id", "identity_id",
                       "occurred_at", "team", "channel", "title", "org_id", "attribution",
                       "run_id"], activities())
for sql in indexes:
    db.execute(sql)
db.done()
print(f"{n_orgs} organisations ({len(range(4, n_orgs + 1, 4))} partners), "
      f"{n_members} members, {serial} activities over {n_months} months", file=sys.stderr)
