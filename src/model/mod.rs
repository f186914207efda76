//! The imported model: Keras file import, the layer graph, float reference inference and input
//! files.

pub mod float;
pub mod graph;
mod hdf5;
pub mod input;
pub mod keras;

pub use float::{forward, forward_trace, FloatOutput, FloatTrace};
pub use input::read_inputs;
pub use keras::load;
