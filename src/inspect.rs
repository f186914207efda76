//! What `kerafold inspect` reports: per step, its shapes and cost (constraints counted by really
//! synthesizing the step's gadget), and the uniform step circuit's size and idle share.

use crate::fold::{Architecture, Stepping, Tiling};
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
    /// A recurrent layer's timesteps and the constraints each adds (one cell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_timestep: Option<PerTimestep>,
    /// The step saves its input for a residual Add.
    pub saves_residual: bool,
}

/// A recurrent layer's cost by timestep.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PerTimestep {
    /// Timesteps of the sequence.
    pub timesteps: usize,
    /// Constraints one timestep adds: one cell (the layer of two timesteps less that of one).
    pub constraints: usize,
    /// Masked (by an Embedding's `mask_zero` or a Masking layer): a masked timestep keeps the
    /// state.
    pub masked: bool,
}

/// The uniform step circuit.
#[derive(Clone, Debug, Serialize)]
pub struct StepCircuitReport {
    /// Number of steps (a step per layer, per tile of a tiled Dense layer, per row band).
    pub steps: usize,
    /// Steps proven in one fold (`--steps-per-fold`, or the default for this circuit).
    pub steps_per_fold: usize,
    /// Number of folds.
    pub folds: usize,
    /// The step size asked for (`--step-size`: rows, `layer` or `auto`).
    pub step_size: crate::fold::StepSize,
    /// How Dense layers are tiled and convolutions banded, if they are (what `step_size`
    /// resolved to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiling: Option<Tiling>,
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
    /// Where one step's constraints go.
    pub breakdown: Breakdown,
    /// What each fold adds: the chaining of its steps and Nova's own circuits.
    pub per_fold: FoldCost,
}

/// Where the constraints of one step go, by what they prove. The fields other than
/// `weight_wellformedness` add up to `constraints_per_step`; each fold adds [`FoldCost`] on top
/// (`prove --json`'s `primary_constraints` = steps a fold × `constraints_per_step` + `packing` +
/// `nova_primary`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Breakdown {
    /// Products of inputs and packed weights, and their lane sums (linear layers).
    pub multiply_accumulate: usize,
    /// Rounding each accumulator back to `2^-fa` and range-checking it (linear layers).
    pub requantization: usize,
    /// Activation functions.
    pub activations: usize,
    /// Pooling, residual adds, the final ArgMax and relabelling views.
    pub other_ops: usize,
    /// Range checks of the opened input (and saved residual) tensor, value by value.
    pub input_range_checks: usize,
    /// Packing and hashing the opened tensors to check them against their commitments.
    pub input_openings: usize,
    /// Packing and hashing the output tensor into its commitment.
    pub output_commitment: usize,
    /// Hashing each slot's weights into the model commitment chain.
    pub weight_hashing: usize,
    /// Proving private weights well-formed (private-model proofs only; not in
    /// `constraints_per_step`).
    pub weight_wellformedness: usize,
    /// Selecting the active slot: gating its inputs and outputs onto the bus.
    pub slot_selection: usize,
    /// Row bands: reading a band's rows from its input stream and tail, writing its outputs to
    /// the output stream, and carrying both to the next band (docs/DESIGN.md §7.4).
    pub band_streams: usize,
    /// The step descriptor, the residual and class state, the chains and the counter.
    pub state: usize,
}

/// What a fold adds to its steps' constraints.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FoldCost {
    /// Chaining the steps of a packed fold (`--steps-per-fold`).
    pub packing: usize,
    /// Nova's augmentation of the step circuit (its verifier of the previous fold).
    pub nova_primary: usize,
    /// Nova's secondary circuit (on the cycle's other curve).
    pub nova_secondary: usize,
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

/// A recurrent layer's timesteps and one cell's constraints (`None` for other ops).
fn per_timestep(
    op: &kerafold_step_circuits::Op,
    act: &kerafold_step_circuits::Act,
    fp: &kerafold_step_circuits::FixedPoint,
) -> Result<Option<PerTimestep>> {
    let kerafold_step_circuits::Op::Recurrent(r) = op else {
        return Ok(None);
    };
    let over =
        |timesteps| {
            let op = kerafold_step_circuits::Op::Recurrent(
                kerafold_step_circuits::spec::RecurrentSpec { timesteps, ..*r },
            );
            count_constraints(&op, act, &[], fp).map_err(gadget_err)
        };
    Ok(Some(PerTimestep {
        timesteps: r.timesteps,
        constraints: over(2)? - over(1)?,
        masked: r.cell.masked,
    }))
}

