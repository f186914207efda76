//! The uniform Nova step circuit: one fold per compute step (docs/DESIGN.md §4).
//!
//! State `z` (six field elements):
//!
//! | index | meaning |
//! |---|---|
//! | 0 | step counter |
//! | 1 | commitment to the current activation tensor (Poseidon over packed values and a blinding) |
//! | 2 | commitment to the saved residual tensor (zero when nothing is saved) |
//! | 3 | architecture chain: `H(prev, slot, n_out, save, in_blocks + 2^32·out_blocks)` per step |
//! | 4 | model chain: from the architecture's seed, `H(prev, blinding, H(packed weights of the step's slot))` per step |
//! | 5 | the ArgMax class (written by the ArgMax step) |
//!
//! Tensors are committed over their own length (`kerafold_step_circuits::commit`); the bus holds
//! the widest, and a step opens its input's blocks and commits its output's, counts fixed by its
//! descriptor. One step: open the input tensor from `z[1]` (range checks make the packing
//! injective; bus values past the input's blocks are forced to zero), run every slot (idle slots see zero weights, and zero inputs where an arbitrary input could
//! overflow), keep only the selected slot's output (and, for padded slots, only the step's real
//! outputs), commit the output into `z[1]'`, and extend the chains.

use crate::fold::arch::Architecture;
use crate::fold::commit::{hash_gadget, hash_narrow_gadget, nothing_saved};
use kerafold_step_circuits::commit::{chain, open_prefix, BlockCount};
use kerafold_step_circuits::field::{from_i64, pow2};
use kerafold_step_circuits::packing::Packed;
use kerafold_step_circuits::step as slot_gadget;
use kerafold_step_circuits::step::alloc_num as alloc;
use kerafold_step_circuits::wellformed;
use kerafold_step_circuits::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{
    AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};
use nova_snark::traits::circuit::StepCircuit;
use std::sync::Arc;

/// Number of state elements.
pub const ARITY: usize = 6;

/// Everything the prover knows at one step.
#[derive(Clone, Debug)]
pub struct StepWitness<F> {
    /// Index of the slot this step runs.
    pub slot: usize,
    /// Number of real outputs of the step.
    pub n_out: usize,
    /// Commitment blocks of the step's input and output tensors.
    pub blocks: (usize, usize),
    /// Save this step's input as the residual tensor.
    pub save_input: bool,
    /// The input tensor, zero-padded to the bus width.
    pub x: Vec<i64>,
    /// Blinding of the input commitment.
    pub r_in: F,
    /// The saved residual tensor (zeros if none), padded to the bus width.
    pub skip: Vec<i64>,
    /// Blinding of the residual tensor's commitment.
    pub r_skip: F,
    /// Packed weights for every slot (zeros for idle slots).
    pub weights: Vec<Packed<F>>,
    /// Blinding absorbed into the model chain.
    pub r_model: F,
    /// Blinding of the output commitment.
    pub r_out: F,
}

/// The step circuit: the compiled architecture plus (when proving) one step's witness.
#[derive(Clone, Debug)]
pub struct LayerStep<F: Field> {
    /// The compiled architecture.
    pub arch: Arc<Architecture>,
    /// The weights are private: every weighted slot proves its weights well-formed
    /// ([`kerafold_step_circuits::wellformed`]), since the verifier cannot check them.
    pub private_weights: bool,
    /// One step's witness (`None` for the circuit's shape).
    pub witness: Option<Arc<StepWitness<F>>>,
}

impl<F: Field> LayerStep<F> {
    /// The circuit without a witness (for parameter setup and counting), for public weights.
    pub fn shape(arch: Arc<Architecture>) -> Self {
        Self::shape_for(arch, false)
    }

    /// The circuit without a witness, for public or private weights.
    pub fn shape_for(arch: Arc<Architecture>, private_weights: bool) -> Self {
        Self {
            arch,
            private_weights,
            witness: None,
        }
    }

    /// The digest that keys this circuit's parameters: the architecture's, and for private
    /// weights a second one that also covers the well-formedness checks.
    pub fn digest(&self) -> [u8; 32] {
        circuit_digest(&self.arch, self.private_weights)
    }
}

