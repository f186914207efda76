// The host's side of a paid bounty, in the browser: decrypting the hunter's weights with the
// host's secret key and the reveal key κ the hunter published on chain to be paid. Computed as
// kerafold's `decrypt-weights` does (src/claim/weights.rs: session_key, decrypt;
// src/crypto/cipher.rs), up to the plaintext: rebuilding the model from it is kerafold's job.
//
// Plaintext length. A ciphertext of a plaintext of L elements has n = 3·⌈L/3⌉ + 1 elements, so n
// gives L only up to three values (3k−2, 3k−1, 3k with k = (n−1)/3). ct.json states it
// (`length`), the contract's events do not (CiphertextPosted has the nonce and the ciphertext
// only). But the cipher's initial state holds L, so only the true L authenticates: without a
// length, decryptWeights tries the three candidates (up to three times the work).

import { Base8, mulPointEscalar } from "@zk-kit/baby-jubjub";
import { poseidonPerm } from "@zk-kit/poseidon-cipher";
import { sha256 } from "viem";
import { FIELD_MODULUS as R, deriveSecretScalar, parseField, parseKeyFile, parsePublicKey } from "./keys.js";

/** Bits of a reveal key κ: below 2^248, so its 32-byte big-endian form is canonical. */
export const REVEAL_KEY_BITS = 248;
const TWO128 = 1n << 128n;

/**
 * circomlib's Poseidon of 1 to 16 inputs: the permutation of width `n + 1` on `(0, inputs…)`,
 * first element out (what kerafold's `poseidon::hash` computes).
 * @param {bigint[]} inputs
 * @returns {bigint}
 */
export function poseidon(inputs) {
  return poseidonPerm([0n, ...inputs])[0];
}

/**
 * κ as a bigint, from what the contract's `KeyRevealed` event or `kerafold reveal-key` gives.
 * @param {bigint | number | string} k bigint, decimal or `0x` hex
 * @returns {bigint}
 */
export function parseRevealKey(k) {
  const x = parseField(k, "reveal key");
  if (x >> BigInt(REVEAL_KEY_BITS) !== 0n) throw new Error(`reveal key: ${x} is not below 2^${REVEAL_KEY_BITS}`);
  return x;
}

/**
 * Whether `k` is a reveal key at all: an integer below 2^248.
 * @param {unknown} k
 * @returns {boolean}
 */
export function isRevealKey(k) {
  try {
    parseRevealKey(/** @type {any} */ (k));
    return true;
  } catch {
    return false;
  }
}

/**
 * The claim's `keyHash`: SHA-256 of κ's 32-byte big-endian form, what the contract's `withdraw`
 * checks the revealed key against (`0x` and 64 lowercase hex digits; ct.json's `key_hash` is the
 * same digits without `0x`).
 * @param {bigint | number | string} revealKey
 * @returns {`0x${string}`}
 */
export function keyHash(revealKey) {
  let k = parseRevealKey(revealKey);
  const be = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    be[i] = Number(k & 0xffn);
    k >>= 8n;
  }
  return sha256(be);
}

/**
 * The ECDH point: the host's secret scalar times the hunter's public key (equal to the hunter's
 * scalar times the host's, which is how the hunter encrypted).
 * @param {bigint} secretScalar
 * @param {[bigint, bigint]} publicKey
 * @returns {[bigint, bigint]}
 */
export function sharedPoint(secretScalar, publicKey) {
  return mulPointEscalar(publicKey, secretScalar);
}

/**
 * The cipher key of kerafold's `session_key`: `(Poseidon(K.x, K.y, κ, 0), Poseidon(K.x, K.y, κ, 1))`.
 * @param {[bigint, bigint]} shared the ECDH point K
 * @param {bigint} kappa
 * @returns {[bigint, bigint]}
 */
export function sessionKey(shared, kappa) {
  return [poseidon([shared[0], shared[1], kappa, 0n]), poseidon([shared[0], shared[1], kappa, 1n])];
}

/**
 * Ciphertext elements for a plaintext of `length` elements.
 * @param {number} length
 * @returns {number}
 */
export function ciphertextLength(length) {
  return 3 * Math.ceil(length / 3) + 1;
}

/**
 * The host key as a secret key file (text or object) or as parseKeyFile returned it; the latter
 * is checked again, since any object can claim to be parsed.
 * @returns {{secretScalar: bigint, publicKey: [bigint, bigint]}}
 */
function hostSecret(hostKey) {
  if (!hostKey || typeof hostKey !== "object" || !("secretScalar" in hostKey)) return parseKeyFile(hostKey);
  const { privateKey, secretScalar, publicKey } = hostKey;
  const s = privateKey instanceof Uint8Array && privateKey.length === 32 ? deriveSecretScalar(privateKey) : null;
  const p = s === null ? null : mulPointEscalar(Base8, s);
  if (!p || secretScalar !== s || !Array.isArray(publicKey) || publicKey[0] !== p[0] || publicKey[1] !== p[1]) {
    throw new Error("host key: not a key parseKeyFile returned (its private key, secret scalar and public key disagree)");
  }
  return hostKey;
}

