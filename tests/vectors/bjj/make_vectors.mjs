// Reference vectors for kerafold's circom-compatible crypto (src/crypto): BLAKE-512, Baby Jubjub
// keys (@zk-kit/eddsa-poseidon's derivation), ECDH, circomlib Poseidon, the Poseidon cipher of
// @zk-kit/poseidon-cipher, and kerafold's Poseidon chain hash built from circomlib Poseidon.
//
// Run once with `npm ci && node make_vectors.mjs > vectors.json`; the output is committed and the
// Rust tests (tests/suite/bounty_vectors.rs) compare against it without Node. Every input is fixed, so
// the output is reproducible.

import assert from "node:assert/strict";
import createBlakeHash from "blake-hash";
import { buildPoseidon, buildBabyjub, buildEddsa } from "circomlibjs";
import { Base8, addPoint, inCurve, mulPointEscalar, subOrder, r } from "@zk-kit/baby-jubjub";
import { createRequire } from "node:module";
// The ESM build of @zk-kit/eddsa-poseidon 1.1.0 does not load in Node 20 (named imports from the
// CommonJS blakejs); its CommonJS build does.
const { deriveSecretScalar, derivePublicKey } = createRequire(import.meta.url)("@zk-kit/eddsa-poseidon");
import { poseidonEncrypt, poseidonDecrypt, poseidonPerm } from "@zk-kit/poseidon-cipher";

const poseidonC = await buildPoseidon();
const babyjub = await buildBabyjub();
const eddsa = await buildEddsa();
const F = poseidonC.F;
const poseidon = (xs) => F.toObject(poseidonC(xs));
const str = (x) => x.toString();
const pt = (p) => [str(p[0]), str(p[1])];

// Deterministic byte strings.
const bytes = (n, seed) => Buffer.from(Array.from({ length: n }, (_, j) => (seed * 37 + j * 11 + 5) & 0xff));
// Deterministic field elements (a simple LCG over BigInt, reduced mod r).
let lcg = 123456789n;
const fe = () => {
  lcg = (lcg * 6364136223846793005n + 1442695040888963407n) % (1n << 256n);
  return lcg % r;
};

// BLAKE-512 (the original BLAKE, as circomlibjs and @zk-kit/eddsa-poseidon use it).
const blake = [0, 1, 3, 32, 111, 112, 127, 128, 129, 200].map((n) => {
  const msg = bytes(n, n);
  return { msg: msg.toString("hex"), hash: createBlakeHash("blake512").update(msg).digest().toString("hex") };
});

// Keys: a 32-byte private key -> secret scalar -> public key s·Base8.
const keys = [0, 1, 2, 3].map((i) => {
  const priv = bytes(32, i + 1);
  const s = deriveSecretScalar(priv);
  const pub = derivePublicKey(priv);
  // circomlibjs agrees.
  const pub2 = eddsa.prv2pub(priv).map((c) => babyjub.F.toObject(c));
  assert.deepEqual(pub, pub2);
  assert.deepEqual(pub, mulPointEscalar(Base8, s));
  assert.ok(inCurve(pub));
  assert.ok(s < subOrder);
  return { private_key: priv.toString("hex"), secret_scalar: str(s), public_key: pt(pub) };
});

// ECDH: shared point of (a, b) = s_a · pub_b = s_b · pub_a.
const ecdh = [
  [0, 1],
  [2, 3],
  [1, 0],
].map(([a, b]) => {
  const sa = BigInt(keys[a].secret_scalar);
  const sb = BigInt(keys[b].secret_scalar);
  const pa = keys[a].public_key.map(BigInt);
  const pb = keys[b].public_key.map(BigInt);
  const shared = mulPointEscalar(pb, sa);
  assert.deepEqual(shared, mulPointEscalar(pa, sb));
  return { secret: a, public: b, shared: pt(shared) };
});

// Point arithmetic.
const b2 = addPoint(Base8, Base8);
const points = {
  base8: pt(Base8),
  base8_double: pt(b2),
  base8_triple: pt(addPoint(b2, Base8)),
  sub_order: str(subOrder),
  base8_times_sub_order_minus_1: pt(mulPointEscalar(Base8, subOrder - 1n)),
  base8_times_2_251_minus_1: pt(mulPointEscalar(Base8, (1n << 251n) - 1n)),
};

// circomlib Poseidon with 1..12 inputs.
const poseidonVectors = [];
for (let n = 1; n <= 12; n++) {
  const small = Array.from({ length: n }, (_, i) => BigInt(i + 1));
  const big = Array.from({ length: n }, () => fe());
  for (const inputs of [small, big]) {
    poseidonVectors.push({ inputs: inputs.map(str), hash: str(poseidon(inputs)) });
  }
}
// The t = 4 permutation the cipher uses.
const perm = [
  [0n, 1n, 2n, 3n],
  [fe(), fe(), fe(), fe()],
].map((s) => ({ state: s.map(str), out: poseidonPerm(s).map(str) }));

// The Poseidon cipher: key = an ECDH shared point, nonce < 2^128.
const key = ecdh[0].shared.map(BigInt);
const cipher = [1, 2, 3, 4, 5, 6, 7, 10, 31, 100].map((len, k) => {
  const msg = Array.from({ length: len }, (_, i) => (i % 3 === 0 ? r - BigInt(i + 1) : fe()));
  const nonce = (BigInt(k) << 100n) + 12345n;
  const ct = poseidonEncrypt(msg, key, nonce);
  assert.deepEqual(poseidonDecrypt(ct, key, nonce, len), msg);
  return { key: pt(key), nonce: str(nonce), message: msg.map(str), ciphertext: ct.map(str) };
});

// kerafold's Poseidon chain (src/crypto/poseidon.rs, `chain_hash`):
//   h = tag·2^64 + n; for each chunk of 11 elements (the last zero-padded; one empty chunk if
//   n = 0): h = Poseidon([h, chunk...]) with 12 inputs.
const chain = (tag, xs) => {
  let h = (BigInt(tag) << 64n) + BigInt(xs.length);
  const chunks = Math.max(1, Math.ceil(xs.length / 11));
  for (let c = 0; c < chunks; c++) {
    const chunk = xs.slice(c * 11, c * 11 + 11);
    while (chunk.length < 11) chunk.push(0n);
    h = poseidon([h, ...chunk]);
  }
  return h;
};
const chainVectors = [0, 1, 11, 12, 23, 40].map((n, k) => {
  const xs = Array.from({ length: n }, () => fe());
  return { tag: k + 1, inputs: xs.map(str), hash: str(chain(k + 1, xs)) };
});

const out = {
  generator: "tests/vectors/bjj/make_vectors.mjs",
  packages: {
    circomlibjs: "0.1.7",
    "@zk-kit/baby-jubjub": "1.0.3",
    "@zk-kit/eddsa-poseidon": "1.1.0",
    "@zk-kit/poseidon-cipher": "0.3.2",
  },
  blake512: blake,
  keys,
  ecdh,
  points,
  poseidon: poseidonVectors,
  poseidon_perm_t4: perm,
  cipher,
  chain: chainVectors,
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
