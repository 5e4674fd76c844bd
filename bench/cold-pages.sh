#!/usr/bin/env bash
# First-request ("cold") times of every kind of page, then the same pages under load,
# then cold pages while scheduled syncs keep emptying the cache under load, and serve's
# peak memory. Each page is asked for once right after `serve` starts (nothing cached),
# then again after an audited change emptied the cache.
#   bench/cold-pages.sh target/release/fairshare sqlite:///tmp/p.db
#   bench/cold-pages.sh target/release/fairshare postgres://postgres@127.0.0.1/bench
# ROUNDS (default 10) syncs run in the last phase; PORT (default 8090) is serve's port.
set -euo pipefail
F=$1 DB=$2 PORT=${PORT:-8090} ROUNDS=${ROUNDS:-10}
export FAIRSHARE_TODAY=${FAIRSHARE_TODAY:-2026-11-22} FAIRSHARE_SCHEDULER__ENABLED=false
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
PAGES=(/assets/style.css / /partners "/partners?page=2" "/partners?country=DEU"
       /partners/org-00004 /report "/report?days=30" "/report?days=730"
       /api/v1/report /recognition
       "/portal?org=org-00001" "/portal/breakdown?org=org-00001")
"$F" --database "$DB" serve --bind 127.0.0.1:$PORT > "$WORK/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "$BASE/healthz" && break; sleep 0.2; done

# The portal is signed in: an administrator of the largest organisation.
ADMIN="bench-$(date +%s)@example.org"
echo "bench password $RANDOM$RANDOM" > "$WORK/password"
"$F" --database "$DB" users add --email "$ADMIN" --role org_admin:org-00001 < "$WORK/password" > /dev/null
curl -s -o /dev/null -c "$WORK/jar" --data-urlencode "email=$ADMIN" \
  --data-urlencode "password=$(cat "$WORK/password")" "$BASE/login"

get() { curl -s -o /dev/null -b "$WORK/jar" -w "%{http_code} %{time_total}s %{size_download}B  $1\n" "$BASE$1"; }
cold() { for u in "${PAGES[@]}"; do get "$u"; done; }
change() { "$F" --database "$DB" profile --org org-00004 --description "bench $(date +%s%N)" > /dev/null; }

echo "== first requests after start"
cold
echo "== after an audited change (the cache is emptied)"
change
sleep 1.1
cold
echo "== under load (wrk -t2 -c32 -d10s)"
for u in / /partners /partners/org-00004 "/report?days=730"; do
  wrk -t2 -c32 -d10s "$BASE$u" | awk -v u="$u" '/Requests\/sec/ {print u, $2, "requests/s"}'
done

# The scheduler's syncs, as `fairshare sync` runs them: a git source gains a commit
# before each sync, so every round imports and empties the cache. Meanwhile wrk keeps
# the public pages busy (8 connections), and each page's first request after the sync
# is timed; wrk's own slowest requests are the cold renders it met.
echo "== $ROUNDS syncs emptying the cache while wrk loads the pages"
REPO="$WORK/repo"
git init -q -b main "$REPO"
cat > "$WORK/fairshare.toml" <<TOML
[[sources]]
name = "bench-repo"
kind = "git"
path = "$REPO"
every = "5m"
TOML
cat > "$WORK/pages.lua" <<'LUA'
local pages = {"/", "/partners", "/partners?page=2", "/partners/org-00004", "/report",
               "/report?days=730", "/recognition", "/api/v1/report"}
local i = 0
request = function()
  i = i % #pages + 1
  return wrk.format("GET", pages[i])
end
-- Each connection pauses 5 ms between requests: heavy traffic (up to 1,600 requests a
-- second) that leaves the machine room to work, rather than a saturated queue.
delay = function()
  return 5
end
LUA
wrk -t1 -c8 -d$((ROUNDS * 3 + 5))s --latency -s "$WORK/pages.lua" "$BASE" > "$WORK/wrk.txt" &
WRK=$!
for round in $(seq 1 "$ROUNDS"); do
  echo "change $round" > "$REPO/file.txt"
  git -C "$REPO" add file.txt
  git -C "$REPO" -c user.name="Bench $round" -c user.email="bench$round@example.org" \
    commit -q -m "change $round"
  "$F" --config "$WORK/fairshare.toml" --database "$DB" sync bench-repo > /dev/null
  sleep 1.1  # the data version is read at most once a second
  for u in "${PAGES[@]}"; do get "$u"; done >> "$WORK/under-syncs.txt"
  sleep 0.5
done
wait $WRK
awk '{ sub(/s$/, "", $2); t[$4] = t[$4] " " $2 * 1000; if ($1 != "200") bad[$4]++ }
     END { for (u in t) { n = split(t[u], a, " "); asort(a); printf "%-34s median %6.1f ms  max %6.1f ms  (%d rounds%s)\n", u, a[int((n + 1) / 2)], a[n], n, (u in bad ? ", " bad[u] " not 200" : "") } }' \
  "$WORK/under-syncs.txt" | sort
awk '/Requests\/sec|Latency|99%|Non-2xx/ {print "wrk meanwhile:", $0}' "$WORK/wrk.txt"
echo "== serve's memory: peak $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status); now, of which file-backed (the memory-mapped database) $(awk '/RssFile/ {print $2, $3}' /proc/$PID/status) and heap $(awk '/RssAnon/ {print $2, $3}' /proc/$PID/status)"
