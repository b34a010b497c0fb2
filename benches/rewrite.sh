#!/usr/bin/env bash
# rewrite benchmark, side by side with the only offline alternative: load the
# dataset into a server of the target line through RESP and let it save
# (`dump --format resp | redis-cli --pipe` into redis-server 7.0, then SAVE).
#
# Reports, best of RUNS runs (default 3; the machine is shared):
#   * `rewrite --target redis-7.0`: wall time and peak RSS (/usr/bin/time -v);
#   * the RESP route: wall time of dump | redis-cli --pipe + SAVE (server
#     start-up excluded), and the server's peak RSS;
#   * DEBUG DIGEST of redis-server 7.0 loading the input and our output:
#     must be equal.
#
# Usage: benches/rewrite.sh [BENCH_DIR]   (default /tmp/bench/k400, made by
# ../shared/bench/make-bench-files.py; its dump.rdb is the input).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${1:-${BENCH_DIR:-/tmp/bench/k400}}
RUNS=${RUNS:-3}
INPUT=$BENCH_DIR/dump.rdb
[ -f "$INPUT" ] || python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 400000
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -x target/release/redis-persist ] || cargo build --release >/dev/null 2>&1
BIN=target/release/redis-persist

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.2f}')" "$1" "$2"; }
elapsed_of() {
  grep 'Elapsed (wall' "$1" | awk '{print $NF}' | python3 -c "
import sys
p=[float(x) for x in sys.stdin.read().strip().split(':')]
print(f'{sum(v*60**i for i,v in enumerate(reversed(p))):.2f}')"
}
rss_mb() { grep 'Maximum resident' "$1" | awk '{print int($NF/1024)}'; }
start_server() { # DIR ARGS...: sets PORT, PID
  local dir=$1; shift
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  /usr/bin/redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
    --enable-debug-command yes --logfile "$dir/server.log" "$@" &
  PID=$!
  PIDS+=("$PID")
  until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG \
     && redis-cli -p "$PORT" info persistence 2>/dev/null | grep -q '^loading:0'; do
    sleep 0.02
  done
}
stop_server() { redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; wait "$PID" 2>/dev/null || true; }
best() { sort -n | head -1; }

echo "input: $INPUT ($(du -h "$INPUT" | cut -f1))"
ours=(); ours_rss=(); theirs=(); theirs_rss=()
for r in $(seq "$RUNS"); do
  rm -f "$WORK/ours.rdb"
  /usr/bin/time -v "$BIN" --no-progress rewrite "$INPUT" -o "$WORK/ours.rdb" \
    --target redis-7.0 --incompatible drop-feature 2>"$WORK/time.txt" >/dev/null || true
  ours+=("$(elapsed_of "$WORK/time.txt")"); ours_rss+=("$(rss_mb "$WORK/time.txt")")

  rm -rf "$WORK/srv"; mkdir "$WORK/srv"
  start_server "$WORK/srv" --dbfilename resp.rdb
  t0=$(now)
  "$BIN" --no-progress dump "$INPUT" --format resp | redis-cli -p "$PORT" --pipe >/dev/null
  redis-cli -p "$PORT" save >/dev/null
  t1=$(now)
  theirs+=("$(secs "$t0" "$t1")")
  theirs_rss+=("$(grep VmHWM /proc/"$PID"/status | awk '{print int($2/1024)}')")
  stop_server
done
o=$(printf '%s\n' "${ours[@]}" | best); t=$(printf '%s\n' "${theirs[@]}" | best)
echo "rewrite --target redis-7.0: ${o}s, peak RSS $(printf '%s\n' "${ours_rss[@]}" | best) MB"
echo "dump --format resp | redis-cli --pipe + SAVE (redis-server 7.0): ${t}s, server peak RSS $(printf '%s\n' "${theirs_rss[@]}" | best) MB"
python3 -c "import sys; print(f'speed-up: {float(sys.argv[2])/float(sys.argv[1]):.1f}x')" "$o" "$t"

# Our output holds the input's dataset: redis-server 7.0 loading the input and
# loading our output (started together, so that the same keys have expired)
# give the same DEBUG DIGEST. The RESP route's digest is shown too: keys
# expire while it runs, so it can differ by what expired in between.
mkdir -p "$WORK/a" "$WORK/b" "$WORK/c"
cp "$INPUT" "$WORK/a/dump.rdb"; cp "$WORK/ours.rdb" "$WORK/b/dump.rdb"; cp "$WORK/srv/resp.rdb" "$WORK/c/dump.rdb"
start_server "$WORK/a"; PA=$PORT; QA=$PID
start_server "$WORK/b"; da=$(redis-cli -p "$PA" debug digest); db=$(redis-cli -p "$PORT" debug digest); stop_server
PORT=$PA; PID=$QA; stop_server
start_server "$WORK/c"; dc=$(redis-cli -p "$PORT" debug digest); stop_server
echo "DEBUG DIGEST: input $da, ours $db, RESP route $dc"
[ "$da" = "$db" ] || { echo "DIGESTS DIFFER"; exit 1; }
