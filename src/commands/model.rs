//! `inspect`, `run` and `commit`: a model's steps and cost, its integer outputs against Keras,
//! and its public commitment.

use super::{shape_str, ModelFile, Prepared, QuantOptions};
use crate::fold::{StepSize, Stepping, System};
use crate::model::quant::Calibration;
use crate::{Error, Result};
use kerafold_step_circuits::spec::FixedPoint;
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// What `kerafold inspect` reports.
#[derive(Serialize)]
pub struct InspectReport {
    /// The model's steps, their cost and the step circuit.
    #[serde(flatten)]
    pub report: crate::inspect::Report,
    /// How calibration chose the fixed point (absent when it was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Calibrated on a neutral input, not on real data.
    #[serde(skip)]
    pub neutral_calibration: bool,
    /// The smooth activations proven as piecewise-linear approximations, with their worst error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approximations: Vec<crate::model::pwl::Approximation>,
}

/// The steps, costs and quantization of a model (a Keras file or a model opening); without
/// calibration inputs, calibrated on a neutral input (all 0.5; token ids 1, 2, … for a model that
/// embeds its input) so that the report has numbers.
pub fn inspect(path: &Path, quant: &QuantOptions, stepping: Stepping) -> Result<InspectReport> {
    let file = ModelFile::open(path)?;
    let neutral = file.neutral_input();
    let p = file.prepare(quant, &neutral)?;
    let approximations = match &p.graph {
        Some(g) => crate::model::pwl::approximations(&crate::model::lower(g)?, &p.model),
        None => vec![],
    };
    Ok(InspectReport {
        report: crate::inspect::report(&p.model, stepping)?,
        calibration: p.calibration,
        neutral_calibration: p.calibrated_on_fallback,
        approximations,
    })
}

impl fmt::Display for InspectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        writeln!(
            f,
            "model '{}': input {}, {} steps",
            r.model,
            shape_str(&r.input_shape),
            r.layers.len()
        )?;
        writeln!(
            f,
            "{:<32} {:<10} {:>14} {:>14} {:>8} {:>9} {:>8} {:>11}",
            "step (layers)", "kind", "input", "output", "params", "MACs", "outputs", "constraints"
        )?;
        for l in &r.layers {
            writeln!(
                f,
                "{:<32} {:<10} {:>14} {:>14} {:>8} {:>9} {:>8} {:>11}",
                l.name,
                l.kind,
                shape_str(&l.input_shape),
                shape_str(&l.output_shape),
                l.params,
                l.macs,
                l.outputs,
                l.constraints
            )?;
        }
        for l in &r.layers {
            if let Some(t) = &l.per_timestep {
                writeln!(
                    f,
                    "{}: {} timesteps, {} constraints a timestep (one cell){}",
                    l.name,
                    t.timesteps,
                    t.constraints,
                    if t.masked {
                        "; masked: a masked timestep (token 0, or every feature at the Masking value) keeps the state"
                    } else {
                        ""
                    }
                )?;
            }
        }
        writeln!(f, "\nquantization: {}", describe_fp(&r.quantization))?;
        for a in &self.approximations {
            writeln!(
                f,
                "approximation: {} in '{}': {} linear segments, worst error {:.2e} ({:.2} units \
                 of the activation scale) at x = {:.3}{}",
                a.function,
                a.step,
                a.segments,
                a.worst_error,
                a.worst_ulps,
                a.worst_at,
                if a.exhaustive { "" } else { " (sampled)" }
            )?;
        }
        if let Some(c) = &self.calibration {
            writeln!(
                f,
                "calibration on {} input(s): largest activation {:.3}, top-1 agreement {:.1}%, \
                 relative logit error {:.2e}{}",
                c.samples,
                c.max_activation,
                c.top1_agreement * 100.0,
                c.relative_error,
                if self.neutral_calibration {
                    " (neutral input; calibrate on real data for real numbers)"
                } else {
                    ""
                }
            )?;
        }
        let s = &r.step_circuit;
        writeln!(
            f,
            "step circuit: {} constraints per step ({} slots, bus of {} values), {} steps in {} \
             folds of {}; idle share per step {:.0}%–{:.0}%",
            s.constraints_per_step,
            s.slots,
            s.bus_width,
            s.steps,
            s.folds,
            s.steps_per_fold,
            s.idle_share_min * 100.0,
            s.idle_share_max * 100.0
        )?;
        let why = match s.step_size {
            StepSize::Auto => {
                " (the default: a step per layer would exceed 65,536 constraints, or tiles are estimated to prove faster)"
            }
            _ => "",
        };
        match s.tiling {
            Some(t) => writeln!(
                f,
                "step size: Dense layers in tiles of {} input rows × up to {} outputs{}{why}",
                t.rows,
                t.outputs,
                if t.bands {
                    format!(
                        ", convolution and pooling in row bands of about {} outputs, recurrent layers a step a timestep",
                        t.rows
                    )
                } else {
                    String::new()
                }
            )?,
            None if s.step_size == StepSize::Auto => writeln!(
                f,
                "step size: one step per layer (the default: the step is within 65,536 constraints and tiles are not estimated to prove faster here; --step-size N forces tiles and bands of N)"
            )?,
            None => writeln!(
                f,
                "step size: one step per layer (--step-size N cuts Dense layers into tiles of N rows, convolutions and pooling into row bands)"
            )?,
        }
        let b = &s.breakdown;
        let total = s.constraints_per_step.max(1) as f64;
        let parts = [
            ("multiply-accumulate", b.multiply_accumulate),
            ("requantization", b.requantization),
            ("activations", b.activations),
            ("other ops", b.other_ops),
            ("input range checks", b.input_range_checks),
            ("input openings", b.input_openings),
            ("output commitment", b.output_commitment),
            ("weight hashing", b.weight_hashing),
            ("slot selection", b.slot_selection),
            ("band streams", b.band_streams),
            ("state", b.state),
        ];
        let shares: Vec<String> = parts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{what} {n} ({:.0}%)", 100.0 * *n as f64 / total))
            .collect();
        write!(
            f,
            "where a step's constraints go: {}; a private model adds {} for well-formed weights\n\
             a fold adds Nova's own {} (its verifier circuit) and {} (secondary circuit){}",
            shares.join(", "),
            b.weight_wellformedness,
            s.per_fold.nova_primary,
            s.per_fold.nova_secondary,
            if s.steps_per_fold > 1 {
                format!(
                    ", and {} to chain its {} steps",
                    s.per_fold.packing, s.steps_per_fold
                )
            } else {
                String::new()
            }
        )
    }
}

