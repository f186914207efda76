//! Models: Keras file import, the layer graph, float reference inference, input files, lowering
//! to compute steps, quantization and integer reference inference.

pub mod float;
pub mod graph;
mod hdf5;
pub mod input;
pub mod keras;
pub mod lower;
pub mod pwl;
pub mod quant;
pub mod recurrent;

pub use float::{forward, forward_trace, FloatOutput, FloatTrace};
pub use input::read_inputs;
pub use keras::{load, load_bytes, load_keras_parts};
pub use lower::{lower, Program};
pub use quant::{calibrate, quantize, QStep, QuantizedModel, Trace};

/// The test fixtures (`tests/fixtures/NAME.keras` and the inputs of `NAME.json`), for the unit
/// tests of this layer.
#[cfg(test)]
pub(crate) fn test_fixture(name: &str) -> (graph::Graph, Vec<Vec<f32>>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let graph = load(&dir.join(format!("{name}.keras"))).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap()).unwrap();
    let inputs = serde_json::from_value(json["inputs"].clone()).unwrap();
    (graph, inputs)
}
