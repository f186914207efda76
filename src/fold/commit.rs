//! The commitments of the folded state, natively and in the circuit: tensor commitments, the
//! architecture chain and the model chain (docs/DESIGN.md §4).

use super::arch::Architecture;
use crate::model::QuantizedModel;
use kerafold_step_circuits::band::Band;
use kerafold_step_circuits::commit::commit_native;
use kerafold_step_circuits::packing::Packed;
use kerafold_step_circuits::poseidon::{hash, hash_narrow};
use kerafold_step_circuits::Field;

/// Digest of one slot's packed weights: `H(w ‖ b)`, or 0 for a slot without weights.
pub(crate) fn weights_digest<F: Field>(p: &Packed<F>) -> F {
    if p.w.is_empty() && p.b.is_empty() {
        F::ZERO
    } else {
        let mut v = p.w.clone();
        v.extend(&p.b);
        hash(&v)
    }
}

/// Commitment to a tensor over its own values (docs/DESIGN.md §4.3).
pub(crate) fn tensor_commitment<F: Field>(values: &[i64], bits: u32, blind: F) -> F {
    commit_native(values, bits, blind)
}

/// The saved-tensor stack when nothing is saved: zero, which no push reaches (it would take a
/// Poseidon preimage of zero), so a merge cannot pop it.
pub(crate) fn nothing_saved<F: Field>() -> F {
    F::ZERO
}

/// A step's block counts as one field element for the architecture chain:
/// `in_blocks + 2^32·out_blocks` (both below 2^24).
pub(crate) fn blocks_word<F: Field>(in_blocks: usize, out_blocks: usize) -> F {
    F::from(in_blocks as u64) + F::from(out_blocks as u64) * F::from(1u64 << 32)
}

/// A band's place as one field element (`2^64·` this is added to [`blocks_word`]):
/// `new_blocks + 2^24·offset + 2^48·carried + 2^72·emit` (each below 2^24).
pub(crate) fn band_word<F: Field>(b: &Band) -> F {
    let k = F::from(1u64 << 24);
    F::from(b.new_blocks as u64)
        + k * (F::from(b.offset as u64)
            + k * (F::from(b.carried as u64) + k * F::from(b.emit as u64)))
}

/// `2^64`, the place of [`band_word`] in the block word.
pub(crate) fn band_word_scale<F: Field>() -> F {
    F::from(1u64 << 32) * F::from(1u64 << 32)
}

/// The architecture chain after every step (the value the final state must hold):
/// `H_narrow(prev, slot, n_out, save and tile/band flags, blocks_word + 2^64·band_word)` per
/// step.
pub fn arch_chain<F: Field>(arch: &Architecture) -> F {
    arch.steps.iter().enumerate().fold(F::ZERO, |acc, (i, s)| {
        let (bi, bo) = arch.step_blocks(i);
        // save, a tile's flags and a band's: save + 2·first + 4·last + 8·out_first
        // + 16·out_last + 32·band_first + 64·band_last, and the save's depth: + 128·depth
        // (0 without crossed skips: their chains are unchanged)
        let flags = s.tile.map_or(0, |t| {
            2 * t.first as u64 + 4 * t.last as u64 + 8 * t.out_first as u64 + 16 * t.out_last as u64
        }) + s
            .band
            .map_or(0, |b| 32 * b.first as u64 + 64 * b.last as u64)
            + 128 * s.save_depth as u64;
        let band = s
            .band
            .map_or(F::ZERO, |b| band_word_scale::<F>() * band_word::<F>(&b));
        hash_narrow(&[
            acc,
            F::from(s.slot as u64),
            F::from(s.n_out as u64),
            F::from(s.save_input as u64 + flags),
            blocks_word::<F>(bi, bo) + band,
        ])
    })
}

/// The model commitment's starting value: the first 31 bytes of the architecture's digest as a
/// field element. Starting the chain there binds the architecture — ops, activations, views,
/// shapes, fixed-point parameters and guard — into the commitment, so one set of weights under
/// two architectures (MaxPool vs AvgPool, another activation, other `fw`) commits differently.
pub fn model_seed<F: Field>(arch: &Architecture) -> F {
    let d = arch.digest();
    d[..31].iter().fold(F::ZERO, |acc, &b| {
        acc * F::from(256) + F::from(u64::from(b))
    })
}

/// The digest of step `step`'s own packed weights in its slot's geometry (0 for a step without
/// weights): what the model chain absorbs for it.
pub(crate) fn step_weights_digest<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    step: usize,
    layer: usize,
) -> F {
    let active = arch.steps[step].slot;
    weights_digest(&arch.packed_weights::<F>(step, layer, model)[active])
}

/// The model commitment (docs/DESIGN.md, "Commitments"): `m_0 = model_seed(arch)`,
/// `m_{i+1} = H_narrow(m_i, r_i, d_i)` with `d_i` step `i`'s [`step_weights_digest`] and `r_i`
/// its blinding (`blinds` empty: all zero, a public model's commitment). The one definition every
/// proof kind, the claim circuit and the host's decryption recompute.
pub fn model_chain<F: Field>(arch: &Architecture, digests: &[F], blinds: &[F]) -> F {
    debug_assert_eq!(digests.len(), arch.steps.len());
    digests
        .iter()
        .enumerate()
        .fold(model_seed(arch), |m, (i, d)| {
            hash_narrow(&[m, blinds.get(i).copied().unwrap_or(F::ZERO), *d])
        })
}

/// The model commitment of `model` with per-step blindings `blinds` (empty: public model).
pub fn model_commitment<F: Field>(arch: &Architecture, model: &QuantizedModel, blinds: &[F]) -> F {
    let digests: Vec<F> = arch
        .layers()
        .into_iter()
        .enumerate()
        .map(|(i, layer)| step_weights_digest(arch, model, i, layer))
        .collect();
    model_chain(arch, &digests, blinds)
}
