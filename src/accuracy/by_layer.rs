//! The accuracy step circuit folded layer by layer (docs/DESIGN.md §4.5, "Layer by layer"): one
//! fold runs one step of the inference circuit ([`LayerStep`]) on the current sample, so a fold
//! is as large as the model's largest step plus a piece of one record's hash, not the whole
//! model.
//!
//! State: the accuracy state `[sample index, SHA hi, SHA lo, model commitment, correct, leaf
//! chain]` of the per-sample circuit, the current sample's label and a commitment to its record,
//! then the layer circuit's state (all zero between samples). At a sample's first fold (layer
//! step counter 0) the record is read: the leaf hand-over before it as the per-sample circuit
//! does it ([`leaf_handover`]), its label kept and its bytes committed; the layer state starts a
//! fresh inference on the record's features: their commitment (unblinded) as the input, the model
//! seed as the model chain. Every fold takes the record's bytes again, held to that commitment,
//! and compresses its piece of them into the leaf's SHA-256 ([`Pieces`]: about blocks / steps
//! blocks a fold, so a record's hash costs a fold a few compressions, not all of them). At its
//! last fold (counter = number of steps) the layer state must have run exactly the architecture
//! (its chain), with the committed model (the model chain), leaving nothing saved or carried;
//! `[class = label]` is counted, the sample index moves on and the layer state, label and record
//! commitment go back to zero. Between samples the SHA-256 state is the per-sample circuit's.

use super::step::{
    absorb_blocks, byte_lc, constant, label_matches, leaf_handover, num_of, parse_record,
    record_bits, select, select_by,
};
use super::{AccuracyArch, ARITY as ACCURACY_ARITY};
use crate::fold::commit::{arch_chain, model_seed};
use crate::inference::circuit::{arity as layer_arity, LayerStep, StepWitness};
use kerafold_step_circuits::commit;
use kerafold_step_circuits::field::pow2;
use kerafold_step_circuits::poseidon::hash_gadget;
use kerafold_step_circuits::step::alloc_num as alloc;
use kerafold_step_circuits::zero::is_zero;
use kerafold_step_circuits::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{
    AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};
use nova_snark::traits::circuit::StepCircuit;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Index of the current sample's label in the state.
pub const LABEL: usize = ACCURACY_ARITY;
/// Index of the commitment to the current sample's record in the state.
pub const RECORD: usize = ACCURACY_ARITY + 1;
/// Index of the layer circuit's first state element.
pub const LAYER: usize = ACCURACY_ARITY + 2;

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

    /// How the record's SHA-256 is spread over a sample's folds.
    pub fn pieces(&self) -> Pieces {
        Pieces::new(self.arch.header.record_size() / 64, self.steps_per_sample())
    }

    /// The digest that keys this circuit's parameters: architecture, header and whether the
    /// weights are checked.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"kerafold accuracy circuit, by layer, the record hashed in pieces")
            .chain_update(self.arch.digest())
            .chain_update([u8::from(self.layer.private_weights)])
            .finalize()
            .into()
    }
}

/// How a record's SHA-256 is spread over its sample's folds: fold `p < folds` compresses blocks
/// `p·per_fold ..` (at most `per_fold`, fewer at the record's end), the later folds none. With
/// `per_fold = ⌈blocks / steps⌉`, `folds ≤ steps`, so every block is compressed once, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pieces {
    /// 64-byte blocks in a record.
    pub blocks: usize,
    /// Blocks a fold compresses (its circuit has this many compressions).
    pub per_fold: usize,
    /// Folds that compress blocks.
    pub folds: usize,
}

impl Pieces {
    /// `blocks` (at least one) spread over `steps` folds.
    pub fn new(blocks: usize, steps: usize) -> Self {
        let per_fold = blocks.div_ceil(steps.max(1));
        Pieces {
            blocks,
            per_fold,
            folds: blocks.div_ceil(per_fold),
        }
    }
}

/// Bytes packed into one element of the record commitment: 248 bits, below the modulus.
const PACKED_BYTES: usize = 31;

