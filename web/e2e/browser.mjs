// The bounty market end to end in a real browser (Debian's Chromium, driven by playwright-core):
// the development stack (a Hardhat node with the contracts, the IPFS node, kerafold serve with
// the web app), a host and a hunter acting through the page, the hunter's proofs made by the
// kerafold CLI. Run by tests/suite/browser.rs (`cargo test`); alone:
//
//   KERAFOLD_BIN=target/release/kerafold node web/e2e/browser.mjs ARTIFACTS_DIR
//
// Every step leaves a screenshot in ARTIFACTS_DIR. Exits 0 only if every check held.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { deploy, startStack } from "../stack/dev.mjs";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(WEB, "..");
const BIN = process.env.KERAFOLD_BIN || join(ROOT, "target/release/kerafold");
const BROWSER = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = resolve(process.argv[2] || join(ROOT, "target/browser-test"));
const MODEL = join(ROOT, "tests/fixtures/digits.keras");
// the digits fixture's first SAMPLES test records: a small bounty, few folds to prove
const SAMPLES = 6;
const THRESHOLD = 4;

const work = mkdtempSync(join(tmpdir(), "kerafold-browser-"));
const p = (f) => join(work, f);
const DATA = p("digits.kfd");
const cli = (...args) => execFileSync(BIN, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
let shot = 0;

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The first `n` rows of a .npy file (version 1, C order): the header with the new count. */
function npyHead(src, n, dst) {
  const b = readFileSync(src);
  const headerLen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLen).toString("latin1");
  const shape = header.match(/'shape': \((\d+),([^)]*)\)/);
  const rows = Number(shape[1]);
  const data = b.subarray(10 + headerLen);
  const rowBytes = data.length / rows;
  let h = header.replace(shape[0], `'shape': (${n},${shape[2]})`).trimEnd();
  h = h.padEnd(Math.ceil((10 + h.length + 1) / 64) * 64 - 10 - 1) + "\n";
  const len = Buffer.alloc(2);
  len.writeUInt16LE(h.length);
  writeFileSync(dst, Buffer.concat([b.subarray(0, 8), len, Buffer.from(h, "latin1"), data.subarray(0, n * rowBytes)]));
}

