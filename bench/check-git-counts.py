#!/usr/bin/env python3
"""Compares `fairshare activities --group-by month` for a repository imported with
`fairshare import git` against `git log` (the oracle): per month (UTC), one activity
per non-merge commit author plus one per distinct co-author who is not the author.

Usage: python3 bench/check-git-counts.py REPO FAIRSHARE_BINARY DATABASE_URL
"""
import collections
import csv
import io
import os
import subprocess
import sys

repo, binary, database = sys.argv[1:4]
log = subprocess.run(
    ["git", "-C", repo, "log", "--no-merges", "--date=format-local:%Y-%m",
     "--format=%x1e%ad%x1f%ae%x1f%(trailers:key=Co-authored-by,valueonly,separator=%x1d)"],
    capture_output=True, text=True, check=True, env={**os.environ, "TZ": "UTC"},
).stdout
expected = collections.Counter()
for record in log.split("\x1e")[1:]:
    month, author, trailers = record.strip("\n").split("\x1f")
    people = {author.lower()}
    for value in filter(None, trailers.strip().split("\x1d")):
        if "<" in value:
            people.add(value[value.index("<") + 1 : value.rindex(">")].strip().lower())
    expected[month] += len(people)
out = subprocess.run([binary, "--database", database, "activities", "--group-by", "month", "--format", "csv"],
                     capture_output=True, text=True, check=True).stdout
actual = {row["month"]: int(row["activities"]) for row in csv.DictReader(io.StringIO(out))}
diff = {m: (expected.get(m, 0), actual.get(m, 0)) for m in set(expected) | set(actual) if expected.get(m, 0) != actual.get(m, 0)}
print(f"{len(expected)} months, {sum(expected.values())} activities expected, {sum(actual.values())} stored")
if diff:
    print("differences (git log, fairshare):", dict(sorted(diff.items())[:10]))
    sys.exit(1)
print("every month agrees with git log")
