#!/usr/bin/env bash
# Installs what the web app and its browser test need: web/node_modules from the lock file (exact
# pins), the app's build (web/dist), and Debian's Chromium when no browser is there (the test
# drives /usr/bin/chromium with playwright-core; nothing downloads a browser build).
# Idempotent: a second run with the same lock file only rebuilds the app (a second).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
stamp="node_modules/.kerafold-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "web/node_modules is up to date"
else
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
fi
node_modules/.bin/vite build --logLevel error
browser="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$browser" ]]; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing Debian's chromium …"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    else
        echo "install.sh: no browser at $browser: install Debian's chromium package (apt-get install chromium) or set CHROMIUM" >&2
        exit 2
    fi
fi
