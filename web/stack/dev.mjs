// One command for the bounty market's development stack (`cd web && npm run stack`):
//   1. a bounty claim setup (kerafold claim-setup) for a model and dataset shape — by default the
//      shipped digits example, keys drawn here (a development setup: hunters pass
//      --trust-host-key);
//   2. a Hardhat node (chain 31337) with Groth16Verifier (the setup's verifying key) and Bounty
//      deployed;
//   3. a Helia IPFS node with a disk blockstore and an HTTP gateway (stack/ipfs-node.mjs);
//   4. `kerafold serve` with the web app (web/dist) and its config.json (the deployment, the
//      setup's public files, the chain's test accounts).
// With --ptau DIR, hunters' accuracy proofs are HyperKZG proofs over the powers of tau in DIR:
// the setup made here names them (claim-setup --accuracy-ptau) and `serve` verifies over them.
// Prints one JSON line with the addresses when ready; Ctrl-C stops everything.
//
//   node stack/dev.mjs [--state DIR] [--setup DIR] [--model M --data D] [--ptau DIR]
//                      [--port 8700] [--chain-port 8545] [--ipfs-port 5001] [--kerafold BIN]

import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, http, parseAbi } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { startIpfsNode } from "./ipfs-node.mjs";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(WEB, "..");
// Hardhat's default accounts (the well-known test mnemonic): never hold value anywhere else.
const TEST_MNEMONIC = "test test test test test test test test test test test junk";
const SETUP_FILES = ["setup.json", "architecture.json", "verification_key.json"];

/** The command line's `--name value` options. */
function options(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith("--")) throw new Error(`unexpected argument '${argv[i]}' (see the head of stack/dev.mjs)`);
    o[argv[i].slice(2)] = argv[i + 1];
    i++;
  }
  return o;
}

/** The kerafold binary: --kerafold, $KERAFOLD_BIN, or the workspace's release build (built if missing). */
function kerafoldBin(given) {
  const bin = given || process.env.KERAFOLD_BIN || join(ROOT, "target/release/kerafold");
  if (!existsSync(bin)) {
    console.error("building kerafold (cargo build --release) …");
    execFileSync("cargo", ["build", "--release", "--bin", "kerafold"], { cwd: ROOT, stdio: "inherit" });
  }
  return bin;
}

/** A claim setup for `model` and `data` (by default the shipped digits test set, packed into the
 * state directory) in `state/setup`, kept across runs; with `ptau`, holding accuracy proofs to
 * the powers of tau there. Returns its directory and the dataset. */
function claimSetup(bin, state, model, data, ptau) {
  const dir = join(state, "setup");
  if (!data) {
    data = join(state, "digits.kfd");
    if (!existsSync(data)) {
      execFileSync(bin, ["dataset", "pack", "--features", join(ROOT, "examples/digits/test_x.npy"), "--labels",
        join(ROOT, "examples/digits/test_y.npy"), "--scale-shift", "4", "-o", data], { stdio: ["ignore", "ignore", "inherit"] });
    }
  }
  if (!existsSync(join(dir, "setup.json"))) {
    console.error("claim setup (kerafold claim-setup, keys drawn here) …");
    const tau = ptau ? ["--accuracy-ptau", ptau] : [];
    execFileSync(bin, ["claim-setup", model, "--data", data, ...tau, "-o", dir], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return { dir, data };
}

/** Starts a child process; its output goes to `log`. Returns it. */
function child(cmd, args, opts, log) {
  const p = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
  p.stdout.on("data", (d) => log(d.toString()));
  p.stderr.on("data", (d) => log(d.toString()));
  return p;
}

async function waitFor(what, probe, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${what} did not start within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Deploys Groth16Verifier(vk, ic) with `args` (a setup's verifier_args.json), then
 * Bounty(verifier, 0, 0), from the chain's first test account. */
export async function deploy(rpc, args) {
  const chain = { id: 31337, name: "hardhat", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpc] } } };
  const account = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 0 });
  const w = createWalletClient({ chain, transport: http(rpc), account });
  const pub = createPublicClient({ chain, transport: http(rpc) });
  const bin = (name) => `0x${readFileSync(join(ROOT, "contracts/build", `${name}.bin`), "utf8").trim()}`;
  const created = async (hash) => {
    const r = await pub.waitForTransactionReceipt({ hash });
    if (r.status !== "success" || !r.contractAddress) throw new Error(`deployment ${hash} failed`);
    return r;
  };
  const v = await created(await w.deployContract({
    abi: parseAbi(["constructor(uint256[14] vk, uint256[26] ic)"]),
    bytecode: bin("Groth16Verifier"),
    args: [args.vk.map(BigInt), args.ic.map(BigInt)],
  }));
  const b = await created(await w.deployContract({
    abi: parseAbi(["constructor(address verifier, address onChainVerifier, uint256 onChainCiphertextLength)"]),
    bytecode: bin("Bounty"),
    args: [v.contractAddress, "0x0000000000000000000000000000000000000000", 0n],
  }));
  return { verifier: v.contractAddress, bounty: b.contractAddress, fromBlock: Number(v.blockNumber) };
}

