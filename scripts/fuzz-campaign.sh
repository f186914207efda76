#!/usr/bin/env bash
# Runs the cargo-fuzz campaign of FUZZING.md: every target (or those named), one at a time,
# for FUZZ_SECONDS each (default 240), niced, on stable Rust. Prints one line per target:
# target, executions, seconds, crash files. Logs and the grown corpus stay in fuzz/work/.
# A target with a dictionary fuzz/dicts/<target>.dict gets -dict=... .
#   scripts/fuzz-campaign.sh [target ...]        FUZZ_SECONDS=600 scripts/fuzz-campaign.sh keras
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-240}"
export RUSTC_BOOTSTRAP=1 # cargo-fuzz passes -Z flags; only stable 1.95 is installed
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
nice -n 15 cargo fuzz build --sanitizer none --debug-assertions >&2
mkdir -p work/logs
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "artifacts/$t"
    log="work/logs/$t.log"
    start=$(date +%s)
    dict=()
    if [ -f "dicts/$t.dict" ]; then dict=("-dict=dicts/$t.dict"); fi
    set +e
    nice -n 15 cargo fuzz run --sanitizer none --debug-assertions "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
    # after a crash libFuzzer prints no final stats: take its last status line (#N)
    execs=${execs:-$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)}
    crashes=$(ls "artifacts/$t" | wc -l)
    echo "$t execs=${execs:-?} seconds=$((end - start)) exit=$rc artifacts=$crashes"
done
