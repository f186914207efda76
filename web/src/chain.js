// The Bounty contract as the page sees it: its ABI, a client over the configured chain, and
// every bounty's history rebuilt from the contract's events (the chain is the only record the
// page trusts for terms, claims and payments).

import {
  createPublicClient,
  createWalletClient,
  custom,
  formatEther,
  http,
  parseAbi,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

export const BOUNTY_ABI = parseAbi([
  "struct BountyInfo { address host; uint64 threshold; bool approved; bool closed; bool onChain; uint64 deadline; uint64 approvalWindow; uint64 revealWindow; uint64 revealBy; uint256 reward; uint256 hostX; uint256 hostY; bytes32 cidDigest; uint256 approvedClaim; }",
  "struct ClaimInfo { address claimant; uint256 hunterX; uint256 hunterY; uint256 ciphertextHash; uint256 ioDigest; bytes32 keyHash; }",
  "function createBounty(bytes cid, uint64 threshold, uint256 hostX, uint256 hostY, uint64 deadline, uint64 approvalWindow, uint64 revealWindow, bool onChain) payable returns (uint256)",
  "function submitClaim(uint256 id, uint256[2] a, uint256[2][2] b, uint256[2] c, uint256 hunterX, uint256 hunterY, uint256 ciphertextHash, uint256 ioDigest, bytes32 keyHash, uint256 nonce, uint256[] ciphertext) returns (uint256)",
  "function postClaimFiles(uint256 id, uint256 claim, bytes cid)",
  "function approve(uint256 id, uint256 claim)",
  "function withdraw(uint256 id, uint256 key)",
  "function refund(uint256 id)",
  "function bounties(uint256 id) view returns (BountyInfo)",
  "function bountyCount() view returns (uint256)",
  "function claimCount(uint256 id) view returns (uint256)",
  "function claims(uint256 id, uint256 claim) view returns (ClaimInfo)",
  "function cids(uint256 id) view returns (bytes)",
  "event BountyCreated(uint256 indexed id, address indexed host, bytes cid, uint64 threshold, uint256 hostX, uint256 hostY, uint256 reward, uint64 deadline, bool onChain)",
  "event ClaimSubmitted(uint256 indexed id, uint256 indexed claim, address indexed claimant, uint256 hunterX, uint256 hunterY, uint256 ciphertextHash, uint256 ioDigest, bytes32 keyHash)",
  "event CiphertextPosted(uint256 indexed id, uint256 indexed claim, uint256 nonce, uint256[] ciphertext)",
  "event ClaimApproved(uint256 indexed id, uint256 indexed claim, address claimant, uint64 revealBy)",
  "event KeyRevealed(uint256 indexed id, uint256 indexed claim, uint256 key)",
  "event RewardWithdrawn(uint256 indexed id, address indexed claimant, uint256 amount)",
  "event BountyRefunded(uint256 indexed id, address indexed host, uint256 amount)",
  "event ClaimFilesPosted(uint256 indexed id, uint256 indexed claim, bytes cid)",
]);

/**
 * Clients for the configured chain. A development chain (config.dev) signs with its known test
 * accounts in the page; any other chain only through the browser's injected wallet (EIP-1193).
 * @param {object} config the deployment (/config.json)
 */
export function connect(config) {
  const chain = {
    id: config.chain.id,
    name: config.chain.name || `chain ${config.chain.id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.chain.rpc] } },
  };
  const pub = createPublicClient({ chain, transport: http(config.chain.rpc), pollingInterval: 500 });
  const accounts = config.dev
    ? config.dev.accounts.map((a) => ({ name: a.name, account: privateKeyToAccount(a.key) }))
    : [];
  /** A wallet client for the account named `name` (dev), or the injected wallet. */
  async function wallet(name) {
    if (config.dev) {
      const a = accounts.find((x) => x.name === name) || accounts[0];
      return createWalletClient({ chain, transport: http(config.chain.rpc), account: a.account });
    }
    if (!globalThis.ethereum) throw new Error("no wallet: install an EIP-1193 wallet (e.g. MetaMask) to sign");
    const [address] = await globalThis.ethereum.request({ method: "eth_requestAccounts" });
    return createWalletClient({ chain, transport: custom(globalThis.ethereum), account: address });
  }
  /** Sends a contract call and waits for its receipt; a revert's reason becomes the error. */
  async function send(name, functionName, args, value = 0n) {
    const w = await wallet(name);
    const { request } = await pub.simulateContract({
      address: config.bounty,
      abi: BOUNTY_ABI,
      functionName,
      args,
      value,
      account: w.account,
    });
    const hash = await w.writeContract(request);
    const receipt = await pub.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted (${hash})`);
    return receipt;
  }
  return { pub, accounts, wallet, send };
}

