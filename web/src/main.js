// The bounty market: bounties and their claims from the chain, datasets and claim files from
// IPFS (checked against their CIDs here), proofs verified by the local kerafold server, keys
// generated and weights decrypted in this page. Pages: #/ (bounties and a chart of claimed
// accuracies), #/new (create a bounty), #/bounty/ID (terms, history, claims and the actions of
// whoever the selected account is).

import { parseEventLogs } from "viem";
import { BOUNTY_ABI, bounties, connect, formatEther, history, parseEther } from "./chain.js";
import { checkCid, cidBytes, cidFromBytes, cidOf } from "./cid.js";
import { decryptWeights } from "./decrypt.js";
import { checkDeployment } from "./deployment.js";
import { generateHostKey, parseKeyFile, serializeKeyFile } from "./keys.js";
// this app's contracts, built from contracts/ (the page checks the chain's code against them)
import bountyCreation from "../../contracts/build/Bounty.bin?raw";
import verifierCreation from "../../contracts/build/Groth16Verifier.bin?raw";

const app = document.getElementById("app");
let config, client;
/** Verification results by "bounty/claim", so a page render does not verify twice. */
const verified = new Map();

// --- small DOM helpers --------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false && v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function status(msg, error = false) {
  let s = document.getElementById("status");
  if (!s) document.body.append((s = h("div", { id: "status" })));
  s.textContent = msg;
  s.className = error ? "error" : "";
  s.style.display = msg ? "block" : "none";
}

/** Runs an action of a button: shows progress, reports failure, re-renders (unless the page
 * holds a form in progress: `rerender` false). */
function action(label, fn, rerender = true) {
  return async (ev) => {
    const b = ev?.currentTarget;
    if (b) b.disabled = true;
    status(`${label}…`);
    try {
      await fn();
      status("");
      if (rerender) await render();
      else if (b) b.disabled = false;
    } catch (e) {
      status(`${label}: ${e.shortMessage || e.message}`, true);
      if (b) b.disabled = false;
    }
  };
}