const mod = (x) => ((x % R) + R) % R;

/**
 * @zk-kit/poseidon-cipher's decryption, as strict as kerafold's: the padding must be zero for
 * every length (the library checks it only above 3 elements) and the last element must
 * authenticate.
 * @returns {bigint[] | null} the plaintext, or null if it does not authenticate
 */
function cipherDecrypt(ct, key, nonce, length) {
  let state = [0n, key[0], key[1], mod(nonce + BigInt(length) * TWO128)];
  const msg = [];
  for (let i = 0; i + 1 < ct.length; i += 3) {
    state = poseidonPerm(state);
    for (let j = 0; j < 3; j++) {
      msg.push(mod(ct[i + j] - state[j + 1]));
      state[j + 1] = ct[i + j];
    }
  }
  state = poseidonPerm(state);
  const ok = mod(state[1]) === ct[ct.length - 1] && msg.slice(length).every((m) => m === 0n);
  return ok ? msg.slice(0, length) : null;
}

/**
 * Decrypts a hunter's weights, as kerafold's `decrypt-weights` does up to the plaintext.
 *
 * Where the inputs come from: `hunterPublicKey` is `ClaimSubmitted`'s `(hunterX, hunterY)` (ct.json:
 * `hunter_public_key`), `nonce` and `ciphertext` are `CiphertextPosted`'s (ct.json: `nonce`,
 * `ciphertext`), `revealKey` is `KeyRevealed`'s `key`, `keyHash` `ClaimSubmitted`'s `keyHash`
 * (ct.json: `key_hash`), `hostPublicKey` `BountyCreated`'s `(hostX, hostY)` (ct.json:
 * `host_public_key`), `length` ct.json's `length` (see the module comment when it is absent).
 *
 * Throws a clear Error on any invalid input and when the ciphertext does not authenticate (a
 * wrong host key, hunter key, reveal key or nonce, or an altered ciphertext): it never returns
 * unauthenticated elements.
 *
 * @param {object} args
 * @param {string | object} args.hostKey the host's secret key file (text or object), or what parseKeyFile returned for it
 * @param {[bigint|string, bigint|string]} args.hunterPublicKey decimal strings or bigints
 * @param {bigint | string} args.revealKey κ: bigint, decimal or `0x` hex
 * @param {bigint | string | number} args.nonce below 2^128
 * @param {Array<bigint | string>} args.ciphertext field elements
 * @param {number} [args.length] the plaintext length L; omitted: found by authentication
 * @param {[bigint|string, bigint|string]} [args.hostPublicKey] the bounty's host key, to check the host key file against
 * @param {string} [args.keyHash] the claim's key hash (`0x` optional), to check κ against before decrypting
 * @returns {string[]} the plaintext field elements, in decimal
 */
export function decryptWeights({ hostKey, hunterPublicKey, revealKey, nonce, ciphertext, length, hostPublicKey, keyHash: expectedKeyHash }) {
  const host = hostSecret(hostKey);
  if (hostPublicKey !== undefined) {
    const p = parsePublicKey(hostPublicKey, "host public key");
    if (p[0] !== host.publicKey[0] || p[1] !== host.publicKey[1]) {
      throw new Error("the ciphertext is addressed to another host key than this secret key file's");
    }
  }
  const hunter = parsePublicKey(hunterPublicKey, "hunter public key");
  const kappa = parseRevealKey(revealKey);
  if (expectedKeyHash !== undefined) {
    const want = String(expectedKeyHash).toLowerCase().replace(/^0x/, "");
    if (keyHash(kappa).slice(2) !== want) {
      throw new Error("the reveal key is not the one the claim's key hash names (take it from the contract's KeyRevealed event)");
    }
  }
  const n = parseField(nonce, "nonce");
  if (n >= TWO128) throw new Error("nonce: not below 2^128");
  if (!Array.isArray(ciphertext)) throw new Error("ciphertext: not an array");
  const ct = ciphertext.map((c, i) => parseField(c, `ciphertext element ${i}`));
  if (ct.length % 3 !== 1) {
    throw new Error(`a ciphertext has 3k + 1 elements, not ${ct.length}`);
  }
  let candidates;
  if (length === undefined || length === null) {
    const k = (ct.length - 1) / 3;
    candidates = [3 * k, 3 * k - 1, 3 * k - 2].filter((l) => l >= 0);
  } else {
    if (!Number.isSafeInteger(length) || length < 0) throw new Error(`length: ${length} is not a plaintext length`);
    if (ciphertextLength(length) !== ct.length) {
      throw new Error(`a plaintext of ${length} elements has a ciphertext of ${ciphertextLength(length)} elements, not ${ct.length}`);
    }
    candidates = [length];
  }
  const key = sessionKey(sharedPoint(host.secretScalar, hunter), kappa);
  for (const l of candidates) {
    const pt = cipherDecrypt(ct, key, n, l);
    if (pt) return pt.map(String);
  }
  throw new Error(
    "the ciphertext does not authenticate: wrong host key, hunter key, reveal key or nonce, or an altered ciphertext",
  );
}
