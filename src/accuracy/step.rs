//! The accuracy step circuit: one fold per sample (module docs of [`super`]).

use super::{pack_state, AccuracyArch, ARITY};
use crate::data::sha256;
use kerafold_step_circuits::field::pow2;
use kerafold_step_circuits::packing::{self, Packed};
use kerafold_step_circuits::poseidon::{hash_gadget, hash_narrow_gadget};
use kerafold_step_circuits::range::{add_bits, alloc_bits};
use kerafold_step_circuits::saved::SavedStack;
use kerafold_step_circuits::step::alloc_num as alloc;
use kerafold_step_circuits::wellformed;
use kerafold_step_circuits::zero::is_zero;
use kerafold_step_circuits::{step as slot_gadget, Field};
use nova_snark::frontend::gadgets::sha256::sha256_compression_function;
use nova_snark::frontend::gadgets::uint32::UInt32;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{
    AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};
use nova_snark::traits::circuit::StepCircuit;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Everything the prover knows at one fold.
#[derive(Clone, Debug)]
pub struct SampleWitness<F> {
    /// The sample's record bytes.
    pub record: Vec<u8>,
    /// The packed weights of every model step (its active slot).
    pub weights: Arc<Vec<Packed<F>>>,
    /// The model chain's blinding at every step.
    pub blinds: Arc<Vec<F>>,
}

/// The accuracy step circuit.
#[derive(Clone, Debug)]
pub struct SampleStep<F: Field> {
    /// The model architecture and dataset header.
    pub arch: Arc<AccuracyArch>,
    /// The weights are private: each step proves them well-formed
    /// ([`kerafold_step_circuits::wellformed`]).
    pub private_weights: bool,
    /// The prover's witness (`None` for the circuit's shape).
    pub witness: Option<Arc<SampleWitness<F>>>,
}

impl<F: Field> SampleStep<F> {
    /// The circuit without a witness.
    pub fn shape(arch: Arc<AccuracyArch>, private_weights: bool) -> Self {
        Self {
            arch,
            private_weights,
            witness: None,
        }
    }

    /// The digest that keys this circuit's parameters: architecture, header and whether the
    /// weights are checked.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"kerafold accuracy circuit")
            .chain_update(self.arch.digest())
            .chain_update([u8::from(self.private_weights)])
            .finalize()
            .into()
    }
}

/// Allocates `lc` (with value `v`) as a number: one constraint.
pub(super) fn num_of<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    lc: LinearCombination<F>,
    v: Option<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let n = AllocatedNum::alloc(cs.namespace(|| "v"), || {
        v.ok_or(SynthesisError::AssignmentMissing)
    })?;
    cs.enforce(|| "eq", |_| lc, |l| l + CS::one(), |l| l + n.get_variable());
    Ok(n)
}

