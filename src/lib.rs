//! # kerafold
//!
//! Zero-knowledge proofs of Keras neural-network inference, folded layer by layer with Nova.
//!
//! 1. [`model::load`] imports a `.keras` or legacy `.h5` file into a [`model::graph::Graph`];
//! 2. [`model::lower`] turns it into compute steps and [`model::calibrate`] /
//!    [`model::quantize`] into an exact integer [`model::QuantizedModel`];
//! 3. [`fold::prove`] proves one inference, one Nova fold per step, and compresses it with
//!    Nova's zero-knowledge CompressedSNARK; [`fold::verify`] checks the proof file.
//!
//! [`bounty`] holds the ML-bounty side: dataset files and their IPFS CID, weight encryption to
//! the host, and the Groth16 claim for on-chain payout. [`bench`] measures how proving scales
//! with the number of layers (`kerafold bench`). The fuzz targets of every parser of untrusted
//! bytes live outside the library, in `fuzz/` (`FUZZING.md`).

pub mod bench;
pub mod bounty;
pub mod error;
pub mod fold;
pub mod inspect;
pub mod model;

pub use error::{Error, Result};