function download(name, data, type = "application/json") {
  const body = typeof data === "string" || data instanceof Uint8Array ? data : JSON.stringify(data, null, 2);
  const blob = new Blob([body], { type });
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

const when = (t) => (t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "—");
const short = (a) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const readFile = (input) => input.files[0]?.arrayBuffer().then((b) => new Uint8Array(b));

// --- the server, IPFS and the chain -------------------------------------------------------

/** POSTs JSON (or bytes) to the kerafold server; its error message becomes the Error. */
async function api(path, body) {
  const r = await fetch(`api/${path}`, {
    method: "POST",
    headers: { "content-type": body instanceof Uint8Array ? "application/octet-stream" : "application/json" },
    body: body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error?.message || `${path}: HTTP ${r.status}`);
  return j;
}

/** Adds bytes to the IPFS node; the CID it answers must be the one computed here. */
async function ipfsAdd(bytes) {
  const expected = await cidOf(bytes);
  const r = await fetch(`${config.ipfs}/api/v0/add`, { method: "POST", body: bytes });
  if (!r.ok) throw new Error(`IPFS add: HTTP ${r.status}`);
  const { cid } = await r.json();
  if (cid !== expected) throw new Error(`the IPFS node stored the file as ${cid}, not ${expected}`);
  return cid;
}

/** The file with `cid` from the IPFS node, refused unless its bytes hash to that CID. */
async function ipfsGet(cid) {
  const r = await fetch(`${config.ipfs}/ipfs/${cid}`);
  if (!r.ok) throw new Error(`IPFS: ${cid} not found (HTTP ${r.status})`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  await checkCid(bytes, cid);
  return bytes;
}

function account() {
  return document.getElementById("account").value;
}
function address() {
  const a = client.accounts.find((x) => x.name === account());
  return a ? a.account.address : undefined;
}

async function load() {
  const events = await history(client.pub, config);
  const now = Number((await client.pub.getBlock()).timestamp);
  return { list: bounties(events, now), now };
}

// --- pages ----------------------------------------------------------------------------------

/** Renders counted, so that a slow render (waiting on the chain) never replaces a later one. */
let renders = 0;

async function render() {
  const mine = ++renders;
  const route = location.hash.replace(/^#/, "") || "/";
  const m = route.match(/^\/bounty\/(\d+)$/);
  const page = m ? await bountyPage(BigInt(m[1])) : route === "/new" ? newPage() : await listPage();
  if (mine !== renders) return;
  app.replaceChildren(page);
  document.getElementById("address").textContent = address() ? short(address()) : "";
  // for a test driving the page: whose view is on screen now
  document.body.dataset.account = account();
}

async function listPage() {
  const { list } = await load();
  await Promise.all(list.flatMap((b) => b.claims.map((c) => verifyClaim(b, cidFromBytes(b.cid), c))));
  const rows = list.map((b) =>
    h("tr", { "data-bounty": String(b.id) },
      h("td", {}, h("a", { href: `#/bounty/${b.id}` }, `#${b.id}`)),
      h("td", {}, h("span", { class: `state ${b.state}` }, b.state)),
      h("td", { class: "mono" }, cidFromBytes(b.cid)),
      h("td", {}, String(b.threshold)),
      h("td", {}, `${formatEther(b.reward)} ETH`),
      h("td", {}, when(b.deadline)),
      h("td", {}, String(b.claims.length)),
    ));
  return h("div", {},
    h("section", {}, h("h2", {}, "Bounties"),
      list.length
        ? h("table", { id: "bounties" }, h("tr", {}, ...["", "state", "dataset CID", "threshold", "reward", "deadline", "claims"].map((t) => h("th", {}, t))), rows)
        : h("p", {}, "No bounty yet: ", h("a", { href: "#/new" }, "create one"), ".")),
    h("section", {}, h("h2", {}, "Claimed accuracies over time"), await chart(list)));
}

/** Accuracy (correct/samples) of every claim whose files verified, against its submission time. */
async function chart(list) {
  const points = [];
  for (const b of list) for (const c of b.claims) {
    const v = verified.get(`${b.id}/${c.index}`);
    if (v?.valid) points.push({ t: c.submitted, acc: v.correct / v.samples, label: `#${b.id}/${c.index}` });
  }
  if (!points.length) return h("p", { class: "note" }, "No verified claim yet.");
  const [W, H, P] = [640, 220, 36];
  const t0 = Math.min(...points.map((p) => p.t)), t1 = Math.max(...points.map((p) => p.t)) || t0 + 1;
  const x = (t) => P + ((t - t0) / Math.max(1, t1 - t0)) * (W - 2 * P);
  const y = (a) => H - P - a * (H - 2 * P);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("width", W);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    svg.append(e);
  };
  for (const a of [0, 0.5, 1]) {
    add("line", { x1: P, x2: W - P, y1: y(a), y2: y(a), stroke: "#ddd" });
    add("text", { x: 4, y: y(a) + 3 }, `${a * 100}%`);
  }
  for (const p of points) {
    add("circle", { cx: x(p.t), cy: y(p.acc), r: 5, fill: "#2f6fd6" });
    add("text", { x: x(p.t) + 7, y: y(p.acc) - 6 }, `${p.label} ${(p.acc * 100).toFixed(1)}%`);
  }
  add("text", { x: P, y: H - 8 }, when(t0));
  if (t1 !== t0) add("text", { x: W - P - 120, y: H - 8 }, when(t1));
  return svg;
}

function newPage() {
  let dataset, cid, hostPublic;
  const cidOut = h("div", { id: "dataset-cid", class: "mono" });
  const keyOut = h("div", { id: "host-public", class: "mono" });
  const num = (id, value, label, extra = {}) =>
    h("label", { class: "field" }, h("span", {}, label), h("input", { id, type: "number", value, ...extra }));
  const field = (id) => document.getElementById(id).value;
  return h("div", {},
    h("section", {}, h("h2", {}, "1. The test set"),
      h("p", { class: "note" }, "A kerafold dataset (.kfd, from `kerafold dataset pack`). Its IPFS CID is computed here, in the browser."),
      h("input", { id: "dataset-file", type: "file", accept: ".kfd", onchange: action("Computing the CID", async () => {
        dataset = await readFile(document.getElementById("dataset-file"));
        cid = await cidOf(dataset);
        const info = await api("dataset/inspect", dataset);
        cidOut.textContent = `${cid} (${info.samples ?? "?"} samples)`;
      }, false) }),
      cidOut,
      h("button", { id: "publish", onclick: action("Publishing to IPFS", async () => {
        if (!dataset) throw new Error("pick the dataset file first");
        cidOut.textContent = `${await ipfsAdd(dataset)} — published to IPFS`;
      }, false) }, "Publish to IPFS")),
    h("section", {}, h("h2", {}, "2. Your key"),
      h("p", { class: "note" }, "The hunter's weights are encrypted to this Baby Jubjub key. Generate it here: the secret key file is downloaded, never sent anywhere. Keep it to decrypt the model."),
      h("button", { id: "generate-key", onclick: () => {
        const k = generateHostKey();
        hostPublic = k.public.public_key;
        download("host-key.json", serializeKeyFile(k.secret));
        download("host.pub.json", serializeKeyFile(k.public));
        keyOut.textContent = `public key (${hostPublic[0].slice(0, 12)}…, ${hostPublic[1].slice(0, 12)}…): host-key.json downloaded`;
      } }, "Generate and download a host key"),
      h("label", { class: "field" }, h("span", {}, "or use a public key file"),
        h("input", { id: "host-pub-file", type: "file", accept: ".json", onchange: action("Reading the key", async () => {
          const j = JSON.parse(new TextDecoder().decode(await readFile(document.getElementById("host-pub-file"))));
          if (j.private_key || j.secret_scalar) throw new Error("that is a secret key file: pick the public one (host.pub.json)");
          hostPublic = j.public_key;
          keyOut.textContent = `public key from the file (${hostPublic[0].slice(0, 12)}…)`;
        }, false) })),
      keyOut),
    h("section", {}, h("h2", {}, "3. Terms"),
      num("threshold", 12, "Least correct samples"),
      num("reward", 1, "Reward (ETH)", { step: "0.01" }),
      num("deadline", 60, "Claims for (minutes)"),
      num("approval", 60, "Approval window (minutes)"),
      num("reveal", 1, "Reveal window (hours, at least 1)", { min: 1 }),
      h("button", { id: "create", onclick: action("Creating the bounty", async () => {
        if (!cid) throw new Error("pick the dataset file first");
        if (!hostPublic) throw new Error("generate or pick a host key first");
        const now = Number((await client.pub.getBlock()).timestamp);
        const receipt = await client.send(account(), "createBounty", [
          cidBytes(cid), BigInt(field("threshold")), BigInt(hostPublic[0]), BigInt(hostPublic[1]),
          BigInt(now + Number(field("deadline")) * 60), BigInt(Number(field("approval")) * 60),
          BigInt(Number(field("reveal")) * 3600), false,
        ], parseEther(field("reward")));
        const { list } = await load();
        const mine = list.filter((b) => b.events[0].tx === receipt.transactionHash)[0];
        location.hash = `#/bounty/${mine.id}`;
      }, false) }, "Create the bounty")));
}

async function bountyPage(id) {
  const { list, now } = await load();
  const b = list.find((x) => x.id === id);
  if (!b) return h("section", {}, h("h2", {}, `No bounty #${id}`));
  const cid = cidFromBytes(b.cid);
  const me = address();
  const isHost = me && me.toLowerCase() === b.host.toLowerCase();
  await Promise.all(b.claims.map((c) => verifyClaim(b, cid, c)));
  const datasetOut = h("span", { id: "dataset-check" });
  const terms = h("section", {}, h("h2", {}, `Bounty #${id} `, h("span", { class: `state ${b.state}`, id: "bounty-state" }, b.state)),
    h("table", {},
      h("tr", {}, h("th", {}, "dataset"), h("td", { class: "mono" }, cid, " ",
        h("button", { id: "fetch-dataset", onclick: action("Fetching the dataset", async () => {
          const bytes = await ipfsGet(cid);
          download(`${cid}.kfd`, bytes, "application/octet-stream");
          datasetOut.textContent = `${bytes.length} bytes fetched from IPFS, their CID checked`;
          datasetOut.className = "ok";
        }, false) }, "Fetch from IPFS"), datasetOut)),
      h("tr", {}, h("th", {}, "threshold"), h("td", {}, `${b.threshold} correct samples`)),
      h("tr", {}, h("th", {}, "reward"), h("td", {}, `${formatEther(b.reward)} ETH`)),
      h("tr", {}, h("th", {}, "host"), h("td", { class: "mono" }, b.host, isHost ? " (you)" : "")),
      h("tr", {}, h("th", {}, "deadline"), h("td", {}, when(b.deadline))),
      b.revealBy && h("tr", {}, h("th", {}, "reveal by"), h("td", {}, when(b.revealBy)))),
    h("h3", {}, "History"),
    h("table", { id: "history" }, b.events.map((e) => h("tr", {}, h("td", {}, when(e.time)), h("td", {}, e.what), h("td", { class: "mono" }, short(e.tx))))));

  const claims = h("section", {}, h("h2", {}, "Claims"),
    b.claims.length ? h("table", { id: "claims" },
      h("tr", {}, ...["#", "claimant", "submitted", "files", "verification", ""].map((t) => h("th", {}, t))),
      b.claims.map((c) => claimRow(b, c, isHost, me))) : h("p", {}, "No claim yet."));

  const parts = [terms, claims];
  if (isHost && b.revealedKey !== undefined) parts.push(decryptSection(b));
  // the contract's own record decides a refund; only the host's view asks for it
  const info = isHost ? await client.pub.readContract({ address: config.bounty, abi: BOUNTY_ABI, functionName: "bounties", args: [id] }) : undefined;
  if (info && refundable(info, now)) {
    parts.push(h("section", {}, h("h2", {}, "Refund"), h("button", { id: "refund", onclick: action("Refunding", () => client.send(account(), "refund", [b.id])) }, "Refund the reward")));
  }
  if (!isHost && b.state !== "paid" && b.state !== "refunded" && now <= b.deadline) parts.push(hunterSection(b, cid));
  return h("div", {}, parts);
}

/** Whether the contract's refund would pass now: nothing approved once the approval window has
 * closed, or an approved claimant who did not reveal by its deadline. */
function refundable(info, now) {
  if (info.closed) return false;
  if (info.approved) return now > Number(info.revealBy);
  return now > Number(info.deadline) + Number(info.approvalWindow);
}

function claimRow(b, c, isHost, me) {
  const v = verified.get(`${b.id}/${c.index}`);
  const verdict = !v ? h("span", {}, "…")
    : v.valid ? h("span", { class: "ok" }, `verified: ${v.correct}/${v.samples} correct`)
    : h("span", { class: "bad" }, `not verified: ${v.reason}`);
  const approved = b.approved === c.index;
  const actions = [];
  if (isHost && b.approved === undefined && b.state !== "refunded") {
    actions.push(h("button", { class: "approve", disabled: !v?.valid, title: v?.valid ? "" : "only a verified claim can be approved",
      onclick: action("Approving", () => client.send(account(), "approve", [b.id, c.index])) }, "Approve"));
  }
  if (approved && me && me.toLowerCase() === c.claimant.toLowerCase() && b.state === "approved") {
    const key = h("input", { type: "text", class: "reveal-key", placeholder: "κ from kerafold reveal-key" });
    actions.push(h("div", {}, h("p", { class: "note" }, "Approved: reveal your key and take the reward. Run ", h("code", {}, "kerafold reveal-key ct.json --key hunter.json"), " and paste its key."),
      key, h("button", { class: "withdraw", onclick: action("Revealing and withdrawing", () => client.send(account(), "withdraw", [b.id, BigInt(key.value.trim())])) }, "Reveal and withdraw")));
  }
  return h("tr", { "data-claim": String(c.index) },
    h("td", {}, String(c.index), approved ? " (approved)" : ""),
    h("td", { class: "mono" }, short(c.claimant)),
    h("td", {}, when(c.submitted)),
    h("td", { class: "mono" }, c.files ? h("a", { href: `${config.ipfs}/ipfs/${cidFromBytes(c.files)}`, target: "_blank" }, "claim files") : "not posted"),
    h("td", { class: "verdict" }, verdict),
    h("td", {}, actions));
}

/**
 * Verifies a claim as the host would before approving: its files from IPFS (checked against
 * their CID), the ciphertext posted on chain equal to the file's, the on-chain claim's public
 * values equal to those the files give, then the kerafold server's verify-claim over the
 * bounty's on-chain terms. Any failure is a verdict with its reason, never an approval.
 */
async function verifyClaim(b, cid, c) {
  const k = `${b.id}/${c.index}`;
  if (verified.get(k)?.files === c.files && verified.has(k)) return;
  const put = (v) => verified.set(k, { ...v, files: c.files });
  try {
    if (!c.files) return put({ valid: false, reason: "the claimant has posted no files" });
    const files = JSON.parse(new TextDecoder().decode(await ipfsGet(cidFromBytes(c.files))));
    const ct = files.ciphertext;
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    if (ct.nonce !== c.nonce || !same(ct.ciphertext, c.ciphertext)) throw new Error("the ciphertext file is not the one posted on chain");
    if (!same(ct.hunter_public_key, c.hunterKey)) throw new Error("the ciphertext file names another hunter key than the claim");
    if (ct.ciphertext_hash !== c.ciphertextHash) throw new Error("the ciphertext file's hash is not the claim's");
    if (`0x${ct.key_hash}` !== c.keyHash) throw new Error("the ciphertext file's key hash is not the claim's");
    const r = await api("verify/claim", {
      setup: config.setup,
      terms: { cid, threshold: Number(b.threshold), claimant: c.claimant, host_public_key: b.hostKey },
      claim: { "proof.json": files.claim["proof.json"] },
      ciphertext: ct,
      accuracy: files.accuracy,
    });
    if (!r.valid) return put({ valid: false, reason: r.reason });
    if (r.io_digest !== c.ioDigest) throw new Error("the accuracy proof is not the one the on-chain claim binds");
    put({ valid: true, correct: r.correct, samples: r.samples, commitment: r.model_commitment, ciphertextFile: ct });
  } catch (e) {
    put({ valid: false, reason: e.message });
  }
}

function hunterSection(b, cid) {
  const me = address() || "YOUR_ADDRESS";
  const pub = JSON.stringify({ public_key: b.hostKey });
  // a setup naming powers of tau takes HyperKZG accuracy proofs over them, and only those
  const tauId = config.setup["setup.json"].accuracy_ptau;
  const tauDir = config.ptauDir || "PTAU_DIR";
  const commands = [
    "kerafold keygen -o hunter.json",
    `kerafold prove-accuracy MODEL.keras --data ${cid}.kfd --model private --arch architecture.json -o acc.proof --opening opening.json${tauId ? ` --ptau ${tauDir}` : ""}`,
    "kerafold encrypt-weights opening.json --host-key host.pub.json --key hunter.json -o ct.json",
    `kerafold claim ct.json --key hunter.json --accuracy acc.proof --host-key host.pub.json --setup ${config.setupDir || "SETUP_DIR"} --cid ${cid} --threshold ${b.threshold} --address ${me} -o claim${config.dev ? " --trust-host-key" : ""}${tauId ? ` --accuracy-ptau ${tauDir}` : ""}`,
  ].join("\n");
  const tauNote = tauId
    ? h("p", { id: "ptau-note" }, "This bounty takes HyperKZG accuracy proofs over the powers of tau ", h("code", {}, tauId), config.ptauDir ? "." : ": PTAU_DIR is your directory of those .ptau files.")
    : null;
  const files = h("input", { id: "claim-files", type: "file", multiple: true });
  return h("section", { id: "hunter" }, h("h2", {}, "Claim this bounty"),
    h("p", {}, "Fetch the dataset above, then prove your model's accuracy on it and build the claim with the CLI (your model and your key stay on your machine):"),
    h("button", { onclick: () => download("architecture.json", config.setup["architecture.json"]) }, "architecture.json"),
    h("button", { onclick: () => download("host.pub.json", pub) }, "host.pub.json"),
    tauNote,
    h("pre", { id: "commands" }, commands),
    h("p", {}, "Then pick ", h("code", {}, "acc.proof"), ", ", h("code", {}, "ct.json"), " and from ", h("code", {}, "claim/"), " ", h("code", {}, "proof.json"), ", ", h("code", {}, "claim.json"), " and ", h("code", {}, "calldata.txt"), ":"),
    files,
    h("button", { id: "submit-claim", onclick: action("Submitting the claim", () => submitClaim(b, files)) }, "Submit the claim"));
}

async function submitClaim(b, input) {
  const byName = {};
  for (const f of input.files) byName[f.name] = new TextDecoder().decode(new Uint8Array(await f.arrayBuffer()));
  const need = ["acc.proof", "ct.json", "proof.json", "claim.json", "calldata.txt"];
  const missing = need.filter((n) => !(n in byName));
  if (missing.length) throw new Error(`missing ${missing.join(", ")}`);
  const parse = (n) => {
    try {
      return JSON.parse(byName[n]);
    } catch (e) {
      throw new Error(`${n} is not JSON: ${e.message}`);
    }
  };
  const [accuracy, ct, proof, claim] = ["acc.proof", "ct.json", "proof.json", "claim.json"].map(parse);
  if (ct.private_key || ct.secret_scalar) throw new Error("ct.json holds a secret key: pick the ciphertext file");
  // snarkjs' soliditycalldata: [a], [b], [c], [inputs]
  const [a, bb, c] = JSON.parse(`[${byName["calldata.txt"]}]`);
  const s = claim.submitClaim;
  const bundle = new TextEncoder().encode(JSON.stringify({ format: "kerafold-claim-files", accuracy, ciphertext: ct, claim: { "proof.json": proof } }));
  const filesCid = await ipfsAdd(bundle);
  const receipt = await client.send(account(), "submitClaim", [
    b.id, a.map(BigInt), bb.map((r) => r.map(BigInt)), c.map(BigInt),
    BigInt(s.hunterX), BigInt(s.hunterY), BigInt(s.ciphertextHash), BigInt(s.ioDigest), s.keyHash,
    BigInt(ct.nonce), ct.ciphertext.map(BigInt),
  ]);
  const [submitted] = parseEventLogs({ abi: BOUNTY_ABI, logs: receipt.logs, eventName: "ClaimSubmitted" });
  const index = submitted.args.claim;
  await client.send(account(), "postClaimFiles", [b.id, index, cidBytes(filesCid)]);
}

function decryptSection(b) {
  const out = h("div", { id: "decrypted" });
  const keyFile = h("input", { id: "host-key-file", type: "file", accept: ".json" });
  const c = b.claims.find((x) => x.index === b.approved);
  return h("section", { id: "decrypt" }, h("h2", {}, "The model"),
    h("p", {}, "The hunter revealed its key and was paid. Decrypt the weights here with your host key file (read in this page only)."),
    keyFile,
    h("button", { id: "decrypt-button", onclick: action("Decrypting", async () => {
      const hostKey = parseKeyFile(JSON.parse(new TextDecoder().decode(await readFile(keyFile))));
      // the ciphertext file of the claim as verified (bountyPage verifies every claim first)
      const v = verified.get(`${b.id}/${c.index}`);
      if (!v?.valid) throw new Error(`claim ${c.index}'s files do not verify: ${v?.reason}`);
      const ct = v.ciphertextFile;
      const plaintext = decryptWeights({ hostKey, hunterPublicKey: c.hunterKey, revealKey: b.revealedKey, nonce: c.nonce, ciphertext: c.ciphertext, length: ct.length, hostPublicKey: b.hostKey, keyHash: c.keyHash });
      const opening = await api("opening", { ciphertext: ct, plaintext });
      download("opening.json", opening);
      out.replaceChildren(h("span", { class: "ok" }, `decrypted: model commitment ${opening.commitment}, opening.json downloaded`));
    }, false) }, "Decrypt and download the model"),
    out);
}

// --- start ----------------------------------------------------------------------------------

async function main() {
  const r = await fetch("config.json");
  if (!r.ok) {
    app.replaceChildren(h("section", {}, h("h2", {}, "No deployment configured"),
      h("p", {}, "This page needs config.json beside it (the chain, the Bounty contract, the IPFS gateway and the bounty setup): start the development stack with ", h("code", {}, "cd web && npm run stack"), ".")));
    return;
  }
  config = await r.json();
  client = connect(config);
  // nothing is shown or signed for a deployment whose contracts are not this app's, or whose
  // claim verifier does not use the setup's key
  let checked;
  try {
    checked = await checkDeployment(client.pub, config, { bounty: `0x${bountyCreation.trim()}`, verifier: `0x${verifierCreation.trim()}` });
  } catch (e) {
    app.replaceChildren(h("section", { id: "deployment-refused" }, h("h2", {}, "This deployment is refused"),
      h("p", {}, e.message),
      h("p", {}, "config.json describes a deployment the chain does not confirm. Nothing is shown or signed for it.")));
    status(e.message, true);
    return;
  }
  document.getElementById("deployment").textContent =
    `Bounty ${short(checked.bounty)} and its claim verifier ${short(checked.verifier)}: code checked against this app's contracts and the setup's verifying key`;
  const select = document.getElementById("account");
  for (const a of client.accounts) select.append(h("option", { value: a.name }, `${a.name} (${short(a.account.address)})`));
  if (!client.accounts.length) select.append(h("option", { value: "" }, "wallet"));
  select.value = sessionStorage.getItem("account") || select.value;
  select.addEventListener("change", () => {
    sessionStorage.setItem("account", select.value);
    render();
  });
  window.addEventListener("hashchange", render);
  await render();
}

main().catch((e) => status(e.message, true));