/// The digest of the layer circuit of `arch` (with or without weight checks).
pub(crate) fn circuit_digest(arch: &Architecture, private_weights: bool) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let d = arch.digest();
    if private_weights {
        Sha256::new()
            .chain_update(b"kerafold layer circuit, private weights")
            .chain_update(d)
            .finalize()
            .into()
    } else {
        d
    }
}

/// Allocates `a·b` for a boolean `a` and a number `b`.
fn mul_bool<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    a: &Boolean,
    b: &AllocatedNum<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let v = match (a.get_value(), b.get_value()) {
        (Some(a), Some(b)) => Some(if a { b } else { F::ZERO }),
        _ => None,
    };
    let out = AllocatedNum::alloc(cs.namespace(|| "v"), || {
        v.ok_or(SynthesisError::AssignmentMissing)
    })?;
    cs.enforce(
        || "a*b",
        |_| a.lc(CS::one(), F::ONE),
        |lc| lc + b.get_variable(),
        |lc| lc + out.get_variable(),
    );
    Ok(out)
}

/// Allocates `lc` as a number.
fn alloc_lc<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    terms: &[(F, &AllocatedNum<F>)],
) -> Result<AllocatedNum<F>, SynthesisError> {
    let v = terms
        .iter()
        .try_fold(F::ZERO, |acc, (c, n)| n.get_value().map(|x| acc + *c * x));
    let out = AllocatedNum::alloc(cs.namespace(|| "v"), || {
        v.ok_or(SynthesisError::AssignmentMissing)
    })?;
    cs.enforce(
        || "sum",
        |lc| {
            terms
                .iter()
                .fold(lc, |lc, (c, n)| lc + (*c, n.get_variable()))
        },
        |lc| lc + CS::one(),
        |lc| lc + out.get_variable(),
    );
    Ok(out)
}

/// Public parameters of the layer-by-layer circuit.
pub type Pp<B> = crate::fold::backend::PpOf<B, LayerStep<crate::fold::backend::Scalar<B>>>;
/// Verifier key of the layer-by-layer circuit.
pub type Vk<B> = crate::fold::backend::VkOf<B, LayerStep<crate::fold::backend::Scalar<B>>>;
/// Compressed proof of the layer-by-layer circuit.
pub type Snark<B> = crate::fold::backend::SnarkOf<B, LayerStep<crate::fold::backend::Scalar<B>>>;

/// Synthesizes one step with its witness into a checking constraint system.
pub fn check_step<F: Field>(
    arch: &Arc<Architecture>,
    witness: &Arc<StepWitness<F>>,
    z: &[F],
) -> crate::Result<(Vec<F>, usize)> {
    crate::fold::pipeline::check_circuit(
        &LayerStep {
            arch: arch.clone(),
            private_weights: false,
            witness: Some(witness.clone()),
        },
        z,
    )
}

/// Number of constraints of the layer step circuit alone (without Nova's augmentation).
pub fn step_constraints<F: Field>(arch: &Arc<Architecture>) -> crate::Result<usize> {
    crate::fold::pipeline::circuit_constraints::<F, _>(&LayerStep::<F>::shape(arch.clone()))
}

