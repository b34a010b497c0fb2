#!/usr/bin/env bash
# stats vs redis-check-rdb on a large RDB made by a real redis-server, side by
# side in one run (alternating, median of RUNS, peak RSS, load average).
#   benches/stats.sh [RDB] [RUNS]
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 400,000 keys. The issue's targets:
# stats at least 5x faster than redis-check-rdb, peak RSS under 64 MB.
# Also times `stats --deep` (every value validated as check-rdb does).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k400}
RDB=${1:-$BENCH_DIR/dump.rdb}
RUNS=${2:-7}
if [ ! -f "$RDB" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 400000
fi
cargo build --profile dist -q
ls -l "$RDB"
echo "cpus: $(nproc); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 benches/compare.py "$RUNS" \
  redis-check-rdb "redis-check-rdb '$RDB'" \
  "redis-persist stats" "target/dist/redis-persist stats --json '$RDB'"
python3 benches/compare.py "$RUNS" \
  redis-check-rdb "redis-check-rdb '$RDB'" \
  "redis-persist stats --deep" "target/dist/redis-persist stats --deep --json '$RDB'"
