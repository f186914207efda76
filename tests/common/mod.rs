//! Shared helpers for integration tests: the real-Keras fixtures in `tests/fixtures/`.
//!
//! Every model `NAME` exists as `NAME.keras` and `NAME.h5`, with `NAME.json` holding 32 inputs,
//! Keras' outputs and logits (see `tests/fixtures/make_fixtures.py`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod datasets;

/// Names of the fixture models (each has `.keras`, `.h5` and `.json`).
pub const MODELS: &[&str] = &[
    "mlp",
    "cnn",
    "residual",
    "depthwise",
    "conv1d",
    "conv1d_gmp",
    "upsample",
    "strided",
    "deep_mlp",
    "poly",
    "preprocess",
    "crop",
    "crop1d",
    "views",
    "seq_convs",
    "smooth",
    "smooth2",
    "binary",
    "transpose",
    "resize",
    "merges",
    "concat",
    "branches",
    "embedding",
    "layernorm",
    "inception",
    "rereads",
    "inception_resnet",
    "crossed",
    "crossings",
    "unet",
    "augment",
    "pixelwise",
    "rnn",
    "gru",
    "lstm_seq",
    "bidirectional",
    "pooled_dense",
    "smooth3",
    "prelu",
    "groupnorm",
    "masked_text",
    "masking",
    "rmsnorm",
];

/// The fixture models with recurrent layers (SimpleRNN, GRU, LSTM), among [`MODELS`].
pub const RECURRENT: &[&str] = &["rnn", "gru", "lstm_seq"];

/// The two file formats every fixture model is saved in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Keras 3 zip (`.keras`).
    Keras,
    /// Legacy HDF5 (`.h5`).
    H5,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Keras, Format::H5];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Keras => "keras",
            Format::H5 => "h5",
        }
    }
}

/// `tests/fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A file in `tests/fixtures/` (e.g. `lstm.keras`).
pub fn fixture_file(file: &str) -> PathBuf {
    fixtures_dir().join(file)
}

/// The model file of fixture `name` in `format`.
pub fn model_path(name: &str, format: Format) -> PathBuf {
    fixtures_dir().join(format!("{name}.{}", format.extension()))
}

/// The name a verifier gives the insecure random tau that proofs made with
/// `Srs::InsecureRandomTau` and parameter directory `params` use. Tests whose subject is not the
/// commitment scheme prove accuracy with HyperKZG over it: compression and verification are
/// several times faster than IPA's, and the suite's time is mostly compression.
pub fn random_tau(params: &Path) -> kerafold::fold::Srs {
    kerafold::fold::Srs::Ptau(params.join(kerafold::fold::params::RANDOM_TAU_DIR))
}

/// A scratch directory for files a test writes (unique per test process and `tag`), removed when
/// the guard drops — unless the test is failing, so that its files can be looked at. A suite run
/// writes gigabytes of proofs and parameters; left behind, they fill a CI machine's disk.
pub fn scratch_dir(tag: &str) -> Scratch {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kerafold-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    Scratch(dir)
}

