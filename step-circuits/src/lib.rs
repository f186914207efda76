#![warn(missing_docs)]
//! # kerafold-step-circuits
//!
//! Sound R1CS gadgets for Keras layers, written against nova-snark's frontend and generic over the
//! scalar field, so the same gadgets serve Nova on Pasta or BN254 and the Groth16 claim circuit on
//! BN254. Every gadget has a native twin in [`native`] that computes exactly the integers the
//! gadget constrains (docs/DESIGN.md §3).
//!
//! - [`spec`]: the integer layer IR (shapes, windows, activations, fixed-point parameters).
//! - [`native`]: the native twins, used by kerafold's integer reference inference.
//! - [`field`]: signed integers in the field, packing.
//! - [`poseidon`]: the one Poseidon hash, native and in the circuit (wide and narrow sponges).
//! - [`packing`]: the packed form of linear-layer weights.
//! - [`step`](mod@step): the entry point of the folding circuit ([`step::step`](fn@step::step)) and
//!   [`step::count_constraints`].
//! - Gadgets: [`range`] (bit decompositions, range checks), [`linear`] (Dense, Conv, Depthwise,
//!   Affine with packed lanes and fused requantization), [`activation`], [`pooling`],
//!   [`elementwise`] (the merges Add, Subtract, Multiply, Average, Maximum, Minimum; Concatenate, Swap, Identity), [`onehot`] (an Embedding's lookup), [`layernorm`], [`argmax`], [`view`], [`commit`] (tensor commitments as
//!   chains of blocks), [`tile`] (one tile of a Dense layer wider than a step), [`recurrent`] (one
//!   timestep of a SimpleRNN, GRU or LSTM cell), [`zero`] (whether a value is zero).
//! - [`wellformed`]: the bound on private weights that [`linear`] relies on, proven.
//! - [`cs`]: the constraint systems and which to use when: counting, checking, and the tamper
//!   harness for soundness tests (feature `testing`).
//!
//! Conventions: inputs are `AllocatedNum`s already range-checked by the caller; linear-layer
//! weights are allocated packed elements; witnesses are computed by the native twins from the
//! inputs' values, and the constraint shape never depends on them. Every gadget output is in the
//! `B`-bit activation range by construction.

pub mod activation;
pub mod argmax;
pub mod band;
pub mod commit;
pub mod cost;
pub mod cs;
pub mod elementwise;
pub mod field;
pub mod layernorm;
pub mod linear;
pub mod native;
pub mod onehot;
pub mod packing;
pub mod pooling;
pub mod poseidon;
pub mod range;
pub mod recurrent;
pub mod saved;
pub mod spec;
pub mod step;
pub mod tile;
pub mod view;
pub mod wellformed;
pub mod zero;

pub use field::Field;
pub use spec::{Act, FixedPoint, Merge, Op, Shape3};
pub use step::{count_constraints, step, StepOut};
