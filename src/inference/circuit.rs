//! The uniform Nova step circuit: one fold per compute step (docs/DESIGN.md §4).
//!
//! State `z` (six field elements):
//!
//! | index | meaning |
//! |---|---|
//! | 0 | step counter |
//! | 1 | commitment to the current activation tensor (Poseidon over packed values and a blinding) |
//! | 2 | the stack of saved tensors, `H(below, tensor commitment)` per saved tensor (zero when empty) |
//! | 3 | architecture chain: `H(prev, slot, n_out, save, in_blocks + 2^32·out_blocks)` per step |
//! | 4 | model chain: from the architecture's seed, `H(prev, blinding, H(packed weights of the step's slot))` per step |
//! | 5 | the ArgMax class (written by the ArgMax step) |
//! | 6 | tiled architectures: re-hash of the tiled layer's input read so far |
//! | 7 | tiled: hash of the packed partial sums carried to the next tile; banded: hash of the tail, carried outputs and recurrent state carried to the next band |
//! | 8 | tiled: the tiled layer's output chain so far |
//!
//! A tiled architecture runs a Dense layer as tiles (docs/DESIGN.md §7.1): each reads the next
//! blocks of the layer's input from the bus, extends the re-hash, carries the partial sums, and
//! on its output block's last tile appends the block to the output chain.
//!
//! Tensors are committed over their own length (`kerafold_step_circuits::commit`); the bus holds
//! the widest, and a step opens its input's blocks and commits its output's, counts fixed by its
//! descriptor. One step: open the input tensor from `z[1]` (range checks make the packing
//! injective; bus values past the input's blocks are forced to zero), run every slot (idle slots see zero weights, and zero inputs where an arbitrary input could
//! overflow), keep only the selected slot's output (and, for padded slots, only the step's real
//! outputs), commit the output into `z[1]'`, and extend the chains.

use crate::fold::arch::Architecture;
use kerafold_step_circuits::band::{self, Band, BandIo, Count};
use kerafold_step_circuits::commit::{chain, open_prefix, range_checked, BlockCount};
use kerafold_step_circuits::field::{from_i64, pow2};
use kerafold_step_circuits::packing::Packed;
use kerafold_step_circuits::poseidon::{hash_gadget, hash_narrow_gadget};
use kerafold_step_circuits::saved::moves_kept;
use kerafold_step_circuits::step as slot_gadget;
use kerafold_step_circuits::step::alloc_num as alloc;
use kerafold_step_circuits::wellformed;
use kerafold_step_circuits::Field;
use kerafold_step_circuits::Merge;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{
    AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};
use nova_snark::traits::circuit::StepCircuit;
use std::sync::Arc;

/// Number of state elements of an untiled architecture.
pub const ARITY: usize = 6;
/// Number of state elements of a tiled architecture: also the re-hash of the tiled layer's input
/// read so far, the hash of the carried partial sums, and the layer's output chain so far.
pub const TILED_ARITY: usize = 9;

/// The state size of `arch`'s circuit.
pub fn arity(arch: &Architecture) -> usize {
    if arch.has_carry() {
        TILED_ARITY
    } else {
        ARITY
    }
}

