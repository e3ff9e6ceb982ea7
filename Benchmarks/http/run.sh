#!/usr/bin/env bash
# HTTP load benchmark of `xgw serve` on loopback (docs/server.md, "Load figures"):
#  1. records/s for 100-record documents with ES256 (wrk, 2 threads, 8 connections, 30 s);
#  2. latency percentiles of single-record submissions at a fixed 500 requests/s (open loop).
# Usage: bash Benchmarks/http/run.sh   (a release build in the shared scratch directory, built only when
#        sources are newer: Benchmarks/release-xgw.sh; installs wrk from Debian if missing)
#   XGW_DATABASE=postgres://…?schema=… runs the server on PostgreSQL (default: SQLite in a scratch folder);
#   XGW_BENCH_PARTS=latency (or throughput) runs one of the two parts only;
#   XGW_ALGORITHM=SM2-SM3 signs with the default algorithm of `xgw serve` (this script's default: ES256);
#   XGW_BENCH_BINARY=/path/to/xgw measures that binary, never building (e.g. a copy of an earlier
#   build, to alternate two builds; Benchmarks/release-xgw.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
source Benchmarks/release-xgw.sh
release_xgw
data=$(mktemp -d /tmp/xgw-bench.XXXXXX)
port=${XGW_BENCH_PORT:-18080}
parts=${XGW_BENCH_PARTS:-throughput,latency}
XGW_DATA="$data" XGW_PORT=$port XGW_ALGORITHM=${XGW_ALGORITHM:-ES256} XGW_DATABASE=${XGW_DATABASE:-} LOG_LEVEL=warning \
  "$xgw" serve > "$data/stdout" 2> "$data/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$data/stdout" && break; sleep 0.1; done
# On PostgreSQL the node listens before its pool has connected: wait until it is ready.
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
token=$(awk '$1 == "token" && $2 == "xinsheng" { print $3 }' "$data/stdout")
echo "== database: ${XGW_DATABASE:-sqlite (default)}"
if [[ $parts == *throughput* ]]; then
  echo "== 100-record documents (${XGW_ALGORITHM:-ES256}), wrk -t2 -c8 -d${XGW_BENCH_SECONDS:-30}s"
  XGW_TOKEN=$token XGW_RUN=B$$ wrk -t2 -c8 -d"${XGW_BENCH_SECONDS:-30}s" --timeout 30s -s Benchmarks/http/submit100.lua "http://127.0.0.1:$port/v1/documents"
fi
if [[ $parts == *latency* ]]; then
  echo "== single-record submissions at a fixed 500 requests/s"
  python3 Benchmarks/http/fixed_rate.py "$port" "$token" 500 "${XGW_BENCH_SECONDS:-20}" 32
fi