/** The digits fixture's first `n` test records, packed as `kerafold dataset pack` does into `out`. */
function packDigits(n, out) {
  npyHead(join(ROOT, "tests/fixtures/digits_test_x.npy"), n, p(`x${n}.npy`));
  npyHead(join(ROOT, "tests/fixtures/digits_test_y.npy"), n, p(`y${n}.npy`));
  cli("dataset", "pack", "--features", p(`x${n}.npy`), "--labels", p(`y${n}.npy`), "--scale-shift", "4", "--classes", "10", "-o", out);
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const t0 = Date.now();
  const step = (what) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${what}`);

  step("dataset");
  packDigits(SAMPLES, DATA);

  // the bounty takes HyperKZG accuracy proofs (what a chain's verifier would want): a tau drawn
  // here, as a development ceremony, by a one-sample proof that sizes it for the digits circuit
  step("powers of tau (insecure, development)");
  packDigits(1, p("one.kfd"));
  cli("prove-accuracy", MODEL, "--data", p("one.kfd"), "--model", "private", "-o", p("tau.proof"), "--opening", p("tau-opening.json"),
    "--params-dir", p("tau-params"), "--insecure-random-tau");
  const PTAU = p("tau-params/insecure-random-tau");

  step("claim setup");
  cli("claim-setup", MODEL, "--data", DATA, "--accuracy-ptau", PTAU, "-o", p("setup"));
  step("stack");
  const stack = await startStack({
    state: p("stack"), setup: p("setup"), ptau: PTAU, kerafold: BIN, port: 0,
    chainPort: await freePort(), ipfsPort: 0,
    log: process.env.STACK_VERBOSE ? (s) => process.stderr.write(s) : undefined,
  });
  // the page's hunter account: the stack's test account of that name
  const HUNTER = privateKeyToAccount(stack.config.dev.accounts.find((a) => a.name === "hunter").key).address;
  const browser = await chromium.launch({
    executablePath: BROWSER,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  try {
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    const snap = async (name) => page.screenshot({ path: join(artifacts, `${String(++shot).padStart(2, "0")}-${name}.png`), fullPage: true });
    const as = async (who) => {
      await page.selectOption("#account", who);
      await page.waitForFunction((w) => document.body.dataset.account === w, who);
    };
    /** Clicks `selector` and saves the download it starts as `name` in the work directory. */
    const downloadOf = async (selector, name) => {
      const [d] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
      await d.saveAs(p(name));
      return readFileSync(p(name));
    };
    const noError = async () => {
      const s = page.locator("#status.error");
      if (await s.count() && await s.isVisible()) throw new Error(`the page reports: ${await s.textContent()}`);
    };

    // --- the page checks the deployment config.json names against the chain: the honest one
    //     passes; a Bounty whose claim verifier has another key, or an address that is no
    //     Bounty contract, is refused and nothing is shown
    step("deployment checked against the chain");
    await page.goto(stack.app);
    await page.waitForFunction(() => document.querySelector("#deployment").textContent.includes("code checked"));
    const evil = await deployOtherKey(stack);
    for (const [lie, refusal] of [
      [{ bounty: evil.bounty, verifier: evil.verifier }, "does not check proofs with the setup's verifying key"],
      [{ bounty: stack.config.verifier }, "does not answer as a Bounty contract"],
    ]) {
      await page.route("**/config.json", (route) => route.fulfill({ json: { ...stack.config, ...lie } }));
      await page.goto(stack.app);
      await page.waitForSelector("#deployment-refused");
      const shown = await page.locator("#deployment-refused").textContent();
      assert.ok(shown.includes(refusal), shown);
      assert.equal(await page.locator("#bounties, #create").count(), 0, "nothing shown for a refused deployment");
      if (lie.verifier) await snap("deployment-refused");
      await page.unroute("**/config.json");
    }
    await page.goto(stack.app);
    await page.waitForFunction(() => document.querySelector("#deployment").textContent.includes("code checked"));
    await page.waitForFunction(() => document.querySelector("#account").options.length > 0);

    // --- host: a bounty over the dataset, its CID computed in the page, published to IPFS
    step("host creates a bounty");
    await as("host");
    await page.goto(`${stack.app}#/new`);
    const cid = cli("cid", DATA).trim();
    await page.setInputFiles("#dataset-file", DATA);
    await page.waitForFunction((c) => document.querySelector("#dataset-cid").textContent.startsWith(c), cid);
    await page.click("#publish");
    await page.waitForFunction(() => document.querySelector("#dataset-cid").textContent.includes("published"));
    const [secret, pub] = await Promise.all([
      page.waitForEvent("download").then(async (d) => { await d.saveAs(p("host-key.json")); return d; }),
      page.waitForEvent("download", (d) => d.suggestedFilename() === "host.pub.json").then(async (d) => { await d.saveAs(p("host.pub.json")); return d; }),
      page.click("#generate-key"),
    ]);
    assert.equal(secret.suggestedFilename(), "host-key.json");
    assert.equal(pub.suggestedFilename(), "host.pub.json");
    await page.fill("#threshold", String(THRESHOLD));
    await page.fill("#reward", "2");
    await snap("host-create-bounty");
    await page.click("#create");
    await page.waitForURL(/#\/bounty\/0$/);
    await page.waitForSelector("#bounty-state");
    assert.equal(await page.textContent("#bounty-state"), "open");
    await noError();
    await snap("bounty-open");

    // --- hunter: the dataset from IPFS by its CID, checked in the page
    step("hunter fetches the dataset");
    await as("hunter");
    const fetched = await downloadOf("#fetch-dataset", "fetched.kfd");
    assert.deepEqual(fetched, readFileSync(DATA), "the dataset fetched by CID is the host's file");
    await page.waitForSelector("#dataset-check.ok");
    await snap("hunter-fetched-dataset");
    // a gateway that answers other bytes for the CID is refused
    await page.route(`${stack.ipfs}/ipfs/${cid}`, (route) => route.fulfill({ status: 200, body: Buffer.from("not the dataset") }));
    await page.click("#fetch-dataset");
    await page.waitForSelector("#status.error");
    assert.match(await page.textContent("#status"), /refused/);
    await snap("hunter-dataset-refused");
    await page.unroute(`${stack.ipfs}/ipfs/${cid}`);

    // --- hunter: the proofs, by the CLI, as the page's commands say
    step("hunter proves accuracy and builds the claim (CLI)");
    const commands = await page.textContent("#commands");
    assert.match(commands, /kerafold prove-accuracy/);
    assert.ok(commands.includes(`--ptau ${PTAU}`), "the commands name the bounty's powers of tau");
    assert.ok(commands.includes(`--accuracy-ptau ${PTAU}`), "the claim command names them too");
    assert.ok(commands.includes(`--address ${HUNTER}`), "the commands name the hunter's address");
    cli("keygen", "-o", p("hunter.json"));
    cli("prove-accuracy", MODEL, "--data", p("fetched.kfd"), "--model", "private", "--arch", p("setup/architecture.json"),
      "-o", p("acc.proof"), "--opening", p("opening.json"), "--params-dir", p("params"), "--ptau", PTAU);
    cli("encrypt-weights", p("opening.json"), "--host-key", p("host.pub.json"), "--key", p("hunter.json"), "-o", p("ct.json"));
    cli("claim", p("ct.json"), "--key", p("hunter.json"), "--accuracy", p("acc.proof"), "--host-key", p("host.pub.json"),
      "--trust-host-key", "--setup", p("setup"), "--cid", cid, "--threshold", String(THRESHOLD), "--address", HUNTER,
      "--params-dir", p("params"), "--accuracy-ptau", PTAU, "-o", p("claim"));

    step("hunter submits the claim through the page");
    const claimFiles = (acc) => [acc, p("ct.json"), p("claim/proof.json"), p("claim/claim.json"), p("claim/calldata.txt")];
    await page.setInputFiles("#claim-files", claimFiles(p("acc.proof")));
    await page.click("#submit-claim");
    const verdict = (i) => page.locator(`#claims tr[data-claim="${i}"] .verdict`);
    await verdict(0).waitFor();
    await page.waitForFunction(() => !document.querySelector('#claims tr[data-claim="0"] .verdict').textContent.startsWith("…"));
    assert.match(await verdict(0).textContent(), new RegExp(`^verified: \\d+/${SAMPLES} correct`));
    await snap("claim-verified");

    // the same claim with an accuracy proof that is not the one it binds: on chain it is a
    // valid proof, but its files do not verify, so the page shows it and refuses to approve it
    const forged = JSON.parse(readFileSync(p("acc.proof"), "utf8"));
    forged.claim.correct = forged.claim.correct === SAMPLES ? SAMPLES - 1 : forged.claim.correct + 1;
    mkdirSync(p("forged"), { recursive: true });
    writeFileSync(p("forged/acc.proof"), JSON.stringify(forged));
    await page.setInputFiles("#claim-files", claimFiles(p("forged/acc.proof")));
    await page.click("#submit-claim");
    await verdict(1).waitFor();
    await page.waitForFunction(() => document.querySelector('#claims tr[data-claim="1"] .verdict')?.textContent.startsWith("not verified"));

    // --- host: approves the verified claim; the other cannot be approved
    step("host approves");
    await as("host");
    await page.reload();
    await page.waitForSelector('#claims tr[data-claim="1"] button.approve');
    assert.ok(await page.isDisabled('#claims tr[data-claim="1"] button.approve'), "an unverified claim cannot be approved");
    assert.match(await verdict(1).textContent(), /^not verified/);
    await snap("host-sees-claims");
    await page.click('#claims tr[data-claim="0"] button.approve');
    await page.waitForFunction(() => document.querySelector("#bounty-state")?.textContent === "approved");
    await noError();
    await snap("approved");

    // --- hunter: reveals κ and is paid
    step("hunter reveals and withdraws");
    await as("hunter");
    const kappa = JSON.parse(cli("reveal-key", p("ct.json"), "--key", p("hunter.json"))).key;
    await page.fill('#claims tr[data-claim="0"] input.reveal-key', kappa);
    await page.click('#claims tr[data-claim="0"] button.withdraw');
    await page.waitForFunction(() => document.querySelector("#bounty-state")?.textContent === "paid");
    await noError();
    await snap("paid");

    // --- host: decrypts in the page; the opening is the hunter's quantized model
    step("host decrypts");
    await as("host");
    await page.setInputFiles("#host-key-file", p("host-key.json"));
    const opened = JSON.parse(await downloadOf("#decrypt-button", "decrypted.json"));
    const hunters = JSON.parse(readFileSync(p("opening.json"), "utf8"));
    assert.deepEqual(opened.model, hunters.model, "the decrypted model is the hunter's quantized model");
    assert.deepEqual(opened.blinds, hunters.blinds);
    assert.equal(opened.commitment, hunters.commitment);
    await page.waitForSelector("#decrypted .ok");
    await snap("decrypted");

    // --- a bounty nobody claims: once its deadline and approval window are over, the host
    //     takes the reward back (the chain's clock moved on with Hardhat's evm_increaseTime)
    step("host refunds an unclaimed bounty");
    await page.goto(`${stack.app}#/new`);
    await page.setInputFiles("#dataset-file", DATA);
    await page.waitForFunction((c) => document.querySelector("#dataset-cid").textContent.startsWith(c), cid);
    await Promise.all([page.waitForEvent("download"), page.waitForEvent("download", (d) => d.suggestedFilename() === "host.pub.json"), page.click("#generate-key")]);
    await page.fill("#deadline", "1");
    await page.fill("#approval", "0");
    await page.click("#create");
    await page.waitForURL(/#\/bounty\/1$/);
    assert.equal(await page.locator("#refund").count(), 0, "no refund before the deadline");
    for (const [method, params] of [["evm_increaseTime", [120]], ["evm_mine", []]]) {
      const r = await fetch(stack.rpc, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
      assert.ok(r.ok, method);
    }
    await page.reload();
    await page.click("#refund");
    await page.waitForFunction(() => document.querySelector("#bounty-state")?.textContent === "refunded");
    await noError();
    await snap("refunded");

    await page.goto(stack.app);
    await page.waitForSelector("#bounties");
    await page.waitForSelector("svg.chart");
    await snap("bounties");
    step("done");
  } catch (e) {
    // what the page showed when a check failed
    await page.screenshot({ path: join(artifacts, "failure.png"), fullPage: true }).catch(() => {});
    const shown = await page.locator("#status").textContent().catch(() => "");
    throw new Error(`${e.message}${shown ? `\nthe page's status: ${shown}` : ""}`);
  } finally {
    await browser.close();
    await stack.close();
  }
}

/** A look-alike deployment: this app's Groth16Verifier with the setup's key but gamma and delta
 * swapped (another key: whoever made it could forge claims), and this app's Bounty contract
 * calling it. */
async function deployOtherKey(stack) {
  const args = JSON.parse(readFileSync(join(stack.setup, "verifier_args.json"), "utf8"));
  const vk = [...args.vk.slice(0, 6), ...args.vk.slice(10, 14), ...args.vk.slice(6, 10)];
  return deploy(stack.rpc, { vk, ic: args.ic });
}

main().then(
  () => {
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  },
  (e) => {
    console.error(`browser test failed: ${e.stack || e.message}\n(work files kept in ${work}, screenshots in ${artifacts})`);
    process.exit(1);
  },
);
