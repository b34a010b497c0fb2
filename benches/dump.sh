#!/usr/bin/env bash
# The figures of issue 20 for `dump`, side by side (benches/compare.py alternates
# the two commands and prints medians, ratios, CPU and peak RSS, with the load
# average; the machine may be shared: compare ratios measured in one run):
#   1. default threads vs `--threads 1`, jsonl and resp, on an idle machine (the
#      target: at least 1.8x on 2 CPUs), then with one CPU kept busy by a busy
#      loop (the target: the default never slower than `--threads 1`);
#   2. `dump --format jsonl -o /dev/null` vs redis-check-rdb (at least 3x);
#   3. `dump --format resp` vs librdb's `rdb-cli FILE resp` (at least 6x), when
#      LIBRDB_RDB_CLI names an rdb-cli binary built from source (librdb is not
#      part of this repository: build it yourself, see the README); skipped
#      otherwise.
#   benches/dump.sh [RDB] [RUNS]
# Without RDB, uses (or creates) $BENCH_DIR/dump.rdb from
# ../shared/bench/make-bench-files.py with 300,000 keys. BUSY=0 skips the busy
# runs; BIN=path times another build instead of target/dist/redis-persist;
# BASE=path also times `--format resp` (one thread, then the default) against
# that build, side by side (e.g. a dist build of the commit before a change).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k300}
RDB=${1:-$BENCH_DIR/dump.rdb}
RUNS=${2:-5}
if [ ! -f "$RDB" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 300000
fi
if [ -z "${BIN:-}" ]; then
  cargo build --profile dist -q
  BIN=target/dist/redis-persist
fi
ls -l "$RDB"
echo "cpus: $(nproc)"
cmp() { python3 benches/compare.py "$RUNS" "$@"; }

for fmt in jsonl resp; do
  echo "== $fmt: default threads vs --threads 1 (idle)"
  cmp "$fmt --threads 1" "$BIN dump '$RDB' --format $fmt --threads 1 -o /dev/null" \
      "$fmt default" "$BIN dump '$RDB' --format $fmt -o /dev/null"
done

if [ "${BUSY:-1}" != 0 ]; then
  # One CPU kept busy by another process, at the same priority.
  sh -c 'while :; do :; done' &
  busy=$!
  trap 'kill "$busy" 2>/dev/null || true' EXIT
  for fmt in jsonl resp; do
    echo "== $fmt: default threads vs --threads 1, one CPU busy"
    cmp "$fmt --threads 1" "$BIN dump '$RDB' --format $fmt --threads 1 -o /dev/null" \
        "$fmt default" "$BIN dump '$RDB' --format $fmt -o /dev/null"
  done
  kill "$busy" 2>/dev/null || true
  wait "$busy" 2>/dev/null || true
  trap - EXIT
fi

echo "== jsonl vs redis-check-rdb (the target: 3x)"
cmp redis-check-rdb "redis-check-rdb '$RDB'" \
    "dump --format jsonl" "$BIN dump '$RDB' --format jsonl -o /dev/null"

if [ -n "${LIBRDB_RDB_CLI:-}" ] && [ -x "$LIBRDB_RDB_CLI" ]; then
  echo "== resp vs librdb rdb-cli resp (the target: 6x)"
  # rdb-cli writes one command per element (no batching) and every key,
  # expired ones included; its log goes to /dev/null.
  cmp "rdb-cli resp" "'$LIBRDB_RDB_CLI' '$RDB' -l /dev/null resp" \
      "dump --format resp" "$BIN dump '$RDB' --format resp -o /dev/null"
else
  echo "== resp vs librdb: skipped (set LIBRDB_RDB_CLI to an rdb-cli binary built from librdb)"
fi

if [ -n "${BASE:-}" ]; then
  for t in "--threads 1" ""; do
    echo "== resp ${t:-default threads}: this build vs BASE ($BASE)"
    cmp "BASE resp $t" "$BASE dump '$RDB' --format resp $t -o /dev/null" \
        "resp $t" "$BIN dump '$RDB' --format resp $t -o /dev/null"
  done
fi

echo "== json and --threads 1 vs redis-check-rdb"
cmp redis-check-rdb "redis-check-rdb '$RDB'" \
    "dump --format json" "$BIN dump '$RDB' --format json -o /dev/null"
cmp redis-check-rdb "redis-check-rdb '$RDB'" \
    "dump --threads 1" "$BIN dump '$RDB' --threads 1 -o /dev/null"
echo "== output size (jsonl): $($BIN dump "$RDB" | wc -c) bytes"
