#!/usr/bin/env python3
"""Writes N synthetic GH Archive events (one JSON object per line, the pre-October-2025
shape) to stdout. A share of them (default 10%) belong to the configured repositories
`acme/app` and `acme/docs`; the rest to thousands of other repositories, as in a real
hourly file. Payload sizes follow the real mix: small pushes and stars, large pull
request objects.

Usage: python3 bench/make-gharchive.py N [SHARE] > events.json
"""
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
share = float(sys.argv[2]) if len(sys.argv) > 2 else 0.10
rng = random.Random(7)
ours = ["acme/app", "acme/docs"]
logins = [f"user{i}" for i in range(50_000)]
filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4
out = sys.stdout
base = 1_767_225_600  # 2026-01-01T00:00:00Z


def stamp(i):
    s = base + i // 300
    h, m, sec = (s // 3600) % 24, (s // 60) % 60, s % 60
    day = 1 + (s - base) // 86400
    return f"2026-01-{day:02d}T{h:02d}:{m:02d}:{sec:02d}Z"


def user(login):
    return {"login": login, "id": hash(login) % 10**8, "node_id": "MDQ6VXNlcjE=", "avatar_url": f"https://avatars.githubusercontent.com/u/{hash(login) % 10**8}?v=4", "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}", "type": "User", "site_admin": False}


for i in range(n):
    repo = rng.choice(ours) if rng.random() < share else f"org{rng.randrange(20000)}/repo{rng.randrange(50)}"
    actor = rng.choice(logins)
    r = rng.random()
    if r < 0.45:
        kind = "PushEvent"
        payload = {"push_id": i, "size": 1, "distinct_size": 1, "ref": "refs/heads/main", "head": f"{i:040x}", "before": f"{i + 1:040x}",
                   "commits": [{"sha": f"{i:040x}", "author": {"email": f"{rng.getrandbits(160):040x}@example{rng.randrange(500)}.com", "name": actor}, "message": "Fix things " + filler[: rng.randrange(20, 200)], "distinct": True, "url": f"https://api.github.com/repos/{repo}/commits/{i:040x}"}]}
    elif r < 0.60:
        kind = rng.choice(["WatchEvent", "CreateEvent", "ForkEvent"])
        payload = {"action": "started"} if kind == "WatchEvent" else {"ref": "main", "ref_type": "branch", "pusher_type": "user", "description": filler[:80]}
    elif r < 0.75:
        kind = "PullRequestEvent"
        action = rng.choice(["opened", "closed", "closed", "reopened"])
        number = rng.randrange(1, 5000)
        payload = {"action": action, "number": number, "pull_request": {"url": f"https://api.github.com/repos/{repo}/pulls/{number}", "id": i, "html_url": f"https://github.com/{repo}/pull/{number}", "number": number, "state": "closed" if action == "closed" else "open", "title": "Improve " + filler[: rng.randrange(10, 60)], "user": user(actor), "body": filler * rng.randrange(1, 8), "merged": action == "closed" and rng.random() < 0.7, "head": {"label": f"{actor}:patch", "ref": "patch", "sha": f"{i:040x}", "user": user(actor)}, "base": {"label": "main", "ref": "main", "sha": f"{i + 7:040x}", "user": user("octo")}, "additions": rng.randrange(500), "deletions": rng.randrange(200), "changed_files": rng.randrange(20)}}
    elif r < 0.87:
        kind = "IssueCommentEvent"
        number = rng.randrange(1, 5000)
        payload = {"action": "created", "issue": {"number": number, "title": "Bug: " + filler[:40], "html_url": f"https://github.com/{repo}/issues/{number}", "user": user(rng.choice(logins)), "body": filler}, "comment": {"id": i, "html_url": f"https://github.com/{repo}/issues/{number}#issuecomment-{i}", "user": user(actor), "body": filler * rng.randrange(1, 4)}}
    else:
        kind = "IssuesEvent"
        number = rng.randrange(1, 5000)
        payload = {"action": rng.choice(["opened", "closed"]), "issue": {"number": number, "title": "Bug: " + filler[:40], "html_url": f"https://github.com/{repo}/issues/{number}", "user": user(actor), "body": filler * 2}}
    event = {"id": str(30_000_000_000 + i), "type": kind, "actor": {"id": hash(actor) % 10**8, "login": actor, "display_login": actor, "gravatar_id": "", "url": f"https://api.github.com/users/{actor}", "avatar_url": f"https://avatars.githubusercontent.com/u/{hash(actor) % 10**8}?"},
             "repo": {"id": hash(repo) % 10**9, "name": repo, "url": f"https://api.github.com/repos/{repo}"}, "payload": payload, "public": True, "created_at": stamp(i)}
    out.write(json.dumps(event, separators=(",", ":")))
    out.write("\n")
