// The browser's bounty crypto (src/keys.js, src/decrypt.js) against kerafold's reference vectors,
// @zk-kit/eddsa-poseidon, and the release CLI (target/release/kerafold, not rebuilt here): key
// files interchange both ways, and ciphertexts the CLI makes decrypt here.
//
//   cd web && node --test test/crypto.test.mjs

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Base8, mulPointEscalar, r, subOrder } from "@zk-kit/baby-jubjub";
import { poseidonDecrypt, poseidonEncrypt, poseidonPerm } from "@zk-kit/poseidon-cipher";
import { blake512 } from "../src/blake512.js";
import {
  DERIVATION,
  KEY_FORMAT,
  deriveSecretScalar,
  generateHostKey,
  keyFromPrivateKey,
  parseKeyFile,
  parsePublicKey,
  serializeKeyFile,
} from "../src/keys.js";
import {
  ciphertextLength,
  decryptWeights,
  isRevealKey,
  keyHash,
  parseRevealKey,
  poseidon,
  sessionKey,
  sharedPoint,
} from "../src/decrypt.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "target/release/kerafold");
const VECTORS = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/vectors/bjj/vectors.json"), "utf8"));
// The ES module build of @zk-kit/eddsa-poseidon 1.1.0 does not load in Node 20; its CommonJS one does.
const zkEddsa = createRequire(import.meta.url)("@zk-kit/eddsa-poseidon");