impl<F: Field> StepCircuit<F> for LayerStep<F> {
    fn arity(&self) -> usize {
        ARITY
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let arch = &*self.arch;
        let w = self.witness.as_deref();
        let fp = arch.fp;
        let width = arch.width;
        let (z_step, z_act, z_skip, z_arch, z_model, z_class) =
            (&z[0], &z[1], &z[2], &z[3], &z[4], &z[5]);

        // --- descriptor: selector, output length, save flag
        let mut sel = Vec::with_capacity(arch.slots.len());
        for s in 0..arch.slots.len() {
            let bit =
                AllocatedBit::alloc(cs.namespace(|| format!("sel{s}")), w.map(|w| w.slot == s))?;
            sel.push(Boolean::from(bit));
        }
        cs.enforce(
            || "one slot",
            |lc| sel.iter().fold(lc, |lc, b| lc + &b.lc(CS::one(), F::ONE)),
            |lc| lc + CS::one(),
            |lc| lc + CS::one(),
        );
        let slot_id = alloc(cs, "slot_id", w.map(|w| F::from(w.slot as u64)))?;
        cs.enforce(
            || "slot_id",
            |lc| {
                sel.iter()
                    .enumerate()
                    .fold(lc, |lc, (i, b)| lc + &b.lc(CS::one(), F::from(i as u64)))
            },
            |lc| lc + CS::one(),
            |lc| lc + slot_id.get_variable(),
        );
        let n_out = alloc(cs, "n_out", w.map(|w| F::from(w.n_out as u64)))?;
        let save = Boolean::from(AllocatedBit::alloc(
            cs.namespace(|| "save"),
            w.map(|w| w.save_input),
        )?);

        // --- block counts of the input and output tensors
        let max_blocks = arch.max_blocks();
        let in_blocks = BlockCount::alloc(
            &mut cs.namespace(|| "in_blocks"),
            max_blocks,
            w.map(|w| w.blocks.0),
        )?;
        let out_blocks = BlockCount::alloc(
            &mut cs.namespace(|| "out_blocks"),
            max_blocks,
            w.map(|w| w.blocks.1),
        )?;
        let add_sel = arch
            .slots
            .iter()
            .zip(&sel)
            .filter(|(s, _)| matches!(s.op, kerafold_step_circuits::Op::Add { .. }))
            .fold(LinearCombination::<F>::zero(), |lc, (_, b)| {
                lc + &b.lc(CS::one(), F::ONE)
            });

        // --- open the input (and the saved tensor)
        let xv = |i: usize| w.map(|w| from_i64::<F>(w.x[i]));
        let x_raw = (0..width)
            .map(|i| alloc(cs, &format!("x{i}"), xv(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let r_in = alloc(cs, "r_in", w.map(|w| w.r_in))?;
        // `open_prefix` range-checks the values in place: x_raw are the opened activations
        open_prefix(
            &mut cs.namespace(|| "open_x"),
            &x_raw,
            &r_in,
            fp.bits,
            &in_blocks,
            z_act,
            None,
        )?;
        let x = x_raw;
        let skip = if arch.has_skip() {
            let sv = |i: usize| w.map(|w| from_i64::<F>(w.skip[i]));
            let s_raw = (0..width)
                .map(|i| alloc(cs, &format!("skip{i}"), sv(i)))
                .collect::<Result<Vec<_>, _>>()?;
            let r_skip = alloc(cs, "r_skip", w.map(|w| w.r_skip))?;
            // only an Add reads the saved tensor (as long as its input); other steps leave it
            // unopened
            open_prefix(
                &mut cs.namespace(|| "open_skip"),
                &s_raw,
                &r_skip,
                fp.bits,
                &in_blocks,
                z_skip,
                Some(&add_sel),
            )?;
            Some(s_raw)
        } else {
            None
        };

        // --- output mask (thermometer t_j = [j < n_out]) for padded slots
        let mask_len = arch.mask_len();
        let mut mask = Vec::with_capacity(mask_len);
        if arch.has_padding() {
            let padded_active = w.map(|w| arch.slots[w.slot].padded);
            for j in 0..mask_len {
                let t = AllocatedBit::alloc(
                    cs.namespace(|| format!("mask{j}")),
                    w.map(|w| padded_active == Some(true) && j < w.n_out),
                )?;
                if let Some(prev) = mask.last() {
                    let prev: &AllocatedBit = prev;
                    // t_j ≤ t_{j-1}: t_j · (1 − t_{j−1}) = 0
                    cs.enforce(
                        || format!("mask{j}_monotone"),
                        |lc| lc + t.get_variable(),
                        |lc| lc + CS::one() - prev.get_variable(),
                        |lc| lc,
                    );
                }
                mask.push(t);
            }
            // Σ t_j = n_out · [active slot is padded]
            cs.enforce(
                || "mask_count",
                |lc| lc + n_out.get_variable(),
                |lc| {
                    arch.slots
                        .iter()
                        .zip(&sel)
                        .filter(|(s, _)| s.padded)
                        .fold(lc, |lc, (_, b)| lc + &b.lc(CS::one(), F::ONE))
                },
                |lc| mask.iter().fold(lc, |lc, t| lc + t.get_variable()),
            );
        }

        // --- slots
        let mut bus: Vec<Vec<AllocatedNum<F>>> = vec![vec![]; width];
        let r_model = alloc(cs, "r_model", w.map(|w| w.r_model))?;
        // per weighted slot: sel_s · H(w_s ‖ b_s); their sum is the active step's weight digest
        let mut digests = vec![];
        let mut class_idx = None;
        for (si, slot) in arch.slots.iter().enumerate() {
            let mut cs = cs.namespace(|| format!("slot{si}"));
            let (wl, bl) = kerafold_step_circuits::packing::packed_lens(&slot.op, &fp);
            let wa = (0..wl)
                .map(|i| alloc(&mut cs, &format!("w{i}"), w.map(|w| w.weights[si].w[i])))
                .collect::<Result<Vec<_>, _>>()?;
            let ba = (0..bl)
                .map(|i| alloc(&mut cs, &format!("b{i}"), w.map(|w| w.weights[si].b[i])))
                .collect::<Result<Vec<_>, _>>()?;
            if wl + bl > 0 {
                let all: Vec<_> = wa.iter().chain(&ba).cloned().collect();
                let d = hash_gadget(cs.namespace(|| "digest"), &all)?;
                digests.push(mul_bool(cs.namespace(|| "sel_digest"), &sel[si], &d)?);
                if self.private_weights {
                    // idle slots hold zeros, which are well-formed
                    wellformed::enforce(&mut cs.namespace(|| "wf"), &slot.op, &wa, &ba, &fp)?;
                }
            }
            let n_in = slot.raw_input_len();
            let xin = if slot.gated() {
                (0..n_in)
                    .map(|j| mul_bool(cs.namespace(|| format!("gate{j}")), &sel[si], &x[j]))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                x[..n_in].to_vec()
            };
            let skip_in = match (&slot.op, &skip) {
                (kerafold_step_circuits::Op::Add { n }, Some(s)) => Some(&s[..*n]),
                _ => None,
            };
            let out = slot_gadget(
                &mut cs.namespace(|| "op"),
                &slot.op,
                &slot.act,
                &slot.views,
                &xin,
                skip_in,
                &wa,
                &ba,
                &fp,
            )?;
            if let Some(idx) = out.argmax {
                class_idx = Some((si, idx));
            }
            for (j, y) in out.y.iter().enumerate() {
                let gate = if slot.padded && j < mask_len {
                    // g = sel · t_j
                    let t = Boolean::from(mask[j].clone());
                    let g = Boolean::and(cs.namespace(|| format!("g{j}")), &sel[si], &t)?;
                    g
                } else {
                    sel[si].clone()
                };
                let v = mul_bool(cs.namespace(|| format!("out{j}")), &gate, y)?;
                bus[j].push(v);
            }
        }

        // --- the output bus, its commitment
        let zero = alloc(cs, "zero", Some(F::ZERO).filter(|_| w.is_some()))?;
        cs.enforce(
            || "zero",
            |lc| lc + zero.get_variable(),
            |lc| lc + CS::one(),
            |lc| lc,
        );
        let mut y = Vec::with_capacity(width);
        for (j, drivers) in bus.iter().enumerate() {
            y.push(match drivers.len() {
                0 => zero.clone(),
                1 => drivers[0].clone(),
                _ => {
                    let terms: Vec<_> = drivers.iter().map(|d| (F::ONE, d)).collect();
                    alloc_lc(cs.namespace(|| format!("y{j}")), &terms)?
                }
            });
        }
        let r_out = alloc(cs, "r_out", w.map(|w| w.r_out))?;
        let y_chain = chain(&mut cs.namespace(|| "commit_y"), &y, &r_out, fp.bits)?;
        let act_next = out_blocks.select(&mut cs.namespace(|| "out_commitment"), &y_chain)?;

        // --- residual tensor: saved from this step's input, cleared by an Add
        let skip_next = if arch.has_skip() {
            let zero_c = nothing_saved::<F>();
            // t = save · (act − skip)
            let tv = match (save.get_value(), z_act.get_value(), z_skip.get_value()) {
                (Some(s), Some(a), Some(k)) => Some(if s { a - k } else { F::ZERO }),
                _ => None,
            };
            let t = alloc(cs, "skip_t", tv)?;
            cs.enforce(
                || "skip_save",
                |_| save.lc(CS::one(), F::ONE),
                |lc| lc + z_act.get_variable() - z_skip.get_variable(),
                |lc| lc + t.get_variable(),
            );
            // skip' = skip + t + add · (Z0 − skip)
            let add_on = w.map(|w| {
                matches!(
                    arch.slots[w.slot].op,
                    kerafold_step_circuits::Op::Add { .. }
                )
            });
            let nv = match (z_skip.get_value(), t.get_value(), add_on) {
                (Some(k), Some(t), Some(a)) => Some(if a { zero_c } else { k + t }),
                _ => None,
            };
            let next = alloc(cs, "skip_next", nv)?;
            cs.enforce(
                || "skip_clear",
                |lc| lc + &add_sel,
                |lc| lc + (zero_c, CS::one()) - z_skip.get_variable(),
                |lc| lc + next.get_variable() - z_skip.get_variable() - t.get_variable(),
            );
            next
        } else {
            z_skip.clone()
        };

        // --- class
        let class_next = match class_idx {
            Some((si, idx)) => {
                let v = match (sel[si].get_value(), idx.get_value(), z_class.get_value()) {
                    (Some(s), Some(i), Some(c)) => Some(if s { i } else { c }),
                    _ => None,
                };
                let next = alloc(cs, "class_next", v)?;
                cs.enforce(
                    || "class",
                    |_| sel[si].lc(CS::one(), F::ONE),
                    |lc| lc + idx.get_variable() - z_class.get_variable(),
                    |lc| lc + next.get_variable() - z_class.get_variable(),
                );
                next
            }
            None => z_class.clone(),
        };

        // --- chains and counter
        let save_num = alloc(
            cs,
            "save_num",
            save.get_value().map(|b| if b { F::ONE } else { F::ZERO }),
        )?;
        cs.enforce(
            || "save_num",
            |_| save.lc(CS::one(), F::ONE),
            |lc| lc + CS::one(),
            |lc| lc + save_num.get_variable(),
        );
        // in_blocks + 2^32·out_blocks: both counts are at most 2^24 (the bus width's bound)
        let blocks_lc = out_blocks
            .onehot
            .iter()
            .enumerate()
            .fold(in_blocks.count.clone(), |lc, (i, e)| {
                lc + &e.lc(CS::one(), F::from(i as u64 + 1) * pow2::<F>(32))
            });
        let blocks_v = w.map(|w| crate::fold::commit::blocks_word::<F>(w.blocks.0, w.blocks.1));
        let blocks = alloc(cs, "blocks", blocks_v)?;
        cs.enforce(
            || "blocks",
            |_| blocks_lc,
            |lc| lc + CS::one(),
            |lc| lc + blocks.get_variable(),
        );
        let arch_next = hash_narrow_gadget(
            cs.namespace(|| "arch_chain"),
            &[z_arch.clone(), slot_id, n_out, save_num, blocks],
        )?;
        let digest = match digests.len() {
            0 => zero.clone(),
            1 => digests[0].clone(),
            _ => {
                let terms: Vec<_> = digests.iter().map(|d| (F::ONE, d)).collect();
                alloc_lc(cs.namespace(|| "digest"), &terms)?
            }
        };
        let model_next = hash_narrow_gadget(
            cs.namespace(|| "model_chain"),
            &[z_model.clone(), r_model, digest],
        )?;
        let step_next = alloc(cs, "step_next", z_step.get_value().map(|v| v + F::ONE))?;
        cs.enforce(
            || "step_next",
            |lc| lc + z_step.get_variable() + CS::one(),
            |lc| lc + CS::one(),
            |lc| lc + step_next.get_variable(),
        );
        let _ = LinearCombination::<F>::zero();
        Ok(vec![
            step_next, act_next, skip_next, arch_next, model_next, class_next,
        ])
    }
}
