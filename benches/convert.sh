#!/usr/bin/env bash
# convert-aof-to-hybrid benchmark, side by side with the reference: redis-server
# itself (load the AOF, then BGREWRITEAOF with aof-use-rdb-preamble yes, which
# is what the command does offline).
#
# For each input it reports:
#   * our conversion: wall time and peak RSS (/usr/bin/time -v);
#   * redis-server: start-up time on the input (until PING answers and INFO
#     persistence says loading:0), then the BGREWRITEAOF time, and its peak RSS;
#   * redis-server start-up time on our output, and the ratio;
#   * DEBUG DIGEST of a server loaded from the input and from our output (see
#     the check at the end of bench()) - they must be identical.
#
# Each figure is the best of RUNS runs (default 3; peak RSS: the largest):
# the machine is shared. The memory target (issue 20): our peak RSS at most
# the server's peak RSS loading the same AOF, measured in the same run; each
# input ends with that comparison. With BASELINE=path/to/an/older/redis-persist
# the conversion is also timed side by side with it (benches/compare.py,
# alternating runs, medians): "no loss of speed".
#
# Usage: benches/convert.sh [BENCH_DIR...]   (default /tmp/bench/k300 and
# /tmp/bench/k1200: 300,000 and 1,200,000 keys, made by
# ../shared/bench/make-bench-files.py when missing, the key count taken from
# the directory name kN = N thousand keys)
# Inputs: BENCH_DIR/aof-incr (multi-part, converted to a directory) and
# BENCH_DIR/appendonly.aof (single file, converted with --single-file).
# SERVER: the redis-server binary (default: redis-server on PATH, Debian's
# 7.0 at /usr/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  if [ -n "${BENCH_DIR:-}" ]; then set -- "$BENCH_DIR"; else set -- /tmp/bench/k300 /tmp/bench/k1200; fi
fi
RUNS=${RUNS:-3}
SERVER=${SERVER:-redis-server}
BASELINE=${BASELINE:-}
for BENCH_DIR in "$@"; do
  if [ ! -f "$BENCH_DIR/aof-incr/appendonly.aof.manifest" ] || [ ! -f "$BENCH_DIR/appendonly.aof" ]; then
    keys=$(basename "$BENCH_DIR" | sed -n 's/^k\([0-9]*\)$/\1000/p')
    python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys "${keys:-400000}"
  fi
done
echo "redis-server: $("$SERVER" --version)"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# BIN: the binary to measure (default: the shipped profile, built here).
if [ -z "${BIN:-}" ]; then
  cargo build --profile dist >/dev/null 2>&1
  BIN=target/dist/redis-persist
fi

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.2f}')" "$1" "$2"; }
elapsed_of() { # /usr/bin/time -v output -> seconds
  grep 'Elapsed (wall' "$1" | awk '{print $NF}' | python3 -c "
import sys
p=[float(x) for x in sys.stdin.read().strip().split(':')]
print(f'{sum(v*60**i for i,v in enumerate(reversed(p))):.2f}')"
}
rss_mb() { grep 'Maximum resident' "$1" | awk '{print int($NF/1024)}'; }

# start_server DIR ARGS...: starts redis-server in DIR, waits until it has
# loaded; sets PORT, PID, STARTUP (seconds).
start_server() {
  local dir=$1; shift
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local t0; t0=$(now)
  "$SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
    --enable-debug-command yes --logfile "$dir/server.log" "$@" &
  PID=$!
  PIDS+=("$PID")
  until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG \
     && redis-cli -p "$PORT" info persistence 2>/dev/null | grep -q '^loading:0'; do
    sleep 0.02
  done
  STARTUP=$(secs "$t0" "$(now)")
}
stop_server() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$PID" 2>/dev/null || true
}
server_rss_mb() { awk '/VmHWM/{print int($2/1024)}' "/proc/$PID/status"; }

best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

# copy_in INPUT DIR: places an AOF input in DIR as redis-server finds it
# (a directory as appendonlydir, a single file as appendonly.aof).
copy_in() {
  rm -rf "$2"; mkdir -p "$2"
  if [ -d "$1" ]; then cp -r "$1" "$2/appendonlydir"; else cp "$1" "$2/appendonly.aof"; fi
}
AOF_ARGS=(--appendonly yes --appenddirname appendonlydir --appendfilename appendonly.aof)

