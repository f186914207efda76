//! The data a bounty publishes (docs/DESIGN.md §6): the dataset file, its IPFS CID, and SHA-256
//! block by block (what the accuracy circuit folds).
//!
//! - [`dataset`]: the `.kfd` layout (fixed-size records of `u8` features and a `u8` label),
//!   packing from `.npy`, the strict reader;
//! - [`cid`]: the CIDv1 IPFS gives a file (raw leaves, balanced dag-pb tree);
//! - [`sha256`]: SHA-256 compression and padding, natively.

pub mod cid;
pub mod dataset;
pub mod sha256;

pub use cid::{Cid, FileDag};
pub use dataset::{Dataset, Header};
