#!/usr/bin/env bash
# Width as well as depth (issue 13; BENCHMARKS.md, "Width"): one wide Dense layer against a
# narrow one at the same step size. Each is `kerafold bench --kind classifier --depths 1` (a
# Dense WIDTH->WIDTH + ReLU layer, a Dense WIDTH->10 head and the ArgMax of ten logits) with Dense
# layers in tiles of STEP_SIZE, proven and verified in its own child process from empty
# parameters; the table gives both and their ratios.
#
#   benches/width.sh [STEP_SIZE] [WIDE] [NARROW]        (default: 120 4096 256)
#
# The kerafold binary: $KERAFOLD_BIN, else target/release/kerafold (`cargo build --release`).
# The 4096-wide layer is 16.8M weights: about 15 minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
bin="${KERAFOLD_BIN:-$repo/target/release/kerafold}"
step="${1:-120}" wide="${2:-4096}" narrow="${3:-256}"
out="$repo/target/width-bench"
if [ ! -x "$bin" ]; then
    echo "error: no kerafold binary at $bin: run \`cargo build --release\` (or set KERAFOLD_BIN)" >&2
    exit 2
fi
mkdir -p "$out"
for w in "$narrow" "$wide"; do
    echo "width $w: proving with --step-size $step" >&2
    "$bin" bench --kind classifier --width "$w" --depths 1 --step-size "$step" \
        --baseline-steps 2 --json > "$out/w$w.json"
done
python3 - "$out/w$narrow.json" "$out/w$wide.json" <<'PY'
import json, sys
n, w = (json.load(open(p)) for p in sys.argv[1:3])
rn, rw = n["rows"][0], w["rows"][0]
cols = [("peak_rss_mb", "peak MB", "{:.0f}"), ("prove_s", "prove s", "{:.1f}"),
        ("compress_s", "compress s", "{:.1f}"), ("verify_s", "verify s", "{:.2f}"),
        ("constraints_per_step", "constraints a fold", "{}"), ("proof_bytes", "proof bytes", "{}")]
print(f"Dense layers in tiles of {n.get('step_size')} ({n['system']}, {n['machine']})")
print("| width | steps | " + " | ".join(c[1] for c in cols) + " |")
print("|---" * (len(cols) + 2) + "|")
for r, rep in ((rn, n), (rw, w)):
    print(f"| {rep['width']} | {r['steps']} | " + " | ".join(f.format(r[k]) for k, _, f in cols) + " |")
print(f"| ratio | {rw['steps'] / rn['steps']:.0f}× | " +
      " | ".join(f"{rw[k] / rn[k]:.2f}×" for k, _, _ in cols) + " |")
PY
