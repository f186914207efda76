//! What `kerafold inspect` reports: per step, its shapes and cost (constraints counted by really
//! synthesizing the step's gadget), and the uniform step circuit's size and idle share.

use crate::fold::Architecture;
use crate::inference::circuit::step_constraints;
use crate::model::QuantizedModel;
use crate::Result;
use kerafold_step_circuits::count_constraints;
use nova_snark::provider::Bn256EngineIPA;
use nova_snark::traits::Engine;
use serde::Serialize;
use std::sync::Arc;

type F = <Bn256EngineIPA as Engine>::Scalar;

/// One step of the proof.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    /// Keras layers covered (`conv1+bn1+relu1`).
    pub name: String,
    /// Operation kind (`dense`, `conv`, ...) and activation.
    pub kind: String,
    /// Activation name.
    pub activation: String,
    /// Input shape (the previous step's output shape, or the model's input shape).
    pub input_shape: Vec<usize>,
    /// Output shape as Keras sees it.
    pub output_shape: Vec<usize>,
    /// Weight and bias count.
    pub params: usize,
    /// Multiply-accumulates of the op (0 for weightless ops).
    pub macs: usize,
    /// Output element count.
    pub outputs: usize,
    /// Constraints of this step's own gadget.
    pub constraints: usize,
    /// The step saves its input for a residual Add.
    pub saves_residual: bool,
}

/// The uniform step circuit.
#[derive(Clone, Debug, Serialize)]
pub struct StepCircuitReport {
    /// Constraints of one step (kerafold's circuit, without Nova's own verifier circuit).
    pub constraints_per_step: usize,
    /// Number of slots (gadget instances) in the step circuit.
    pub slots: usize,
    /// Length of the activation bus (largest tensor).
    pub bus_width: usize,
    /// Per step, the share of the step circuit spent on slots that are idle in that step.
    pub idle_share: Vec<f64>,
    /// Smallest idle share over the steps (0 without steps).
    pub idle_share_min: f64,
    /// Largest idle share over the steps.
    pub idle_share_max: f64,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The model's name.
    pub model: String,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
    /// Fixed-point parameters.
    pub quantization: kerafold_step_circuits::FixedPoint,
    /// One report per step, in order.
    pub layers: Vec<LayerReport>,
    /// The uniform step circuit.
    pub step_circuit: StepCircuitReport,
}

fn gadget_err(e: nova_snark::frontend::SynthesisError) -> crate::Error {
    crate::Error::synthesis("counting constraints", e)
}

/// Builds the report of a quantized model.
pub fn report(q: &QuantizedModel) -> Result<Report> {
    let mut layers = Vec::with_capacity(q.steps.len());
    let mut in_shape = q.input_shape.clone();
    for s in &q.steps {
        let (wl, bl) = s.op.weight_lens();
        layers.push(LayerReport {
            name: s.name.clone(),
            kind: s.op.kind().into(),
            activation: s.act.name().into(),
            input_shape: in_shape.clone(),
            output_shape: s.output_shape.clone(),
            params: wl + bl,
            macs: s.op.macs(),
            outputs: s.op.output_len(),
            constraints: count_constraints(&s.op, &s.act, &s.views, &q.fp).map_err(gadget_err)?,
            saves_residual: s.save_input,
        });
        in_shape = s.output_shape.clone();
    }
    let arch = Arc::new(Architecture::compile(q)?);
    let total = step_constraints::<F>(&arch)?;
    let slot_cost: Vec<usize> = arch
        .slots
        .iter()
        .map(|s| count_constraints(&s.op, &s.act, &s.views, &q.fp).map_err(gadget_err))
        .collect::<Result<_>>()?;
    let idle: Vec<f64> = arch
        .steps
        .iter()
        .map(|d| {
            let idle: usize = slot_cost
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != d.slot)
                .map(|(_, c)| c)
                .sum();
            idle as f64 / total.max(1) as f64
        })
        .collect();
    let min = idle.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = idle.iter().cloned().fold(0.0, f64::max);
    Ok(Report {
        model: q.name.clone(),
        input_shape: q.input_shape.clone(),
        quantization: q.fp,
        layers,
        step_circuit: StepCircuitReport {
            constraints_per_step: total,
            slots: arch.slots.len(),
            bus_width: arch.width,
            idle_share: idle,
            idle_share_min: if min.is_finite() { min } else { 0.0 },
            idle_share_max: max,
        },
    })
}
