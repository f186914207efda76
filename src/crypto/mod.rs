//! The Ethereum ecosystem's primitives, natively and as R1CS gadgets, in the forms its JS tools
//! use (circomlib, @zk-kit): what the bounty claim is built from.
//!
//! - [`bn254`]: the BN254 scalar field shared by nova-snark, arkworks and the EVM, and
//!   conversions;
//! - [`blake512`], [`babyjubjub`]: Baby Jubjub keys in circomlib's form and ECDH;
//! - [`poseidon`], [`cipher`]: circomlib's Poseidon and the Poseidon cipher of
//!   `@zk-kit/poseidon-cipher`;
//! - [`gadgets`]: the same primitives as R1CS gadgets on nova-snark's frontend.

pub mod babyjubjub;
pub mod blake512;
pub mod bn254;
pub mod cipher;
pub mod gadgets;
pub mod poseidon;
