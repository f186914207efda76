// Fuzz targets for every parser of untrusted bytes in the web app (fast-check, seeded so a run
// is reproducible; FUZZ_RUNS raises the count, FUZZ_SEED picks another seed). Each parser either
// returns a well-formed value or throws an Error of its own naming what is wrong — never an
// internal TypeError/RangeError from a library, never a hang — and what it accepts round-trips.
// Untrusted here: CIDs and binary CIDs (URLs, the contract's events), bytes from an IPFS gateway,
// key files (picked by the user), public and reveal keys and ciphertexts (the contract's events),
// the setup's verifying key (config.json), and the IPFS node's HTTP requests.
// Run: cd web && node --test test/

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { checkCid, cidBytes, cidFromBytes, cidOf, parseCid } from "../src/cid.js";
import { decryptWeights, parseRevealKey } from "../src/decrypt.js";
import { DeploymentRefused, verifierArgs } from "../src/deployment.js";
import { generateHostKey, parseKeyFile, parsePublicKey, serializeKeyFile } from "../src/keys.js";
import { startIpfsNode } from "../stack/ipfs-node.mjs";

const RUNS = Number(process.env.FUZZ_RUNS || 300);
const SEED = Number(process.env.FUZZ_SEED || 20261206);
const params = { numRuns: RUNS, seed: SEED };

/** Runs `f`; a throw must be one of our own errors (a plain Error or DeploymentRefused, with a
 * message), not a library's TypeError/RangeError/SyntaxError. Returns the value or undefined. */
async function ownErrorOr(f, what) {
  try {
    return await f();
  } catch (e) {
    assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
    assert.ok(e.constructor === Error || e instanceof DeploymentRefused, `${what}: leaked ${e.constructor.name}: ${e.message}`);
    assert.ok(e.message.length > 0, `${what}: an error without a message`);
    return undefined;
  }
}

const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("", "b", "B", "bafkrei", "bafybei", "Bafkrei"));
// strings close to a real CID: a real one with characters replaced, cut or appended
const nearCid = fc.tuple(fc.nat(60), fc.string({ maxLength: 3 }), fc.boolean()).map(([i, s, cut]) => {
  const real = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  return cut ? real.slice(0, i) : real.slice(0, i) + s + real.slice(i + s.length);
});

test("parseCid: a CID it accepts round-trips through its binary form; anything else is a clear refusal", async () => {
  await fc.assert(fc.asyncProperty(fc.oneof(text, nearCid), async (s) => {
    const cid = await ownErrorOr(() => parseCid(s), `parseCid(${JSON.stringify(s)})`);
    if (cid) assert.equal(cidFromBytes(cidBytes(cid.toString())), cid.toString());
  }), params);
});

test("cidFromBytes: binary CIDs from the contract's events decode or are refused", async () => {
  const hex = fc.uint8Array({ maxLength: 48 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
  const nearBinary = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom("015512", "017012", "0155", "0112", "01551220", "01701220", "")).map(
    ([d, head]) => `0x${head}20${Buffer.from(d).toString("hex")}`);
  await fc.assert(fc.asyncProperty(fc.oneof(hex, nearBinary, fc.string()), async (h) => {
    const s = await ownErrorOr(() => cidFromBytes(h), `cidFromBytes(${h})`);
    if (s !== undefined) assert.match(s, /^b[a-z2-7]+$/);
  }), params);
});

test("checkCid: bytes from a gateway are accepted exactly when they hash to the CID", async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 2048 }), async (a, b) => {
    const cid = await cidOf(a);
    assert.equal(await checkCid(a, cid), cid);
    const same = Buffer.from(a).equals(Buffer.from(b));
    const ok = await ownErrorOr(() => checkCid(b, cid), "checkCid");
    assert.equal(ok !== undefined, same);
  }), { ...params, numRuns: Math.ceil(RUNS / 3) });
});

test("parseKeyFile: any JSON, and mutations of a real key file, parse to the same key or are refused", async () => {
  const real = serializeKeyFile(generateHostKey().secret);
  const realKey = parseKeyFile(real).publicKey;
  const mutated = fc.tuple(fc.constantFrom("private_key", "secret_scalar", "public_key", "format", "derivation"), fc.jsonValue()).map(
    ([k, v]) => JSON.stringify({ ...JSON.parse(real), [k]: v }));
  await fc.assert(fc.asyncProperty(fc.oneof(fc.json(), mutated, fc.string()), async (s) => {
    const k = await ownErrorOr(() => parseKeyFile(s), "parseKeyFile");
    // only the real file with a field that changes nothing can be accepted: the same key
    if (k) assert.deepEqual(k.publicKey, realKey);
  }), params);
});