bench() { # label, input path, extra convert args...
  local label=$1 input=$2; shift 2
  local conv=("$@")
  echo "== $label: $input ($(du -sh "$input" | cut -f1)), best of $RUNS"
  local out="$WORK/$label.out"

  # Ours.
  local ours=() ours_mb=0
  for _ in $(seq "$RUNS"); do
    rm -rf "$out"
    /usr/bin/time -v "$BIN" --no-progress convert-aof-to-hybrid "$input" -o "$out" "${conv[@]}" \
      >"$WORK/$label.summary" 2>"$WORK/$label.time"
    ours+=("$(elapsed_of "$WORK/$label.time")")
    local mb; mb=$(rss_mb "$WORK/$label.time"); [ "$mb" -gt "$ours_mb" ] && ours_mb=$mb
  done
  local ours_s; ours_s=$(best "${ours[@]}")
  echo "redis-persist convert: ${ours[*]} s -> ${ours_s}s, peak RSS ${ours_mb} MB, output $(du -sh "$out" | cut -f1)"

  # redis-server on the input: start-up, then BGREWRITEAOF (the reference).
  local starts=() rewrites=() srv_mb=0
  for _ in $(seq "$RUNS"); do
    copy_in "$input" "$WORK/srv"
    start_server "$WORK/srv" "${AOF_ARGS[@]}" --aof-use-rdb-preamble yes
    starts+=("$STARTUP")
    local t0; t0=$(now)
    redis-cli -p "$PORT" bgrewriteaof >/dev/null
    until redis-cli -p "$PORT" info persistence | grep -q '^aof_rewrite_in_progress:0' \
       && redis-cli -p "$PORT" info persistence | grep -q '^aof_rewrite_scheduled:0'; do sleep 0.05; done
    rewrites+=("$(secs "$t0" "$(now)")")
    local mb; mb=$(server_rss_mb); [ "$mb" -gt "$srv_mb" ] && srv_mb=$mb
    stop_server
  done
  local in_start rewrite_s; in_start=$(best "${starts[@]}"); rewrite_s=$(best "${rewrites[@]}")
  echo "redis-server on the input: start-up ${starts[*]} s -> ${in_start}s, BGREWRITEAOF ${rewrites[*]} s -> ${rewrite_s}s, peak RSS ${srv_mb} MB (main process)"

  # redis-server on our output.
  starts=()
  for _ in $(seq "$RUNS"); do
    copy_in "$out" "$WORK/srv2"
    start_server "$WORK/srv2" "${AOF_ARGS[@]}"
    starts+=("$STARTUP")
    stop_server
  done
  local out_start; out_start=$(best "${starts[@]}")
  echo "redis-server on our output: start-up ${starts[*]} s -> ${out_start}s"

  python3 - "$ours_s" "$in_start" "$rewrite_s" "$out_start" "$ours_mb" "$srv_mb" <<'PY'
import sys
ours, start_in, rewrite, start_out, ours_mb, srv_mb = map(float, sys.argv[1:])
ref = start_in + rewrite
print(f"conversion: ours {ours:.2f}s vs redis-server load + BGREWRITEAOF {ref:.2f}s ({ref/ours:.2f}x)")
print(f"start-up: {start_in:.2f}s on the input, {start_out:.2f}s on our output ({start_in/start_out:.1f}x faster)")
print(f"peak RSS: ours {ours_mb:.0f} MB, redis-server {srv_mb:.0f} MB "
      f"(ours/server {ours_mb/srv_mb:.2f}: {'at most' if ours_mb <= srv_mb else 'MORE than'} the server's)")
PY
  if [ -n "$BASELINE" ]; then
    echo "side by side with BASELINE=$BASELINE ($RUNS runs each, alternating):"
    python3 benches/compare.py "$RUNS" \
      baseline "rm -rf $out; $BASELINE --no-progress convert-aof-to-hybrid $input -o $out ${conv[*]}" \
      this "rm -rf $out; $BIN --no-progress convert-aof-to-hybrid $input -o $out ${conv[*]}"
  fi

  # Same dataset? Keys of the bench files expire over time, so the check
  # converts with --keep-expired and compares servers started as replicas of
  # an unreachable master: a replica loads its AOF at start but never deletes
  # expired keys, so DEBUG DIGEST sees the whole loaded dataset on both sides.
  rm -rf "$out"
  "$BIN" --no-progress convert-aof-to-hybrid "$input" -o "$out" "${conv[@]}" --keep-expired >/dev/null
  local nowhere; nowhere=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  copy_in "$input" "$WORK/srv"
  start_server "$WORK/srv" "${AOF_ARGS[@]}" --replicaof 127.0.0.1 "$nowhere"
  local in_digest in_keys; in_digest=$(redis-cli -p "$PORT" debug digest); in_keys=$(redis-cli -p "$PORT" dbsize)
  stop_server
  copy_in "$out" "$WORK/srv2"
  start_server "$WORK/srv2" "${AOF_ARGS[@]}" --replicaof 127.0.0.1 "$nowhere"
  local out_digest out_keys; out_digest=$(redis-cli -p "$PORT" debug digest); out_keys=$(redis-cli -p "$PORT" dbsize)
  stop_server
  if [ "$in_digest" = "$out_digest" ] && [ "$in_keys" = "$out_keys" ]; then
    echo "DEBUG DIGEST identical ($in_digest, $in_keys keys)"
  else
    echo "DEBUG DIGEST DIFFERS: input $in_digest ($in_keys keys), output $out_digest ($out_keys keys)"
    exit 1
  fi
  rm -rf "$WORK/srv" "$WORK/srv2" "$out"
  echo
}

for BENCH_DIR in "$@"; do
  name=$(basename "$BENCH_DIR")
  bench "$name-multipart" "$BENCH_DIR/aof-incr"
  bench "$name-single-file" "$BENCH_DIR/appendonly.aof" --single-file
done
