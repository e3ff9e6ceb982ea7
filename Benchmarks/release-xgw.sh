# Sourced by the benchmark scripts: sets $xgw to a release build of xgw in the shared scratch
# directory ($XGW_SCRATCH, default /work/release-build, one per machine so that no script starts a
# 10-35 minute release build of its own), building it only when a source file, Package.swift or
# Package.resolved is newer than the binary. Builds are serialised by /tmp/release-build.lock, as
# every release build on the shared machine is. XGW_BUILD=debug uses a debug build instead.
# XGW_BENCH_BINARY=PATH uses that binary as it is, never building: Benchmarks/goals/run.sh builds once
# and hands its binary to the scripts it runs, which would otherwise rebuild whenever someone edits a
# source file during its run.
release_xgw() {
  if [ -n "${XGW_BENCH_BINARY:-}" ]; then
    xgw=$XGW_BENCH_BINARY
    [ -x "$xgw" ] || { echo "XGW_BENCH_BINARY=$xgw is not an executable" >&2; return 1; }
    echo "== $xgw (XGW_BENCH_BINARY), not rebuilt"
    return 0
  fi
  local config=${XGW_BUILD:-release}
  local scratch=${XGW_SCRATCH:-/work/release-build}
  case $scratch in /*) ;; *) scratch="$(pwd)/$scratch" ;; esac
  xgw="$scratch/$config/xgw"
  if [ -x "$xgw" ] && [ -z "$(find Sources Package.swift Package.resolved -newer "$xgw" -print -quit)" ]; then
    echo "== $xgw is current, not rebuilt"
  else
    flock /tmp/release-build.lock swift build -c "$config" --scratch-path "$scratch" --product xgw 2>&1 | tail -1
  fi
}
