#!/usr/bin/env bash
# Every goal row of issue 18 (throughput) and issue 13's figures (federation) in one command: builds
# the release xgw once (Benchmarks/release-xgw.sh), runs each bench once, one after the other, and
# prints ONE markdown table — row, measured, goal, met?, the command that reproduces it — then the
# load (`uptime`) before and after. Each figure is parsed from the bench that measured it; every
# ratio is that bench's own (interleaved rounds, or its floor run beside it in the same run).
# Benchmarks/goals/README.md lists what each row reads.
#
# Usage: bash Benchmarks/goals/run.sh [--quick] [--only ROW…] [--list]
#   --quick     short runs, to check the script itself (the figures are not the goals' measurements)
#   --only ROW… only these rows (and only the benches they need); --list: the rows and commands
# PostgreSQL: $XGW_TEST_POSTGRES_URL if set (a database of this run's own is created in it and dropped
# at exit), else a throwaway server from .ci/postgres.sh, stopped at exit.
# XGW_BENCH_BINARY=PATH uses that xgw as it is instead of building. Bench outputs stay in the log
# folder printed at the end (XGW_GOALS_LOGS to choose it).
# Exits non-zero, naming the rows, when a bench fails or prints nothing the row can read.
set -euo pipefail
cd "$(dirname "$0")/../.."
goals=Benchmarks/goals/goals.py
for argument in "$@"; do
  case $argument in --list | -h | --help) exec python3 "$goals" "$@" ;; esac
done
python3 "$goals" --check "$@"

before=$(uptime)
source Benchmarks/release-xgw.sh
release_xgw >&2
export XGW_BENCH_BINARY=$xgw
[ -x "$XGW_BENCH_BINARY" ] || { echo "goals: no xgw binary at $XGW_BENCH_BINARY" >&2; exit 1; }

psql=psql
command -v psql >/dev/null || psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
database=xgw_goals_$$
cleanup() {
  if [ -n "${server_url:-}" ]; then
    "$psql" -qX "$server_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 \
      || echo "goals: could not drop database $database" >&2
  fi
  [ -z "${started_pg:-}" ] || xgw_pg_stop
}
trap cleanup EXIT
if [ -z "${XGW_TEST_POSTGRES_URL:-}" ]; then
  source .ci/postgres.sh
  xgw_pg_start >&2
  started_pg=1
  command -v "$psql" >/dev/null || psql=$(ls /usr/lib/postgresql/*/bin/psql | tail -1)
fi
server_url=$XGW_TEST_POSTGRES_URL
"$psql" -qX "$server_url" -c "CREATE DATABASE $database" >/dev/null
XGW_GOALS_PG=$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1])._replace(path="/" + sys.argv[2]).geturl())' \
  "$server_url" "$database")
export XGW_GOALS_PG

export XGW_GOALS_LOGS=${XGW_GOALS_LOGS:-$(mktemp -d /tmp/xgw-goals.XXXXXX)}
mkdir -p "$XGW_GOALS_LOGS"
# The scripts the benches run use this port; a free one, so that another run on the machine cannot clash.
XGW_BENCH_PORT=${XGW_BENCH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
export XGW_BENCH_PORT
status=0
python3 "$goals" "$@" || status=$?
echo
echo "load before: $before"
echo "load after:  $(uptime)"
echo "xgw: $XGW_BENCH_BINARY; PG=$XGW_GOALS_PG (${started_pg:+a throwaway server, }dropped at exit); bench outputs: $XGW_GOALS_LOGS"
exit $status
