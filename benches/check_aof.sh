#!/usr/bin/env bash
# Benchmark: `redis-persist check-aof` against `redis-check-aof`, side by side in one
# run, on the bench files made by /work/shared/bench/make-bench-files.py:
#   * appendonly.aof — a single-file RESP AOF (400,000 keys, 463 MB);
#   * aof-incr/      — the same commands as a multi-part AOF (empty BASE + INCR),
#                      given as the manifest;
#   * aof-hybrid/    — a multi-part AOF with an RDB base: both sides spend their
#                      time validating the RDB (informational, no target).
# Each tool runs once to warm the page cache, then the two alternate RUNS times
# (so that both see the same machine load); the best wall time and the peak RSS
# (/usr/bin/time -v "Maximum resident set size") are reported, with the ratio. Targets: at least 10x faster, peak RSS under 64 MB.
#
# Usage: benches/check_aof.sh [BENCH_DIR]   (default /tmp/bench/k400)
# Env: RUNS (default 5), BIN (default target/dist/redis-persist),
#      UPSTREAM (default redis-check-aof).
# Note: redis-check-aof opens the files read-write even to check them (it does
# not change them without --fix); redis-persist opens them read-only.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH=${1:-/tmp/bench/k400}
RUNS=${RUNS:-5}
BIN=${BIN:-target/dist/redis-persist}
UPSTREAM=${UPSTREAM:-redis-check-aof}

cargo build --profile dist --quiet
command -v "$UPSTREAM" >/dev/null || { echo "$UPSTREAM not found" >&2; exit 2; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# once CMD... → sets SECS and KB for one run; fails if CMD exits non-zero.
once() {
    /usr/bin/time -v -o "$tmp" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    local wall
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp")
    KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp")
    SECS=$(awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"$wall")
}

status=0
printf '%-34s %-16s %9s %12s %10s\n' "input" "tool" "best (s)" "peak RSS MB" "speed-up"
run_pair() {
    local label=$1 upstream_arg=$2 ours_arg=$3 targets=${4:-yes}
    # Warm the page cache, then alternate the two tools so that both see the same
    # machine load; keep the best time and the highest RSS of each.
    "$UPSTREAM" "$upstream_arg" >/dev/null 2>&1 || { echo "failed: $UPSTREAM $upstream_arg" >&2; exit 1; }
    "$BIN" --no-progress check-aof "$ours_arg" >/dev/null 2>&1 || { echo "failed: $BIN $ours_arg" >&2; exit 1; }
    local ub="" ur=0 ob="" or=0
    for _ in $(seq "$RUNS"); do
        once "$UPSTREAM" "$upstream_arg"
        if [ -z "$ub" ] || awk "BEGIN { exit !($SECS < $ub) }"; then ub=$SECS; fi
        [ "$KB" -gt "$ur" ] && ur=$KB
        once "$BIN" --no-progress check-aof "$ours_arg"
        if [ -z "$ob" ] || awk "BEGIN { exit !($SECS < $ob) }"; then ob=$SECS; fi
        [ "$KB" -gt "$or" ] && or=$KB
    done
    local ratio
    ratio=$(awk "BEGIN { printf \"%.1f\", $ub / ($ob > 0 ? $ob : 0.001) }")
    printf '%-34s %-16s %9.2f %12.1f\n' "$label" "redis-check-aof" "$ub" "$(awk "BEGIN { print $ur / 1024 }")"
    printf '%-34s %-16s %9.2f %12.1f %9sx\n' "" "redis-persist" "$ob" "$(awk "BEGIN { print $or / 1024 }")" "$ratio"
    [ "$targets" = yes ] || return 0
    if awk "BEGIN { exit !($ratio < 10) }"; then echo "  FAIL: less than 10x faster"; status=1; fi
    if [ "$or" -ge $((64 * 1024)) ]; then echo "  FAIL: peak RSS over 64 MB"; status=1; fi
}

size_mb() { du -m --apparent-size "$1" | cut -f1; }
run_pair "appendonly.aof ($(size_mb "$BENCH/appendonly.aof") MB)" "$BENCH/appendonly.aof" "$BENCH/appendonly.aof"
run_pair "aof-incr/ manifest ($(size_mb "$BENCH/aof-incr") MB)" "$BENCH/aof-incr/appendonly.aof.manifest" "$BENCH/aof-incr"
if [ -d "$BENCH/aof-hybrid" ]; then
    # RDB base: the time goes to the deep RDB validation (no 10x target here).
    run_pair "aof-hybrid/ manifest ($(size_mb "$BENCH/aof-hybrid") MB, RDB)" \
        "$BENCH/aof-hybrid/appendonly.aof.manifest" "$BENCH/aof-hybrid" no
fi
exit $status
