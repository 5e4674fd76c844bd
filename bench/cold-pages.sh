#!/usr/bin/env bash
# First-request ("cold") times of every kind of public page, then the same pages under
# load, and serve's peak memory. Each page is asked for once right after `serve` starts
# (nothing cached), then again after an audited change emptied the cache.
#   bench/cold-pages.sh target/release/fairshare sqlite:///tmp/p.db
#   bench/cold-pages.sh target/release/fairshare postgres://postgres@127.0.0.1/bench
set -euo pipefail
F=$1 DB=$2 PORT=${PORT:-8090}
export FAIRSHARE_TODAY=${FAIRSHARE_TODAY:-2026-11-22} FAIRSHARE_SCHEDULER__ENABLED=false
PAGES=(/assets/style.css / /partners "/partners?page=2" "/partners?country=DEU"
       /partners/org-00004 /report "/report?days=30" "/report?days=730"
       /api/v1/report /recognition)
"$F" --database "$DB" serve --bind 127.0.0.1:$PORT > /tmp/cold-serve.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
cold() {
  for u in "${PAGES[@]}"; do
    curl -s -o /dev/null -w "%{http_code} %{time_total}s %{size_download}B  $u\n" "http://127.0.0.1:$PORT$u"
  done
}
echo "== first requests after start"
cold
echo "== after an audited change (the cache is emptied)"
"$F" --database "$DB" profile --org org-00004 --description "bench $(date +%s)" > /dev/null
sleep 1.1
cold
echo "== under load (wrk -t2 -c32 -d10s)"
for u in / /partners /partners/org-00004 "/report?days=730"; do
  wrk -t2 -c32 -d10s "http://127.0.0.1:$PORT$u" | awk -v u="$u" '/Requests\/sec/ {print u, $2, "requests/s"}'
done
echo "== serve's memory: peak $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status); now, of which file-backed (the memory-mapped database) $(awk '/RssFile/ {print $2, $3}' /proc/$PID/status) and heap $(awk '/RssAnon/ {print $2, $3}' /proc/$PID/status)"