/// Decomposes a 128-bit half of the SHA state into its four words (big-endian words, each
/// big-endian bits, as the SHA gadget takes them).
pub(crate) fn unpack_half<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    half: &AllocatedNum<F>,
) -> Result<Vec<UInt32>, SynthesisError> {
    let v = half.get_value().map(|f| {
        let r = f.to_repr();
        u128::from_le_bytes(r.as_ref()[..16].try_into().expect("16 bytes"))
    });
    // bit i (LSB first) of the 128-bit value
    let bits = (0..128)
        .map(|i| {
            AllocatedBit::alloc(
                cs.namespace(|| format!("b{i}")),
                v.map(|v| (v >> i) & 1 == 1),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    cs.enforce(
        || "recompose",
        |lc| {
            bits.iter().enumerate().fold(lc, |lc, (i, b)| {
                lc + (pow2::<F>(i as u32), b.get_variable())
            })
        },
        |lc| lc + CS::one(),
        |lc| lc + half.get_variable(),
    );
    // word k (k = 0 most significant) holds bits 32·(3−k) .. 32·(4−k)
    Ok((0..4)
        .map(|k| {
            let lo = 32 * (3 - k);
            let be: Vec<Boolean> = (lo..lo + 32)
                .rev()
                .map(|i| Boolean::from(bits[i].clone()))
                .collect();
            UInt32::from_bits_be(&be)
        })
        .collect())
}

/// Packs four words (big-endian) into a 128-bit number.
pub(crate) fn pack_half<F: Field, CS: ConstraintSystem<F>>(
    cs: CS,
    words: &[UInt32],
) -> Result<AllocatedNum<F>, SynthesisError> {
    let mut lc = LinearCombination::zero();
    let mut val = Some(F::ZERO);
    for (k, w) in words.iter().enumerate() {
        let bits = w.clone().into_bits_be();
        for (j, b) in bits.iter().enumerate() {
            let pos = 32 * (3 - k as u32) + (31 - j as u32);
            lc = lc + &b.lc(CS::one(), pow2::<F>(pos));
            val = match (val, b.get_value()) {
                (Some(acc), Some(bit)) => Some(if bit { acc + pow2::<F>(pos) } else { acc }),
                _ => None,
            };
        }
    }
    num_of(cs, lc, val)
}

impl<F: Field> StepCircuit<F> for SampleStep<F> {
    fn arity(&self) -> usize {
        ARITY
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let arch = &self.arch.model;
        let w = self.witness.as_deref();
        let fp = arch.fp;
        let (z_i, z_model, z_correct) = (&z[0], &z[3], &z[4]);
        let RecordWires {
            hi: hi_next,
            lo: lo_next,
            leaves: leaves_next,
            x,
            label,
        } = read_record(
            cs,
            &self.arch,
            w.map(|w| w.record.as_slice()),
            [&z[0], &z[1], &z[2], &z[5]],
        )?;

        // --- the model, layer after layer as wires
        let zero = constant(cs, "zero", F::ZERO)?;
        let seed = constant(cs, "model_seed", crate::fold::commit::model_seed::<F>(arch))?;
        let mut cur = x;
        // the saved tensors as wires
        let mut saved: SavedStack<Vec<AllocatedNum<F>>> = SavedStack::new();
        let mut class = None;
        let mut chain = seed;
        for (i, desc) in arch.steps.iter().enumerate() {
            let slot = &arch.slots[desc.slot];
            let mut ns = cs.namespace(|| format!("step{i}"));
            let (wl, bl) = packing::packed_lens(&slot.op, &fp);
            let wa = (0..wl)
                .map(|j| alloc(&mut ns, &format!("w{j}"), w.map(|w| w.weights[i].w[j])))
                .collect::<Result<Vec<_>, _>>()?;
            let ba = (0..bl)
                .map(|j| alloc(&mut ns, &format!("b{j}"), w.map(|w| w.weights[i].b[j])))
                .collect::<Result<Vec<_>, _>>()?;
            let blind = alloc(&mut ns, "blind", w.map(|w| w.blinds[i]))?;
            // model chain link: H_narrow(prev, blind, H(this step's packed weights) or 0)
            let d = if wl + bl > 0 {
                let all: Vec<_> = wa.iter().chain(&ba).cloned().collect();
                hash_gadget(ns.namespace(|| "digest"), &all)?
            } else {
                zero.clone()
            };
            chain = hash_narrow_gadget(ns.namespace(|| "chain"), &[chain, blind, d])?;
            if self.private_weights && wl + bl > 0 {
                wellformed::enforce(&mut ns.namespace(|| "wf"), &slot.op, &wa, &ba, &fp)?;
            }

            let n_in = slot.raw_input_len();
            let mut xin = cur.clone();
            xin.resize(n_in, zero.clone());
            let skip = match slot.op.saved_len() {
                Some(n) => saved.top().cloned().map(|mut s| {
                    s.resize(n, zero.clone());
                    s
                }),
                None => None,
            };
            saved.step(&slot.op, desc.save_input, desc.save_depth, || cur.clone());
            let out = slot_gadget(
                &mut ns.namespace(|| "op"),
                &slot.op,
                &slot.act,
                &slot.views,
                &xin,
                skip.as_deref(),
                &wa,
                &ba,
                &fp,
            )?;
            if let Some(idx) = out.argmax {
                class = Some(idx);
            }
            cur = out.y[..desc.n_out.min(out.y.len())].to_vec();
        }
        let class = class
            .ok_or_else(|| SynthesisError::Unsatisfiable("the model has no ArgMax step".into()))?;
        cs.enforce(
            || "model_commitment",
            |l| l + chain.get_variable(),
            |l| l + CS::one(),
            |l| l + z_model.get_variable(),
        );

        // --- correct += [class = label]
        let eq = label_matches(cs, &class, &label)?;
        let correct_next = num_of(
            cs.namespace(|| "correct_next"),
            LinearCombination::zero() + z_correct.get_variable() + eq.get_variable(),
            z_correct
                .get_value()
                .zip(eq.get_value())
                .map(|(c, e)| c + F::from(e as u64)),
        )?;
        let i_next = num_of(
            cs.namespace(|| "i_next"),
            LinearCombination::zero() + z_i.get_variable() + CS::one(),
            z_i.get_value().map(|v| v + F::ONE),
        )?;
        Ok(vec![
            i_next,
            hi_next,
            lo_next,
            z_model.clone(),
            correct_next,
            leaves_next,
        ])
    }
}

/// The wires of one record read from the dataset stream ([`read_record`]).
pub(super) struct RecordWires<F: Field> {
    /// The leaf's SHA-256 state after the record (two 128-bit halves).
    pub hi: AllocatedNum<F>,
    /// See `hi`.
    pub lo: AllocatedNum<F>,
    /// The leaf chain after the record (extended if the record starts a leaf).
    pub leaves: AllocatedNum<F>,
    /// The features as the model's fixed-point input.
    pub x: Vec<AllocatedNum<F>>,
    /// The label byte as a linear combination of its bits, and its value.
    pub label: Label<F>,
}

/// Reads sample `z_i`'s record (`record`, the witness) from the dataset stream in state
/// `[z_i, z_hi, z_lo, z_leaves]`: the leaf hand-over before it, its bytes extending the leaf's
/// SHA-256, its features parsed into the model's fixed point and its label.
pub(super) fn read_record<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    acc: &AccuracyArch,
    record: Option<&[u8]>,
    z: [&AllocatedNum<F>; 4],
) -> Result<RecordWires<F>, SynthesisError> {
    let bytes_be = record_bits(cs, acc, record)?;
    let [hi_in, lo_in, leaves] = leaf_handover(cs, acc, z)?;
    let blocks: Vec<Vec<Boolean>> = bytes_be
        .chunks(64)
        .map(|blk| blk.iter().flatten().cloned().collect())
        .collect();
    let [hi, lo] = absorb_blocks(cs, &hi_in, &lo_in, &blocks)?;
    let (x, label) = parse_record(cs, acc, &bytes_be, record)?;
    Ok(RecordWires {
        hi,
        lo,
        leaves,
        x,
        label,
    })
}

/// A record's bytes as bits (byte order as in the file, bits most significant first; constraints
/// `rec{k}_{j}`): the features and the label are witness bits; the record's padding is zero by the
/// file format, so it enters the hash as constants (a file with other padding is not a dataset
/// file).
pub(super) fn record_bits<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    acc: &AccuracyArch,
    record: Option<&[u8]>,
) -> Result<Vec<Vec<Boolean>>, SynthesisError> {
    let used = acc.header.features() + 1;
    (0..acc.record_size())
        .map(|k| {
            if k >= used {
                return Ok(vec![Boolean::constant(false); 8]);
            }
            let byte = record.map(|rec| rec[k]);
            (0..8)
                .map(|j| {
                    AllocatedBit::alloc(
                        cs.namespace(|| format!("rec{k}_{j}")),
                        byte.map(|b| (b >> (7 - j)) & 1 == 1),
                    )
                    .map(Boolean::from)
                })
                .collect()
        })
        .collect()
}

/// The value of a byte given as its bits (most significant first).
pub(super) fn byte_lc<F: Field, CS: ConstraintSystem<F>>(bits: &[Boolean]) -> LinearCombination<F> {
    bits.iter()
        .enumerate()
        .fold(LinearCombination::zero(), |lc, (j, b)| {
            lc + &b.lc(CS::one(), F::from(1u64 << (7 - j)))
        })
}

/// The leaf hand-over before sample `z_i`'s record: a record that starts a leaf finishes the
/// previous one (module docs of `leaves`). Returns the SHA-256 state to hash the record from (its
/// two halves) and the next leaf chain.
pub(super) fn leaf_handover<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    acc: &AccuracyArch,
    [z_i, z_hi, z_lo, z_leaves]: [&AllocatedNum<F>; 4],
) -> Result<[AllocatedNum<F>; 3], SynthesisError> {
    if acc.multi_leaf() {
        let slots_per_leaf = acc.chunk_size / acc.header.record_size();
        let low_bits = slots_per_leaf.trailing_zeros() as usize;
        leaf_boundary(cs, low_bits, z_i, z_hi, z_lo, z_leaves)
    } else {
        Ok([z_hi.clone(), z_lo.clone(), z_leaves.clone()])
    }
}

