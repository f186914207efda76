#!/usr/bin/env bash
# CI step: check an exported claim with snarkjs and the committed contract bytecode with solc-js.
#
#   scripts/snarkjs-verify.sh [CLAIM_DIR]
#
# CLAIM_DIR holds verification_key.json, proof.json and public.json as `kerafold claim` writes
# them (default: the one the claim test exports, target/claim-export). Installs the pinned npm
# packages of contracts/package.json (snarkjs 0.7.6, solc 0.8.37) with `npm ci`, once per change of the lock file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(cd "${1:-$root/target/claim-export}" && pwd)"
cd "$root/contracts"
# `npm ci` wipes and reinstalls node_modules (about 15 s): only when the lock file changed since
# the last install here. Tests may call this script concurrently: one installs, the other waits.
stamp=node_modules/.kerafold-package-lock.sha256
exec 9>"$root/contracts/.npm-install.lock"
flock 9
if ! sha256sum --quiet --check "$stamp" 2>/dev/null; then
  npm ci --no-audit --no-fund
  sha256sum package-lock.json > "$stamp"
fi
flock --unlock 9
echo "== snarkjs groth16 verify ($dir)"
npx snarkjs groth16 verify "$dir/verification_key.json" "$dir/public.json" "$dir/proof.json"
echo "== solc: committed bytecode matches the sources"
node compile.mjs --check
if [ -f "$dir/calldata.txt" ]; then
  echo "== snarkjs calldata equals kerafold's calldata.txt"
  diff <(npx snarkjs zkey export soliditycalldata "$dir/public.json" "$dir/proof.json" | tr -d ' \n') \
       <(tr -d ' \n' < "$dir/calldata.txt")
fi
echo "snarkjs and solc checks passed"
