// The claim verifier's constructor arguments the page derives from a setup's verifying key
// (web/src/deployment.js `verifierArgs`): their order, and the refusals. That they equal the
// CLI's verifier_args.json is shown against a real chain in e2e/browser.mjs: the development
// stack deploys the verifier from verifier_args.json, and the page accepts it only if its own
// words deploy the same code.
// Run: cd web && node --test test/

import assert from "node:assert/strict";
import { test } from "node:test";
import { DeploymentRefused, verifierArgs } from "../src/deployment.js";

const g2 = (a, b, c, d) => [[a, b], [c, d], ["1", "0"]];
const key = {
  protocol: "groth16",
  curve: "bn128",
  nPublic: 1,
  vk_alpha_1: ["1", "2", "1"],
  vk_beta_2: g2("3", "4", "5", "6"),
  vk_gamma_2: g2("7", "8", "9", "10"),
  vk_delta_2: g2("11", "12", "13", "14"),
  IC: [["15", "16", "1"], ["17", "18", "1"]],
};

test("G2 words go imaginary part first, IC points flattened", () => {
  const { vk, ic } = verifierArgs(key);
  assert.deepEqual(vk, [1n, 2n, 4n, 3n, 6n, 5n, 8n, 7n, 10n, 9n, 12n, 11n, 14n, 13n]);
  assert.deepEqual(ic, [15n, 16n, 17n, 18n]);
});

test("a key that is not a snarkjs Groth16 key over BN254 is refused", () => {
  assert.throws(() => verifierArgs({ ...key, curve: "bls12381" }), DeploymentRefused);
  assert.throws(() => verifierArgs({ ...key, vk_alpha_1: ["0x1", "2"] }), /malformed number/);
  assert.throws(() => verifierArgs({ ...key, vk_beta_2: ["3", "4"] }), /no G2 point beta/);
  assert.throws(() => verifierArgs(undefined), DeploymentRefused);
});
