//! # kerafold
//!
//! Zero-knowledge proofs of Keras neural-network inference, folded layer by layer with Nova.
//!
//! 1. [`model::load`] imports a `.keras` or legacy `.h5` file into a [`model::graph::Graph`];
//! 2. [`model::lower`] turns it into compute steps and [`model::calibrate`] /
//!    [`model::quantize`] into an exact integer [`model::QuantizedModel`];
//! 3. [`inference::prove`] proves one inference, one Nova fold per step, and compresses it with
//!    Nova's zero-knowledge CompressedSNARK; [`inference::verify`] checks the proof file.
//!
//! The modules form layers that only point down (`tests/suite/layers.rs` keeps it so;
//! docs/DESIGN.md §2): [`model`] → [`data`] (dataset files, CIDs, SHA-256) and [`crypto`]
//! (BN254, Poseidon, Baby Jubjub, the cipher) → [`fold`] (the folding engine: architecture,
//! commitments, backends, keys, the proof envelope, the one verifier of every [`fold::Statement`])
//! → [`inference`] and [`accuracy`] (the two statements) → [`claim`] (weight encryption, the
//! Groth16 claim, exports, the bounty flow's checks) → [`proofs`], [`inspect`], `bench` →
//! [`commands`] (one function per `kerafold` command, returning a report that renders as text
//! and JSON; the binary in `src/bin/kerafold/` only parses flags and prints). [`sys`] (peak memory,
//! CPU time) is usable from every layer and holds the crate's only `unsafe` code.
//!
//! Cargo features: `cli` (the binary's clap and indicatif) and `bench` (the benchmark harness
//! and its plots), both on by default; the library itself needs neither.
//! The fuzz targets of every parser of untrusted bytes live outside the library, in `fuzz/`
//! (`FUZZING.md`).

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod accuracy;
#[cfg(feature = "bench")]
pub mod bench;
pub mod claim;
pub mod commands;
pub mod crypto;
pub mod data;
pub mod error;
pub mod fold;
pub mod inference;
pub mod inspect;
pub mod model;
pub mod proofs;
pub mod serve;
pub mod sys;

pub use error::{Error, Result};

/// The README's Rust code, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