/// Builds the report of a quantized model.
pub fn report(q: &QuantizedModel, stepping: Stepping) -> Result<Report> {
    let tiling = crate::inference::resolve_tiling(
        q,
        crate::fold::System::Bn254Ipa,
        crate::fold::Visibility::Public,
        stepping.step_size,
    )?;
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
            per_timestep: per_timestep(&s.op, &s.act, &q.fp)?,
            saves_residual: s.save_input,
        });
        in_shape = s.output_shape.clone();
    }
    let arch = Arc::new(Architecture::compile_tiled(q, tiling)?);
    let total = step_constraints::<F>(&arch)?;
    let (nova_primary, nova_secondary) = crate::fold::pipeline::nova_overhead::<
        crate::fold::backend::Bn254Ipa,
    >(crate::inference::circuit::arity(&arch))?;
    let per_fold = match stepping.steps_per_fold {
        Some(k) => k,
        None => crate::inference::default_steps_per_fold(
            crate::fold::System::Bn254Ipa,
            total,
            arch.steps.len(),
        ),
    };
    crate::inference::check_steps_per_fold(per_fold, arch.steps.len())?;
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
            steps: arch.steps.len(),
            steps_per_fold: per_fold,
            folds: crate::fold::packed::folds(arch.steps.len(), per_fold),
            step_size: stepping.step_size,
            tiling,
            constraints_per_step: total,
            slots: arch.slots.len(),
            bus_width: arch.width,
            idle_share: idle,
            idle_share_min: if min.is_finite() { min } else { 0.0 },
            idle_share_max: max,
            breakdown: breakdown(&arch)?,
            per_fold: FoldCost {
                packing: crate::fold::pipeline::circuit_constraints::<F, _>(
                    &crate::fold::packed::Packed::shape(
                        per_fold,
                        crate::inference::circuit::LayerStep::<F>::shape(arch.clone()),
                    ),
                )? - per_fold * total,
                nova_primary,
                nova_secondary,
            },
        },
    })
}

/// Whether an op is a linear layer (multiply-accumulate, then requantization).
fn is_linear(op: &kerafold_step_circuits::Op) -> bool {
    use kerafold_step_circuits::Op;
    matches!(
        op,
        Op::Dense(_) | Op::Conv(_) | Op::Depthwise(_) | Op::Affine(_)
    )
}

