//! Bounties (DESIGN.md §6): the dataset file a bounty publishes, its IPFS CID, and the SHA-256
//! helpers the in-circuit hash mirrors.
//!
//! * [`dataset`]: the `.kfd` layout (fixed-size records of `u8` features and a `u8` label),
//!   packing from `.npy`, the strict reader;
//! * [`cid`]: the CIDv1 IPFS gives a file (raw leaves, balanced dag-pb tree), with every leaf
//!   and node the circuit hashes;
//! * [`sha256`]: SHA-256 block by block (initial state, compression, padding).

pub mod cid;
pub mod dataset;
pub mod sha256;

pub use cid::{Cid, FileDag};
pub use dataset::{Dataset, Header};
