#!/usr/bin/env bash
# The JSON figures of issue 20, side by side (benches/compare.py alternates the
# two commands and prints medians, ratios, CPU, peak RSS and the load average):
#   1. `dump --format jsonl -o /dev/null` and `--format json` vs redis-check-rdb
#      (Debian's, /usr/bin; the target: at least 3x faster);
#   2. with BASE=path (an earlier build of redis-persist), the same dumps and the
#      commands that share LZF, listpack/ziplist decoding and score formatting
#      (check-rdb, stats, rewrite, dump resp) against it: the new build must not
#      be slower on any of them.
#   benches/dump_jsonl.sh [RDB] [RUNS]
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 300,000 keys. BIN=path times another
# build instead of target/dist/redis-persist (built here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k300}
RDB=${1:-$BENCH_DIR/dump.rdb}
RUNS=${2:-7}
if [ ! -f "$RDB" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 300000
fi
if [ -z "${BIN:-}" ]; then
  cargo build --profile dist -q
  BIN=target/dist/redis-persist
fi
CHECK=${REDIS_CHECK_RDB:-/usr/bin/redis-check-rdb}
ls -l "$RDB"
echo "cpus: $(nproc); redis-check-rdb: $("$CHECK" --version 2>/dev/null | head -1 || echo "$CHECK")"
cmp() { python3 benches/compare.py "$RUNS" "$@"; }

for fmt in jsonl json; do
  echo "== dump --format $fmt vs redis-check-rdb (target: ratio redis-check-rdb/$fmt >= 3)"
  cmp "redis-check-rdb" "$CHECK '$RDB'" \
      "dump $fmt" "$BIN dump '$RDB' --format $fmt -o /dev/null"
done

if [ -n "${BASE:-}" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  for c in "dump '$RDB' --format jsonl -o /dev/null" \
           "dump '$RDB' --format jsonl --threads 1 -o /dev/null" \
           "dump '$RDB' --format resp -o /dev/null" \
           "check-rdb '$RDB'" \
           "stats '$RDB'" \
           "--no-progress rewrite '$RDB' --target redis-6.2 -o $out/rewritten.rdb --force"; do
    echo "== $c: base vs this build (ratio base/new > 1: faster)"
    cmp "base" "$BASE $c" "new" "$BIN $c"
  done
fi
