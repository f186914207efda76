#!/usr/bin/env bash
# Memory against sequence length (issue 16; BENCHMARKS.md, "Recurrent layers"): the fixtures
# lstm_t8 and lstm_t64 (one LSTM cell, 4 features and 8 units, and a Dense head, over 8 and 64
# timesteps, the same weights) each proven and verified with `kerafold prove` at the default
# step size, which folds a recurrent layer a timestep a step. Each run is its own process from
# empty parameters; peak RSS and wall time are /usr/bin/time's. Prints both and their ratio.
#
#   benches/recurrent.sh [RUNS]        (default: 3; the table gives each figure's median)
#
# The kerafold binary: $KERAFOLD_BIN, else target/release/kerafold (`cargo build --release`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
bin="${KERAFOLD_BIN:-$repo/target/release/kerafold}"
runs="${1:-3}"
fixtures="$repo/tests/fixtures"
out="$repo/target/recurrent-bench"
if [ ! -x "$bin" ]; then
    echo "error: no kerafold binary at $bin: run \`cargo build --release\` (or set KERAFOLD_BIN)" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time) is needed for peak memory: apt-get install time" >&2
    exit 2
fi
rm -rf "$out" && mkdir -p "$out"
# runs alternate between the two lengths, so a drift in the machine's speed hits both alike
for r in $(seq 1 "$runs"); do
    for t in 8 64; do
        echo "run $r, $t timesteps: prove and verify" >&2
        params="$out/params-$t-$r"
        /usr/bin/time -f "%M %e" -o "$out/prove-$t-$r.time" \
            "$bin" prove "$fixtures/lstm_t$t.keras" --input "$fixtures/lstm_t$t.json" \
            -o "$out/proof-$t-$r.json" --params-dir "$params" > "$out/prove-$t-$r.log" 2>&1
        /usr/bin/time -f "%M %e" -o "$out/verify-$t-$r.time" \
            "$bin" verify "$out/proof-$t-$r.json" --model "$fixtures/lstm_t$t.keras" \
            --params-dir "$params" > "$out/verify-$t-$r.log" 2>&1
        rm -rf "$params"
    done
done
python3 - "$out" "$runs" <<'PY'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def fig(kind, t):
    rows = [open(f"{out}/{kind}-{t}-{r}.time").read().split()[-2:] for r in range(1, runs + 1)]
    return statistics.median(int(m) / 1024 for m, _ in rows), statistics.median(float(s) for _, s in rows)
def folds(t):
    log = open(f"{out}/prove-{t}-1.log").read()
    m = re.search(r"constraints per fold: (\d+)", log)
    return m.group(1) if m else "?"
print(f"LSTM cell (4 features, 8 units) and its head, default step size, median of {runs} runs")
print("| timesteps | constraints a fold | prove peak MB | prove s | verify peak MB | verify s |")
print("|---|---|---|---|---|---|")
figs = {}
for t in (8, 64):
    (pm, ps), (vm, vs) = fig("prove", t), fig("verify", t)
    figs[t] = (pm, ps, vm, vs)
    print(f"| {t} | {folds(t)} | {pm:.0f} | {ps:.1f} | {vm:.0f} | {vs:.2f} |")
a, b = figs[64], figs[8]
print(f"| 64 / 8 | | {a[0] / b[0]:.2f}× | {a[1] / b[1]:.2f}× | {a[2] / b[2]:.2f}× | {a[3] / b[3]:.2f}× |")
PY
