//! # kerafold-step-circuits
//!
//! Sound R1CS gadgets for Keras layers, written against nova-snark's frontend and generic over the
//! scalar field, so the same gadgets serve Nova on Pasta or BN254 and the Groth16 claim circuit on
//! BN254. Every gadget has a native twin in [`native`] that computes exactly the integers the
//! gadget constrains (DESIGN.md §3).
//!
//! - [`spec`]: the integer layer IR (shapes, windows, activations, fixed-point parameters).
//! - [`native`]: the native twins, used by kerafold's integer reference inference.
//! - [`field`]: signed integers in the field, packing, Poseidon (native).
//! - [`packing`]: the packed form of linear-layer weights.

pub mod field;
pub mod native;
pub mod packing;
pub mod spec;

pub use field::Field;
pub use spec::{Act, FixedPoint, Op, Shape3};
