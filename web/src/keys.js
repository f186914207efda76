// Baby Jubjub key files of bounty hosts, made and read in the browser so the secret key never
// leaves it. The files are those of `kerafold keygen` (src/crypto/babyjubjub.rs, KeyFile), and the
// derivation is @zk-kit/eddsa-poseidon 1.x's: any file written here is one the CLI reads, and
// the other way round.

import { Base8, inCurve, mulPointEscalar, r, subOrder } from "@zk-kit/baby-jubjub";
import { blake512 } from "./blake512.js";

/** The `format` of key files. */
export const KEY_FORMAT = "kerafold-babyjubjub-key";

/** The `derivation` of secret key files, word for word as kerafold writes it. */
export const DERIVATION =
  "@zk-kit/eddsa-poseidon: secret_scalar = (prune(blake512(private_key)[0..32]) as LE integer >> 3) mod l; public_key = secret_scalar * Base8";

/** BN254's scalar field modulus: Baby Jubjub's base field. */
export const FIELD_MODULUS = r;

/**
 * A field element from a bigint, a safe integer, or a decimal or `0x`-hex string (what kerafold's
 * files and the contract's events carry).
 * @param {bigint | number | string} v
 * @param {string} what names the value in errors
 * @returns {bigint} `0 ≤ v < r`
 */
export function parseField(v, what) {
  let x;
  if (typeof v === "bigint") x = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) x = BigInt(v);
  else if (typeof v === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) x = BigInt(v);
  else throw new Error(`${what}: ${JSON.stringify(String(v))} is not a decimal or 0x-hex integer`);
  if (x < 0n || x >= r) throw new Error(`${what}: ${x} is not below the field modulus`);
  return x;
}

const hexToBytes = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const bytesToHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * The secret scalar of a private key: `(prune(BLAKE-512(k)[0..32]) as little-endian >> 3) mod l`
 * (@zk-kit/eddsa-poseidon's `deriveSecretScalar`).
 * @param {Uint8Array} privateKey
 * @returns {bigint}
 */
export function deriveSecretScalar(privateKey) {
  const h = blake512(privateKey).slice(0, 32);
  h[0] &= 0xf8;
  h[31] &= 0x7f;
  h[31] |= 0x40;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(h[i]);
  return (s >> 3n) % subOrder;
}

/**
 * The key files of a private key: `secret` as `kerafold keygen -o NAME.json` writes it, `public`
 * as NAME.pub.json.
 * @param {Uint8Array} privateKey 32 bytes
 * @returns {{secret: {format: string, derivation: string, private_key: string, secret_scalar: string, public_key: [string, string]}, public: {format: string, public_key: [string, string]}}}
 */
export function keyFromPrivateKey(privateKey) {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new Error("a private key is 32 bytes");
  }
  const s = deriveSecretScalar(privateKey);
  const pub = mulPointEscalar(Base8, s).map(String);
  // field order as kerafold serialises KeyFile
  return {
    secret: {
      format: KEY_FORMAT,
      derivation: DERIVATION,
      private_key: bytesToHex(privateKey),
      secret_scalar: s.toString(),
      public_key: pub,
    },
    public: { format: KEY_FORMAT, public_key: [...pub] },
  };
}

/**
 * A fresh host key from the platform's randomness (WebCrypto).
 * @returns {{secret: object, public: object}} see {@link keyFromPrivateKey}
 */
export function generateHostKey() {
  return keyFromPrivateKey(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The bytes `kerafold keygen` writes for a key file (pretty JSON, two-space indent, no final
 * newline), e.g. to offer the secret file for download.
 * @param {object} file
 * @returns {string}
 */
export function serializeKeyFile(file) {
  return JSON.stringify(file, null, 2);
}

const isIdentity = (p) => p[0] === 0n && p[1] === 1n;

/**
 * A public key, checked as kerafold checks one: a point of Baby Jubjub's prime-order subgroup
 * other than the identity (a small-order key would make the ECDH point guessable).
 * @param {[bigint|string, bigint|string] | {public_key: [string, string]}} key coordinates, or a key file
 * @param {string} [what]
 * @returns {[bigint, bigint]}
 */
export function parsePublicKey(key, what = "public key") {
  const c = key && !Array.isArray(key) && typeof key === "object" ? key.public_key : key;
  if (!Array.isArray(c) || c.length !== 2) throw new Error(`${what} is not a pair [x, y]`);
  const p = [parseField(c[0], `${what} x`), parseField(c[1], `${what} y`)];
  if (!inCurve(p)) throw new Error(`${what} is not a point of Baby Jubjub (off the curve)`);
  if (isIdentity(p) || !isIdentity(mulPointEscalar(p, subOrder))) {
    throw new Error(`${what} is not a point of Baby Jubjub's prime-order subgroup other than the identity`);
  }
  return p;
}

/**
 * Reads a secret key file (as `kerafold keygen` or {@link generateHostKey} writes it) and checks
 * it as the CLI does: `private_key` is required and rederived; `secret_scalar`, if present, must
 * be the derived one; `public_key` must be on the curve and the derived one. `format` and
 * `derivation` may be absent (the CLI does not need them), but must be kerafold's if present.
 * @param {string | object} json the file's text or its parsed object
 * @returns {{privateKey: Uint8Array, secretScalar: bigint, publicKey: [bigint, bigint]}}
 */
export function parseKeyFile(json) {
  let f = json;
  if (typeof json === "string") {
    try {
      f = JSON.parse(json);
    } catch (e) {
      throw new Error(`not a key file: ${e.message}`);
    }
  }
  if (!f || typeof f !== "object" || Array.isArray(f)) throw new Error("not a key file: not a JSON object");
  if (f.format !== undefined && f.format !== KEY_FORMAT) {
    throw new Error(`not a key file: format is ${JSON.stringify(f.format)}, not "${KEY_FORMAT}"`);
  }
  if (f.derivation !== undefined && f.derivation !== DERIVATION) {
    throw new Error("key file: derivation is not kerafold's (@zk-kit/eddsa-poseidon's)");
  }
  if (f.private_key === undefined) throw new Error("not a secret key file (no private_key): a public key file?");
  if (typeof f.private_key !== "string" || !/^[0-9a-fA-F]{64}$/.test(f.private_key)) {
    throw new Error("key file: private_key is not 64 hex digits (32 bytes)");
  }
  if (f.public_key === undefined) throw new Error("key file: no public_key");
  const privateKey = hexToBytes(f.private_key);
  const secretScalar = deriveSecretScalar(privateKey);
  if (f.secret_scalar !== undefined && f.secret_scalar !== secretScalar.toString()) {
    throw new Error("key file: secret_scalar does not derive from private_key");
  }
  const c = f.public_key;
  if (!Array.isArray(c) || c.length !== 2) throw new Error("key file: public_key is not a pair [x, y]");
  const p = [parseField(c[0], "key file: public_key x"), parseField(c[1], "key file: public_key y")];
  if (!inCurve(p)) throw new Error("key file: public_key is not a point of Baby Jubjub (off the curve)");
  const publicKey = mulPointEscalar(Base8, secretScalar);
  if (p[0] !== publicKey[0] || p[1] !== publicKey[1]) {
    throw new Error("key file: public_key does not match private_key");
  }
  return { privateKey, secretScalar, publicKey };
}
