#!/usr/bin/env bash
# PostgreSQL next to SQLite (issue 7; README "PostgreSQL and several nodes", docs/postgres.md):
#  1. the queue alone: `xgw bench queue --database postgres://… --backlog 100000` (enqueue, lease+ack, both
#     drivers; PostgreSQL's own floor from floor.sh in between; lease+ack cost with 100k vs 10k queued);
#  2. end to end over HTTP (Benchmarks/postgres/e2e.py): submit + lease + ack of RECORDS records in
#     documents of XGW_BENCH_DOC records (default 100) with one SQLite node, one PostgreSQL node and
#     two PostgreSQL nodes on one database (XGW_BENCH_TWO_NODES=0 skips the last); XGW_BENCH_ROUNDS=N runs
#     SQLite and one PostgreSQL node N times in turns and prints PostgreSQL's rate over SQLite's.
# Uses $XGW_TEST_POSTGRES_URL, or starts a throwaway server (.ci/postgres.sh).
# Usage: bash Benchmarks/postgres/run.sh   (release build in the shared scratch directory, built only when
#        sources are newer: Benchmarks/release-xgw.sh; XGW_BENCH_RECORDS=5000, XGW_BENCH_MESSAGES=20000
#        by default, 0 skips the queue-alone part; XGW_BUILD=debug XGW_SCRATCH=.build for a debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."
records=${XGW_BENCH_RECORDS:-5000}
rounds=${XGW_BENCH_ROUNDS:-1}
doc=${XGW_BENCH_DOC:-100}
source Benchmarks/release-xgw.sh
release_xgw
work=$(mktemp -d /tmp/xgw-bench-pg.XXXXXX)
# Nodes start in command substitutions (subshells), so their ids are kept in <data>/pid.
stop_all() {
  local file
  for file in "$work"/*/pid; do
    [ -f "$file" ] || continue
    kill "$(cat "$file")" 2>/dev/null || true
    while kill -0 "$(cat "$file")" 2>/dev/null; do sleep 0.1; done
    rm -f "$file"
  done
}
cleanup() {
  stop_all
  rm -rf "$work"
  [ -z "${started_pg:-}" ] || xgw_pg_stop
}
trap cleanup EXIT
if [ -z "${XGW_TEST_POSTGRES_URL:-}" ]; then
  source .ci/postgres.sh
  xgw_pg_start
  started_pg=1
fi
url=$XGW_TEST_POSTGRES_URL
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${XGW_BENCH_MESSAGES:-20000}" != 0 ]; then
  echo "== queue alone (xgw bench queue --database)"
  "$xgw" bench queue --messages "${XGW_BENCH_MESSAGES:-20000}" --database "$url" --backlog "${XGW_BENCH_BACKLOG:-100000}"
fi

# One node: serve DATA DATABASE → prints the port. The first start creates the PKI and tokens;
# the other nodes get copies of them (the same keys and tokens on every node).
serve() {
  local data=$1 database=$2
  mkdir -p "$data"
  : > "$data/stdout"  # before the node starts, so that the wait below never greps a missing file
  XGW_DATA="$data" XGW_PORT=0 XGW_ALGORITHM=${XGW_ALGORITHM:-ES256} XGW_DATABASE="$database" LOG_LEVEL=warning \
    "$xgw" serve > "$data/stdout" 2> "$data/server.log" &
  echo $! > "$data/pid"
  for _ in $(seq 300); do grep -q "listening on" "$data/stdout" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$data/stdout")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  echo "$port"
}

mkdir -p "$work/seed"
serve "$work/seed" "sqlite:$work/seed/seed.sqlite" >/dev/null
stop_all
sub=$(awk '$1 == "token" && $2 == "xinsheng" { print $3 }' "$work/seed/stdout")
recv=$(awk '$1 == "token" && $2 == "renshi" { print $3 }' "$work/seed/stdout")
node() {  # node NAME → a data folder with the shared PKI and tokens
  mkdir -p "$work/$1"
  cp -r "$work/seed/pki" "$work/seed/tokens" "$work/$1/"
  echo "$work/$1"
}

echo "== end to end over HTTP: $records records, documents of $doc, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# one_node sqlite|postgres ROUND: one node on a new store; its line is printed and kept in $work/e2e-KIND.
one_node() {
  local kind=$1 round=$2 port line
  if [ "$kind" = sqlite ]; then
    port=$(serve "$(node "sqlite1-$round")" "sqlite:$work/sqlite1-$round/e2e.sqlite")
  else
    port=$(serve "$(node "pg1-$round")" "$url?schema=xgw_e2e_$$_1_$round")
  fi
  line=$(python3 Benchmarks/postgres/e2e.py "$port" "$sub" "$recv" "$records" "$doc")
  stop_all
  printf '%-10s 1 node : %s\n' "$kind" "$line"
  echo "$line" >> "$work/e2e-$kind"
}
# Rounds in turns (sqlite first in odd rounds, postgres first in even ones), so that the machine's
# load weighs on both alike; the ratio is over all rounds (records / seconds of each store).
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then one_node sqlite "$round"; one_node postgres "$round"
  else one_node postgres "$round"; one_node sqlite "$round"; fi
done
python3 - "$rounds" "$work/e2e-sqlite" "$work/e2e-postgres" <<'PY'
import re, sys
def rate(path):
    records = seconds = 0
    for line in open(path):
        m = re.match(r"(\d+) records, .*\(([\d.]+) s", line)
        records, seconds = records + int(m.group(1)), seconds + float(m.group(2))
    return records / seconds
sqlite, postgres = rate(sys.argv[2]), rate(sys.argv[3])
print("postgres / sqlite, 1 node, %s round(s) in turns: %.2f (postgres %.0f records/s, sqlite %.0f, over all rounds)"
      % (sys.argv[1], postgres / sqlite, postgres, sqlite))
PY
if [ "${XGW_BENCH_TWO_NODES:-1}" != 0 ]; then
  schema=xgw_e2e_$$_2
  a=$(serve "$(node pg2a)" "$url?schema=$schema")
  b=$(serve "$(node pg2b)" "$url?schema=$schema")
  echo -n "postgres   2 nodes: "; python3 Benchmarks/postgres/e2e.py "$a,$b" "$sub" "$recv" "$records" "$doc"
  stop_all
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $(seq -f "xgw_e2e_$$_1_%g" "$rounds") xgw_e2e_$$_2; do
  "$(dirname "$(ls /usr/lib/postgresql/*/bin/psql | head -1)")/psql" -q "$url" -c "DROP SCHEMA IF EXISTS $s CASCADE" 2>/dev/null || true
done
