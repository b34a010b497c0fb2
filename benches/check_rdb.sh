#!/usr/bin/env bash
# check-rdb vs redis-check-rdb on a large RDB made by a real redis-server.
#   benches/check_rdb.sh [RDB] [RUNS]
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 400,000 keys.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k400}
RDB=${1:-$BENCH_DIR/dump.rdb}
RUNS=${2:-5}
if [ ! -f "$RDB" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 400000
fi
cargo build --profile dist -q
ls -l "$RDB"
python3 benches/compare.py "$RUNS" \
  redis-check-rdb "redis-check-rdb '$RDB'" \
  "redis-persist check-rdb" "target/dist/redis-persist check-rdb '$RDB'"
