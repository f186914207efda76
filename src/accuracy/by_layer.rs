//! The accuracy step circuit folded layer by layer (docs/DESIGN.md §4.5, "Layer by layer"): one
//! fold runs one step of the inference circuit ([`LayerStep`]) on the current sample, so a fold
//! is as large as the model's largest step plus one record, not the whole model.
//!
//! State: the accuracy state `[sample index, SHA hi, SHA lo, model commitment, correct, leaf
//! chain]` of the per-sample circuit, the current sample's label, then the layer circuit's state
//! (zero between samples). At a sample's first fold (layer step counter 0) the record is read
//! from the dataset stream ([`read_record`]) and the layer state starts a fresh inference on the
//! record's features: their commitment (unblinded) as the input, the model seed as the model
//! chain. At its last (counter = number of steps) the layer state must have run exactly the
//! architecture (its chain), with the committed model (the model chain), leaving nothing saved
//! or carried; `[class = label]` is counted, the sample index moves on and the layer state and
//! label go back to zero. Between, the dataset state is carried unchanged.

use super::step::{constant, is_zero, label_matches, num_of, read_record, select, RecordWires};
use super::{AccuracyArch, ARITY as ACCURACY_ARITY};
use crate::fold::commit::{arch_chain, model_seed};
use crate::inference::circuit::{arity as layer_arity, LayerStep, StepWitness};
use kerafold_step_circuits::commit;
use kerafold_step_circuits::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{AllocatedBit, ConstraintSystem, LinearCombination, SynthesisError};
use nova_snark::traits::circuit::StepCircuit;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Index of the current sample's label in the state.
pub const LABEL: usize = ACCURACY_ARITY;
/// Index of the layer circuit's first state element.
pub const LAYER: usize = ACCURACY_ARITY + 1;

/// One fold of the accuracy circuit by layer: the sample's record and one step of its inference.
#[derive(Clone, Debug)]
pub struct LayerSampleStep<F: Field> {
    /// The model architecture and dataset header.
    pub arch: Arc<AccuracyArch>,
    /// The inference step circuit (with the step's witness when proving).
    pub layer: LayerStep<F>,
    /// The current sample's record (`None` for the circuit's shape).
    pub record: Option<Arc<Vec<u8>>>,
}

impl<F: Field> LayerSampleStep<F> {
    /// The circuit without a witness.
    pub fn shape(arch: Arc<AccuracyArch>, private_weights: bool) -> Self {
        let model = Arc::new(arch.model.clone());
        Self {
            arch,
            layer: LayerStep::shape_for(model, private_weights),
            record: None,
        }
    }

    /// This circuit at one fold: `record`'s sample at layer step `step`.
    pub fn at(&self, record: Arc<Vec<u8>>, step: Arc<StepWitness<F>>) -> Self {
        Self {
            arch: self.arch.clone(),
            layer: LayerStep {
                witness: Some(step),
                ..self.layer.clone()
            },
            record: Some(record),
        }
    }

    /// Folds per sample: the architecture's steps.
    pub fn steps_per_sample(&self) -> usize {
        self.arch.model.steps.len()
    }

    /// The digest that keys this circuit's parameters: architecture, header and whether the
    /// weights are checked.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"kerafold accuracy circuit, by layer")
            .chain_update(self.arch.digest())
            .chain_update([u8::from(self.layer.private_weights)])
            .finalize()
            .into()
    }
}

/// `gate·(a − b) = 0` (constraint `name`).
fn equal_if<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    gate: &AllocatedBit,
    a: &AllocatedNum<F>,
    b: LinearCombination<F>,
) {
    cs.enforce(
        || name.to_string(),
        |l| l + gate.get_variable(),
        |l| l + a.get_variable() - &b,
        |l| l,
    );
}

fn lc_of<F: Field>(n: &AllocatedNum<F>) -> LinearCombination<F> {
    LinearCombination::zero() + n.get_variable()
}