/// The fixed point in words, with the values the flags take.
pub fn describe_fp(fp: &FixedPoint) -> String {
    format!(
        "activations 2^-{} ({}-bit range ±{:.3}), weights 2^-{}, guard {} (fa={} fw={} bits={} \
         guard={})",
        fp.fa,
        fp.bits,
        fp.max() as f64 / (1u64 << fp.fa) as f64,
        fp.fw,
        fp.guard,
        fp.fa,
        fp.fw,
        fp.bits,
        fp.guard
    )
}

/// One sample of `kerafold run`.
#[derive(Serialize)]
pub struct RunSample {
    /// The integer model's output, dequantized (softmax applied if the model ends in one).
    pub output: Vec<f64>,
    /// Keras's output (absent for a model opening, which has no float model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float_output: Option<Vec<f64>>,
    /// The class the integer model picks (ArgMax of the logits).
    pub class: usize,
    /// The class Keras picks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float_class: Option<usize>,
}

/// What `kerafold run` reports.
#[derive(Serialize)]
pub struct RunReport {
    /// One entry per input sample.
    pub samples: Vec<RunSample>,
    /// Largest absolute difference between integer and float outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_abs_error: Option<f64>,
    /// Share of samples where both models pick the same class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top1_agreement: Option<f64>,
    /// Number of samples where both models pick the same class.
    #[serde(skip)]
    pub agreeing: usize,
    /// The fixed point the model was quantized at.
    pub fixed_point: FixedPoint,
}