/** Runs the CLI from the repository root; returns stdout. */
const kerafold = (...args) => execFileSync(CLI, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
/** Runs the CLI expecting a failure; returns stderr. */
const kerafoldFails = (...args) => {
  const p = spawnSync(CLI, args, { cwd: ROOT, encoding: "utf8" });
  assert.notEqual(p.status, 0, `kerafold ${args.join(" ")} should fail`);
  return p.stderr;
};
const readJson = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
const hex = (b) => Buffer.from(b).toString("hex");
/** kerafold's fe_hex (the opening's blindings): little-endian bytes. */
const fromLeHex = (h) => BigInt("0x" + Buffer.from(h, "hex").reverse().toString("hex"));

describe("reference vectors (tests/vectors/bjj/vectors.json) and @zk-kit", () => {
  test("BLAKE-512 matches blake-hash, padding edge lengths included", () => {
    assert.ok(VECTORS.blake512.length >= 10);
    for (const { msg, hash } of VECTORS.blake512) {
      assert.equal(hex(blake512(Buffer.from(msg, "hex"))), hash, `BLAKE-512 of ${msg.length / 2} bytes`);
    }
  });

  test("key derivation matches the vectors and @zk-kit/eddsa-poseidon", () => {
    for (const k of VECTORS.keys) {
      const { secret, public: pub } = keyFromPrivateKey(Buffer.from(k.private_key, "hex"));
      assert.equal(secret.secret_scalar, k.secret_scalar);
      assert.deepEqual(secret.public_key, k.public_key);
      assert.deepEqual(pub.public_key, k.public_key);
    }
    for (let i = 0; i < 8; i++) {
      const priv = globalThis.crypto.getRandomValues(new Uint8Array(32));
      const s = deriveSecretScalar(priv);
      assert.equal(s, zkEddsa.deriveSecretScalar(Buffer.from(priv)));
      assert.ok(s < subOrder);
      assert.deepEqual(
        keyFromPrivateKey(priv).secret.public_key,
        zkEddsa.derivePublicKey(Buffer.from(priv)).map(String),
      );
    }
  });

  test("ECDH and circomlib Poseidon match the vectors", () => {
    for (const e of VECTORS.ecdh) {
      const s = BigInt(VECTORS.keys[e.secret].secret_scalar);
      const p = VECTORS.keys[e.public].public_key.map(BigInt);
      assert.deepEqual(sharedPoint(s, p).map(String), e.shared);
    }
    for (const h of VECTORS.poseidon) {
      assert.equal(poseidon(h.inputs.map(BigInt)).toString(), h.hash, `Poseidon of ${h.inputs.length} inputs`);
    }
    for (const p of VECTORS.poseidon_perm_t4) {
      assert.deepEqual(poseidonPerm(p.state.map(BigInt)).map(String), p.out);
    }
  });
});

describe("keys.js", () => {
  test("generateHostKey: fresh keys, consistent and parseable", () => {
    const a = generateHostKey();
    const b = generateHostKey();
    assert.notEqual(a.secret.private_key, b.secret.private_key);
    assert.equal(a.secret.format, KEY_FORMAT);
    assert.equal(a.secret.derivation, DERIVATION);
    assert.match(a.secret.private_key, /^[0-9a-f]{64}$/);
    assert.deepEqual(a.public, { format: KEY_FORMAT, public_key: a.secret.public_key });
    const k = parseKeyFile(serializeKeyFile(a.secret));
    assert.equal(k.secretScalar.toString(), a.secret.secret_scalar);
    assert.deepEqual(k.publicKey, mulPointEscalar(Base8, k.secretScalar));
    assert.deepEqual(k.publicKey.map(String), a.secret.public_key);
    assert.deepEqual(parsePublicKey(a.public), k.publicKey);
  });

  test("parseKeyFile refuses broken files with a clear error", () => {
    const { secret, public: pub } = generateHostKey();
    const other = generateHostKey().secret;
    const bad = (patch, re) => assert.throws(() => parseKeyFile({ ...secret, ...patch }), re);
    assert.throws(() => parseKeyFile("{not json"), /not a key file/);
    assert.throws(() => parseKeyFile("[1, 2]"), /not a JSON object/);
    assert.throws(() => parseKeyFile(pub), /no private_key/);
    bad({ format: "something-else" }, /format is "something-else"/);
    bad({ derivation: "blake2b" }, /derivation/);
    bad({ private_key: "abcd" }, /private_key is not 64 hex digits/);
    bad({ private_key: "zz".repeat(32) }, /private_key is not 64 hex digits/);
    bad({ private_key: 7 }, /private_key is not 64 hex digits/);
    bad({ public_key: undefined }, /no public_key/);
    bad({ public_key: ["1"] }, /public_key is not a pair/);
    bad({ public_key: ["1", "one"] }, /not a decimal or 0x-hex integer/);
    bad({ public_key: [r.toString(), "1"] }, /not below the field modulus/);
    bad({ secret_scalar: other.secret_scalar }, /secret_scalar does not derive from private_key/);
    bad({ public_key: other.public_key }, /public_key does not match private_key/);
    bad({ public_key: ["1", "2"] }, /off the curve/);
    // the CLI does not need format, derivation or secret_scalar either
    const { format, derivation, secret_scalar, ...minimal } = secret;
    assert.equal(parseKeyFile(minimal).secretScalar.toString(), secret_scalar);
  });

  test("parsePublicKey refuses off-curve, small-order and identity points", () => {
    assert.throws(() => parsePublicKey(["1", "2"]), /off the curve/);
    assert.throws(() => parsePublicKey(["0", "1"]), /prime-order subgroup/);
    // (0, −1) is on the curve, of order 2
    assert.throws(() => parsePublicKey(["0", (r - 1n).toString()]), /prime-order subgroup/);
    assert.deepEqual(parsePublicKey(Base8.map(String)), Base8);
  });
});

describe("decrypt.js helpers", () => {
  test("keyHash and isRevealKey", () => {
    // SHA-256 of 32 zero bytes
    assert.equal(keyHash(0n), "0x66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
    const k = (1n << 248n) - 1n;
    assert.equal(keyHash(k), keyHash("0x" + k.toString(16)));
    assert.equal(keyHash(k), keyHash(k.toString()));
    assert.ok(isRevealKey(k) && isRevealKey(0n) && isRevealKey("0x00ff") && isRevealKey("12"));
    for (const bad of [1n << 248n, -1n, r, "abc", "0x", "", null, undefined, 1.5, {}]) {
      assert.equal(isRevealKey(bad), false, `isRevealKey(${String(bad)})`);
    }
    assert.throws(() => keyHash(1n << 248n), /not below 2\^248/);
    assert.equal(parseRevealKey("0x10"), 16n);
  });

  test("the strict cipher agrees with @zk-kit/poseidon-cipher and its vectors", () => {
    const hostKey = generateHostKey().secret;
    const hunter = generateHostKey().public;
    const host = parseKeyFile(hostKey);
    const kappa = 123456789n;
    const key = sessionKey(sharedPoint(host.secretScalar, hunter.public_key.map(BigInt)), kappa);
    for (const len of [1, 2, 3, 4, 5, 6, 7, 10]) {
      const msg = Array.from({ length: len }, (_, i) => (i % 2 ? r - 1n - BigInt(i) : BigInt(i * 1000 + 7)));
      const nonce = (1n << 127n) + BigInt(len);
      const ct = poseidonEncrypt(msg, key, nonce);
      assert.equal(ct.length, ciphertextLength(len));
      const args = { hostKey, hunterPublicKey: hunter.public_key, revealKey: kappa, nonce, ciphertext: ct };
      assert.deepEqual(decryptWeights({ ...args, length: len }), msg.map(String));
      // without the length: the only candidate that authenticates
      assert.deepEqual(decryptWeights(args), msg.map(String));
    }
    // the vectors' ciphertexts, under their key, with the library's decryption as the oracle
    for (const c of VECTORS.cipher) {
      const got = poseidonDecrypt(c.ciphertext.map(BigInt), c.key.map(BigInt), BigInt(c.nonce), c.message.length);
      assert.deepEqual(got.map(String), c.message);
    }
  });
});

describe("with the kerafold CLI", () => {
  let dir;
  const f = (name) => path.join(dir, name);
  const write = (name, obj) => fs.writeFileSync(f(name), serializeKeyFile(obj), { mode: 0o600 });

  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: build kerafold --release first`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kerafold-web-crypto-"));
    // A private model's opening (the quantized model and its blindings), without proving.
    kerafold(
      "commit", "tests/fixtures/digits.keras",
      "--data", "tests/fixtures/digits_16.kfd",
      "--opening", f("opening.json"),
    );
    kerafold("keygen", "-o", f("cli_host.json"));
    kerafold("keygen", "-o", f("cli_hunter.json"));
    const host = generateHostKey();
    write("js_host.json", host.secret);
    write("js_host.pub.json", host.public);
    const hunter = generateHostKey();
    write("js_hunter.json", hunter.secret);
    write("js_hunter.pub.json", hunter.public);
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("JS key files have the CLI's exact format, and CLI key files parse here", () => {
    for (const name of ["cli_host.json", "cli_host.pub.json"]) {
      const text = fs.readFileSync(f(name), "utf8");
      assert.equal(serializeKeyFile(JSON.parse(text)), text, `${name} reserialises byte for byte`);
    }
    const cli = readJson(f("cli_host.json"));
    const js = readJson(f("js_host.json"));
    assert.deepEqual(Object.keys(js), Object.keys(cli));
    assert.deepEqual(Object.keys(readJson(f("js_host.pub.json"))), Object.keys(readJson(f("cli_host.pub.json"))));
    assert.equal(js.derivation, cli.derivation);
    const k = parseKeyFile(fs.readFileSync(f("cli_host.json"), "utf8"));
    assert.equal(k.secretScalar.toString(), cli.secret_scalar);
    assert.deepEqual(k.publicKey.map(String), cli.public_key);
    // a CLI key rederived here from its private key alone
    assert.deepEqual(keyFromPrivateKey(Buffer.from(cli.private_key, "hex")).secret, cli);
  });

  test("the CLI reads JS secret key files (encrypt-weights --key, reveal-key) and JS public keys", () => {
    // the JS host secret file as the CLI's secret key, to the CLI host's public key
    const out = JSON.parse(
      kerafold("encrypt-weights", f("opening.json"), "--host-key", f("cli_host.pub.json"), "--key", f("js_host.json"), "-o", f("ct_js_sender.json")),
    );
    assert.deepEqual(out.hunter_public_key, readJson(f("js_host.json")).public_key);
    const ct = readJson(f("ct_js_sender.json"));
    assert.deepEqual(ct.hunter_public_key, readJson(f("js_host.json")).public_key);
    const reveal = JSON.parse(kerafold("reveal-key", f("ct_js_sender.json"), "--key", f("js_host.json")));
    assert.equal(reveal.key_hash, "0x" + ct.key_hash);
    assert.equal(keyHash(reveal.key), reveal.key_hash);
    // ... and the CLI host's secret file decrypts it here
    const pt = decryptWeights({
      hostKey: fs.readFileSync(f("cli_host.json"), "utf8"),
      hunterPublicKey: ct.hunter_public_key,
      revealKey: reveal.key,
      nonce: ct.nonce,
      ciphertext: ct.ciphertext,
      length: ct.length,
    });
    assert.equal(pt.length, ct.length);

    // the CLI checks what it reads: a JS file with a wrong secret_scalar is refused
    const tampered = { ...readJson(f("js_hunter.json")), secret_scalar: readJson(f("js_host.json")).secret_scalar };
    write("tampered.json", tampered);
    const err = kerafoldFails("reveal-key", f("ct_js_sender.json"), "--key", f("tampered.json"));
    assert.match(err, /secret_scalar does not derive from private_key/);
  });

  describe("a CLI ciphertext to a JS host key", () => {
    let ct, kappa, args, opening;

    before(() => {
      // the hunter (CLI) encrypts to the JS host's public file
      kerafold("encrypt-weights", f("opening.json"), "--host-key", f("js_host.pub.json"), "--key", f("cli_hunter.json"), "-o", f("ct.json"));
      ct = readJson(f("ct.json"));
      kappa = JSON.parse(kerafold("reveal-key", f("ct.json"), "--key", f("cli_hunter.json"))).key;
      opening = readJson(f("opening.json"));
      args = {
        hostKey: readJson(f("js_host.json")),
        hunterPublicKey: ct.hunter_public_key,
        revealKey: kappa,
        nonce: ct.nonce,
        ciphertext: ct.ciphertext,
      };
    });

    test("ct.json is addressed to the JS key and its key hash is keyHash(κ)", () => {
      assert.deepEqual(ct.host_public_key, readJson(f("js_host.pub.json")).public_key);
      assert.deepEqual(ct.hunter_public_key, readJson(f("cli_hunter.pub.json")).public_key);
      assert.match(kappa, /^0x00[0-9a-f]{62}$/);
      assert.ok(isRevealKey(kappa));
      assert.equal(keyHash(kappa), "0x" + ct.key_hash);
      assert.equal(ct.ciphertext.length, ciphertextLength(ct.length));
    });

    test("decrypts to exactly the plaintext the CLI encrypted", () => {
      const pt = decryptWeights({ ...args, length: ct.length, hostPublicKey: ct.host_public_key, keyHash: ct.key_hash });
      assert.equal(pt.length, ct.length);
      assert.ok(pt.every((x) => /^[0-9]+$/.test(x) && BigInt(x) < r));
      // the length follows from authentication alone (the contract's events do not carry it)
      assert.deepEqual(decryptWeights(args), pt);
      // the host key as parseKeyFile returns it (what the page holds once the file is read)
      assert.deepEqual(decryptWeights({ ...args, hostKey: parseKeyFile(args.hostKey) }), pt);
      // κ as KeyRevealed gives it (a uint256, a bigint through viem) works the same
      assert.deepEqual(decryptWeights({ ...args, revealKey: BigInt(kappa), nonce: BigInt(ct.nonce) }), pt);
      // element by element: encrypting this plaintext again under the same key and nonce (the
      // cipher is deterministic) gives the CLI's ciphertext
      const host = parseKeyFile(args.hostKey);
      const key = sessionKey(sharedPoint(host.secretScalar, ct.hunter_public_key.map(BigInt)), BigInt(kappa));
      assert.deepEqual(poseidonEncrypt(pt.map(BigInt), key, BigInt(ct.nonce)).map(String), ct.ciphertext);
      // and it is this opening's: each step's blinding r_i opens its block of the plaintext
      // (r_0 first, r_last last, in order; the pooling step has no weights, so r_1, r_2 are adjacent)
      const blinds = opening.blinds.map((b) => fromLeHex(b).toString());
      const at = blinds.map((b) => pt.indexOf(b));
      assert.equal(at[0], 0);
      assert.equal(at[at.length - 1], pt.length - 1);
      for (let i = 1; i < at.length; i++) assert.ok(at[i] > at[i - 1], `blinding ${i} after blinding ${i - 1}`);
      assert.equal(at[2], at[1] + 1);
    });

    test("refuses a wrong key, another host key, or a tampered ciphertext", () => {
      const fails = (patch, re = /does not authenticate/) => assert.throws(() => decryptWeights({ ...args, ...patch }), re);
      const wrongKappa = (BigInt(kappa) + 1n).toString();
      fails({ revealKey: wrongKappa });
      fails({ revealKey: wrongKappa, length: ct.length });
      fails({ hostKey: readJson(f("cli_host.json")) });
      fails({ hostKey: generateHostKey().secret, length: ct.length });
      fails({ hunterPublicKey: readJson(f("js_hunter.pub.json")).public_key });
      fails({ nonce: (BigInt(ct.nonce) ^ 1n).toString() });
      for (const i of [0, 5, ct.ciphertext.length - 2, ct.ciphertext.length - 1]) {
        const c = [...ct.ciphertext];
        c[i] = ((BigInt(c[i]) + 1n) % r).toString();
        fails({ ciphertext: c });
        fails({ ciphertext: c, length: ct.length });
      }
      // a length of the same ciphertext size that is not the encrypted one
      fails({ length: ct.length - 1 });
      fails({ length: ct.length + 3 }, /has a ciphertext of/);
      fails({ ciphertext: ct.ciphertext.slice(1) }, /3k \+ 1 elements/);
      fails({ ciphertext: [...ct.ciphertext.slice(0, -1), r.toString()] }, /not below the field modulus/);
      fails({ revealKey: (1n << 248n) + 5n }, /not below 2\^248/);
      fails({ nonce: (1n << 128n).toString() }, /nonce/);
      fails({ keyHash: keyHash(wrongKappa) }, /key hash/);
      fails({ hostPublicKey: readJson(f("cli_host.pub.json")).public_key }, /another host key/);
      fails({ hunterPublicKey: ["1", "2"] }, /hunter public key is not a point/);
      fails({ hostKey: readJson(f("js_host.pub.json")) }, /no private_key/);
      const parsed = parseKeyFile(args.hostKey);
      fails({ hostKey: { ...parsed, secretScalar: parsed.secretScalar + 1n } }, /host key: not a key parseKeyFile returned/);
      fails({ hostKey: { ...parsed, privateKey: undefined } }, /host key: not a key parseKeyFile returned/);
    });
  });
});