impl<F: Field> StepCircuit<F> for LayerSampleStep<F> {
    fn arity(&self) -> usize {
        LAYER + layer_arity(&self.arch.model)
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let model = &self.arch.model;
        if model.argmax_slot().is_none() {
            // the class in the layer state would stay 0: every sample would be "class 0"
            return Err(SynthesisError::Unsatisfiable(
                "the model has no ArgMax step".into(),
            ));
        }
        let steps = F::from(self.steps_per_sample() as u64);
        let (z_i, z_commitment, z_correct, z_label) = (&z[0], &z[3], &z[4], &z[LABEL]);
        let zl = &z[LAYER..];

        // --- a sample's first fold: the layer step counter is 0
        let first = is_zero(cs, "first", lc_of(&zl[0]), zl[0].get_value())?;

        // --- the record, read at every fold and kept at the first
        let RecordWires {
            hi,
            lo,
            leaves,
            x,
            label,
        } = read_record(
            &mut cs.namespace(|| "record"),
            &self.arch,
            self.record.as_deref().map(Vec::as_slice),
            [&z[0], &z[1], &z[2], &z[5]],
        )?;
        let zero = constant(cs, "zero", F::ZERO)?;
        let input = commit::commit(&mut cs.namespace(|| "input"), &x, &zero, model.fp.bits)?;
        let seed = constant(cs, "model_seed", model_seed::<F>(model))?;

        // --- one layer step, from a fresh inference of the record at the sample's first fold
        let mut start = zl.to_vec();
        start[1] = select(
            cs,
            "start_input",
            &first,
            &zl[1],
            lc_of(&input),
            input.get_value(),
        )?;
        start[4] = select(
            cs,
            "start_model",
            &first,
            &zl[4],
            lc_of(&seed),
            seed.get_value(),
        )?;
        let out = self
            .layer
            .synthesize(&mut cs.namespace(|| "layer"), &start)?;

        // --- the sample's last fold: the counter reached the architecture's steps
        let last = is_zero(
            cs,
            "last",
            lc_of(&out[0]) - (steps, CS::one()),
            out[0].get_value().map(|c| c - steps),
        )?;
        let chain: F = arch_chain(model);
        equal_if(
            cs,
            "ran_the_architecture",
            &last,
            &out[3],
            LinearCombination::zero() + (chain, CS::one()),
        );
        equal_if(cs, "model_commitment", &last, &out[4], lc_of(z_commitment));
        equal_if(
            cs,
            "nothing_saved",
            &last,
            &out[2],
            LinearCombination::zero(),
        );
        for (k, v) in out.iter().enumerate().skip(6) {
            equal_if(
                cs,
                &format!("nothing_carried{k}"),
                &last,
                v,
                LinearCombination::zero(),
            );
        }

        // --- the label, read at the first fold and compared at the last
        let label_now = select(cs, "label_now", &first, z_label, label.0.clone(), label.1)?;
        let eq = label_matches(cs, &out[5], &(lc_of(&label_now), label_now.get_value()))?;
        let counted = AllocatedBit::and(cs.namespace(|| "counted"), &eq, &last)?;
        let correct = num_of(
            cs.namespace(|| "correct_next"),
            lc_of(z_correct) + counted.get_variable(),
            z_correct
                .get_value()
                .zip(counted.get_value())
                .map(|(c, e)| c + F::from(u64::from(e))),
        )?;
        let i_next = num_of(
            cs.namespace(|| "i_next"),
            lc_of(z_i) + last.get_variable(),
            z_i.get_value()
                .zip(last.get_value())
                .map(|(i, l)| i + F::from(u64::from(l))),
        )?;

        // --- the dataset stream moves on only at a sample's first fold
        let kept = |cs: &mut CS, name: &str, old: &AllocatedNum<F>, new: &AllocatedNum<F>| {
            select(cs, name, &first, old, lc_of(new), new.get_value())
        };
        let hi = kept(cs, "sha_hi_next", &z[1], &hi)?;
        let lo = kept(cs, "sha_lo_next", &z[2], &lo)?;
        let leaves = kept(cs, "leaves_next", &z[5], &leaves)?;

        // --- after the last fold the label and the layer state are zero again
        let cleared = |cs: &mut CS, name: &str, v: &AllocatedNum<F>| {
            select(cs, name, &last, v, LinearCombination::zero(), Some(F::ZERO))
        };
        let mut next = vec![
            i_next,
            hi,
            lo,
            z_commitment.clone(),
            correct,
            leaves,
            cleared(cs, "label_next", &label_now)?,
        ];
        for (k, v) in out.iter().enumerate() {
            next.push(cleared(cs, &format!("layer_next{k}"), v)?);
        }
        Ok(next)
    }
}
