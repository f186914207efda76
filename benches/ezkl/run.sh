#!/usr/bin/env bash
# kerafold and EZKL side by side (see BENCHMARKS.md, "EZKL side by side").
#
#   benches/ezkl/run.sh [--models mlp,dense16x32] [--work-dir DIR] [--only ezkl|kerafold]
#
# Makes the Python venv target/ezkl-venv (outside git) from benches/ezkl/requirements.txt if it is
# missing or the requirements changed, then runs side_by_side.py with the arguments given.
# The kerafold binary: $KERAFOLD_BIN, else target/release/kerafold (`cargo build --release`).
# The full table took about 20 minutes on 2 cores (plus the first venv); run it as `nice -n 10 benches/ezkl/run.sh`
# on a shared machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/target/ezkl-venv"
# shellcheck source=../venv.sh
. "$here/../venv.sh"
ensure_venv "$venv" "$here/requirements.txt"

export KERAS_BACKEND=jax JAX_PLATFORMS=cpu
exec "$venv/bin/python" "$here/side_by_side.py" "$@"
