#!/usr/bin/env python3
"""Writes a `git fast-import` stream for a synthetic repository: N commits by a pool
of authors (some co-authored, some on behalf of an organisation), each touching one or
two files of a few hundred that grow over time.

Usage: python3 bench/make-git-repo.py N | git -C REPO fast-import --quiet
"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rng = random.Random(42)
authors = [(f"Dev {i}", f"dev{i}@{rng.choice(['acme.com', 'globex.io', 'gmail.com', 'initech.in', 'eu.acme.com'])}") for i in range(400)]
files = {f"src/module{i % 40}/file{i}.txt": [] for i in range(300)}
names = list(files)
out = sys.stdout.buffer
t = 1_600_000_000
mark = 0
for c in range(n):
    t += rng.randint(30, 900)
    name, email = authors[int(rng.paretovariate(1.2)) % len(authors)]
    trailers = []
    if rng.random() < 0.1:
        co = authors[rng.randrange(len(authors))]
        trailers.append(f"Co-authored-by: {co[0]} <{co[1]}>")
    if rng.random() < 0.03:
        trailers.append("On-behalf-of: @acme")
    message = f"Change {c}: adjust things" + ("\n\n" + "\n".join(trailers) if trailers else "")
    data = message.encode()
    mark += 1
    out.write(b"commit refs/heads/main\n")
    out.write(f"mark :{mark}\n".encode())
    out.write(f"author {name} <{email}> {t} +0000\n".encode())
    out.write(f"committer {name} <{email}> {t} +0000\n".encode())
    out.write(f"data {len(data)}\n".encode() + data + b"\n")
    if c > 0:
        out.write(f"from :{mark - 1}\n".encode())
    for path in rng.sample(names, rng.choice([1, 1, 1, 2])):
        lines = files[path]
        for _ in range(rng.randint(1, 6)):
            if lines and rng.random() < 0.3:
                lines[rng.randrange(len(lines))] = f"line changed in {c}"
            else:
                lines.insert(rng.randint(0, len(lines)), f"line added in {c} {rng.random()}")
        if len(lines) > 400:
            del lines[: len(lines) - 400]
        body = ("\n".join(lines) + "\n").encode()
        out.write(f"M 100644 inline {path}\n".encode())
        out.write(f"data {len(body)}\n".encode() + body + b"\n")
    out.write(b"\n")