/// SHA-256 compressions of `blocks` (512 bits each) from the state `(hi, lo)` (constraints
/// `sha_hi`, `sha_lo`, `sha{b}`, `sha_hi_next`, `sha_lo_next`); returns the state after them.
pub(super) fn absorb_blocks<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    hi: &AllocatedNum<F>,
    lo: &AllocatedNum<F>,
    blocks: &[Vec<Boolean>],
) -> Result<[AllocatedNum<F>; 2], SynthesisError> {
    let mut state = unpack_half(cs.namespace(|| "sha_hi"), hi)?;
    state.extend(unpack_half(cs.namespace(|| "sha_lo"), lo)?);
    for (b, bits) in blocks.iter().enumerate() {
        state = sha256_compression_function(cs.namespace(|| format!("sha{b}")), bits, &state)?;
    }
    Ok([
        pack_half(cs.namespace(|| "sha_hi_next"), &state[..4])?,
        pack_half(cs.namespace(|| "sha_lo_next"), &state[4..])?,
    ])
}

/// A record's label byte: its linear combination over the record's bits, and its value.
pub(super) type Label<F> = (LinearCombination<F>, Option<F>);

/// The features (in the model's fixed point, constraints `x{k}`) and the label of a record given
/// as its bits ([`record_bits`]).
pub(super) fn parse_record<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    acc: &AccuracyArch,
    bytes_be: &[Vec<Boolean>],
    record: Option<&[u8]>,
) -> Result<(Vec<AllocatedNum<F>>, Label<F>), SynthesisError> {
    let header = &acc.header;
    let fp = acc.model.fp;
    let s = u32::from(header.scale_shift);
    let n_feat = header.features();
    let mut x = Vec::with_capacity(n_feat);
    for (k, byte_bits) in bytes_be.iter().enumerate().take(n_feat) {
        // byte·2^(fa−s), or the byte's top bits for ⌊byte / 2^(s−fa)⌋
        let (lc, v) = if fp.fa >= s {
            let m = pow2::<F>(fp.fa - s);
            (
                LinearCombination::zero() + (m, &byte_lc::<F, CS>(byte_bits)),
                record.map(|rec| F::from(rec[k] as u64) * m),
            )
        } else {
            let drop = (s - fp.fa) as usize;
            let mut lc = LinearCombination::zero();
            for (j, b) in byte_bits[..8usize.saturating_sub(drop)].iter().enumerate() {
                lc = lc + &b.lc(CS::one(), F::from(1u64 << (7 - drop - j)));
            }
            (lc, record.map(|rec| F::from((rec[k] >> drop) as u64)))
        };
        x.push(num_of(cs.namespace(|| format!("x{k}")), lc, v)?);
    }
    let label = (
        byte_lc::<F, CS>(&bytes_be[n_feat]),
        record.map(|rec| F::from(u64::from(rec[n_feat]))),
    );
    Ok((x, label))
}