/// The most packed partial sums a tile slot of `arch` carries.
pub fn carried_len(arch: &Architecture) -> usize {
    arch.slots
        .iter()
        .filter(|s| s.tile)
        .map(|s| match s.op {
            kerafold_step_circuits::Op::Dense(d) => {
                kerafold_step_circuits::tile::carried_len(&d, &arch.fp)
            }
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// `a ∧ ¬b`.
fn and_not<F: Field, CS: ConstraintSystem<F>>(
    cs: CS,
    a: &Boolean,
    b: &Boolean,
) -> Result<Boolean, SynthesisError> {
    Boolean::and(cs, a, &b.not())
}

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
    /// How many saved tensors stay above the input when it is saved (crossed skips).
    pub save_depth: usize,
    /// The saved tensors' commitments after the step's pop, bottom first, if the architecture
    /// saves below the top (what the insert opens); empty otherwise.
    pub stack: Vec<F>,
    /// The input tensor, zero-padded to the bus width.
    pub x: Vec<i64>,
    /// Blinding of the input commitment.
    pub r_in: F,
    /// For a merge, the saved tensor it pops (zeros otherwise), padded to the bus width.
    pub skip: Vec<i64>,
    /// Blinding of the popped tensor's commitment.
    pub r_skip: F,
    /// Commitment blocks of the popped tensor (1 if none).
    pub skip_blocks: usize,
    /// For a merge, the popped tensor's commitment (0 otherwise).
    pub skip_top: F,
    /// For a merge, the saved-tensor stack below the popped tensor (0 otherwise).
    pub skip_rest: F,
    /// Packed weights for every slot (zeros for idle slots).
    pub weights: Vec<Packed<F>>,
    /// Blinding absorbed into the model chain.
    pub r_model: F,
    /// Blinding of the output commitment; for a tile after its layer's first output block, the
    /// output chain so far.
    pub r_out: F,
    /// For a tile: where it lies in its layer ([`crate::fold::arch::TileDesc`] flags).
    pub tile: Option<TileFlags>,
    /// For a tile after its block's first: the packed partial sums so far (zeros otherwise),
    /// as many as the widest tile slot carries.
    pub acc_in: Vec<F>,
    /// For a row band: where it lies in its layer (its new blocks are `x`, `r_in` the input
    /// stream's chain before them and `r_out` the output chain before its outputs).
    pub band: Option<Band>,
    /// For a row band: the tail carried in (zeros otherwise), as long as the band window's.
    pub tail: Vec<i64>,
    /// For a row band: the outputs carried in (zeros otherwise), a block less one.
    pub carried: Vec<i64>,
    /// For a band of a recurrent layer: the state the previous timestep handed over (`h`, then
    /// the LSTM's `c`; zeros otherwise), as long as the band IO's.
    pub state: Vec<i64>,
}

/// The flags of a tile step (`first`, `last` input tile of its output block; `out_first`,
/// `out_last` output block of its layer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TileFlags {
    /// First input tile of the output block.
    pub first: bool,
    /// Last input tile of the output block.
    pub last: bool,
    /// First output block of the layer.
    pub out_first: bool,
    /// Last output block of the layer.
    pub out_last: bool,
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

/// Per line of a bus, the sum of the slots' gated values driving it (`{name}{j}`; a single driver
/// as is, none the constrained `zero`): only the selected slot's are nonzero.
fn sum_drivers<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    lines: &[Vec<AllocatedNum<F>>],
    zero: &AllocatedNum<F>,
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    lines
        .iter()
        .enumerate()
        .map(|(j, drivers)| match drivers.as_slice() {
            [] => Ok(zero.clone()),
            [one] => Ok(one.clone()),
            _ => {
                let terms: Vec<_> = drivers.iter().map(|d| (F::ONE, d)).collect();
                alloc_lc(cs.namespace(|| format!("{name}{j}")), &terms)
            }
        })
        .collect()
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
    check_fold(arch, std::slice::from_ref(witness), 1, z)
}

/// Number of constraints of the layer step circuit alone (without Nova's augmentation).
pub fn step_constraints<F: Field>(arch: &Arc<Architecture>) -> crate::Result<usize> {
    crate::fold::pipeline::circuit_constraints::<F, _>(&LayerStep::<F>::shape(arch.clone()))
}

/// Synthesizes one fold of `per_fold` steps (their witnesses, in order; fewer than `per_fold`
/// leaves the rest off) into a checking constraint system (docs/DESIGN.md §7.2).
pub fn check_fold<F: Field>(
    arch: &Arc<Architecture>,
    witnesses: &[Arc<StepWitness<F>>],
    per_fold: usize,
    z: &[F],
) -> crate::Result<(Vec<F>, usize)> {
    if witnesses.is_empty() || witnesses.len() > per_fold {
        return Err(crate::Error::Usage(format!(
            "a fold of {per_fold} steps holds 1 to {per_fold} witnesses, not {}",
            witnesses.len()
        )));
    }
    check_fold_with(arch, witnesses, per_fold, false, z)
}

/// [`check_step`] of the private-model circuit, which also proves the weights well formed
/// (a tile within its share of the bound).
pub fn check_private_step<F: Field>(
    arch: &Arc<Architecture>,
    witness: &Arc<StepWitness<F>>,
    z: &[F],
) -> crate::Result<(Vec<F>, usize)> {
    check_fold_with(arch, std::slice::from_ref(witness), 1, true, z)
}

fn check_fold_with<F: Field>(
    arch: &Arc<Architecture>,
    witnesses: &[Arc<StepWitness<F>>],
    per_fold: usize,
    private_weights: bool,
    z: &[F],
) -> crate::Result<(Vec<F>, usize)> {
    let steps = witnesses
        .iter()
        .map(|w| LayerStep {
            arch: arch.clone(),
            private_weights,
            witness: Some(w.clone()),
        })
        .collect();
    crate::fold::pipeline::check_circuit(&crate::fold::packed::Packed { per_fold, steps }, z)
}

/// The tile part of a step of a tiled architecture: its flags, the conditions derived from them,
/// and the carried partial sums.
struct TileBits<F: Field> {
    first: Boolean,
    last: Boolean,
    out_first: Boolean,
    out_last: Boolean,
    /// A tile runs (one of the tile slots is selected).
    is: Boolean,
    /// A tile that is not its block's first: it continues the input re-hash and the sums.
    cont: Boolean,
    /// A tile that is not its block's last: the re-hash and the sums go on to the next fold.
    mid: Boolean,
    /// The carried packed sums (`carried_len` of them), checked against `z[7]` on `cont`.
    acc_in: Vec<AllocatedNum<F>>,
}

impl<F: Field> TileBits<F> {
    fn alloc<CS: ConstraintSystem<F>>(
        cs: &mut CS,
        arch: &Architecture,
        sel: &[Boolean],
        w: Option<&StepWitness<F>>,
    ) -> Result<Self, SynthesisError> {
        let flag = |cs: &mut CS, name: &str, v: Option<bool>| -> Result<Boolean, SynthesisError> {
            Ok(Boolean::from(AllocatedBit::alloc(
                cs.namespace(|| name.to_string()),
                v,
            )?))
        };
        let f = |g: fn(&TileFlags) -> bool| w.map(|w| w.tile.as_ref().is_some_and(g));
        let first = flag(cs, "tile_first", f(|t| t.first))?;
        let last = flag(cs, "tile_last", f(|t| t.last))?;
        let out_first = flag(cs, "tile_out_first", f(|t| t.out_first))?;
        let out_last = flag(cs, "tile_out_last", f(|t| t.out_last))?;
        let is = flag(cs, "is_tile", w.map(|w| w.tile.is_some()))?;
        cs.enforce(
            || "is_tile_sel",
            |lc| {
                arch.slots
                    .iter()
                    .zip(sel)
                    .filter(|(s, _)| s.tile)
                    .fold(lc, |lc, (_, b)| lc + &b.lc(CS::one(), F::ONE))
            },
            |lc| lc + CS::one(),
            |_| is.lc(CS::one(), F::ONE),
        );
        let cont = and_not(cs.namespace(|| "tile_cont"), &is, &first)?;
        let mid = and_not(cs.namespace(|| "tile_mid"), &is, &last)?;
        let acc_in = (0..carried_len(arch))
            .map(|g| {
                alloc(
                    cs,
                    &format!("acc_in{g}"),
                    w.map(|w| w.acc_in.get(g).copied().unwrap_or(F::ZERO)),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            first,
            last,
            out_first,
            out_last,
            is,
            cont,
            mid,
            acc_in,
        })
    }

    /// The next current tensor and the next `[R, A, O]`: a bus step leaves the output's
    /// commitment and clears them; a tile carries the input re-hash and the sums to the next tile
    /// of its block, appends its block to the output chain on the block's last tile, and makes the
    /// chain the current tensor after the layer's last block.
    #[allow(clippy::too_many_arguments)]
    fn next_state<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
        z_act: &AllocatedNum<F>,
        read: &AllocatedNum<F>,
        r_out: &AllocatedNum<F>,
        h_out: &AllocatedNum<F>,
        acc_out: &[Vec<AllocatedNum<F>>],
    ) -> Result<(AllocatedNum<F>, Vec<AllocatedNum<F>>), SynthesisError> {
        let (z_a, z_o) = (&z[7], &z[8]);
        // the sums carried in: their hash is the state's (a first tile ignores both)
        let h_in = hash_gadget(cs.namespace(|| "acc_in_hash"), &self.acc_in)?;
        cs.enforce(
            || "acc_in_is_carried",
            |_| self.cont.lc(CS::one(), F::ONE),
            |lc| lc + h_in.get_variable() - z_a.get_variable(),
            |lc| lc,
        );
        // the output chain continues from the state after the layer's first block
        let ocont = and_not(cs.namespace(|| "tile_ocont"), &self.is, &self.out_first)?;
        cs.enforce(
            || "out_chain_on",
            |_| ocont.lc(CS::one(), F::ONE),
            |lc| lc + r_out.get_variable() - z_o.get_variable(),
            |lc| lc,
        );
        let sums = acc_out
            .iter()
            .enumerate()
            .map(|(g, terms)| {
                let t: Vec<_> = terms.iter().map(|a| (F::ONE, a)).collect();
                alloc_lc(cs.namespace(|| format!("acc_out{g}")), &t)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let h_acc = hash_gadget(cs.namespace(|| "acc_out_hash"), &sums)?;
        let r_next = mul_bool(cs.namespace(|| "r_next"), &self.mid, read)?;
        let a_next = mul_bool(cs.namespace(|| "a_next"), &self.mid, &h_acc)?;
        // act' = h_out, except on a tile that does not end its layer: act
        let ends = Boolean::and(cs.namespace(|| "tile_ends"), &self.last, &self.out_last)?;
        let keep = and_not(cs.namespace(|| "tile_keep"), &self.is, &ends)?;
        let act_v = match (keep.get_value(), z_act.get_value(), h_out.get_value()) {
            (Some(k), Some(a), Some(h)) => Some(if k { a } else { h }),
            _ => None,
        };
        let act_next = alloc(cs, "act_next", act_v)?;
        cs.enforce(
            || "act_next_eq",
            |_| keep.lc(CS::one(), F::ONE),
            |lc| lc + z_act.get_variable() - h_out.get_variable(),
            |lc| lc + act_next.get_variable() - h_out.get_variable(),
        );
        // O' = mid·O + (tile ∧ last ∧ ¬out_last)·h_out
        let last_tile = Boolean::and(cs.namespace(|| "tile_last_is"), &self.is, &self.last)?;
        let block_out = and_not(
            cs.namespace(|| "tile_block_out"),
            &last_tile,
            &self.out_last,
        )?;
        let keep_o = mul_bool(cs.namespace(|| "o_keep"), &self.mid, z_o)?;
        let new_o = mul_bool(cs.namespace(|| "o_new"), &block_out, h_out)?;
        let o_next = alloc_lc(
            cs.namespace(|| "o_next"),
            &[(F::ONE, &keep_o), (F::ONE, &new_o)],
        )?;
        Ok((act_next, vec![r_next, a_next, o_next]))
    }
}

/// The band part of a step of an architecture with row bands (docs/DESIGN.md §7.4): its flags,
/// counts and shift amounts (all in the architecture chain), and what the previous band carried.
struct BandBits<F: Field> {
    io: BandIo,
    /// A band runs (one of the band slots is selected).
    is: Boolean,
    first: Boolean,
    last: Boolean,
    /// A band that is not its layer's first: it continues the streams.
    cont: Boolean,
    /// A band that is not its layer's last: the streams go on to the next fold.
    mid: Boolean,
    /// A layer's last band: its output chain becomes the current tensor.
    ends: Boolean,
    new: Count<F>,
    offset: Vec<Boolean>,
    carried_n: Vec<Boolean>,
    emit: Count<F>,
    /// The tail, the carried outputs and a recurrent cell's state, range-checked and checked
    /// against `z[7]`.
    tail: Vec<AllocatedNum<F>>,
    carried: Vec<AllocatedNum<F>>,
    state: Vec<AllocatedNum<F>>,
}

impl<F: Field> BandBits<F> {
    fn alloc<CS: ConstraintSystem<F>>(
        cs: &mut CS,
        arch: &Architecture,
        io: BandIo,
        sel: &[Boolean],
        z_carry: &AllocatedNum<F>,
        w: Option<&StepWitness<F>>,
    ) -> Result<Self, SynthesisError> {
        let b = w.map(|w| w.band);
        let flag = |cs: &mut CS, name: &str, v: Option<bool>| -> Result<Boolean, SynthesisError> {
            Ok(Boolean::from(AllocatedBit::alloc(
                cs.namespace(|| name.to_string()),
                v,
            )?))
        };
        let first = flag(cs, "band_first", b.map(|b| b.is_some_and(|b| b.first)))?;
        let last = flag(cs, "band_last", b.map(|b| b.is_some_and(|b| b.last)))?;
        let is = flag(cs, "is_band", b.map(|b| b.is_some()))?;
        cs.enforce(
            || "is_band_sel",
            |lc| {
                arch.slots
                    .iter()
                    .zip(sel)
                    .filter(|(s, _)| s.band.is_some())
                    .fold(lc, |lc, (_, b)| lc + &b.lc(CS::one(), F::ONE))
            },
            |lc| lc + CS::one(),
            |_| is.lc(CS::one(), F::ONE),
        );
        let cont = and_not(cs.namespace(|| "band_cont"), &is, &first)?;
        let mid = and_not(cs.namespace(|| "band_mid"), &is, &last)?;
        let ends = Boolean::and(cs.namespace(|| "band_ends"), &is, &last)?;
        let field = |f: fn(&Band) -> usize| b.map(|b| b.map_or(0, |b| f(&b)));
        let new = Count::alloc(
            &mut cs.namespace(|| "band_new"),
            io.new_blocks,
            field(|b| b.new_blocks),
        )?;
        let offset = band::alloc_amount(
            &mut cs.namespace(|| "band_offset"),
            io.max_offset,
            field(|b| b.offset),
        )?;
        let carried_n = band::alloc_amount(
            &mut cs.namespace(|| "band_carried_n"),
            io.block - 1,
            field(|b| b.carried),
        )?;
        let emit = Count::alloc(
            &mut cs.namespace(|| "band_emit"),
            io.emit_blocks,
            field(|b| b.emit),
        )?;
        let values = |cs: &mut CS, name: &str, n: usize, get: fn(&StepWitness<F>) -> &[i64]| {
            (0..n)
                .map(|i| {
                    alloc(
                        cs,
                        &format!("{name}{i}"),
                        w.map(|w| from_i64::<F>(get(w).get(i).copied().unwrap_or(0))),
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let tail = values(cs, "band_tail", io.tail, |w| &w.tail)?;
        let carried = values(cs, "band_carried", io.block - 1, |w| &w.carried)?;
        let state = values(cs, "band_state", io.state, |w| &w.state)?;
        // what the previous band carried: its digest is the state's; a first band carries zeros
        // (so a recurrent layer starts from the zero state)
        let both: Vec<_> = tail.iter().chain(&carried).chain(&state).cloned().collect();
        range_checked(
            &mut cs.namespace(|| "band_carry_range"),
            &both,
            arch.fp.bits,
        )?;
        let d = band::carry_digest(&mut cs.namespace(|| "band_carry_in"), &both, arch.fp.bits)?;
        let zeros = band::carry_digest_native::<F>(&vec![0; both.len()], arch.fp.bits);
        cs.enforce(
            || "band_carry_is_state",
            |_| cont.lc(CS::one(), F::ONE),
            |lc| lc + d.get_variable() - z_carry.get_variable(),
            |lc| lc,
        );
        let first_is = Boolean::and(cs.namespace(|| "band_first_is"), &is, &first)?;
        cs.enforce(
            || "band_first_carries_nothing",
            |_| first_is.lc(CS::one(), F::ONE),
            |lc| lc + d.get_variable() - (zeros, CS::one()),
            |lc| lc,
        );
        Ok(Self {
            io,
            is,
            first,
            last,
            cont,
            mid,
            ends,
            new,
            offset,
            carried_n,
            emit,
            tail,
            carried,
            state,
        })
    }

    /// The next current tensor and the band's part of the next `[R, A, O]`: a band that is not
    /// its layer's last carries its input chain, the digest of its tail, carried outputs and
    /// `state` (a recurrent cell's next state, zeros for other bands), and its output chain on;
    /// the last has read the whole input (its chain equals the current tensor) and makes its
    /// output chain the current tensor. Other steps keep `act`.
    #[allow(clippy::too_many_arguments)]
    fn next_state<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
        z_act: &AllocatedNum<F>,
        act: &AllocatedNum<F>,
        read: &band::Read<F>,
        r_out: &AllocatedNum<F>,
        y: &[AllocatedNum<F>],
        state: &[AllocatedNum<F>],
        bits: u32,
    ) -> Result<(AllocatedNum<F>, Vec<AllocatedNum<F>>), SynthesisError> {
        cs.enforce(
            || "band_out_chain_on",
            |_| self.cont.lc(CS::one(), F::ONE),
            |lc| lc + r_out.get_variable() - z[8].get_variable(),
            |lc| lc,
        );
        let written = band::write(
            &mut cs.namespace(|| "band_write"),
            &self.io,
            &self.carried,
            &self.carried_n,
            &y[..self.io.outputs],
            r_out,
            &self.emit,
            bits,
        )?;
        cs.enforce(
            || "band_read_all",
            |_| self.ends.lc(CS::one(), F::ONE),
            |lc| lc + read.chain.get_variable() - z_act.get_variable(),
            |lc| lc,
        );
        // act' = act, except on a band: z_act, or on its layer's last band the output chain
        let pick =
            |cs: &mut CS, name: &str, b: &Boolean, yes: &AllocatedNum<F>, no: &AllocatedNum<F>| {
                let v = match (b.get_value(), yes.get_value(), no.get_value()) {
                    (Some(b), Some(y), Some(n)) => Some(if b { y } else { n }),
                    _ => None,
                };
                let out = alloc(cs, name, v)?;
                cs.enforce(
                    || format!("{name}_eq"),
                    |_| b.lc(CS::one(), F::ONE),
                    |lc| lc + yes.get_variable() - no.get_variable(),
                    |lc| lc + out.get_variable() - no.get_variable(),
                );
                Ok::<_, SynthesisError>(out)
            };
        let band_act = pick(cs, "band_act", &self.ends, &written.chain, z_act)?;
        let act_next = pick(cs, "band_act_next", &self.is, &band_act, act)?;
        let carry: Vec<_> = read
            .tail
            .iter()
            .chain(&written.carried)
            .chain(state)
            .cloned()
            .collect();
        let d = band::carry_digest(&mut cs.namespace(|| "band_carry_out"), &carry, bits)?;
        let r_next = mul_bool(cs.namespace(|| "band_r_next"), &self.mid, &read.chain)?;
        let a_next = mul_bool(cs.namespace(|| "band_a_next"), &self.mid, &d)?;
        let o_next = mul_bool(cs.namespace(|| "band_o_next"), &self.mid, &written.chain)?;
        Ok((act_next, vec![r_next, a_next, o_next]))
    }

    /// The band's flags in the architecture chain's flag word: `32·first + 64·last`.
    fn flags<CS: ConstraintSystem<F>>(&self) -> (LinearCombination<F>, Option<F>) {
        let lc = self.first.lc(CS::one(), F::from(32)) + &self.last.lc(CS::one(), F::from(64));
        let v = self
            .first
            .get_value()
            .zip(self.last.get_value())
            .map(|(f, l)| F::from(32 * f as u64 + 64 * l as u64));
        (lc, v)
    }

    /// The band's place times `scale` (`fold::commit::band_word`): `new + 2^24·offset +
    /// 2^48·carried + 2^72·emit`.
    fn word<CS: ConstraintSystem<F>>(&self, scale: F) -> LinearCombination<F> {
        let k = F::from(1u64 << 24);
        let bits = |lc: LinearCombination<F>, bs: &[Boolean], scale: F| {
            bs.iter().enumerate().fold(lc, |lc, (i, b)| {
                lc + &b.lc(CS::one(), scale * F::from(1u64 << i))
            })
        };
        let lc = self
            .new
            .onehot
            .iter()
            .enumerate()
            .fold(LinearCombination::zero(), |lc, (c, e)| {
                lc + &e.lc(CS::one(), scale * F::from(c as u64))
            });
        let lc = bits(lc, &self.offset, scale * k);
        let lc = bits(lc, &self.carried_n, scale * k * k);
        self.emit.onehot.iter().enumerate().fold(lc, |lc, (c, e)| {
            lc + &e.lc(CS::one(), scale * k * k * k * F::from(c as u64))
        })
    }
}

impl<F: Field> StepCircuit<F> for LayerStep<F> {
    fn arity(&self) -> usize {
        arity(&self.arch)
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
            || "slot_id_eq",
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
        // crossed skips: the depth of the save, one-hot over 0..=D (`depth{k}`, `depth_one`),
        // bound by the architecture chain's word; none without them (today's circuit)
        let max_depth = arch.max_save_depth();
        let depth = if max_depth > 0 {
            let mut bits = Vec::with_capacity(max_depth + 1);
            let mut sum = LinearCombination::<F>::zero();
            for k in 0..=max_depth {
                let b = AllocatedBit::alloc(
                    cs.namespace(|| format!("depth{k}")),
                    w.map(|w| w.save_depth == k),
                )?;
                sum = sum + b.get_variable();
                bits.push(b.get_variable());
            }
            cs.enforce(
                || "depth_one",
                |_| sum,
                |lc| lc + CS::one(),
                |lc| lc + CS::one(),
            );
            Some(bits)
        } else {
            None
        };
        let tile = if arch.slots.iter().any(|s| s.tile) {
            Some(TileBits::alloc(cs, arch, &sel, w)?)
        } else {
            None
        };
        let band = match arch.band_io() {
            Some(io) => Some(BandBits::alloc(cs, arch, io, &sel, &z[7], w)?),
            None => None,
        };

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
        let pop_sel = arch
            .slots
            .iter()
            .zip(&sel)
            .filter(|(s, _)| s.op.reads_saved())
            .fold(LinearCombination::<F>::zero(), |lc, (_, b)| {
                lc + &b.lc(CS::one(), F::ONE)
            });

        // --- open the input (and the saved tensor)
        let xv = |i: usize| w.map(|w| from_i64::<F>(w.x[i]));
        let x_raw = (0..width)
            .map(|i| alloc(cs, &format!("x{i}"), xv(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let r_in = alloc(cs, "r_in", w.map(|w| w.r_in))?;
        // `open_prefix` range-checks the values in place: x_raw are the opened activations. A
        // tile's rows extend the re-hash of its layer's input from the previous tile (`r_in` is
        // that chain value), and only the block's last tile compares it with the input tensor.
        // a band reads its blocks through its own stream: the bus opening checks nothing then
        let not_mid = (tile.is_some() || band.is_some()).then(|| {
            let mut g = LinearCombination::<F>::zero() + CS::one();
            if let Some(t) = &tile {
                g = g - &t.mid.lc(CS::one(), F::ONE);
            }
            if let Some(b) = &band {
                g = g - &b.is.lc(CS::one(), F::ONE);
            }
            g
        });
        let opened = open_prefix(
            &mut cs.namespace(|| "open_x"),
            &x_raw,
            &r_in,
            fp.bits,
            &in_blocks,
            z_act,
            not_mid.as_ref(),
        )?;
        if let Some(t) = &tile {
            cs.enforce(
                || "tile_reads_on",
                |_| t.cont.lc(CS::one(), F::ONE),
                |lc| lc + r_in.get_variable() - z[6].get_variable(),
                |lc| lc,
            );
        }
        let band_read = match &band {
            Some(b) => {
                cs.enforce(
                    || "band_reads_on",
                    |_| b.cont.lc(CS::one(), F::ONE),
                    |lc| lc + r_in.get_variable() - z[6].get_variable(),
                    |lc| lc,
                );
                let fresh = &x_raw[..b.io.new_blocks * b.io.block];
                Some(band::read(
                    &mut cs.namespace(|| "band_read"),
                    &b.io,
                    &b.tail,
                    fresh,
                    &r_in,
                    &b.new,
                    &b.offset,
                    &b.is,
                    fp.bits,
                )?)
            }
            None => None,
        };
        let x = x_raw;
        let skip = if arch.has_skip() {
            let sv = |i: usize| w.map(|w| from_i64::<F>(w.skip[i]));
            let s_raw = (0..width)
                .map(|i| alloc(cs, &format!("skip{i}"), sv(i)))
                .collect::<Result<Vec<_>, _>>()?;
            let r_skip = alloc(cs, "r_skip", w.map(|w| w.r_skip))?;
            let top = alloc(cs, "skip_top", w.map(|w| w.skip_top))?;
            // the popped tensor's block count, fixed by the step: a merge's is its input's (the
            // two are as long), a concatenation's its spec's. A free count would let the prover
            // open a suffix of the tensor, the prefix's chain value passed off as the blinding.
            let skip_blocks = BlockCount::alloc(
                &mut cs.namespace(|| "skip_blocks"),
                max_blocks,
                w.map(|w| w.skip_blocks),
            )?;
            // only a merge reads the saved tensor (as long as its input); other steps leave it
            // unopened
            open_prefix(
                &mut cs.namespace(|| "open_skip"),
                &s_raw,
                &r_skip,
                fp.bits,
                &skip_blocks,
                &top,
                Some(&pop_sel),
            )?;
            let merges = arch
                .slots
                .iter()
                .zip(&sel)
                .filter(|(s, _)| matches!(s.op, kerafold_step_circuits::Op::Merge { .. }))
                .fold(LinearCombination::<F>::zero(), |lc, (_, b)| {
                    lc + &b.lc(CS::one(), F::ONE)
                });
            cs.enforce(
                || "skip_count_merge",
                |_| merges,
                |lc| lc + &skip_blocks.count - &in_blocks.count,
                |lc| lc,
            );
            for (si, (slot, b)) in arch.slots.iter().zip(&sel).enumerate() {
                match &slot.op {
                    kerafold_step_circuits::Op::Concat(c) => {
                        let k = kerafold_step_circuits::commit::num_blocks(c.saved.len(), fp.bits);
                        cs.enforce(
                            || format!("skip_count{si}"),
                            |_| b.lc(CS::one(), F::ONE),
                            |lc| lc + &skip_blocks.count - (F::from(k as u64), CS::one()),
                            |lc| lc,
                        );
                    }
                    // a swap outputs the tensor it resumes, whole
                    kerafold_step_circuits::Op::Swap { .. } => cs.enforce(
                        || format!("skip_count{si}"),
                        |_| b.lc(CS::one(), F::ONE),
                        |lc| lc + &skip_blocks.count - &out_blocks.count,
                        |lc| lc,
                    ),
                    _ => {}
                }
            }
            Some((s_raw, top))
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
        let mut acc_out: Vec<Vec<AllocatedNum<F>>> =
            vec![vec![]; tile.as_ref().map_or(0, |t| t.acc_in.len())];
        // per state value, each recurrent band slot's `sel_s · state'_s`
        let mut state_out: Vec<Vec<AllocatedNum<F>>> =
            vec![vec![]; band.as_ref().map_or(0, |b| b.io.state)];
        let r_model = alloc(cs, "r_model", w.map(|w| w.r_model))?;
        // per weighted slot: sel_s · H(w_s ‖ b_s); their sum is the active step's weight digest
        let mut digests = vec![];
        let mut class_idx = None;
        let tile_parts = arch.tile_parts();
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
                    // idle slots hold zeros, which are well-formed; a tile gets its share
                    wellformed::enforce_share(
                        &mut cs.namespace(|| "wf"),
                        &slot.op,
                        &wa,
                        &ba,
                        &fp,
                        tile_parts[si],
                    )?;
                }
            }
            if let (true, Some(t)) = (slot.tile, &tile) {
                let kerafold_step_circuits::Op::Dense(spec) = slot.op else {
                    return Err(SynthesisError::Unsatisfiable(
                        "a tile slot is not Dense".into(),
                    ));
                };
                let first_s = Boolean::and(cs.namespace(|| "first_s"), &sel[si], &t.first)?;
                let last_s = Boolean::and(cs.namespace(|| "last_s"), &sel[si], &t.last)?;
                let gs = kerafold_step_circuits::tile::carried_len(&spec, &fp);
                let acc_s = (0..gs)
                    .map(|g| {
                        mul_bool(
                            cs.namespace(|| format!("acc_in{g}")),
                            &sel[si],
                            &t.acc_in[g],
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                // under `op/op/…` and `op/act/…`, as `step` names a slot's gadgets
                let mut op_ns = cs.namespace(|| "op");
                let out = kerafold_step_circuits::tile::dense_tile(
                    &mut op_ns.namespace(|| "op"),
                    &spec,
                    &x[..spec.n_in],
                    &wa,
                    &ba,
                    &acc_s,
                    &first_s,
                    &last_s,
                    &fp,
                )?;
                for (g, a) in out.acc.iter().enumerate() {
                    acc_out[g].push(a.clone());
                }
                let mut act_ns = op_ns.namespace(|| "act");
                for (j, q) in out.y.iter().enumerate() {
                    let y = kerafold_step_circuits::activation::activate(
                        &mut act_ns.namespace(|| format!("out{j}")),
                        &slot.act,
                        q,
                        &fp,
                        j,
                    )?;
                    // a tile outputs its block on its last row tile only
                    let gate = if j < mask_len {
                        let m = Boolean::from(mask[j].clone());
                        Boolean::and(act_ns.namespace(|| format!("g{j}")), &last_s, &m)?
                    } else {
                        last_s.clone()
                    };
                    bus[j].push(mul_bool(act_ns.namespace(|| format!("o{j}")), &gate, &y)?);
                }
                continue;
            }
            let n_in = slot.raw_input_len();
            let xin = if let (Some(_), Some(r)) = (slot.band, &band_read) {
                // a band's rows, placed from the band window
                r.rows[..n_in].to_vec()
            } else if slot.gated() {
                (0..n_in)
                    .map(|j| mul_bool(cs.namespace(|| format!("gate{j}")), &sel[si], &x[j]))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                x[..n_in].to_vec()
            };
            // an idle merge slot computes on its gated input and the saved tensor another merge
            // may be reading: `0 − s` can leave the range (s = −2^(B−1)), so that one is gated too
            let skip_in = match (&slot.op, &skip) {
                (
                    kerafold_step_circuits::Op::Merge {
                        merge: Merge::Subtract,
                        n,
                        saved_first: false,
                        ..
                    },
                    Some((s, _)),
                ) => Some(
                    (0..*n)
                        .map(|j| {
                            mul_bool(cs.namespace(|| format!("gate_skip{j}")), &sel[si], &s[j])
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                (op, Some((s, _))) => op.saved_len().map(|n| s[..n].to_vec()),
                _ => None,
            };
            let ys = match (&slot.op, &band) {
                (kerafold_step_circuits::Op::Recurrent(r), Some(b)) if slot.band.is_some() => {
                    // one timestep: the cell on the state the previous band handed over (zeros
                    // in an idle slot, which stay in range whatever the cell)
                    let kerafold_step_circuits::Act::Cell { gate, act } = &slot.act else {
                        return Err(SynthesisError::Unsatisfiable(
                            "a recurrent band slot without its cell's activations".into(),
                        ));
                    };
                    let state = b.state.get(..r.cell.state_len()).ok_or_else(|| {
                        SynthesisError::Unsatisfiable(
                            "a recurrent band slot's state is longer than the band IO's".into(),
                        )
                    })?;
                    let s_in = state
                        .iter()
                        .enumerate()
                        .map(|(k, v)| {
                            mul_bool(cs.namespace(|| format!("state_in{k}")), &sel[si], v)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let next = kerafold_step_circuits::recurrent::cell(
                        &mut cs.namespace(|| "op"),
                        &r.cell,
                        gate,
                        act,
                        &xin,
                        &s_in,
                        &wa,
                        &ba,
                        &fp,
                    )?;
                    for ((k, v), out) in next.iter().enumerate().zip(state_out.iter_mut()) {
                        out.push(mul_bool(
                            cs.namespace(|| format!("state_out{k}")),
                            &sel[si],
                            v,
                        )?);
                    }
                    next[..r.cell.units].to_vec()
                }
                _ => {
                    let out = slot_gadget(
                        &mut cs.namespace(|| "op"),
                        &slot.op,
                        &slot.act,
                        &slot.views,
                        &xin,
                        skip_in.as_deref(),
                        &wa,
                        &ba,
                        &fp,
                    )?;
                    if let Some(idx) = out.argmax {
                        class_idx = Some((si, idx));
                    }
                    out.y
                }
            };
            for (j, y) in ys.iter().enumerate() {
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
            || "zero_eq",
            |lc| lc + zero.get_variable(),
            |lc| lc + CS::one(),
            |lc| lc,
        );
        let y = sum_drivers(cs, "y", &bus, &zero)?;
        let r_out = alloc(cs, "r_out", w.map(|w| w.r_out))?;
        let y_chain = chain(&mut cs.namespace(|| "commit_y"), &y, &r_out, fp.bits)?;
        let h_out = out_blocks.select(&mut cs.namespace(|| "out_commitment"), &y_chain)?;
        let (mut act_next, tile_next) = match &tile {
            None => (h_out, vec![]),
            Some(t) => t.next_state(cs, z, z_act, &opened.commitment, &r_out, &h_out, &acc_out)?,
        };
        let mut carry_next = vec![tile_next];
        if let (Some(b), Some(r)) = (&band, &band_read) {
            let state = sum_drivers(cs, "band_state_sum", &state_out, &zero)?;
            let (act, next) =
                b.next_state(cs, z, z_act, &act_next, r, &r_out, &y, &state, fp.bits)?;
            act_next = act;
            carry_next.push(next);
        }

        // --- the saved-tensor stack: a step saving its input pushes it, `H(stack, input)`; a
        // merge pops, `stack = H(rest, top)` with `top` the tensor it opened, and leaves `rest`.
        // Without branch points one hash serves both, `h = H(a, b)` with
        // `(a, b) = pop ? (rest, top) : (stack, input)`, and a step may not do both; a swap (a
        // branch point) does both, so an architecture with swaps pays a second hash:
        // `stack = H(rest, top)` and `next = H(rest, input)` (`H(stack, input)` if it keeps).
        let skip_next = if let Some((_, top)) = &skip {
            let rest = alloc(cs, "skip_rest", w.map(|w| w.skip_rest))?;
            let pop_on = w.map(|w| arch.slots[w.slot].op.reads_saved());
            let pick = |cs: &mut CS, name: &str, on: &AllocatedNum<F>, off: &AllocatedNum<F>| {
                choose(cs, name, &pop_sel, pop_on, on, off)
            };
            let a = pick(cs, "stack_a", &rest, z_skip)?;
            // a merge or swap that keeps what it reads (a later layer reads it again) starts
            // from the stack as it was, not from `rest`: `base = a + keep · (stack − a)`, one
            // constraint, only in architectures with such a slot
            let base = if arch.has_keep() {
                let keep_sel = arch
                    .slots
                    .iter()
                    .zip(&sel)
                    .filter(|(s, _)| s.op.keeps_saved())
                    .fold(LinearCombination::<F>::zero(), |lc, (_, b)| {
                        lc + &b.lc(CS::one(), F::ONE)
                    });
                let bv = match (w, z_skip.get_value(), a.get_value()) {
                    (Some(w), Some(s), Some(a)) => Some(if arch.slots[w.slot].op.keeps_saved() {
                        s
                    } else {
                        a
                    }),
                    _ => None,
                };
                let base = alloc(cs, "stack_base", bv)?;
                cs.enforce(
                    || "stack_keep",
                    |_| keep_sel,
                    |lc| lc + z_skip.get_variable() - a.get_variable(),
                    |lc| lc + base.get_variable() - a.get_variable(),
                );
                base
            } else {
                a.clone()
            };
            // a merge that keeps its operand and moves it under the top (crossed skips through
            // a kept tensor) inserts that operand into `rest` instead of its input into `base`:
            // `moves` selects its slots, only where the architecture has inserts and such slots
            let moves = (depth.is_some() && arch.has_moving_keep()).then(|| {
                arch.slots
                    .iter()
                    .zip(&sel)
                    .filter(|(s, _)| moves_kept(&s.op))
                    .fold(LinearCombination::<F>::zero(), |lc, (_, b)| {
                        lc + &b.lc(CS::one(), F::ONE)
                    })
            });
            let moving = w.map(|w| moves.is_some() && moves_kept(&arch.slots[w.slot].op));
            let (popped, pushed) = if arch.has_swap() || depth.is_some() {
                let popped = hash_narrow_gadget(
                    cs.namespace(|| "stack_hash"),
                    &[rest.clone(), top.clone()],
                )?;
                // a swap pushes its input above `rest`, or above the stack it keeps; with
                // crossed skips a save goes under the top `depth` entries
                let pushed = match &depth {
                    Some(bits) => {
                        let (into, item) = match &moves {
                            Some(m) => (
                                choose(cs, "insert_into", m, moving, &rest, &base)?,
                                choose(cs, "insert_item", m, moving, top, z_act)?,
                            ),
                            None => (base.clone(), z_act.clone()),
                        };
                        kerafold_step_circuits::saved::insert(
                            &mut cs.namespace(|| "insert"),
                            &into,
                            &item,
                            &bits
                                .iter()
                                .map(|&b| LinearCombination::<F>::zero() + b)
                                .collect::<Vec<_>>(),
                            w.map(|w| (&w.stack[..], w.save_depth)),
                        )?
                    }
                    None => hash_narrow_gadget(
                        cs.namespace(|| "push_hash"),
                        &[base.clone(), z_act.clone()],
                    )?,
                };
                (popped, pushed)
            } else {
                // one hash: a step may not both save and merge, so a saving step has base = a
                let b = pick(cs, "stack_b", top, z_act)?;
                let h = hash_narrow_gadget(cs.namespace(|| "stack_hash"), &[a.clone(), b])?;
                cs.enforce(
                    || "save_or_merge",
                    |_| save.lc(CS::one(), F::ONE),
                    |lc| lc + &pop_sel,
                    |lc| lc,
                );
                (h.clone(), h)
            };
            cs.enforce(
                || "stack_pop",
                |lc| lc + &pop_sel,
                |lc| lc + popped.get_variable() - z_skip.get_variable(),
                |lc| lc,
            );
            // next = base + (save + moves) · (pushed − base): a step saves its input or moves
            // what it keeps, never both (a merge saves nothing, a swap moves nothing)
            let inserts = save.get_value().zip(moving).map(|(s, m)| s || m);
            let tv = match (inserts, pushed.get_value(), base.get_value()) {
                (Some(s), Some(h), Some(b)) => Some(if s { h - b } else { F::ZERO }),
                _ => None,
            };
            let t = alloc(cs, "stack_t", tv)?;
            let inserts_lc = match &moves {
                Some(m) => save.lc(CS::one(), F::ONE) + m,
                None => save.lc(CS::one(), F::ONE),
            };
            cs.enforce(
                || "stack_push",
                |_| inserts_lc,
                |lc| lc + pushed.get_variable() - base.get_variable(),
                |lc| lc + t.get_variable(),
            );
            let next_lc = LinearCombination::<F>::zero() + base.get_variable() + t.get_variable();
            let next_v = base.get_value().zip(t.get_value()).map(|(b, t)| b + t);
            let next = alloc(cs, "skip_next", next_v)?;
            cs.enforce(
                || "skip_next_eq",
                |_| next_lc,
                |lc| lc + CS::one(),
                |lc| lc + next.get_variable(),
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
        // save, and for a tile its flags: save + 2·first + 4·last + 8·out_first + 16·out_last
        let mut word = save.lc(CS::one(), F::ONE);
        let mut word_v = save.get_value().map(|b| F::from(b as u64));
        // + 128·depth
        if let Some(bits) = &depth {
            for (k, &b) in bits.iter().enumerate().skip(1) {
                word = word + (F::from(128 * k as u64), b);
            }
            word_v = word_v
                .zip(w.map(|w| w.save_depth))
                .map(|(v, d)| v + F::from(128 * d as u64));
        }
        if let Some(t) = &tile {
            for (k, b) in [&t.first, &t.last, &t.out_first, &t.out_last]
                .into_iter()
                .enumerate()
            {
                let c = F::from(2u64 << k);
                word = word + &b.lc(CS::one(), c);
                word_v = word_v
                    .zip(b.get_value())
                    .map(|(v, b)| v + c * F::from(b as u64));
            }
        }
        if let Some(b) = &band {
            let (lc, v) = b.flags::<CS>();
            word = word + &lc;
            word_v = word_v.zip(v).map(|(a, b)| a + b);
        }
        let save_num = alloc(cs, "save_num", word_v)?;
        cs.enforce(
            || "save_num_eq",
            |_| word,
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
        let blocks_lc = match &band {
            Some(b) => blocks_lc + &b.word::<CS>(crate::fold::commit::band_word_scale::<F>()),
            None => blocks_lc,
        };
        let blocks_v = w.map(|w| {
            crate::fold::commit::blocks_word::<F>(w.blocks.0, w.blocks.1)
                + w.band.map_or(F::ZERO, |b| {
                    crate::fold::commit::band_word_scale::<F>()
                        * crate::fold::commit::band_word::<F>(&b)
                })
        });
        let blocks = alloc(cs, "blocks", blocks_v)?;
        cs.enforce(
            || "blocks_eq",
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
            || "step_next_eq",
            |lc| lc + z_step.get_variable() + CS::one(),
            |lc| lc + CS::one(),
            |lc| lc + step_next.get_variable(),
        );
        let mut next = vec![
            step_next, act_next, skip_next, arch_next, model_next, class_next,
        ];
        if arch.has_carry() {
            // [R, A, O]: the tile's or the band's (at most one runs), zero between layers
            for k in 0..3 {
                let terms: Vec<_> = carry_next
                    .iter()
                    .filter_map(|c| c.get(k))
                    .map(|v| (F::ONE, v))
                    .collect();
                next.push(match terms.len() {
                    0 => zero.clone(),
                    1 => terms[0].1.clone(),
                    _ => alloc_lc(cs.namespace(|| format!("carry_next{k}")), &terms)?,
                });
            }
        }
        Ok(next)
    }
}

/// `on ? a : b` for a selector `on` (a 0/1 linear combination, its value `on_v`): one
/// constraint, `p − b = on · (a − b)`.
fn choose<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    on: &LinearCombination<F>,
    on_v: Option<bool>,
    a: &AllocatedNum<F>,
    b: &AllocatedNum<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let v = match (on_v, a.get_value(), b.get_value()) {
        (Some(m), Some(a), Some(b)) => Some(if m { a } else { b }),
        _ => None,
    };
    let p = alloc(cs, name, v)?;
    cs.enforce(
        || format!("{name}_eq"),
        |lc| lc + on,
        |lc| lc + a.get_variable() - b.get_variable(),
        |lc| lc + p.get_variable() - b.get_variable(),
    );
    Ok(p)
}
