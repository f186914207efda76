//! Bounty claims (docs/DESIGN.md §6): what a hunter encrypts to the host, the Groth16 claim that
//! binds it to an accuracy proof, its exports for snarkjs and the EVM, and the flow's checks.
//!
//! - [`weights`]: the plaintext layout, encryption to the host, and how the host gets the exact
//!   quantized model back;
//! - [`circuit`]: the claim circuit, [`shards`]: the accuracy proofs' IO it binds (up to `N`
//!   shards), `file_digest`: the dataset's CID rebuilt in it; [`groth16`]: the adapter from frontend circuits to
//!   ark-groth16;
//! - [`snarkjs`] and [`solidity`]: exports for snarkjs and the EVM;
//! - [`circom`]: circom's and snarkjs' binary files (`.r1cs`, `.wtns`, `.zkey`) for a phase-2
//!   ceremony over the claim circuit, and proving with the ceremony's key; [`ceremony`]: the
//!   ceremony's check (transcript, and the key against the circuit and the powers of tau);
//! - [`flow`]: the host's setup, the bounty's terms, and every check of a claim before it is
//!   approved or its weights decrypted.

pub mod ceremony;
pub mod circom;
pub mod circuit;
mod file_digest;
pub mod flow;
pub mod groth16;
pub mod shards;
pub mod snarkjs;
pub mod solidity;
pub mod weights;