/// Runs the integer model on every input of `input` and compares it with Keras's float model.
pub fn run(path: &Path, input: &Path, quant: &QuantOptions) -> Result<RunReport> {
    let file = ModelFile::open(path)?;
    let inputs = crate::model::input::read_inputs(input, file.input_shape())?;
    let Prepared { graph, model, .. } = file.prepare(quant, &inputs)?;
    let mut samples = vec![];
    let (mut max_err, mut agree) = (0f64, 0usize);
    for (i, x) in inputs.iter().enumerate() {
        let t = model.trace(&model.quantize_input(x, Some(i))?, Some(i))?;
        let output = model.output(&t.logits);
        let float = graph
            .as_ref()
            .map(|g| crate::model::float::forward(g, x))
            .transpose()?;
        let float_class = float
            .as_ref()
            .map(|fl| crate::model::quant::argmax_f(&fl.logits));
        if let Some(fl) = &float {
            for (a, b) in output.iter().zip(&fl.output) {
                max_err = max_err.max((a - b).abs());
            }
        }
        if float_class == Some(t.class) {
            agree += 1;
        }
        samples.push(RunSample {
            output,
            float_output: float.map(|fl| fl.output),
            class: t.class,
            float_class,
        });
    }
    let has_float = graph.is_some();
    Ok(RunReport {
        samples,
        max_abs_error: has_float.then_some(max_err),
        top1_agreement: has_float.then_some(agree as f64 / inputs.len().max(1) as f64),
        agreeing: agree,
        fixed_point: model.fp,
    })
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (i, s) in self.samples.iter().enumerate() {
            match s.float_class {
                Some(fc) => writeln!(f, "sample {i}: class {} (float {fc})", s.class)?,
                None => writeln!(f, "sample {i}: class {}", s.class)?,
            }
            writeln!(f, "  integer: {}", join(&s.output))?;
            if let Some(fo) = &s.float_output {
                writeln!(f, "  float:   {}", join(fo))?;
            }
        }
        let fp = &self.fixed_point;
        match (self.max_abs_error, self.top1_agreement) {
            (Some(err), Some(agreement)) => write!(
                f,
                "max abs error {err:.3e}, top-1 agreement {:.1}% ({}/{}), fixed point fa={} \
                 fw={} bits={}",
                agreement * 100.0,
                self.agreeing,
                self.samples.len(),
                fp.fa,
                fp.fw,
                fp.bits
            ),
            _ => write!(
                f,
                "integer model only (a model opening has no float model), fixed point fa={} \
                 fw={} bits={}",
                fp.fa, fp.fw, fp.bits
            ),
        }
    }
}

/// What `kerafold commit` reports: a public model's commitment, to publish before proving.
#[derive(Serialize)]
pub struct CommitReport {
    /// The model's name.
    pub model: String,
    /// `bn254` or `pasta`.
    pub curve: &'static str,
    /// Fractional bits of activations.
    pub fa: u32,
    /// Fractional bits of weights.
    pub fw: u32,
    /// Activation range in bits.
    pub bits: u32,
    /// The model commitment (hex of the field element).
    pub commitment: String,
    /// The step size the model is committed in (`commit --step-size`); absent: a step per layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<usize>,
}

/// The commitment of a private model, with fresh blindings, written as a model opening to `out`:
/// what every shard of its accuracy proof starts from (`kerafold commit --opening`). Quantized
/// as `prove-accuracy` would: calibrated on `data`'s samples unless `quant` fixes it. With
/// `step_size`, the model is committed in the tiles and bands of that size (a blinding per
/// step), which its folds by layer then run.
pub fn commit_private(
    path: &Path,
    quant: &QuantOptions,
    data: &Path,
    step_size: Option<usize>,
    out: &Path,
) -> Result<CommitReport> {
    let data = crate::data::Dataset::read(data)?;
    let file = ModelFile::open(path)?;
    data.check_input_shape(file.input_shape())?;
    let q = file.prepare(quant, &data.inputs_f32())?.model;
    let tiling = super::commitment_tiling(&q, step_size)?;
    let opening = crate::claim::weights::Opening::private_tiled(q, tiling)?;
    let file = crate::claim::weights::ModelOpening::new(&opening)?;
    file.write(out)?;
    let q = &opening.model;
    Ok(CommitReport {
        model: q.name.clone(),
        curve: "bn254",
        fa: q.fp.fa,
        fw: q.fp.fw,
        bits: q.fp.bits,
        commitment: file.commitment,
        step_size,
    })
}

/// The commitment of a public model on `system`'s curve.
pub fn commit(path: &Path, quant: &QuantOptions, system: System) -> Result<CommitReport> {
    let file = ModelFile::open(path)?;
    let neutral = file.neutral_input();
    let q = file.prepare(quant, &neutral)?.model;
    let commitment = crate::fold::public_model_commitment(&q, system)?;
    Ok(CommitReport {
        model: q.name.clone(),
        curve: match system {
            System::PastaIpa => "pasta",
            System::Bn254Ipa | System::Bn254Kzg => "bn254",
        },
        fa: q.fp.fa,
        fw: q.fp.fw,
        bits: q.fp.bits,
        commitment,
        step_size: None,
    })
}

impl fmt::Display for CommitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        write!(f, "{json}")
    }
}

/// An input file's sample `sample`, or an error naming the file and its length.
pub(crate) fn sample_of<'a>(xs: &'a [Vec<f32>], sample: usize, file: &Path) -> Result<&'a [f32]> {
    xs.get(sample).map(|x| x.as_slice()).ok_or_else(|| {
        Error::Usage(format!(
            "sample {sample} requested, {} has {}",
            file.display(),
            xs.len()
        ))
    })
}
