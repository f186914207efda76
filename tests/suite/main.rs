//! kerafold's integration tests on its default proof system (`bn254-ipa`), in one test binary:
//! one file per subject, each a module. One binary links kerafold and nova-snark once instead
//! of once a file, and lets libtest run the long proving tests of different subjects side by
//! side (binaries run one after another). The other curve configurations keep a binary each
//! (`tests/prove_pasta.rs`, `tests/prove_kzg.rs`), as does `tests/fuzz_bounded.rs`, whose
//! allocation cap is its binary's global allocator.
//!
//! Run one subject with `cargo test --release --test suite SUBJECT::`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/evm.rs"]
mod evm;
#[path = "../common/bounty.rs"]
mod scenario;
#[path = "../../fuzz/targets.rs"]
mod targets;

// libtest starts tests in the order of their names, as many at a time as there are cores: the
// longest (sharded proofs on the Ray cluster, ~15 min) sorts first so that the rest overlaps it.
#[path = "ray_shards.rs"]
mod a_ray_shards;

mod accuracy;
mod accuracy_by_layer;
mod accuracy_shards;
mod bench_cli;
mod bounty_claim;
mod bounty_cli;
mod bounty_evm;
mod bounty_onchain;
mod bounty_onchain_evm;
mod bounty_vectors;
mod browser;
mod cid;
mod claim_ceremony;
mod cli;
mod dataset;
mod documented_commands;
mod gadgets_fixtures;
mod import;
mod layers;
mod merges;
mod prove_bn254;
mod quantize;
mod recurrent;
mod serve;
mod tiling;
mod verifier_trust;
