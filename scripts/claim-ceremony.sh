#!/usr/bin/env bash
# A Groth16 phase-2 ceremony for the bounty claim circuit with snarkjs (0.7.6, the version pinned
# in contracts/package.json), over a public powers of tau: the production commands, in order.
#
#   scripts/claim-ceremony.sh setup      CIRCUIT.r1cs DIR         # ptau + circuit_0000.zkey
#   scripts/claim-ceremony.sh contribute IN.zkey OUT.zkey NAME    # one contributor, own machine
#   scripts/claim-ceremony.sh beacon     IN.zkey OUT.zkey BEACON  # the last step: public beacon
#   scripts/claim-ceremony.sh verify     CIRCUIT.r1cs DIR FINAL.zkey  # anyone: check, export vk
#
# CIRCUIT.r1cs is the claim circuit as `kerafold claim-circuit` writes it (all public inputs
# declared as circom public inputs, in kerafold's order). After the beacon, the host publishes
# the final key with `kerafold claim-setup --zkey FINAL.zkey --ptau PTAU`, which verifies the
# ceremony in Rust as every hunter's `kerafold claim` does (`kerafold verify-ceremony` for
# anyone); `verify` below is snarkjs' own check of the same key.
#
# The ceremony: the host runs `setup` and the first `contribute`; every independent contributor
# runs `contribute` on the latest key (entropy typed at snarkjs' prompt, never on a command line)
# and publishes the contribution hash snarkjs prints; `beacon` ends it with a value nobody
# controls, announced before the last contribution (e.g. the hash of a given future Ethereum
# block); `verify` recomputes the key from the circuit and the ptau, checks every contribution,
# prints their hashes, and exports verification_key.json. The keys are sound if one contributor
# (or the beacon) was honest and the ptau's ceremony had one honest participant.
#
# The powers of tau. Hermez's `powersOfTau28_hez_final_NN.ptau` (the Perpetual Powers of Tau
# ceremony's contributions, truncated to 2^NN, with a final beacon), NN the circuit's power (17
# for the claim circuit, ≈107k constraints + 12 public rows < 2^17). Its BLAKE2b-512 hash is
# checked against the table below (the same as kerafold's `claim::ceremony::PUBLISHED_PTAU`, which
# tests/suite/claim_ceremony.rs compares), copied from snarkjs' README (the npm package snarkjs 0.7.6,
# installed from contracts/package-lock.json, integrity-pinned), and against that README itself
# when it is installed. KERAFOLD_PTAU=FILE uses a local copy instead of downloading (still
# checked); KERAFOLD_PTAU_UNCHECKED=1 skips the check (tests only: such keys are not trusted).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

ptau_url() { echo "https://storage.googleapis.com/zkevm/ptau/powersOfTau28_hez_final_$1.ptau"; }
ptau_b2sum() {
  case "$1" in
    17) echo 6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345 ;;
    18) echo 7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e ;;
    19) echo bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887 ;;
    20) echo 89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b ;;
    *) echo "no published hash for power $1 in this script" >&2; return 1 ;;
  esac
}

snarkjs() { (cd "$root/contracts" && npx snarkjs "$@"); }
timed() { local t0=$SECONDS; "$@"; echo "   ($(( SECONDS - t0 )) s: $*)"; }
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

install() {
  [ -f "$root/contracts/node_modules/snarkjs/package.json" ] \
    || (cd "$root/contracts" && npm ci --no-audit --no-fund)
  local v
  v="$(node -p "require('$root/contracts/node_modules/snarkjs/package.json').version")"
  [ "$v" = "0.7.6" ] || { echo "snarkjs $v installed, 0.7.6 expected" >&2; exit 1; }
}

# The smallest power snarkjs accepts: 2^p > constraints + public inputs + outputs.
circuit_power() {
  local info n
  info="$(snarkjs r1cs info "$1")"
  n=$(( $(grep -o 'Constraints: [0-9]*' <<<"$info" | grep -o '[0-9]*$') \
      + $(grep -o 'Public Inputs: [0-9]*' <<<"$info" | grep -o '[0-9]*$') \
      + $(grep -o 'Outputs: [0-9]*' <<<"$info" | grep -o '[0-9]*$') ))
  local p=0
  while (( (1 << p) <= n )); do p=$(( p + 1 )); done
  echo "$p"
}

