#!/usr/bin/env bash
# dump vs redis-check-rdb on a large RDB made by a real redis-server: the issue asks
# for `dump --format jsonl -o /dev/null` at least 3x faster than redis-check-rdb
# (which only reads the file) with a peak RSS under 64 MB.
#   benches/dump.sh [RDB] [RUNS]
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 400,000 keys. Runs alternate between
# the two tools; medians, ratios and peak RSS are printed with the load average
# (the machine may be shared: compare ratios measured in one run). Also times the
# other formats and a single-threaded jsonl dump.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k400}
RDB=${1:-$BENCH_DIR/dump.rdb}
RUNS=${2:-5}
if [ ! -f "$RDB" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 400000
fi
cargo build --profile dist -q
BIN=target/dist/redis-persist
ls -l "$RDB"
echo "cpus: $(nproc)"
echo "== jsonl (the target)"
python3 benches/compare.py "$RUNS" \
  redis-check-rdb "redis-check-rdb '$RDB'" \
  "dump --format jsonl" "$BIN dump '$RDB' --format jsonl -o /dev/null"
for fmt in json resp; do
  echo "== $fmt"
  python3 benches/compare.py "$RUNS" \
    redis-check-rdb "redis-check-rdb '$RDB'" \
    "dump --format $fmt" "$BIN dump '$RDB' --format $fmt -o /dev/null"
done
echo "== jsonl on one thread"
python3 benches/compare.py "$RUNS" \
  redis-check-rdb "redis-check-rdb '$RDB'" \
  "dump --threads 1" "$BIN dump '$RDB' --threads 1 -o /dev/null"
echo "== output size (jsonl): $($BIN dump "$RDB" | wc -c) bytes"
