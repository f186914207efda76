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
    /// Fixed-point parameters; their `guard` is the least number of guard bits (the weights may
    /// need more).
    pub fixed: Option<FixedPoint>,
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
    /// A model opening's commitment blindings (empty for a Keras file, or a public opening).
    pub blinds: Vec<crate::crypto::bn254::Fr>,
    /// The tiles a model opening commits to the model in (`None`: a step per layer, or a Keras
    /// file).
    pub tiling: Option<crate::fold::Tiling>,
    /// How calibration went, when the fixed point was calibrated.
    pub calibration: Option<Calibration>,
    /// Calibrated on the command's fallback inputs rather than on given calibration inputs.
    pub calibrated_on_fallback: bool,
}

/// The tiles a private model is committed in for `--step-size N` (`commit`, `claim-setup`): the
/// Dense tiles and row bands of `N` ([`crate::fold::Tiling::square`]); `None`: a step per layer.
pub(crate) fn commitment_tiling(
    q: &QuantizedModel,
    step_size: Option<usize>,
) -> Result<Option<crate::fold::Tiling>> {
    step_size
        .map(|n| crate::fold::Tiling::square(n, &q.fp))
        .transpose()
}

/// Whether `path` is a model opening (`kerafold prove-accuracy --opening`, `decrypt-weights`)
/// rather than a Keras file.
pub fn is_model_opening(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

/// A model file, read once: a Keras file (its graph) or a model opening (its integer model).
pub struct ModelFile {
    path: PathBuf,
    source: Source,
}

enum Source {
    Keras(Graph),
    Opening(crate::claim::weights::Opening),
}

impl ModelFile {
    /// Reads a Keras file (`.keras`, `.h5`) or a model opening (`.json`).
    pub fn open(path: &Path) -> Result<Self> {
        let source = if is_model_opening(path) {
            Source::Opening(ModelOpening::read(path)?)
        } else {
            Source::Keras(crate::model::load(path)?)
        };
        Ok(Self {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The model's input shape (without the batch axis).
    pub fn input_shape(&self) -> &[usize] {
        match &self.source {
            Source::Keras(g) => &g.input_shape,
            Source::Opening(o) => &o.model.input_shape,
        }
    }

    /// Lowers and quantizes a Keras model as `quant` says (calibrated on `quant.calibrate`,
    /// else on `fallback`); a model opening is already quantized and is only checked against
    /// `quant.arch`.
    pub fn prepare(self, quant: &QuantOptions, fallback: &[Vec<f32>]) -> Result<Prepared> {
        let path = self.path.as_path();
        let graph = match self.source {
            Source::Opening(opening) => {
                if let Some(arch_path) = &quant.arch {
                    check_architecture(&opening.model, path, arch_path)?;
                }
                let private = opening
                    .blinds
                    .iter()
                    .any(|b| !ff::Field::is_zero_vartime(b));
                return Ok(Prepared {
                    graph: None,
                    model: opening.model,
                    blinds: if private { opening.blinds } else { vec![] },
                    tiling: opening.tiling,
                    calibration: None,
                    calibrated_on_fallback: false,
                });
            }
            Source::Keras(graph) => graph,
        };
        let program = crate::model::lower(&graph)?;
        let (model, calibration, fallback_used) = if let Some(arch_path) = &quant.arch {
            let want = Architecture::read(arch_path)?;
            let q = crate::model::quantize(&program, want.fp)?;
            check_architecture(&q, path, arch_path)?;
            (q, None, false)
        } else if let Some(fp) = quant.fixed {
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
            blinds: vec![],
            tiling: None,
            calibration,
            calibrated_on_fallback: fallback_used,
        })
    }

    /// One all-0.5 input, to calibrate on when no inputs are given (none for a model opening,
    /// which needs no calibration).
    pub fn neutral_input(&self) -> Vec<Vec<f32>> {
        match &self.source {
            Source::Keras(g) => {
                // token ids for an Embedding that reads the input: 1, 2, … (0 may be padding)
                let vocab = g.nodes.iter().find_map(|n| match n.kind {
                    crate::model::graph::LayerKind::Embedding { vocab, .. }
                        if n.inputs == [crate::model::graph::Src::Input] =>
                    {
                        Some(vocab)
                    }
                    _ => None,
                });
                let x = match vocab {
                    Some(v) => (0..g.input_len())
                        .map(|i| (1 + i % v.saturating_sub(1).max(1)).min(v - 1) as f32)
                        .collect(),
                    None => vec![0.5f32; g.input_len()],
                };
                vec![x]
            }
            Source::Opening(_) => vec![],
        }
    }
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
