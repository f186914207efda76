// A bounty's state and history as the page rebuilds them from the contract's events
// (web/src/chain.js `bounties`): every state, in the order the contract allows them.
// Run: cd web && node --test test/

import assert from "node:assert/strict";
import { test } from "node:test";
import { bounties } from "../src/chain.js";

const HOST = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const HUNTER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const ev = (name, time, args) => ({ name, time, tx: `0x${name}${time}`, args });
const created = (id, deadline) =>
  ev("BountyCreated", 100, { id, host: HOST, cid: "0x01551220", threshold: 4n, hostX: 1n, hostY: 2n, reward: 2n * 10n ** 18n, deadline: BigInt(deadline), onChain: false });
const claimed = (id, claim, time) => [
  ev("ClaimSubmitted", time, { id, claim, claimant: HUNTER, hunterX: 3n, hunterY: 4n, ciphertextHash: 5n, ioDigest: 6n, keyHash: "0x07" }),
  ev("CiphertextPosted", time, { id, claim, nonce: 8n, ciphertext: [9n, 10n, 11n, 12n] }),
];

test("a bounty goes open, claimed, approved, paid", () => {
  const events = [created(0n, 1000)];
  assert.equal(bounties(events, 500)[0].state, "open");
  events.push(...claimed(0n, 0n, 200));
  let [b] = bounties(events, 500);
  assert.equal(b.state, "claimed");
  assert.deepEqual(b.claims[0].hunterKey, ["3", "4"]);
  assert.deepEqual(b.claims[0].ciphertext, ["9", "10", "11", "12"]);
  assert.equal(b.claims[0].nonce, "8");
  assert.equal(b.claims[0].files, undefined, "no files until the claimant posts them");
  events.push(ev("ClaimFilesPosted", 201, { id: 0n, claim: 0n, cid: "0x0170" }));
  events.push(ev("ClaimApproved", 300, { id: 0n, claim: 0n, claimant: HUNTER, revealBy: 4000n }));
  [b] = bounties(events, 500);
  assert.equal(b.claims[0].files, "0x0170");
  assert.equal(b.state, "approved");
  assert.equal(b.revealBy, 4000);
  events.push(ev("KeyRevealed", 400, { id: 0n, claim: 0n, key: 42n }));
  events.push(ev("RewardWithdrawn", 400, { id: 0n, claimant: HUNTER, amount: 2n * 10n ** 18n }));
  [b] = bounties(events, 500);
  assert.equal(b.state, "paid");
  assert.equal(b.revealedKey, 42n);
  assert.deepEqual(b.events.map((e) => e.what), ["created", "claim 0 submitted", "claim 0 approved", "claim 0 revealed its key", "paid 2 ETH"]);
});

test("an unclaimed bounty expires after its deadline, then is refunded", () => {
  const events = [created(0n, 1000), created(1n, 5000), ...claimed(1n, 0n, 200)];
  const [a, b] = bounties(events, 2000);
  assert.equal(a.state, "expired");
  assert.equal(b.state, "claimed");
  events.push(ev("BountyRefunded", 2100, { id: 0n, host: HOST, amount: 2n * 10n ** 18n }));
  assert.equal(bounties(events, 2200)[0].state, "refunded");
  assert.equal(bounties(events, 2200)[1].claims.length, 1, "claims stay with their bounty");
});