/// A directory the tests of one process share (a parameter cache several tests fill), removed
/// when the process exits: removing it when one test ends would pull it from under the others.
pub fn shared_dir(tag: &str) -> PathBuf {
    static SHARED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    extern "C" fn remove_shared() {
        if let Ok(dirs) = SHARED.lock() {
            for d in dirs.iter() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kerafold-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create shared directory");
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if shared.is_empty() {
        // SAFETY: registers a plain function with no arguments; libtest ends the process with
        // exit(), which runs it once every test is done.
        unsafe { libc::atexit(remove_shared) };
    }
    if !shared.contains(&dir) {
        shared.push(dir.clone());
    }
    dir
}

/// A directory [`scratch_dir`] made; it derefs to its path.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The reference data of a fixture model (`NAME.json`).
#[derive(Clone, Debug, Deserialize)]
pub struct Fixture {
    /// Model name (`mlp`).
    pub model: String,
    /// Keras version that wrote the files.
    pub keras_version: String,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
    /// Output shape without the batch axis.
    pub output_shape: Vec<usize>,
    /// Inputs, flat row-major over `input_shape` (multiples of 1/64).
    pub inputs: Vec<Vec<f32>>,
    /// Keras' `predict` output for each input (flat).
    pub outputs: Vec<Vec<f32>>,
    /// The values before the final softmax (equal to `outputs` if the model has none).
    pub logits: Vec<Vec<f32>>,
    /// True class of each input.
    #[serde(default)]
    pub labels: Vec<usize>,
}

impl Fixture {
    /// Loads `tests/fixtures/NAME.json`.
    pub fn load(name: &str) -> Fixture {
        let path = fixtures_dir().join(format!("{name}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let f: Fixture =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(f.inputs.len(), f.outputs.len(), "{name}: inputs vs outputs");
        assert_eq!(f.inputs.len(), f.logits.len(), "{name}: inputs vs logits");
        f
    }

    /// Number of input values.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Keras' predicted class of sample `i`: the first index of the maximum output, or for one
    /// sigmoid output (a binary classifier) whether it is above 0.5.
    pub fn keras_class(&self, i: usize) -> usize {
        if let [p] = self.outputs[i][..] {
            return (p > 0.5) as usize;
        }
        argmax(
            &self.outputs[i]
                .iter()
                .map(|&v| f64::from(v))
                .collect::<Vec<_>>(),
        )
    }
}

/// First index of the maximum.
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Largest `|got − want|` divided by the largest `|want|` (1 if that is 0).
pub fn max_rel_err(got: &[f64], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "length");
    let scale = want
        .iter()
        .map(|v| f64::from(v.abs()))
        .fold(0.0f64, f64::max);
    let scale = if scale > 0.0 { scale } else { 1.0 };
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - f64::from(*w)).abs())
        .fold(0.0f64, f64::max)
        / scale
}

/// Fixture `name` (`.keras`), lowered and calibrated on its own inputs.
pub fn quantized_fixture(name: &str) -> (kerafold::model::QuantizedModel, Fixture) {
    let fx = Fixture::load(name);
    let graph = kerafold::model::load(&model_path(name, Format::Keras)).expect("fixture loads");
    let program = kerafold::model::lower(&graph).expect("fixture lowers");
    let (q, _) = kerafold::model::calibrate(&program, &fx.inputs).expect("fixture calibrates");
    (q, fx)
}

/// The digits model, calibrated on `data`'s samples.
pub fn digits_model(data: &kerafold::data::Dataset) -> kerafold::model::QuantizedModel {
    let graph = kerafold::model::load(&model_path("digits", Format::Keras)).unwrap();
    let program = kerafold::model::lower(&graph).unwrap();
    kerafold::model::calibrate(&program, &data.inputs_f32())
        .unwrap()
        .0
}

/// Folds every step of fixture `name` on its sample 0 through the checking constraint system
/// (BN254's scalars), `edit` changing step witnesses: the final state, or the first failing step
/// and its error. A step's output is the integer trace's when the next step opens it.
pub fn fold_fixture(
    name: &str,
    edit: impl Fn(
        usize,
        &kerafold::model::QuantizedModel,
        &kerafold::model::Trace,
        &mut kerafold::inference::circuit::StepWitness<Scalar>,
    ),
) -> Result<Vec<Scalar>, (usize, String)> {
    fold_fixture_in_steps(name, None, edit)
}

/// [`fold_fixture`] over the architecture compiled in steps of `step_size` (Dense tiles, row
/// bands, a recurrent layer's timesteps), a step per layer without.
pub fn fold_fixture_in_steps(
    name: &str,
    step_size: Option<usize>,
    edit: impl Fn(
        usize,
        &kerafold::model::QuantizedModel,
        &kerafold::model::Trace,
        &mut kerafold::inference::circuit::StepWitness<Scalar>,
    ),
) -> Result<Vec<Scalar>, (usize, String)> {
    use kerafold::inference::{public_initial_state, public_step_witness};
    use std::sync::Arc;
    let (q, fx) = quantized_fixture(name);
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let tiling = step_size.map(|n| kerafold::fold::arch::Tiling::square(n, &q.fp).unwrap());
    let arch = Arc::new(kerafold::fold::Architecture::compile_tiled(&q, tiling).unwrap());
    let trace = q.trace(&x, Some(0)).unwrap();
    let mut z = public_initial_state::<Scalar>(&arch, &trace);
    for i in 0..arch.steps.len() {
        let mut w = public_step_witness::<Scalar>(&arch, &q, &trace, i);
        edit(i, &q, &trace, &mut w);
        z = kerafold::inference::circuit::check_step(&arch, &Arc::new(w), &z)
            .map_err(|e| (i, e.to_string()))?
            .0;
    }
    Ok(z)
}

/// The scalars of [`fold_fixture`]'s constraint system.
pub type Scalar = <nova_snark::provider::Bn256EngineIPA as nova_snark::traits::Engine>::Scalar;

/// The stdout of a command that must have succeeded; otherwise a panic naming `what` with its
/// status and both outputs.
pub fn succeeded(o: &std::process::Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes a `.npy` (version 1) with the given dtype, shape and little-endian data.
pub fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    std::fs::write(path, out).unwrap();
}
