//! The imported model: Keras file import, the layer graph and float reference inference.

pub mod float;
pub mod graph;
mod hdf5;
pub mod keras;

pub use float::{forward, forward_trace, FloatOutput, FloatTrace};
pub use keras::load;
