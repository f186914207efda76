//! Models: Keras file import, the layer graph, float reference inference, input files, lowering
//! to compute steps, quantization and integer reference inference.

pub mod float;
pub mod graph;
mod hdf5;
pub mod input;
pub mod keras;
pub mod lower;
pub mod quant;

pub use float::{forward, forward_trace, FloatOutput, FloatTrace};
pub use input::read_inputs;
pub use keras::{load, load_bytes, load_keras_parts};
pub use lower::{lower, Program};
pub use quant::{calibrate, quantize, QStep, QuantizedModel, Trace};