test("parsePublicKey and parseRevealKey: values from the chain are field elements or refused", async () => {
  const field = fc.oneof(fc.bigInt(), fc.integer(), fc.string(), fc.constantFrom("0x", "0x1", "1e3", "-1", " 1"), fc.jsonValue());
  await fc.assert(fc.asyncProperty(fc.tuple(field, field), field, async (pair, k) => {
    const p = await ownErrorOr(() => parsePublicKey(pair), "parsePublicKey");
    if (p) assert.equal(p.length, 2);
    const x = await ownErrorOr(() => parseRevealKey(k), "parseRevealKey");
    if (x !== undefined) assert.ok(x >= 0n && x < 1n << 248n);
  }), params);
});

test("decryptWeights: a ciphertext from the chain decrypts or is refused, never crashes", async () => {
  const host = generateHostKey();
  const hunter = generateHostKey().public;
  const element = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 254n) - 1n }), fc.string(), fc.integer());
  await fc.assert(fc.asyncProperty(fc.array(element, { maxLength: 13 }), fc.option(fc.integer({ min: -1, max: 12 })), element, async (ct, length, nonce) => {
    await ownErrorOr(() => decryptWeights({ hostKey: host.secret, hunterPublicKey: hunter, revealKey: 7n, nonce, ciphertext: ct, length: length ?? undefined }), "decryptWeights");
  }), { ...params, numRuns: Math.ceil(RUNS / 3) });
});

test("verifierArgs: a verifying key from config.json gives field words or is refused", async () => {
  const num = fc.oneof(fc.bigInt({ min: 0n }).map(String), fc.string(), fc.jsonValue());
  const g1 = fc.array(num, { maxLength: 3 });
  const g2 = fc.oneof(fc.array(fc.array(num, { maxLength: 2 }), { maxLength: 3 }), num);
  const vk = fc.record({ protocol: fc.constantFrom("groth16", "plonk"), curve: fc.constantFrom("bn128", "bls12381"), vk_alpha_1: g1, vk_beta_2: g2, vk_gamma_2: g2, vk_delta_2: g2, IC: fc.oneof(fc.array(g1, { maxLength: 4 }), num) }, { requiredKeys: [] });
  await fc.assert(fc.asyncProperty(fc.oneof(vk, fc.jsonValue()), async (v) => {
    const args = await ownErrorOr(() => verifierArgs(v), "verifierArgs");
    if (args) for (const w of [...args.vk, ...args.ic]) assert.equal(typeof w, "bigint");
  }), params);
});

// --- the IPFS node's HTTP API: any request gets a JSON error or the file, the node stays up

let node, dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kerafold-fuzz-ipfs-"));
  node = await startIpfsNode({ dir, port: 0 });
});
after(async () => {
  await node.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the IPFS node answers any request with a status, and still serves after", async () => {
  const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE");
  const path = fc.oneof(fc.constantFrom("/ipfs/", "/api/v0/add", "/ipfs/bafkrei", "/api/v0/cat", "/"), fc.webPath(), nearCid.map((c) => `/ipfs/${c}`), fc.string().map((s) => `/ipfs/${encodeURIComponent(s)}`));
  const known = await (await fetch(`${node.url}/api/v0/add`, { method: "POST", body: new Uint8Array([1, 2, 3]) })).json();
  await fc.assert(fc.asyncProperty(method, path, fc.uint8Array({ maxLength: 512 }), async (m, p, body) => {
    const r = await fetch(`${node.url}${p}`, { method: m, body: m === "POST" || m === "PUT" ? body : undefined });
    const answer = await r.text();
    assert.ok(r.status < 500, `${m} ${p}: ${r.status} ${answer}`);
    if (r.status >= 400 && m !== "HEAD") assert.equal(typeof JSON.parse(answer).error, "string", answer);
  }), { ...params, numRuns: Math.ceil(RUNS / 3) });
  const back = await fetch(`${node.url}/ipfs/${known.cid}`);
  assert.equal(back.status, 200);
  assert.deepEqual(new Uint8Array(await back.arrayBuffer()), new Uint8Array([1, 2, 3]));
});
