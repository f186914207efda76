// Compiles kerafold's contracts with solc-js (offline: the compiler is inside the npm package)
// and writes build/<Contract>.bin (creation bytecode, hex) and build/manifest.json (compiler
// version, settings, SHA-256 of every source). `cargo test` checks the manifest against the
// committed sources, so a source edited without recompiling fails the tests.
//
//   cd contracts && npm ci && node compile.mjs          # writes build/
//   node compile.mjs --check                             # exit 1 if build/ differs

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import solc from "solc";

const SOURCES = ["Groth16Verifier.sol", "Groth16Verifier194.sol", "Bounty.sol"];
// source → [contract, build/<name>.bin]: every generated verifier's contract is Groth16Verifier
const CONTRACTS = {
  "Groth16Verifier.sol": ["Groth16Verifier", "Groth16Verifier"],
  "Groth16Verifier194.sol": ["Groth16Verifier", "Groth16Verifier194"],
  "Bounty.sol": ["Bounty", "Bounty"],
};
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
const sources = Object.fromEntries(SOURCES.map((f) => [f, { content: readFileSync(f, "utf8") }]));
const out = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings })));
const errors = (out.errors || []).filter((e) => e.severity === "error");
for (const e of out.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const files = {};
for (const [file, [contract, name]] of Object.entries(CONTRACTS)) {
  const c = out.contracts[file][contract];
  files[`${name}.bin`] = c.evm.bytecode.object + "\n";
  console.error(`${name}: ${c.evm.deployedBytecode.object.length / 2} bytes runtime`);
}
const sha = (s) => createHash("sha256").update(s).digest("hex");
const manifest = {
  compiler: `solc-js ${solc.version()}`,
  settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion },
  sources: Object.fromEntries(SOURCES.map((f) => [f, sha(sources[f].content)])),
  bytecode: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, sha(b)])),
};
files["manifest.json"] = JSON.stringify(manifest, null, 2) + "\n";

if (process.argv.includes("--check")) {
  let same = true;
  for (const [f, content] of Object.entries(files)) {
    let old = "";
    try {
      old = readFileSync(`build/${f}`, "utf8");
    } catch {}
    if (old !== content) {
      console.error(`build/${f} differs from a fresh compile`);
      same = false;
    }
  }
  process.exit(same ? 0 : 1);
}
mkdirSync("build", { recursive: true });
for (const [f, content] of Object.entries(files)) writeFileSync(`build/${f}`, content);