/// A commitment to the record's bytes (the features and the label; the padding is constant):
/// Poseidon over the bytes packed 31 to an element (constraints `packed{e}`).
fn record_commitment<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    arch: &AccuracyArch,
    bytes_be: &[Vec<Boolean>],
    record: Option<&[u8]>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let used = arch.header.features() + 1;
    let packed = (0..used)
        .step_by(PACKED_BYTES)
        .enumerate()
        .map(|(e, start)| {
            let (lc, v) = (start..(start + PACKED_BYTES).min(used)).fold(
                (LinearCombination::zero(), record.map(|_| F::ZERO)),
                |(lc, v), k| {
                    let m = pow2::<F>(8 * (k - start) as u32);
                    (
                        lc + (m, &byte_lc::<F, CS>(&bytes_be[k])),
                        v.zip(record)
                            .map(|(v, rec)| v + m * F::from(u64::from(rec[k]))),
                    )
                },
            );
            num_of(cs.namespace(|| format!("packed{e}")), lc, v)
        })
        .collect::<Result<Vec<_>, _>>()?;
    hash_gadget(cs.namespace(|| "commitment"), &packed)
}

/// This fold's piece of the record's SHA-256 from state `(hi, lo)`: with `counter` the sample's
/// layer step, the blocks `counter·per_fold + t` that exist (constraints `at{p}` select the
/// piece, `b{t}_{q}_{p}` and `b{t}_{q}_bits` the bytes, `block{t}/…` compress, `hi{t}`/`lo{t}`
/// keep the state when block `t` does not exist).
fn absorb_piece<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    pieces: Pieces,
    counter: &AllocatedNum<F>,
    bytes_be: &[Vec<Boolean>],
    record: Option<&[u8]>,
    [hi, lo]: [&AllocatedNum<F>; 2],
) -> Result<[AllocatedNum<F>; 2], SynthesisError> {
    let at = (0..pieces.folds)
        .map(|p| {
            let p_f = F::from(p as u64);
            is_zero(
                cs,
                &format!("at{p}"),
                lc_of(counter) - (p_f, CS::one()),
                counter.get_value().map(|c| c - p_f),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (mut hi, mut lo) = (hi.clone(), lo.clone());
    for t in 0..pieces.per_fold {
        // (the fold, the block) of every fold that has a block `t`
        let sources: Vec<(usize, usize)> = (0..pieces.folds)
            .map(|p| (p, p * pieces.per_fold + t))
            .filter(|&(_, b)| b < pieces.blocks)
            .collect();
        let mut bits = Vec::with_capacity(512);
        for q in 0..64 {
            let from: Vec<(&AllocatedBit, usize)> =
                sources.iter().map(|&(p, b)| (&at[p], 64 * b + q)).collect();
            bits.extend(select_byte(
                cs,
                &format!("b{t}_{q}"),
                &from,
                bytes_be,
                record,
            )?);
        }
        // block `t` exists in this fold: the sum of the exclusive bits of the folds that have it
        let active = sources.iter().fold(
            (LinearCombination::zero(), Some(false)),
            |(lc, v), &(p, _)| {
                (
                    lc + at[p].get_variable(),
                    v.zip(at[p].get_value()).map(|(a, b)| a || b),
                )
            },
        );
        let [hi2, lo2] =
            absorb_blocks(&mut cs.namespace(|| format!("block{t}")), &hi, &lo, &[bits])?;
        hi = select_by(
            cs,
            &format!("hi{t}"),
            &active,
            &hi,
            lc_of(&hi2),
            hi2.get_value(),
        )?;
        lo = select_by(
            cs,
            &format!("lo{t}"),
            &active,
            &lo,
            lc_of(&lo2),
            lo2.get_value(),
        )?;
    }
    Ok([hi, lo])
}

/// The byte at record offset `k` for the one bit `on` of `from` that is set, zero if none is
/// (constraints `{name}_{p}` and `{name}_{p}_product` per source, `{name}_bits`), as 8 bits most
/// significant first. Padding bytes are constant zero, so sources that are padding drop out.
fn select_byte<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    from: &[(&AllocatedBit, usize)],
    bytes_be: &[Vec<Boolean>],
    record: Option<&[u8]>,
) -> Result<Vec<Boolean>, SynthesisError> {
    let is_padding = |k: usize| {
        bytes_be[k]
            .iter()
            .all(|b| matches!(b, Boolean::Constant(_)))
    };
    let mut lc = LinearCombination::zero();
    let mut v = Some(0u8);
    let mut any = false;
    for (p, &(on, k)) in from.iter().enumerate() {
        if is_padding(k) {
            continue;
        }
        any = true;
        let byte = record.map(|rec| rec[k]);
        let prod = alloc(
            cs,
            &format!("{name}_{p}"),
            on.get_value()
                .zip(byte)
                .map(|(on, b)| F::from(if on { u64::from(b) } else { 0 })),
        )?;
        cs.enforce(
            || format!("{name}_{p}_product"),
            |l| l + on.get_variable(),
            |l| l + &byte_lc::<F, CS>(&bytes_be[k]),
            |l| l + prod.get_variable(),
        );
        lc = lc + prod.get_variable();
        v = match (v, on.get_value(), byte) {
            (Some(v), Some(on), Some(b)) => Some(if on { b } else { v }),
            _ => None,
        };
    }
    if !any {
        return Ok(vec![Boolean::constant(false); 8]);
    }
    let bits = (0..8)
        .map(|j| {
            AllocatedBit::alloc(
                cs.namespace(|| format!("{name}_bit{j}")),
                v.map(|v| (v >> (7 - j)) & 1 == 1),
            )
            .map(Boolean::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    cs.enforce(
        || format!("{name}_bits"),
        |l| l + &byte_lc::<F, CS>(&bits),
        |l| l + CS::one(),
        |l| l + &lc,
    );
    Ok(bits)
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
        let (z_i, z_commitment, z_correct, z_label, z_record) =
            (&z[0], &z[3], &z[4], &z[LABEL], &z[RECORD]);
        let zl = &z[LAYER..];

        // --- a sample's first fold: the layer step counter is 0
        let first = is_zero(cs, "first", lc_of(&zl[0]), zl[0].get_value())?;

        // --- the record, read at every fold and kept at the first
        // --- the record: its bytes at every fold, bound to the ones read at the first by their
        // commitment in the state
        let record = self.record.as_deref().map(Vec::as_slice);
        let (bytes_be, x, label, record_commitment) = {
            let mut cs = cs.namespace(|| "record");
            let bytes_be = record_bits(&mut cs, &self.arch, record)?;
            let (x, label) = parse_record(&mut cs, &self.arch, &bytes_be, record)?;
            let rc = record_commitment(&mut cs, &self.arch, &bytes_be, record)?;
            (bytes_be, x, label, rc)
        };
        cs.enforce(
            || "same_record",
            |l| l + CS::one() - first.get_variable(),
            |l| l + record_commitment.get_variable() - z_record.get_variable(),
            |l| l,
        );

        // --- the dataset stream: the leaf hand-over at the first fold, then this fold's piece of
        // the record's SHA-256
        let [hi_b, lo_b, leaves_b] = leaf_handover(
            &mut cs.namespace(|| "leaves"),
            &self.arch,
            [&z[0], &z[1], &z[2], &z[5]],
        )?;
        let kept = |cs: &mut CS, name: &str, old: &AllocatedNum<F>, new: &AllocatedNum<F>| {
            select(cs, name, &first, old, lc_of(new), new.get_value())
        };
        let hi_in = kept(cs, "sha_hi_in", &z[1], &hi_b)?;
        let lo_in = kept(cs, "sha_lo_in", &z[2], &lo_b)?;
        let leaves = kept(cs, "leaves_next", &z[5], &leaves_b)?;
        let [hi, lo] = absorb_piece(
            &mut cs.namespace(|| "piece"),
            self.pieces(),
            &zl[0],
            &bytes_be,
            record,
            [&hi_in, &lo_in],
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
            cleared(cs, "record_next", &record_commitment)?,
        ];
        for (k, v) in out.iter().enumerate() {
            next.push(cleared(cs, &format!("layer_next{k}"), v)?);
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::Pieces;

    /// Every block is compressed exactly once, within the sample's folds.
    #[test]
    fn pieces_cover_the_record_within_the_sample() {
        for blocks in 1..70 {
            for steps in 1..40 {
                let p = Pieces::new(blocks, steps);
                assert!(p.folds <= steps, "{blocks} blocks, {steps} steps: {p:?}");
                assert!(p.folds * p.per_fold >= blocks, "{p:?}");
                assert!((p.folds - 1) * p.per_fold < blocks, "{p:?}");
                assert_eq!(p.per_fold, blocks.div_ceil(steps), "{p:?}");
            }
        }
    }
}
