//! Bounties (docs/DESIGN.md §6): the dataset a bounty publishes and its IPFS CID, weight encryption to
//! the bounty host, and the on-chain claim.
//!
//! - [`dataset`]: the `.kfd` layout (fixed-size records of `u8` features and a `u8` label),
//!   packing from `.npy`, the strict reader; [`cid`]: the CIDv1 IPFS gives a file (raw leaves,
//!   balanced dag-pb tree); [`sha256`]: SHA-256 block by block.
//! - [`bn254`]: the BN254 scalar field shared by nova-snark, arkworks and the EVM, and conversions.
//! - [`blake512`], [`babyjubjub`]: Baby Jubjub keys in circomlib's form and ECDH.
//! - [`poseidon`], [`cipher`]: circomlib's Poseidon and the Poseidon cipher of
//!   `@zk-kit/poseidon-cipher`.
//! - [`weights`]: what the hunter encrypts to the host and how the host gets the model back.
//! - [`gadgets`]: the same primitives as R1CS gadgets on nova-snark's frontend.
//! - [`groth16`]: the adapter from frontend circuits to ark-groth16; [`claim`]: the claim circuit;
//!   [`snarkjs`] and [`solidity`]: exports for snarkjs and the EVM.
//! - [`flow`]: the host's setup, the bounty's terms, and every check of a claim before it is
//!   approved or its weights decrypted.

pub mod babyjubjub;
pub mod blake512;
pub mod bn254;
pub mod cid;
pub mod cipher;
pub mod claim;
pub mod dataset;
pub mod flow;
pub mod gadgets;
pub mod groth16;
pub mod poseidon;
pub mod sha256;
pub mod snarkjs;
pub mod solidity;
pub mod weights;

pub use cid::{Cid, FileDag};
pub use dataset::{Dataset, Header};
