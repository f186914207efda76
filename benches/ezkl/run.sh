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
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: $python is not Python >= 3.10 (set PYTHON=/path/to/python3)" >&2
    exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "creating the venv $venv" >&2
    "$python" -m venv "$venv"
fi
# reinstall when requirements.txt differs from what this venv was made with
if ! cmp -s "$here/requirements.txt" "$venv/.kerafold-requirements.txt"; then
    echo "installing benches/ezkl/requirements.txt into $venv" >&2
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/.kerafold-requirements.txt"
fi

export KERAS_BACKEND=jax JAX_PLATFORMS=cpu
exec "$venv/bin/python" "$here/side_by_side.py" "$@"
