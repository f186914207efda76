// The deployment config.json describes, checked against the chain before the page shows
// anything. config.json comes from whoever runs the deployment; the page trusts it for nothing
// the chain can say:
//   - the code at config.bounty must be this app's Bounty contract (contracts/build/Bounty.bin)
//     deployed with the constructor arguments its own getters return;
//   - the code of the claim verifier it calls must be this app's Groth16Verifier deployed with
//     the verifying key of the setup the page verifies claims with (config.setup), so a claim the
//     page shows verified is checked on chain by the same key.
// What the code should be is computed by the node itself: an eth_call without a recipient runs
// creation code and returns the runtime code it would deploy (immutables filled in).

import { encodeAbiParameters, getAddress, parseAbi, zeroAddress } from "viem";

const GETTERS = parseAbi([
  "function verifier() view returns (address)",
  "function onChainVerifier() view returns (address)",
  "function onChainCiphertextLength() view returns (uint256)",
]);

/** Words of the claim verifier's key: Groth16Verifier takes 14 (alpha, beta, gamma, delta) and
 * 26 (13 IC points: 12 public inputs). */
const VK_WORDS = 14;
const IC_WORDS = 26;

/** A deployment the page refuses, with the reason. */
export class DeploymentRefused extends Error {}

/**
 * Groth16Verifier's constructor arguments for a snarkjs verifying key (verification_key.json):
 * `vk = [alpha.x, alpha.y, beta.(x1, x0, y1, y0), gamma.(…), delta.(…)]` (G2 imaginary part
 * first, as the EVM pairing precompile takes it), `ic = [IC0.x, IC0.y, IC1.x, …]`.
 * @param {object} vk a snarkjs verifying key (decimal strings)
 * @returns {{vk: bigint[], ic: bigint[]}}
 */
export function verifierArgs(vk) {
  const n = (s) => {
    if (typeof s !== "string" || !/^[0-9]+$/.test(s)) throw new DeploymentRefused(`the setup's verifying key has a malformed number: ${JSON.stringify(s)}`);
    return BigInt(s);
  };
  const g1 = (p, what) => {
    if (!Array.isArray(p) || p.length < 2) throw new DeploymentRefused(`the setup's verifying key has no G1 point ${what}`);
    return [n(p[0]), n(p[1])];
  };
  const g2 = (p, what) => {
    if (!Array.isArray(p) || !Array.isArray(p[0]) || !Array.isArray(p[1])) throw new DeploymentRefused(`the setup's verifying key has no G2 point ${what}`);
    return [n(p[0][1]), n(p[0][0]), n(p[1][1]), n(p[1][0])];
  };
  if (vk?.protocol !== "groth16" || vk?.curve !== "bn128") throw new DeploymentRefused("the setup's verifying key is not a Groth16 key over BN254 (snarkjs verification_key.json)");
  const words = [...g1(vk.vk_alpha_1, "alpha"), ...g2(vk.vk_beta_2, "beta"), ...g2(vk.vk_gamma_2, "gamma"), ...g2(vk.vk_delta_2, "delta")];
  const ic = (Array.isArray(vk.IC) ? vk.IC : []).flatMap((p, i) => g1(p, `IC${i}`));
  return { vk: words, ic };
}

/**
 * Checks the deployment config.json names against the chain (see the top of this file).
 * @param {import("viem").PublicClient} pub a client of the configured chain
 * @param {object} config the deployment (/config.json)
 * @param {{bounty: string, verifier: string}} creation this app's creation code (0x-hex) of
 *   Bounty and Groth16Verifier, from contracts/build
 * @returns {Promise<{bounty: string, verifier: string, onChainVerifier: string | null}>}
 * @throws {DeploymentRefused} naming what does not match
 */
export async function checkDeployment(pub, config, creation) {
  let bounty;
  try {
    bounty = getAddress(config.bounty);
  } catch {
    throw new DeploymentRefused(`config.json names no Bounty contract address (${JSON.stringify(config.bounty)})`);
  }
  const read = (functionName) => pub.readContract({ address: bounty, abi: GETTERS, functionName });
  let verifier, onChain, length;
  try {
    [verifier, onChain, length] = await Promise.all([read("verifier"), read("onChainVerifier"), read("onChainCiphertextLength")]);
  } catch (e) {
    throw new DeploymentRefused(`the contract at ${bounty} does not answer as a Bounty contract (${e.shortMessage || e.message})`);
  }
  /** The runtime code `code` deploys with `args`, as the node computes it. */
  const deploys = async (code, types, values, what) => {
    try {
      const { data } = await pub.call({ data: `${code}${encodeAbiParameters(types, values).slice(2)}` });
      return (data || "0x").toLowerCase();
    } catch (e) {
      throw new DeploymentRefused(`${what} with the deployment's arguments does not deploy (${e.shortMessage || e.message})`);
    }
  };
  const codeAt = async (address) => ((await pub.getCode({ address })) || "0x").toLowerCase();

  const bountyCode = await deploys(creation.bounty, [{ type: "address" }, { type: "address" }, { type: "uint256" }], [verifier, onChain, length], "this app's Bounty contract");
  if ((await codeAt(bounty)) !== bountyCode) {
    throw new DeploymentRefused(`the contract at ${bounty} is not this app's Bounty contract (its code differs from contracts/build/Bounty.bin deployed with the arguments it reports)`);
  }
  if (config.verifier && getAddress(config.verifier) !== verifier) {
    throw new DeploymentRefused(`config.json names the claim verifier ${config.verifier}, the Bounty contract calls ${verifier}`);
  }
  const args = verifierArgs(config.setup?.["verification_key.json"]);
  if (args.vk.length !== VK_WORDS || args.ic.length !== IC_WORDS) {
    throw new DeploymentRefused(`the setup's verifying key has ${args.ic.length / 2 - 1} public inputs; the claim verifier takes ${IC_WORDS / 2 - 1}`);
  }
  const verifierCode = await deploys(creation.verifier, [{ type: "uint256[14]" }, { type: "uint256[26]" }], [args.vk, args.ic], "this app's Groth16Verifier");
  if ((await codeAt(verifier)) !== verifierCode) {
    throw new DeploymentRefused(`the Bounty contract's claim verifier at ${verifier} does not check proofs with the setup's verifying key (its code is not contracts/build/Groth16Verifier.bin deployed with verification_key.json)`);
  }
  return { bounty, verifier, onChainVerifier: onChain === zeroAddress ? null : onChain };
}