/// `[class = label]` as a bit (`eq`, constraints `eq_inv` and `eq_zero`).
pub(super) fn label_matches<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    class: &AllocatedNum<F>,
    (label_lc, label_v): &Label<F>,
) -> Result<AllocatedBit, SynthesisError> {
    let diff = LinearCombination::zero() + class.get_variable() - label_lc;
    is_zero(
        cs,
        "eq",
        diff,
        class.get_value().zip(*label_v).map(|(c, l)| c - l),
    )
}

/// A constant as a variable (`{name}`, constraint `{name}_is_constant`).
pub(super) fn constant<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    v: F,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let n = alloc(cs, name, Some(v))?;
    cs.enforce(
        || format!("{name}_is_constant"),
        |l| l + n.get_variable(),
        |l| l + CS::one(),
        |l| l + (v, CS::one()),
    );
    Ok(n)
}

/// Bits of the slot number: sample counts are `u32`.
const SLOT_BITS: u32 = 32;

/// The leaf hand-over before sample `z_i`'s record (slot `z_i + 1`): `β = [slot·R ≡ 0 mod
/// chunk]`, i.e. the slot's low `low_bits = log2(chunk / R)` bits are zero (the slot is
/// range-checked to 32 bits). With `β` the finished leaf's state `(z_hi, z_lo)` is absorbed into the leaf chain and
/// the record is hashed from the IV; without, the state and the chain go on. Returns the state
/// to hash the record from (its two halves) and the next chain.
fn leaf_boundary<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    low_bits: usize,
    z_i: &AllocatedNum<F>,
    z_hi: &AllocatedNum<F>,
    z_lo: &AllocatedNum<F>,
    z_leaves: &AllocatedNum<F>,
) -> Result<[AllocatedNum<F>; 3], SynthesisError> {
    let mut cs = cs.namespace(|| "leaf");
    let slot_v = z_i.get_value().map(|v| v + F::ONE);
    let slot_u = slot_v.map(|v| {
        let r = v.to_repr();
        u64::from_le_bytes(r.as_ref()[..8].try_into().expect("8 bytes"))
    });
    let bits = alloc_bits(
        &mut cs.namespace(|| "slot"),
        slot_u.map(u128::from),
        SLOT_BITS,
    )?;
    cs.enforce(
        || "slot = z_i + 1",
        |lc| add_bits(lc, &bits, F::ONE),
        |lc| lc + CS::one(),
        |lc| lc + z_i.get_variable() + CS::one(),
    );
    // β = 1 − [any of the low bits is set]: low = Σ bits, β·low = 0, low·inv = 1 − β
    let low_lc = |lc: LinearCombination<F>| {
        bits[..low_bits]
            .iter()
            .fold(lc, |lc, b| lc + b.get_variable())
    };
    let low_v = slot_u.map(|s| F::from((s & ((1u64 << low_bits) - 1)).count_ones() as u64));
    let beta = AllocatedBit::alloc(cs.namespace(|| "beta"), low_v.map(|l| l.is_zero().into()))?;
    let inv = alloc(
        &mut cs,
        "low_inverse",
        low_v.map(|l| Option::<F>::from(l.invert()).unwrap_or(F::ZERO)),
    )?;
    cs.enforce(
        || "beta_low",
        |lc| lc + beta.get_variable(),
        low_lc,
        |lc| lc,
    );
    cs.enforce(
        || "low_inv",
        low_lc,
        |lc| lc + inv.get_variable(),
        |lc| lc + CS::one() - beta.get_variable(),
    );
    let iv = pack_state::<F>(&sha256::IV);
    let absorbed = hash_narrow_gadget(
        cs.namespace(|| "chain"),
        &[z_leaves.clone(), z_hi.clone(), z_lo.clone()],
    )?;
    let iv_lc = |v: F| LinearCombination::zero() + (v, CS::one());
    let hi = select(&mut cs, "hi", &beta, z_hi, iv_lc(iv[0]), Some(iv[0]))?;
    let lo = select(&mut cs, "lo", &beta, z_lo, iv_lc(iv[1]), Some(iv[1]))?;
    let chain = select(
        &mut cs,
        "chain_next",
        &beta,
        z_leaves,
        LinearCombination::zero() + absorbed.get_variable(),
        absorbed.get_value(),
    )?;
    Ok([hi, lo, chain])
}

