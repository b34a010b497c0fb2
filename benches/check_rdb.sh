#!/usr/bin/env bash
# check-rdb: time against redis-check-rdb, and the memory of duplicate-key
# detection in bytes per key (issue 20: at most 16).
#   benches/check_rdb.sh [RDB...]
# Environment: RUNS (5), BASE (an older build to time against, e.g. main's),
# BIN (the build to measure; default: cargo build --profile dist).
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 400,000 keys.
# bytes/key = (peak RSS with detection - peak RSS with --no-duplicate-check) / keys,
# each the largest VmHWM (/usr/bin/time %M) of RUNS runs, for --threads 1 and
# the default threads.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k400}
RUNS=${RUNS:-5}
if [ $# -eq 0 ]; then
  set -- "$BENCH_DIR/dump.rdb"
  if [ ! -f "$1" ]; then
    python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 400000
  fi
fi
if [ -z "${BIN:-}" ]; then
  cargo build --profile dist -q
  BIN=target/dist/redis-persist
fi
peak_kib() {
  local max=0 m
  for _ in $(seq "$RUNS"); do
    m=$( { /usr/bin/time -f %M "$@" > /dev/null; } 2>&1 | tail -1)
    [ "$m" -gt "$max" ] && max=$m
  done
  echo "$max"
}
for RDB in "$@"; do
  ls -l "$RDB"
  keys=$("$BIN" check-rdb --json --no-duplicate-check "$RDB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["keys"])')
  echo "keys: $keys; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  for threads in 1 default; do
    targs=()
    [ "$threads" = default ] || targs=(--threads "$threads")
    with=$(peak_kib "$BIN" check-rdb "${targs[@]}" "$RDB")
    without=$(peak_kib "$BIN" check-rdb --no-duplicate-check "${targs[@]}" "$RDB")
    python3 -c "w,o,k=$with,$without,$keys; print(f'threads {\"$threads\":>7}: peak RSS {w/1024:.1f} MiB with duplicate detection, {o/1024:.1f} MiB without: {(w-o)*1024/k:.1f} bytes/key')"
  done
  python3 benches/compare.py "$RUNS" \
    redis-check-rdb "redis-check-rdb '$RDB'" \
    "redis-persist check-rdb" "$BIN check-rdb '$RDB'"
  if [ -n "${BASE:-}" ]; then
    for threads in 1 default; do
      targs=""
      [ "$threads" = default ] || targs="--threads $threads"
      echo "threads $threads, against $BASE:"
      python3 benches/compare.py "$RUNS" \
        "base check-rdb" "$BASE check-rdb $targs '$RDB'" \
        "redis-persist check-rdb" "$BIN check-rdb $targs '$RDB'"
    done
  fi
done
