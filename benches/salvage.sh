#!/usr/bin/env bash
# salvage vs check-rdb on an undamaged large RDB made by a real redis-server
# (issue 16: salvage at least half the speed of check-rdb, peak RSS < 64 MB),
# then on a damaged copy of it (8 bytes overwritten in the middle, the
# checksum left wrong; DAMAGED=0 skips it).
#   benches/salvage.sh [RDB] [RUNS]
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 300,000 keys. The output goes to
# $OUT (default: a temporary directory next to the input's, removed after).
# BIN=path times that binary instead of building target/release (for the
# figures, a build with the real LTO profile).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k300}
RDB=${1:-$BENCH_DIR/dump.rdb}
RUNS=${2:-5}
if [ ! -f "$RDB" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 300000
fi
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=target/release/redis-persist
fi
OUT_DIR=$(mktemp -d "$(dirname "$RDB")/salvage-bench.XXXXXX")
trap 'rm -rf "$OUT_DIR"' EXIT
OUT=${OUT:-$OUT_DIR/salvaged.rdb}
ls -l "$RDB"
python3 benches/compare.py "$RUNS" \
  "redis-persist salvage" "'$BIN' salvage '$RDB' -o '$OUT' --force 2>/dev/null" \
  "redis-persist check-rdb" "'$BIN' check-rdb '$RDB'"
cmp "$RDB" "$OUT" && echo "output identical to the (undamaged) input"
if [ "${DAMAGED:-1}" != 0 ]; then
  BAD=$OUT_DIR/damaged.rdb
  cp "$RDB" "$BAD"
  SIZE=$(stat -c %s "$BAD")
  printf '\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8' |
    dd of="$BAD" bs=1 seek=$((SIZE / 2)) conv=notrunc status=none
  echo "damaged copy: 8 bytes overwritten at byte $((SIZE / 2))"
  python3 benches/compare.py "$RUNS" \
    "redis-persist salvage" "'$BIN' salvage '$BAD' -o '$OUT' --force 2>/dev/null" \
    "redis-persist check-rdb" "'$BIN' check-rdb '$BAD'"
fi
