#!/usr/bin/env bash
# Installs the Ray driver's environment: ray/.venv with ray/requirements.txt (exact pins) and the
# kerafold_ray package on its path. Idempotent: a second run with the same requirements does
# nothing. Python: $KERAFOLD_PYTHON, else the first of python3.11, python3.12, python3.10, python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.kerafold-requirements.sha256"

pick_python() {
    if [[ -n "${KERAFOLD_PYTHON:-}" ]]; then
        echo "$KERAFOLD_PYTHON"
        return
    fi
    for p in python3.11 python3.12 python3.10 python3; do
        if command -v "$p" >/dev/null 2>&1; then
            echo "$p"
            return
        fi
    done
    echo "install.sh: no python3 found (Ray $(grep '^ray==' "$req") needs CPython 3.10-3.12)" >&2
    exit 2
}

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import ray, kerafold_ray' >/dev/null 2>&1; then
    echo "ray/.venv is up to date ($(grep '^ray==' "$req"))"
else
    py="$(pick_python)"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$py" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    # The driver package is used from the work tree (an editable install without a build step).
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$here" >"$site/kerafold_ray.pth"
    "$venv/bin/python" -c 'import ray, kerafold_ray' >/dev/null
    echo "$want" >"$stamp"
    echo "installed ray/.venv ($(grep '^ray==' "$req"), $("$venv/bin/python" --version))"
fi
echo "activate with: source $venv/bin/activate   (or run $venv/bin/python -m kerafold_ray --help)"
