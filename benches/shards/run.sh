#!/usr/bin/env bash
# Sharded accuracy proofs at scale (see BENCHMARKS.md, "Accuracy proofs at scale: shards").
#
#   benches/shards/run.sh [--sizes 8,16,32] [--overhead 4x8] [--verify-records 16] [--verify-shards 2]
#                         [--records 10000] [--work-dir DIR] [--workers 1,8,64]
#
# Makes the Python venv target/shards-bench-venv (outside git) from benches/shards/requirements.txt
# if it is missing or the requirements changed (Keras on JAX, only to write the model), then runs
# bench.py with the arguments given: it writes the MNIST-class CNN and 10,000 synthetic 28x28
# records, proves shards of them, combines and verifies, and writes target/shards-bench/results.json
# and results.md. The kerafold binary: $KERAFOLD_BIN, else target/release/kerafold
# (`cargo build --release --bin kerafold`); bench.py proves with a copy of it.
# It took 2.5 hours on 2 cores shared with other work (BENCHMARKS.md); a compression alone is
# several minutes for this 690k-constraint step.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/target/shards-bench-venv"
# shellcheck source=../venv.sh
. "$here/../venv.sh"
ensure_venv "$venv" "$here/requirements.txt"

export KERAS_BACKEND=jax JAX_PLATFORMS=cpu
exec "$venv/bin/python" "$here/bench.py" "$@"
