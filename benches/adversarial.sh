#!/usr/bin/env bash
# The long adversarial runs (issue 19): every fuzz target for MINUTES each,
# then the long variants of the adversarial and mutation integration tests;
# prints a summary at the end and exits 1 if anything failed.
#   benches/adversarial.sh [MINUTES] [SEED]
# MINUTES defaults to 10 (the issue's bar), SEED (libFuzzer's, and from it the
# mutation tests' sequence) to 1. One fuzz target runs at a time.
# Knobs: FUZZ_SECONDS overrides MINUTES (a quick try of the script),
# TARGETS="rdb_read replay" runs only those targets, TESTS=0 skips the
# tests, FUZZ=0 the fuzzing; MUTATIONS (default 25000) cases for each mutation
# sweep (CHECK_RDB_MUTATIONS, default 5000, for the one against redis-check-rdb), SALVAGE_CASES (default 40) and SALVAGE_AOF_CASES (default 10) for the
# salvage tests. FUZZ_SANITIZER and FUZZ_TOOLCHAIN go to fuzz/run.sh.
# With the defaults: about 60 minutes of fuzzing, then about 35 of tests
# (measured on 2 shared CPUs: rdb_mutations 34 s and rdb_vs_redis_check_rdb
# 106 s per 3000 cases, salvage 23 s at 2 cases, salvage_aof 24 s at 1 case).
# The libFuzzer logs are fuzz/artifacts/TARGET/run.log; the scripts' and the
# tests' output is in target/adversarial/.
set -uo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
SEED=${2:-1}
FUZZ_SECONDS=${FUZZ_SECONDS:-$((MINUTES * 60))}
TARGETS=${TARGETS:-rdb_read rdb_roundtrip aof_read aof_input dump_payload replay}
# At least a few thousand: the mutation tests assert their sweep saw enough
# valid and broken files.
MUTATIONS=${MUTATIONS:-25000}
# rdb_vs_redis_check_rdb runs redis-check-rdb 7.0 once per case (106 s per
# 3000): its own knob, so the long run stays within the time above.
CHECK_RDB_MUTATIONS=${CHECK_RDB_MUTATIONS:-5000}
# The mutation tests' xorshift sequence, from SEED (well mixed: a small
# xorshift seed starts with small numbers).
MUTATION_SEED=$(printf '%u' $((SEED * 0x9E3779B97F4A7C15)))
SALVAGE_CASES=${SALVAGE_CASES:-40}
SALVAGE_AOF_CASES=${SALVAGE_AOF_CASES:-10}
# The tests' build settings (those of target/); not the fuzz workspace's.
TEST_ENV=(CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  CARGO_PROFILE_RELEASE_INCREMENTAL=true)
OUT=target/adversarial
mkdir -p "$OUT"
SUMMARY=()
FAILED=0

if [ "${FUZZ:-1}" != 0 ]; then
  fuzz/run.sh build || FAILED=1
  for t in $TARGETS; do
    fuzz/run.sh "$t" "$FUZZ_SECONDS" "$SEED" 2>&1 | tee "$OUT/fuzz-$t.txt"
    status=${PIPESTATUS[0]}
    [ "$status" = 0 ] || FAILED=1
    line=$(grep "^fuzz $t:" "$OUT/fuzz-$t.txt" | tail -1)
    SUMMARY+=("${line:-fuzz $t: no figures (exit $status)}")
  done
fi

# name, environment, test filter
run_test() {
  local name=$1 envs=$2 filter=$3 start status log
  log=$OUT/$name.log
  start=$(date +%s)
  env "${TEST_ENV[@]}" $envs cargo test --release --test it "$filter" -- --nocapture >"$log" 2>&1
  status=$?
  local wall=$(($(date +%s) - start))
  local res
  res=$(grep -E '^test result:' "$log" | tail -1)
  [ "$status" = 0 ] || FAILED=1
  SUMMARY+=("test $name${envs:+ ($envs)}: wall=${wall} s exit=$status ${res:-no result, see $log}")
  echo "${SUMMARY[-1]}"
}

if [ "${TESTS:-1}" != 0 ]; then
  env "${TEST_ENV[@]}" cargo test --release --test it --no-run -q || FAILED=1
  run_test adversarial "" adversarial::
  run_test nothing_lost "" nothing_lost::
  run_test rdb_mutations "REDIS_PERSIST_MUTATIONS=$MUTATIONS REDIS_PERSIST_MUTATION_SEED=$MUTATION_SEED" rdb_mutations::
  run_test rdb_payload_mutations "REDIS_PERSIST_MUTATIONS=$MUTATIONS REDIS_PERSIST_MUTATION_SEED=$MUTATION_SEED" rdb_payload_mutations::
  run_test rdb_vs_redis_check_rdb "REDIS_PERSIST_MUTATIONS=$CHECK_RDB_MUTATIONS REDIS_PERSIST_MUTATION_SEED=$MUTATION_SEED" rdb_vs_redis_check_rdb::
  run_test salvage "REDIS_PERSIST_SALVAGE_CASES=$SALVAGE_CASES REDIS_PERSIST_SALVAGE_LOADS=3" salvage::
  run_test salvage_aof "REDIS_PERSIST_SALVAGE_AOF_CASES=$SALVAGE_AOF_CASES" salvage_aof::
fi

echo
echo "== adversarial summary ($(date -u +%FT%TZ), $(git rev-parse --short HEAD), ${FUZZ_SECONDS} s per target, seed $SEED)"
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" = 0 ]; then echo "all passed"; else echo "FAILED"; fi
exit "$FAILED"