/// Synthesizes the step circuit's shape (with the private-weights checks) into a tallying
/// counter and sorts its constraints by what they prove; the layer gadgets are split further by
/// tallying each slot's gadget alone.
fn breakdown(arch: &Arc<Architecture>) -> Result<Breakdown> {
    use kerafold_step_circuits::cs::CountingCs;
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    use nova_snark::traits::circuit::StepCircuit;
    let circuit = crate::inference::circuit::LayerStep::<F>::shape_for(arch.clone(), true);
    let mut cs = CountingCs::<F>::with_tally();
    let z = (0..circuit.arity())
        .map(|i| AllocatedNum::alloc(cs.namespace(|| format!("z{i}")), || Ok(F::from(0u64))))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(gadget_err)?;
    circuit.synthesize(&mut cs, &z).map_err(gadget_err)?;
    let mut b = Breakdown::default();
    for (path, n) in cs.tally() {
        let field = match path.split('/').collect::<Vec<_>>().as_slice() {
            ["slot", "op", ..] => continue, // split by slot below
            ["open_x" | "open_skip", "range", ..] => &mut b.input_range_checks,
            ["open_x" | "open_skip", ..] => &mut b.input_openings,
            ["commit_y" | "out_commitment", ..] => &mut b.output_commitment,
            ["slot", "digest" | "sel_digest", ..] | ["digest", ..] => &mut b.weight_hashing,
            ["slot", "wf", ..] => &mut b.weight_wellformedness,
            [p, ..] if p.starts_with("band_") => &mut b.band_streams,
            ["slot", ..]
            | ["y" | "zero" | "zero_eq" | "mask" | "mask_monotone" | "mask_count" | "in_blocks"
            | "out_blocks", ..] => &mut b.slot_selection,
            _ => &mut b.state,
        };
        *field += n;
    }
    let ops_total = cs.count_where(|p| p.starts_with("slot/op/"));
    let mut ops_split = 0;
    for slot in &arch.slots {
        let t = kerafold_step_circuits::cost::tally(&slot.op, &slot.act, &arch.fp)
            .map_err(gadget_err)?;
        let (mac, op, act) = (
            t.count_where(|p| p.starts_with("op/grp/")),
            t.count_where(|p| p.starts_with("op/")),
            t.count_where(|p| p.starts_with("act/")),
        );
        let rest = t.num_constraints() - op - act;
        b.activations += act;
        b.other_ops += rest;
        if let kerafold_step_circuits::Op::Recurrent(_) = slot.op {
            // the cell's pieces (`op/t{t}/NN_name/…`): its Dense maps, their requantization, the
            // merges, the rest its activations
            let mac = t.count_where(|p| p.starts_with("op/") && p.contains("_dense/grp"));
            let dense = t.count_where(|p| p.starts_with("op/") && p.contains("_dense/"));
            let merges = t.count_where(|p| p.starts_with("op/") && p.contains("/merge/"));
            b.multiply_accumulate += mac;
            b.requantization += dense - mac;
            b.other_ops += merges;
            b.activations += op - dense - merges;
        } else if is_linear(&slot.op) {
            b.multiply_accumulate += mac;
            b.requantization += op - mac;
        } else {
            b.other_ops += op;
        }
        ops_split += t.num_constraints();
    }
    // views, and anything the per-slot tallies miss, stay with the other ops
    b.other_ops += ops_total.saturating_sub(ops_split);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::StepSize;

    /// A recurrent layer reports its timesteps and one cell's constraints: the layer is its
    /// timesteps' cells and a zero state.
    #[test]
    fn recurrent_layers_report_their_cost_a_timestep() {
        let (graph, inputs) = crate::model::test_fixture("lstm_seq");
        let (q, _) =
            crate::model::calibrate(&crate::model::lower(&graph).unwrap(), &inputs).unwrap();
        let stepping = Stepping {
            step_size: StepSize::PerLayer,
            steps_per_fold: Some(1),
        };
        let r = report(&q, stepping).unwrap();
        let cells: Vec<_> = r
            .layers
            .iter()
            .filter(|l| l.per_timestep.is_some())
            .collect();
        assert_eq!(cells.len(), 2);
        for l in cells {
            let t = l.per_timestep.unwrap();
            assert_eq!(t.timesteps, 8, "{}", l.name);
            let cells = t.timesteps * t.constraints;
            assert!(
                cells <= l.constraints && l.constraints - cells < 8,
                "{}: {l:?}",
                l.name
            );
        }
    }

    /// The breakdown accounts for every constraint of the step, in the categories that apply.
    #[test]
    fn the_breakdown_adds_up_to_the_step_circuit() {
        for (name, step_size) in [
            ("cnn", StepSize::PerLayer),
            ("residual", StepSize::PerLayer),
            ("mlp", StepSize::PerLayer),
            ("mlp", StepSize::Rows(1)),
            ("cnn", StepSize::Rows(1)),
            ("lstm_seq", StepSize::PerLayer),
        ] {
            let (graph, inputs) = crate::model::test_fixture(name);
            let (q, _) =
                crate::model::calibrate(&crate::model::lower(&graph).unwrap(), &inputs).unwrap();
            let tiling = match step_size {
                StepSize::Rows(n) => Some(Tiling::square(n, &q.fp).unwrap()),
                _ => None,
            };
            let stepping = Stepping {
                step_size,
                steps_per_fold: Some(1),
            };
            let r = report(&q, stepping).unwrap().step_circuit;
            assert_eq!(r.tiling, tiling);
            let b = &r.breakdown;
            let sum = b.multiply_accumulate
                + b.requantization
                + b.activations
                + b.other_ops
                + b.input_range_checks
                + b.input_openings
                + b.output_commitment
                + b.weight_hashing
                + b.slot_selection
                + b.band_streams
                + b.state;
            assert_eq!(sum, r.constraints_per_step, "{name}: {b:?}");
            // Nova's circuits per fold: ~11.5k on top of the step, ~10.5k on the other curve
            let f = &r.per_fold;
            assert!(
                (9_000..14_000).contains(&f.nova_primary)
                    && (9_000..14_000).contains(&f.nova_secondary),
                "{name}: {f:?}"
            );
            assert_eq!(f.packing, 0, "one step a fold chains nothing");
            assert!(
                b.multiply_accumulate > 0 && b.requantization > 0,
                "{name}: {b:?}"
            );
            assert!(
                b.input_range_checks >= q.fp.bits as usize * r.bus_width,
                "{name}"
            );
            assert!(b.weight_wellformedness > 0, "{name}: {b:?}");
        }
    }
}