/** Every event of the contract since its deployment, decoded, oldest first, with block times. */
export async function history(pub, config) {
  const logs = await pub.getContractEvents({
    address: config.bounty,
    abi: BOUNTY_ABI,
    fromBlock: BigInt(config.fromBlock || 0),
    toBlock: "latest",
  });
  const times = new Map();
  for (const l of logs) {
    if (!times.has(l.blockNumber)) {
      const b = await pub.getBlock({ blockNumber: l.blockNumber });
      times.set(l.blockNumber, Number(b.timestamp));
    }
  }
  return logs.map((l) => ({ name: l.eventName, args: l.args, time: times.get(l.blockNumber), tx: l.transactionHash }));
}

/**
 * Every bounty with its claims and settlement, from the events.
 * State: open (taking claims), claimed (claims, none approved), approved, paid, refunded, expired
 * (past the deadline with no claim approved, refundable).
 */
export function bounties(events, now) {
  const byId = new Map();
  const get = (id) => byId.get(String(id));
  for (const e of events) {
    const a = e.args;
    switch (e.name) {
      case "BountyCreated":
        byId.set(String(a.id), {
          id: a.id,
          host: a.host,
          cid: a.cid,
          threshold: a.threshold,
          hostKey: [a.hostX.toString(), a.hostY.toString()],
          reward: a.reward,
          deadline: Number(a.deadline),
          onChain: a.onChain,
          created: e.time,
          claims: [],
          events: [{ what: "created", time: e.time, tx: e.tx }],
        });
        break;
      case "ClaimSubmitted":
        get(a.id).claims.push({
          index: a.claim,
          claimant: a.claimant,
          hunterKey: [a.hunterX.toString(), a.hunterY.toString()],
          ciphertextHash: a.ciphertextHash.toString(),
          ioDigest: a.ioDigest.toString(),
          keyHash: a.keyHash,
          submitted: e.time,
          tx: e.tx,
        });
        get(a.id).events.push({ what: `claim ${a.claim} submitted`, time: e.time, tx: e.tx });
        break;
      case "CiphertextPosted":
        Object.assign(claimOf(get(a.id), a.claim), { nonce: a.nonce.toString(), ciphertext: a.ciphertext.map(String) });
        break;
      case "ClaimFilesPosted":
        claimOf(get(a.id), a.claim).files = a.cid;
        break;
      case "ClaimApproved":
        Object.assign(get(a.id), { approved: a.claim, revealBy: Number(a.revealBy), approvedAt: e.time });
        get(a.id).events.push({ what: `claim ${a.claim} approved`, time: e.time, tx: e.tx });
        break;
      case "KeyRevealed":
        Object.assign(get(a.id), { revealedKey: a.key, revealedAt: e.time });
        get(a.id).events.push({ what: `claim ${a.claim} revealed its key`, time: e.time, tx: e.tx });
        break;
      case "RewardWithdrawn":
        Object.assign(get(a.id), { paid: a.amount, paidAt: e.time });
        get(a.id).events.push({ what: `paid ${formatEther(a.amount)} ETH`, time: e.time, tx: e.tx });
        break;
      case "BountyRefunded":
        Object.assign(get(a.id), { refunded: a.amount, refundedAt: e.time });
        get(a.id).events.push({ what: `refunded ${formatEther(a.amount)} ETH`, time: e.time, tx: e.tx });
        break;
    }
  }
  for (const b of byId.values()) b.state = stateOf(b, now);
  return [...byId.values()];
}

function claimOf(b, index) {
  return b.claims.find((c) => c.index === index);
}

function stateOf(b, now) {
  if (b.refunded !== undefined) return "refunded";
  if (b.paid !== undefined) return "paid";
  if (b.approved !== undefined) return "approved";
  if (now <= b.deadline) return b.claims.length ? "claimed" : "open";
  return b.claims.length ? "claimed" : "expired";
}

export { formatEther, parseEther };
