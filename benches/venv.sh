# Sourced by the benchmark scripts: `ensure_venv VENV REQUIREMENTS` makes the Python venv VENV
# (outside git, under target/) with Python >= 3.10 ($PYTHON, else python3) and installs
# REQUIREMENTS into it, again whenever the file differs from what the venv was made with.
ensure_venv() {
    local venv="$1" requirements="$2" python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        echo "error: $python is not Python >= 3.10 (set PYTHON=/path/to/python3)" >&2
        exit 2
    fi
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating the venv $venv" >&2
        "$python" -m venv "$venv"
    fi
    if ! cmp -s "$requirements" "$venv/.kerafold-requirements.txt"; then
        echo "installing $requirements into $venv" >&2
        "$venv/bin/pip" install --quiet -r "$requirements"
        cp "$requirements" "$venv/.kerafold-requirements.txt"
    fi
}
