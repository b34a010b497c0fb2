#!/usr/bin/env bash
# Replay + RDB write benchmark (library half of convert-aof-to-hybrid), side by
# side with redis-server loading the same AOF, and a check that the RDB we write
# holds the same dataset (DEBUG DIGEST of a server loading each).
#
# Usage: benches/replay_write.sh [AOF_DIR]   (default $BENCH_DIR/aof-incr, a
# multi-part directory made by ../shared/bench/make-bench-files.py; created with
# 400,000 keys when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/bench/k400}
AOF_DIR=${1:-$BENCH_DIR/aof-incr}
if [ ! -f "$AOF_DIR/appendonly.aof.manifest" ]; then
  python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 400000
fi
WORK=$(mktemp -d)
trap 'for p in $(cat "$WORK"/pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

cargo build --release --example replay_write >/dev/null 2>&1
BIN=target/release/examples/replay_write

# Files in manifest order (base first, then incr), RESP only.
mapfile -t FILES < <(awk '$6=="b"{print $2}' "$AOF_DIR/appendonly.aof.manifest"; awk '$6=="i"{print $2}' "$AOF_DIR/appendonly.aof.manifest")
PATHS=()
for f in "${FILES[@]}"; do PATHS+=("$AOF_DIR/$f"); done

echo "== ours: replay + write RDB 10"
/usr/bin/time -v "$BIN" "$WORK/out.rdb" "${PATHS[@]}" 2>"$WORK/ours.time"
OURS_S=$(grep 'Elapsed (wall' "$WORK/ours.time" | awk '{print $NF}')
OURS_KB=$(grep 'Maximum resident' "$WORK/ours.time" | awk '{print $NF}')
echo "wall $OURS_S  peak RSS ${OURS_KB} KB  output $(stat -c %s "$WORK/out.rdb") bytes"
redis-check-rdb "$WORK/out.rdb" | tail -4

start_server() { # dir, extra args...; prints load seconds, sets PORT
  local dir=$1; shift
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local t0; t0=$(date +%s.%N)
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' --enable-debug-command yes \
    --logfile "$dir/server.log" "$@" &
  echo $! >>"$WORK/pids"
  until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
  local t1; t1=$(date +%s.%N)
  LOAD_S=$(python3 -c "print(round($t1-$t0,2))")
  RSS_KB=$(grep VmHWM /proc/"$(cat "$WORK/pids" | tail -1)"/status | awk '{print $2}')
}

echo "== redis-server loading the AOF"
mkdir -p "$WORK/aof/appendonlydir"
cp "$AOF_DIR"/* "$WORK/aof/appendonlydir/"
start_server "$WORK/aof" --appendonly yes --appenddirname appendonlydir
AOF_LOAD=$LOAD_S; AOF_RSS=$RSS_KB
AOF_DIGEST=$(redis-cli -p "$PORT" debug digest)
echo "start-up $AOF_LOAD s  peak RSS $AOF_RSS KB  digest $AOF_DIGEST"
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true

echo "== redis-server loading our RDB"
mkdir -p "$WORK/rdb"
cp "$WORK/out.rdb" "$WORK/rdb/dump.rdb"
start_server "$WORK/rdb" --dbfilename dump.rdb
RDB_LOAD=$LOAD_S; RDB_RSS=$RSS_KB
RDB_DIGEST=$(redis-cli -p "$PORT" debug digest)
echo "start-up $RDB_LOAD s  peak RSS $RDB_RSS KB  digest $RDB_DIGEST"
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true

echo "== summary"
python3 - "$OURS_S" "$AOF_LOAD" "$RDB_LOAD" "$OURS_KB" "$AOF_RSS" <<'PY'
import sys
def secs(t):
    parts=[float(p) for p in t.split(':')]
    return sum(p*60**i for i,p in enumerate(reversed(parts)))
ours, aof, rdb = secs(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"replay+write {ours:.2f}s = {ours/aof:.2f}x redis-server's AOF load ({aof:.2f}s)")
print(f"start-up from our RDB {rdb:.2f}s vs from the AOF {aof:.2f}s: {aof/rdb:.1f}x faster")
print(f"peak RSS ours {int(sys.argv[4])//1024} MB vs redis-server loading the AOF {int(sys.argv[5])//1024} MB")
PY
if [ "$AOF_DIGEST" = "$RDB_DIGEST" ]; then echo "DEBUG DIGEST identical"; else echo "DEBUG DIGEST DIFFERS"; exit 1; fi
