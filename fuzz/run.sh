#!/usr/bin/env bash
# Runs one fuzz target for a bounded time, from seeds, and prints its figures.
#   fuzz/run.sh TARGET SECONDS [SEED]
#   fuzz/run.sh build        (builds every target, as the runs build them)
# The one place the fuzzing commands live: .ci/run (a short seeded run per
# target) and benches/adversarial.sh (the long runs) both call it.
#
# Seeds fuzz/corpus/TARGET from the shared corpus ($REDIS_PERSIST_CORPUS,
# default ../shared/corpus) and testdata/ (fuzz/seeds.py), builds the target
# (release with debug assertions and overflow checks, AddressSanitizer: an
# arithmetic overflow on input data is a crash too) and runs it for SECONDS with libFuzzer's random
# seed SEED (default 1). A crash, a panic, a hang (one input over
# $FUZZ_TIMEOUT s, default 10) or a run over libFuzzer's memory limit (2 GB)
# fails: exit 1, with the artifact and the failure's first lines. The last
# line of the output is the summary:
#   fuzz TARGET: wall=S s execs=N exec/s=N corpus=N/SIZE files=N (+new) cov=N crashes=N peak_rss=N MB seed=N
# (corpus: libFuzzer's, reduced; files: in corpus/TARGET, +new in this run;
# cov: edges covered).
# The full libFuzzer log is fuzz/artifacts/TARGET/run.log.
#
# Toolchain: `cargo +nightly` when rustup has a nightly; otherwise the default
# toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes `-Z` flags to rustc), and
# the script says so. FUZZ_TOOLCHAIN=stable|nightly forces one.
# FUZZ_SANITIZER (default address; none builds and runs faster) is passed to
# `cargo fuzz -s`.
set -euo pipefail
cd "$(dirname "$0")"
# The fuzz workspace builds with its own release profile, whatever the
# package's build was told (so that a build made once is reused).
unset CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_CODEGEN_UNITS CARGO_PROFILE_RELEASE_INCREMENTAL
if [ $# -lt 2 ] && [ "${1:-}" != build ]; then
  echo "usage: fuzz/run.sh TARGET SECONDS [SEED] | fuzz/run.sh build" >&2
  exit 2
fi
TARGET=$1
SECONDS_=${2:-}
SEED=${3:-1}
TIMEOUT=${FUZZ_TIMEOUT:-10}
SANITIZER=${FUZZ_SANITIZER:-address}
if [ "$TARGET" != build ] && ! grep -q "^name = \"$TARGET\"$" Cargo.toml; then
  echo "fuzz/run.sh: no target $TARGET in fuzz/Cargo.toml" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: cargo-fuzz is missing (cargo install --locked cargo-fuzz)" >&2
  exit 2
fi

# The toolchain.
TOOLCHAIN=${FUZZ_TOOLCHAIN:-}
if [ -z "$TOOLCHAIN" ]; then
  if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
    TOOLCHAIN=nightly
  else
    TOOLCHAIN=stable
  fi
fi
if [ "$TOOLCHAIN" = nightly ]; then
  CARGO=(cargo +nightly)
else
  echo "fuzz/run.sh: no nightly toolchain; using $(rustc --version) with RUSTC_BOOTSTRAP=1" >&2
  export RUSTC_BOOTSTRAP=1
  CARGO=(cargo)
fi
if [ "$TARGET" = build ]; then
  exec "${CARGO[@]}" fuzz build -O -a -s "$SANITIZER"
fi

# The seeds.
CORPUS_ROOT=${REDIS_PERSIST_CORPUS:-../../shared/corpus}
ROOTS=(../testdata)
if [ -f "$CORPUS_ROOT/README.md" ]; then
  ROOTS+=("$CORPUS_ROOT")
elif [ "${CI:-}" = true ]; then
  echo "fuzz/run.sh: the corpus is missing at $CORPUS_ROOT (set REDIS_PERSIST_CORPUS); CI requires it" >&2
  exit 2
else
  echo "fuzz/run.sh: no corpus at $CORPUS_ROOT; seeds from testdata/ only" >&2
fi
CORPUS=corpus/$TARGET
ARTIFACTS=artifacts/$TARGET
mkdir -p "$CORPUS" "$ARTIFACTS"
python3 seeds.py "$TARGET" "$CORPUS" "${ROOTS[@]}" >/dev/null
if [ -z "$(ls -A "$CORPUS")" ]; then
  echo "fuzz/run.sh: no seeds for $TARGET" >&2
  exit 2
fi
BEFORE=$(find "$CORPUS" -type f | wc -l)

# Built before the clock starts (nothing to do when `run.sh build` ran).
"${CARGO[@]}" fuzz build -O -a -s "$SANITIZER" "$TARGET"

# The run. libFuzzer writes its artifacts (crash-*, timeout-*, oom-*, leak-*)
# in artifacts/TARGET/ (cargo-fuzz's -artifact_prefix).
LOG=$ARTIFACTS/run.log
MARK=$(mktemp)
trap 'rm -f "$MARK"' EXIT
START=$(date +%s)
STATUS=0
"${CARGO[@]}" fuzz run -O -a -s "$SANITIZER" "$TARGET" "$CORPUS" -- \
  -seed="$SEED" -max_total_time="$SECONDS_" -timeout="$TIMEOUT" -max_len=65536 \
  -detect_leaks=0 -print_final_stats=1 >"$LOG" 2>&1 || STATUS=$?
WALL=$(($(date +%s) - START))

fstat() { sed -n "s/^stat::$1: *//p" "$LOG" | tail -1; }
last() { grep -Eo "$1: [0-9]+" "$LOG" | tail -1 | sed 's/.*: //'; }
EXECS=$(fstat number_of_executed_units)
RATE=$(fstat average_exec_per_sec)
RSS=$(fstat peak_rss_mb)
COV=$(last cov)
CORP=$(grep -Eo "corp: [0-9]+/[0-9]+[a-zA-Z]*" "$LOG" | tail -1 | sed 's/corp: //')
AFTER=$(find "$CORPUS" -type f | wc -l)
NEW_ARTIFACTS=$(find "$ARTIFACTS" -type f -newer "$MARK" \
  \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
CRASHES=$(printf '%s' "$NEW_ARTIFACTS" | grep -c . || true)
if [ "$STATUS" != 0 ] && [ "$CRASHES" = 0 ]; then
  CRASHES=1
fi
if [ "$CRASHES" != 0 ]; then
  echo "fuzz/run.sh: $TARGET failed (exit $STATUS); the log is fuzz/$LOG" >&2
  # The panic message, or the sanitizer's or libFuzzer's verdict.
  { grep -E -A3 "panicked at" "$LOG" | head -12
    grep -E -A2 "^==[0-9]+==ERROR|ERROR: libFuzzer|^SUMMARY:" "$LOG" | head -12; } >&2
  for a in $NEW_ARTIFACTS; do echo "artifact: fuzz/$a" >&2; done
fi
echo "fuzz $TARGET: wall=${WALL} s execs=${EXECS:-?} exec/s=${RATE:-?}" \
  "corpus=${CORP:-?} files=$AFTER (+$((AFTER - BEFORE))) cov=${COV:-?} crashes=$CRASHES" \
  "peak_rss=${RSS:-?} MB seed=$SEED"
[ "$CRASHES" = 0 ]
