//! The library side of every `kerafold` command: one function per command, taking typed options
//! and returning a report that renders as text ([`std::fmt::Display`]) and as JSON
//! ([`serde::Serialize`]). The binary (`src/bin/kerafold/`) only parses flags, shows progress and
//! prints; every check a library user also needs lives here or below.

pub mod bounty;
pub mod data;
pub mod model;
pub mod prove;
pub mod verify;

use crate::claim::weights::ModelOpening;
use crate::fold::Architecture;
use crate::model::graph::Graph;
use crate::model::quant::Calibration;
use crate::model::QuantizedModel;
use crate::{Error, Result};
use kerafold_step_circuits::spec::FixedPoint;
use std::path::{Path, PathBuf};

/// How a model is quantized: exactly as an architecture file says, at given fixed-point
/// parameters, or calibrated on inputs.
#[derive(Clone, Debug, Default)]
pub struct QuantOptions {
    /// Calibration inputs (a JSON or `.npy` input file); default: the command's own inputs.
    pub calibrate: Option<PathBuf>,
    /// Fixed-point parameters `fa`, `fw`, `bits`, with the least guard (default 1).
    pub fixed: Option<(u32, u32, u32, Option<u32>)>,
    /// An architecture file (e.g. a bounty's `architecture.json`): quantize at its fixed point
    /// and check the model has that very architecture.
    pub arch: Option<PathBuf>,
}

impl QuantOptions {
    /// Whether the fixed point is chosen by calibration (nothing fixes it).
    pub fn calibrates(&self) -> bool {
        self.fixed.is_none() && self.arch.is_none()
    }
}

/// A model ready to run or prove.
pub struct Prepared {
    /// The Keras graph (`None` for a model opening, which holds only the integer model).
    pub graph: Option<Graph>,
    /// The integer model.
    pub model: QuantizedModel,
    /// How calibration went, when the fixed point was calibrated.
    pub calibration: Option<Calibration>,
    /// Calibrated on the command's fallback inputs rather than on given calibration inputs.
    pub calibrated_on_fallback: bool,
}

/// Whether `path` is a model opening (`kerafold prove-accuracy --opening`, `decrypt-weights`)
/// rather than a Keras file.
pub fn is_model_opening(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

/// Loads a model: a Keras file (lowered and quantized as `quant` says; calibrated on
/// `quant.calibrate`, else on `fallback`) or a model opening (its integer model as it is).
pub fn prepare(path: &Path, quant: &QuantOptions, fallback: &[Vec<f32>]) -> Result<Prepared> {
    if is_model_opening(path) {
        let model = ModelOpening::read(path)?.model;
        if let Some(arch_path) = &quant.arch {
            check_architecture(&model, path, arch_path)?;
        }
        return Ok(Prepared {
            graph: None,
            model,
            calibration: None,
            calibrated_on_fallback: false,
        });
    }
    let graph = crate::model::load(path)?;
    let program = crate::model::lower(&graph)?;
    let (model, calibration, fallback_used) = if let Some(arch_path) = &quant.arch {
        let want = Architecture::read(arch_path)?;
        let q = crate::model::quantize(&program, want.fp)?;
        check_architecture(&q, path, arch_path)?;
        (q, None, false)
    } else if let Some((fa, fw, bits, guard)) = quant.fixed {
        let fp = FixedPoint {
            fa,
            fw,
            bits,
            guard: guard.unwrap_or(1),
        };
        (crate::model::quantize(&program, fp)?, None, false)
    } else {
        let calib = match &quant.calibrate {
            Some(p) => crate::model::input::read_inputs(p, &graph.input_shape)?,
            None => fallback.to_vec(),
        };
        if calib.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no calibration inputs: give calibration inputs or the fixed-point \
                 parameters (fa, fw, bits)",
                path.display()
            )));
        }
        let (q, cal) = crate::model::calibrate(&program, &calib)?;
        (q, Some(cal), quant.calibrate.is_none())
    };
    Ok(Prepared {
        graph: Some(graph),
        model,
        calibration,
        calibrated_on_fallback: fallback_used,
    })
}

/// Checks that `model` has exactly the architecture of the file `arch_path`.
fn check_architecture(model: &QuantizedModel, path: &Path, arch_path: &Path) -> Result<()> {
    let want = Architecture::read(arch_path)?;
    let got = Architecture::compile(model)?;
    if got.digest() == want.digest() {
        return Ok(());
    }
    Err(Error::Usage(if got.fp != want.fp {
        format!(
            "{}: the weights need {} guard bits, {} allows {}: the model cannot be proven with \
             this architecture",
            path.display(),
            got.fp.guard,
            arch_path.display(),
            want.fp.guard
        )
    } else {
        format!(
            "{}: the model's layers differ from the architecture in {}",
            path.display(),
            arch_path.display()
        )
    }))
}

/// `(2×3×4)`: a tensor shape as the reports print it.
pub(crate) fn shape_str(s: &[usize]) -> String {
    format!(
        "({})",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("×")
    )
}

/// Size of a file just written, 0 if it cannot be read.
pub(crate) fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
