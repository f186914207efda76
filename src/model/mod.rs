//! Models: Keras import, lowering to compute steps, quantization and integer reference inference.

pub mod graph;
pub mod lower;
pub mod quant;

pub use lower::{lower, Program};
pub use quant::{calibrate, quantize, QStep, QuantizedModel, Trace};