/**
 * Starts the stack; resolves when every part answers. `close()` stops it.
 * @param {{state?: string, setup?: string, model?: string, data?: string, ptau?: string,
 *   port?: number, chainPort?: number, ipfsPort?: number, kerafold?: string,
 *   log?: (s: string) => void}} o
 */
export async function startStack(o = {}) {
  const log = o.log || (() => {});
  const state = resolve(o.state || join(WEB, ".stack"));
  mkdirSync(state, { recursive: true });
  const bin = kerafoldBin(o.kerafold);
  const ptau = o.ptau && resolve(o.ptau);
  const made = o.setup ? { dir: resolve(o.setup), data: o.data } : claimSetup(bin, state, o.model || join(ROOT, "examples/digits/digits.keras"), o.data, ptau);
  const setup = made.dir;
  const dist = join(WEB, "dist");
  if (!existsSync(join(dist, "index.html"))) {
    console.error("building the web app (vite build) …");
    execFileSync(join(WEB, "node_modules/.bin/vite"), ["build"], { cwd: WEB, stdio: ["ignore", "ignore", "inherit"] });
  }
  const children = [];
  let ipfs;
  const close = async () => {
    for (const c of children) c.kill("SIGTERM");
    if (ipfs) await ipfs.close();
  };
  try {
    const chainPort = o.chainPort ?? 8545;
    const rpc = `http://127.0.0.1:${chainPort}`;
    children.push(child(join(WEB, "node_modules/.bin/hardhat"), ["node", "--hostname", "127.0.0.1", "--port", String(chainPort)],
      { cwd: WEB, env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" } }, (s) => log(`[chain] ${s}`)));
    await waitFor("the Hardhat node", async () => (await fetch(rpc, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    })).ok);
    const deployed = await deploy(rpc, JSON.parse(readFileSync(join(setup, "verifier_args.json"), "utf8")));
    ipfs = await startIpfsNode({ dir: join(state, "ipfs"), port: o.ipfsPort ?? 5001 });

    const site = join(state, "site");
    rmSync(site, { recursive: true, force: true });
    cpSync(dist, site, { recursive: true });
    const config = {
      chain: { id: 31337, name: "Hardhat (development)", rpc },
      bounty: deployed.bounty,
      verifier: deployed.verifier,
      fromBlock: deployed.fromBlock,
      ipfs: ipfs.url,
      setupDir: setup,
      ptauDir: ptau,
      setup: Object.fromEntries(SETUP_FILES.map((f) => [f, JSON.parse(readFileSync(join(setup, f), "utf8"))])),
      dev: {
        accounts: ["host", "hunter", "visitor"].map((name, i) => ({
          name,
          key: `0x${Buffer.from(mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i + 1 }).getHdKey().privateKey).toString("hex")}`,
        })),
      },
    };
    writeFileSync(join(site, "config.json"), JSON.stringify(config, null, 2));

    const port = o.port ?? 8700;
    const tau = ptau ? ["--ptau", ptau] : [];
    const serve = child(bin, ["serve", "--bind", `127.0.0.1:${port}`, "--web", site, "--params-dir", join(state, "params"), ...tau, "--json"],
      {}, (s) => log(`[serve] ${s}`));
    children.push(serve);
    // its one JSON line says where it listens; an exit before it is a failure, not a retry
    const listening = await new Promise((res, rej) => {
      let out = "";
      const timer = setTimeout(() => rej(new Error("kerafold serve did not start within 60 s")), 60000);
      serve.stdout.on("data", (d) => {
        out += d;
        const line = out.split("\n").find((l) => l.includes("listening"));
        if (line) {
          clearTimeout(timer);
          res(JSON.parse(line));
        }
      });
      serve.on("exit", (code) => {
        clearTimeout(timer);
        rej(new Error(`kerafold serve exited with ${code} (STACK_VERBOSE=1 shows its output)`));
      });
    });
    return { app: listening.app, api: listening.listening, rpc, ipfs: ipfs.url, setup, dataset: made.data, config, close };
  } catch (e) {
    await close();
    throw e;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = options(process.argv.slice(2));
  const stack = await startStack({
    state: o.state,
    setup: o.setup,
    model: o.model,
    data: o.data,
    ptau: o.ptau,
    port: o.port && Number(o.port),
    chainPort: o["chain-port"] && Number(o["chain-port"]),
    ipfsPort: o["ipfs-port"] && Number(o["ipfs-port"]),
    kerafold: o.kerafold,
    log: process.env.STACK_VERBOSE ? (s) => process.stderr.write(s) : undefined,
  }).catch((e) => {
    console.error(`stack: ${e.message}`);
    process.exit(2);
  });
  console.log(JSON.stringify({ app: stack.app, api: stack.api, rpc: stack.rpc, ipfs: stack.ipfs, bounty: stack.config.bounty, setup: stack.setup, dataset: stack.dataset }));
  console.error(`the bounty market is on ${stack.app} (Ctrl-C stops the stack)`);
  const stop = async () => {
    await stack.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