# Fetches (or takes KERAFOLD_PTAU) and checks the ptau of power $1 into $2.
fetch_ptau() {
  local power=$1 out=$2 want readme got
  if [ -n "${KERAFOLD_PTAU:-}" ]; then
    cp "$KERAFOLD_PTAU" "$out"
  elif [ ! -f "$out" ]; then
    curl -fL --retry 3 -o "$out.part" "$(ptau_url "$power")"
    mv "$out.part" "$out"
  fi
  if [ "${KERAFOLD_PTAU_UNCHECKED:-}" = 1 ]; then
    echo "!! KERAFOLD_PTAU_UNCHECKED=1: the ptau is not checked; these keys are for tests only"
    return
  fi
  want="$(ptau_b2sum "$power")"
  readme="$root/contracts/node_modules/snarkjs/README.md"
  if [ -f "$readme" ] && ! grep -q "powersOfTau28_hez_final_$power.ptau.*$want" "$readme"; then
    echo "the hash of power $power differs from snarkjs' README" >&2
    exit 1
  fi
  got="$(b2sum "$out" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    echo "$out: BLAKE2b-512 $got, published $want" >&2
    exit 1
  fi
  echo "== ptau 2^$power: BLAKE2b-512 matches the published hash"
}

cmd="${1:-}"
shift || true
install
case "$cmd" in
  setup)
    [ $# -eq 2 ] || { echo "usage: $0 setup CIRCUIT.r1cs DIR" >&2; exit 2; }
    r1cs="$(abs "$1")"; mkdir -p "$2"; dir="$(cd "$2" && pwd)"
    power="$(circuit_power "$r1cs")"
    echo "== circuit: power $power"
    fetch_ptau "$power" "$dir/pot$power.ptau"
    echo "== groth16 setup (no secret: the key before any contribution)"
    timed snarkjs groth16 setup "$r1cs" "$dir/pot$power.ptau" "$dir/circuit_0000.zkey"
    echo "next: $0 contribute $dir/circuit_0000.zkey $dir/circuit_0001.zkey 'bounty host'"
    ;;
  contribute)
    [ $# -eq 3 ] || { echo "usage: $0 contribute IN.zkey OUT.zkey NAME" >&2; exit 2; }
    echo "== zkey contribute: type random text at the prompt; publish the hash printed below"
    timed snarkjs zkey contribute "$(abs "$1")" "$(abs "$2")" "--name=$3" -v
    ;;
  beacon)
    [ $# -eq 3 ] || { echo "usage: $0 beacon IN.zkey OUT.zkey BEACON_HEX" >&2; exit 2; }
    [[ "$3" =~ ^[0-9a-fA-F]{64}$ ]] || { echo "the beacon is 32 bytes of hex" >&2; exit 2; }
    timed snarkjs zkey beacon "$(abs "$1")" "$(abs "$2")" "$3" 10 "-n=Final beacon" -v
    ;;
  verify)
    [ $# -eq 3 ] || { echo "usage: $0 verify CIRCUIT.r1cs DIR FINAL.zkey" >&2; exit 2; }
    r1cs="$(abs "$1")"; mkdir -p "$2"; dir="$(cd "$2" && pwd)"; zkey="$(abs "$3")"
    power="$(circuit_power "$r1cs")"
    fetch_ptau "$power" "$dir/pot$power.ptau"
    echo "== zkey verify: the key is the circuit's over the ptau, every contribution checks"
    timed snarkjs zkey verify "$r1cs" "$dir/pot$power.ptau" "$zkey" | tee "$dir/zkey-verify.txt"
    grep -q "ZKey Ok!" "$dir/zkey-verify.txt"
    timed snarkjs zkey export verificationkey "$zkey" "$dir/verification_key.json"
    echo "== $dir/verification_key.json: the vk of the ceremony's key"
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