/// `x + β·(target − x)`: `target` if `β`, else `x` (one constraint).
pub(super) fn select<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    beta: &AllocatedBit,
    x: &AllocatedNum<F>,
    target: LinearCombination<F>,
    target_v: Option<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let beta = (
        LinearCombination::zero() + beta.get_variable(),
        beta.get_value(),
    );
    select_by(cs, name, &beta, x, target, target_v)
}

/// [`select`] for a bit `β` given as a linear combination (a sum of exclusive bits) and its value.
pub(super) fn select_by<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    (beta, beta_v): &(LinearCombination<F>, Option<bool>),
    x: &AllocatedNum<F>,
    target: LinearCombination<F>,
    target_v: Option<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let v = match (beta_v, x.get_value(), target_v) {
        (Some(b), Some(x), Some(t)) => Some(if *b { t } else { x }),
        _ => None,
    };
    let out = alloc(cs, name, v)?;
    cs.enforce(
        || format!("{name}_select"),
        |lc| lc + beta,
        |lc| lc + &target - x.get_variable(),
        |lc| lc + out.get_variable() - x.get_variable(),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::leaves::leaf_chain;
    use crate::accuracy::Fr;
    use ff::Field as _;
    use kerafold_step_circuits::cs::TamperCs;

    /// Slots per leaf: 2^LOW.
    const LOW: usize = 2;
    const ST: [u32; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    /// Runs the hand-over before sample `i` from state `ST` and chain `c`; returns the outputs.
    fn run(cs: &mut TamperCs<Fr>, i: u64, c: Fr) -> [Fr; 3] {
        let [hi, lo] = pack_state::<Fr>(&ST);
        let mut num = |name: &str, v: Fr| alloc(cs, name, Some(v)).unwrap();
        let (zi, zh, zl, zc) = (
            num("z_i", Fr::from(i)),
            num("z_hi", hi),
            num("z_lo", lo),
            num("z_c", c),
        );
        leaf_boundary(cs, LOW, &zi, &zh, &zl, &zc)
            .unwrap()
            .map(|n| n.get_value().unwrap())
    }

    #[test]
    fn a_leaf_is_finished_exactly_before_a_slot_that_starts_one() {
        let c = Fr::from(7u64);
        let iv = pack_state::<Fr>(&sha256::IV);
        let st = pack_state::<Fr>(&ST);
        for i in 0..12u64 {
            let mut cs = TamperCs::new();
            let out = run(&mut cs, i, c);
            assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
            if (i + 1) % (1 << LOW) == 0 {
                // the chain absorbs the finished state; the record starts from the IV
                let chained = kerafold_step_circuits::poseidon::hash_narrow(&[c, st[0], st[1]]);
                assert_eq!(out, [iv[0], iv[1], chained], "sample {i}");
                assert_eq!(
                    leaf_chain::<Fr>(Fr::ZERO, &[ST]),
                    kerafold_step_circuits::poseidon::hash_narrow(&[Fr::ZERO, st[0], st[1]])
                );
            } else {
                assert_eq!(out, [st[0], st[1], c], "sample {i}");
            }
        }
    }

    /// The ways a prover could hide or invent a leaf boundary each break a named constraint.
    #[test]
    fn tampered_hand_overs_fail_their_constraint() {
        let c = Fr::from(7u64);
        let expect = |i: u64, overrides: &[(&str, Fr)], constraint: &str| {
            let mut cs = TamperCs::new();
            for (path, v) in overrides {
                cs.override_value(*path, *v);
            }
            run(&mut cs, i, c);
            assert!(
                cs.unused_overrides().is_empty(),
                "{:?}",
                cs.unused_overrides()
            );
            assert_eq!(cs.which_is_unsatisfied(), Some(constraint), "sample {i}");
        };
        let st = pack_state::<Fr>(&ST);
        // at a boundary (slot 4): skipping the hand-over (β = 0, state and chain carried on)
        expect(
            3,
            &[
                ("leaf/beta/boolean", Fr::ZERO),
                ("leaf/hi/num", st[0]),
                ("leaf/lo/num", st[1]),
                ("leaf/chain_next/num", c),
            ],
            "leaf/low_inv",
        );
        // inside a leaf (slot 3): restarting from the IV to drop the bytes hashed so far
        expect(2, &[("leaf/beta/boolean", Fr::ONE)], "leaf/beta_low");
        // claiming another slot through its bits
        expect(2, &[("leaf/slot/b0", Fr::ZERO)], "leaf/slot = z_i + 1");
        // a restart from another state, or a chain that skips the finished leaf
        expect(3, &[("leaf/hi/num", st[0])], "leaf/hi_select");
        expect(3, &[("leaf/chain_next/num", c)], "leaf/chain_next_select");
        expect(2, &[("leaf/lo/num", Fr::ONE)], "leaf/lo_select");
    }
}
