//! What a claim binds of the accuracy proofs: the public IO of each of up to `N` shard proofs of
//! the bounty's dataset (`N` = [`super::circuit::ClaimSpec::max_shards`], fixed by the setup;
//! one whole proof is one shard), and the states of the file's finished leaves.
//!
//! `io_digest = chain_hash(TAG_IO, io_1 ‖ … ‖ io_N)` with `io_k = [num_steps, z_0…, z_n…]`
//! ([`NovaIo::elements`]; for `N = 1` exactly one proof's digest). Fewer shards than `N` are
//! padded with the **canonical padding** ([`NovaIo::padding`]): zero steps from the last shard's
//! final state to itself, no correct sample. The verifier checks every real shard's Nova proof
//! and rebuilds the padding itself, so the digest leaves the prover no choice.
//!
//! The circuit ([`bind`]) enforces over the `N` slots what `accuracy::shards::join` checks
//! natively: the first starts the file (sample 0, the header's hash, leaf chain zero), each
//! starts where the one before ended (sample index, SHA-256 state, leaf chain), every one counts
//! from zero with `num_steps = end − start` samples and the model commitment, `0 ≤ correct ≤
//! num_steps < 2^64`, the last ends at the last sample. The counts are summed. The finished leaves' states (a witness) must chain to
//! the last slot's leaf chain, and with the last slot's state they name the file
//! ([`super::file_digest`]).

use super::circuit::{ClaimSpec, IoLayout, NovaIo, COUNT_BITS, TAG_IO};
use super::file_digest::{self, StateHalves};
use crate::accuracy::AccuracyClaim;
use crate::crypto::bn254::{to_u128, Fr};
use crate::crypto::gadgets::{self as g, Lc};
use crate::crypto::poseidon::chain_hash;
use crate::{Error, Result};
use ff::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{Boolean, ConstraintSystem, SynthesisError};

/// The largest number of shards a claim circuit may bind (`claim-setup --max-shards`).
pub const MAX_SHARDS: usize = 1024;
/// The default of `claim-setup --max-shards`: about 1% more constraints than one shard for the
/// small models of the examples, and 16 workers' worth of parallel proving.
pub const DEFAULT_MAX_SHARDS: usize = 16;

impl NovaIo {
    /// The canonical padding after `last` (the last real shard's IO): zero steps from its final
    /// state to the same state, with no correct sample.
    pub fn padding(last: &NovaIo, layout: &IoLayout) -> NovaIo {
        let mut z = last.zn.clone();
        z[layout.correct] = Fr::ZERO;
        NovaIo {
            num_steps: 0,
            z0: z.clone(),
            zn: z,
        }
    }
}

/// The digest a claim binds: `chain_hash(TAG_IO, io_1 ‖ … ‖ io_N)`.
pub fn io_digest(ios: &[NovaIo]) -> Fr {
    let xs: Vec<Fr> = ios.iter().flat_map(NovaIo::elements).collect();
    chain_hash(TAG_IO, &xs)
}

/// The accuracy proofs' public IO, as a claim binds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardIos {
    /// One per slot: the shards' in sample order, then the canonical padding.
    pub ios: Vec<NovaIo>,
    /// The states (before padding) of every leaf of the file but the last, in file order.
    pub leaves: Vec<[u32; 8]>,
}

impl ShardIos {
    /// The IO of the accuracy proofs with these claims (verified, in sample order), padded to
    /// `max` slots.
    pub fn from_claims(claims: &[AccuracyClaim], max: usize, layout: &IoLayout) -> Result<Self> {
        if claims.is_empty() {
            return Err(Error::Usage("no accuracy proof to claim with".into()));
        }
        if claims.len() > max {
            return Err(Error::Usage(format!(
                "the accuracy proof has {} shards; this bounty's claim binds at most {max}: prove it again in at most {max} shards (prove-accuracy --shard I/{max})",
                claims.len()
            )));
        }
        let mut ios = Vec::with_capacity(max);
        let mut leaves = Vec::new();
        for c in claims {
            let (z0, zn) = crate::accuracy::public_io::<Fr>(c)?;
            ios.push(NovaIo {
                num_steps: c.samples as u64,
                z0,
                zn,
            });
            leaves.extend(crate::accuracy::leaf_states(c)?);
        }
        let pad = NovaIo::padding(ios.last().expect("one shard at least"), layout);
        ios.resize(max, pad);
        Ok(Self { ios, leaves })
    }

    /// The digest the claim binds ([`io_digest`]).
    pub fn digest(&self) -> Fr {
        io_digest(&self.ios)
    }

    /// Checks natively what [`bind`] enforces, so a claim that cannot be proved fails with a
    /// readable message: the slots join into one run over `spec`'s dataset with the model
    /// `chain`, the leaves and the last state name the file `cid_digest`, and the summed count
    /// meets `threshold`. Returns the count.
    pub fn check(
        &self,
        spec: &ClaimSpec,
        chain: Fr,
        cid_digest: &[u8; 32],
        threshold: u64,
    ) -> Result<u64> {
        let l = &spec.io;
        let bad = |m: String| Err(Error::Invalid(format!("the accuracy proofs {m}")));
        if self.ios.len() != spec.max_shards {
            return bad(format!(
                "fill {} slots; the claim circuit has {}",
                self.ios.len(),
                spec.max_shards
            ));
        }
        if self
            .ios
            .iter()
            .any(|io| io.z0.len() != l.arity || io.zn.len() != l.arity)
        {
            return bad(format!(
                "do not have the accuracy state's arity {}",
                l.arity
            ));
        }
        let header = &spec.header;
        let h0 = crate::accuracy::pack_state::<Fr>(&crate::accuracy::header_state(header));
        let first = &self.ios[0];
        if first.z0[l.samples] != Fr::ZERO
            || first.z0[l.sha_hi] != h0[0]
            || first.z0[l.sha_lo] != h0[1]
            || first.z0[l.leaves] != Fr::ZERO
        {
            return bad("do not start at the dataset's first sample".into());
        }
        let mut total = 0u64;
        for (k, io) in self.ios.iter().enumerate() {
            if io.z0[l.model] != chain || io.zn[l.model] != chain {
                return bad(format!(
                    "(slot {}) are about another model commitment than the encrypted weights'",
                    k + 1
                ));
            }
            if io.z0[l.correct] != Fr::ZERO
                || io.zn[l.samples] - io.z0[l.samples] != Fr::from(io.num_steps)
            {
                return bad(format!("(slot {}) are not an accuracy run", k + 1));
            }
            if k > 0 {
                let prev = &self.ios[k - 1];
                if [l.samples, l.sha_hi, l.sha_lo, l.leaves]
                    .iter()
                    .any(|&i| io.z0[i] != prev.zn[i])
                {
                    return bad(format!(
                        "(slot {}) do not start where slot {k} ended",
                        k + 1
                    ));
                }
            }
            match to_u128(&io.zn[l.correct]).and_then(|c| u64::try_from(c).ok()) {
                Some(c) if c <= io.num_steps => total = total.saturating_add(c),
                _ => {
                    return bad(format!(
                        "(slot {}) count more correct samples than they fold",
                        k + 1
                    ))
                }
            }
        }
        let last = self.ios.last().expect("one slot at least");
        if last.zn[l.samples] != Fr::from(u64::from(header.count)) {
            return bad("do not cover every sample of the dataset".into());
        }
        let chain_of_leaves = crate::accuracy::leaves::leaf_chain(Fr::ZERO, &self.leaves);
        if chain_of_leaves != last.zn[l.leaves] {
            return bad("list other finished leaves than their leaf chain binds".into());
        }
        let state = crate::accuracy::unpack_state(&[last.zn[l.sha_hi], last.zn[l.sha_lo]])
            .ok_or_else(|| Error::Invalid("the accuracy proofs' hash state is malformed".into()))?;
        let cid =
            crate::accuracy::leaves::dataset_cid(header, spec.chunk_size, &self.leaves, &state)?;
        if &cid.digest != cid_digest {
            return bad(format!("are about dataset {cid}, not the bounty's"));
        }
        if total < threshold || total > u64::from(header.count) {
            return bad(format!(
                "count {total} correct samples, below the threshold {threshold}"
            ));
        }
        Ok(total)
    }
}

/// What [`bind`] leaves to the rest of the circuit.
pub(crate) struct Bound {
    /// The summed count of correct samples.
    pub correct: Lc<Fr>,
    /// The dataset's CID digest, 256 bits big-endian.
    pub digest: Vec<Boolean>,
}

/// Enforces that the `spec.max_shards` slots of `nums` (each `[num_steps, z_0…, z_n…]`) join
/// into one accuracy run over the whole dataset with the model `chain`, and that the finished
/// leaves `leaves` (witness, `None` for the shape) chain into the last slot's leaf chain; returns
/// the summed count and the file's digest. See the module documentation.
pub(crate) fn bind<CS: ConstraintSystem<Fr>>(
    cs: &mut CS,
    spec: &ClaimSpec,
    nums: &[AllocatedNum<Fr>],
    chain: &Lc<Fr>,
    zero: &AllocatedNum<Fr>,
    leaves: Option<&[[u32; 8]]>,
) -> Result<Bound, SynthesisError> {
    let l = &spec.io;
    let per = 1 + 2 * l.arity;
    if nums.len() != per * spec.max_shards {
        return Err(SynthesisError::Unsatisfiable(format!(
            "{} IO values for {} slots of {per}",
            nums.len(),
            spec.max_shards
        )));
    }
    let lc: Vec<Lc<Fr>> = nums.iter().map(Lc::num).collect();
    let steps = |k: usize| &lc[k * per];
    let z0 = |k: usize, i: usize| &lc[k * per + 1 + i];
    let zn = |k: usize, i: usize| &lc[k * per + 1 + l.arity + i];
    let zn_num = |k: usize, i: usize| &nums[k * per + 1 + l.arity + i];

    let header = &spec.header;
    let h0 = crate::accuracy::pack_state::<Fr>(&crate::accuracy::header_state(header));
    {
        let mut ns = cs.namespace(|| "bind_start");
        z0(0, l.samples).enforce_eq(&mut ns, "samples", &Lc::constant(Fr::ZERO));
        z0(0, l.sha_hi).enforce_eq(&mut ns, "sha_hi", &Lc::constant(h0[0]));
        z0(0, l.sha_lo).enforce_eq(&mut ns, "sha_lo", &Lc::constant(h0[1]));
        z0(0, l.leaves).enforce_eq(&mut ns, "leaves", &Lc::constant(Fr::ZERO));
    }
    let mut correct = Lc::constant(Fr::ZERO);
    for k in 0..spec.max_shards {
        let mut ns = cs.namespace(|| format!("slot{k}"));
        z0(k, l.model).enforce_eq(&mut ns, "model0", chain);
        zn(k, l.model).enforce_eq(&mut ns, "model_n", chain);
        z0(k, l.correct).enforce_eq(&mut ns, "correct0", &Lc::constant(Fr::ZERO));
        steps(k).enforce_eq(
            &mut ns,
            "num_steps",
            &zn(k, l.samples).sub(z0(k, l.samples)),
        );
        if k > 0 {
            for (name, i) in [
                ("join_samples", l.samples),
                ("join_sha_hi", l.sha_hi),
                ("join_sha_lo", l.sha_lo),
                ("join_leaves", l.leaves),
            ] {
                z0(k, i).enforce_eq(&mut ns, name, zn(k - 1, i));
            }
        }
        // 0 ≤ correct ≤ num_steps < 2^64: whatever IO the digest binds, no slot counts more
        // samples than it folds (a zero-step padding slot counts none), and the steps add up
        // to the dataset's count
        let n_steps = zn(k, l.samples).sub(z0(k, l.samples));
        g::range_check(ns.namespace(|| "steps_range"), &n_steps, COUNT_BITS)?;
        g::range_check(
            ns.namespace(|| "correct_range"),
            zn(k, l.correct),
            COUNT_BITS,
        )?;
        g::range_check(
            ns.namespace(|| "correct_le_steps"),
            &n_steps.sub(zn(k, l.correct)),
            COUNT_BITS,
        )?;
        correct = correct.add(zn(k, l.correct));
    }
    let last = spec.max_shards - 1;
    zn(last, l.samples).enforce_eq(
        cs,
        "bind_end",
        &Lc::constant(Fr::from(u64::from(header.count))),
    );

    // the finished leaves: chained into the last slot's leaf chain, then with the last state
    // they name the file
    let chunking = crate::data::cid::Chunking {
        chunk_size: spec.chunk_size,
        max_links: crate::data::cid::MAX_LINKS,
    };
    let n_finished = chunking.leaf_count(header.file_len()) as usize - 1;
    if let Some(v) = leaves {
        if v.len() != n_finished {
            return Err(SynthesisError::Unsatisfiable(format!(
                "{} finished leaves, the file has {n_finished}",
                v.len()
            )));
        }
    }
    let finished: Vec<StateHalves> = (0..n_finished)
        .map(|j| {
            file_digest::alloc_state(
                cs.namespace(|| format!("finished{j}")),
                leaves.map(|v| &v[j]),
            )
        })
        .collect::<Result<_, _>>()?;
    let c = file_digest::leaf_chain(cs.namespace(|| "leaf_chain"), zero, &finished)?;
    Lc::num(&c).enforce_eq(cs, "bind_leaves", zn(last, l.leaves));
    let last_state = [
        zn_num(last, l.sha_hi).clone(),
        zn_num(last, l.sha_lo).clone(),
    ];
    let digest = file_digest::file_digest(
        cs.namespace(|| "file_digest"),
        header,
        chunking,
        &finished,
        &last_state,
    )?;
    Ok(Bound { correct, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(steps: u64, start: u64, correct: u64) -> NovaIo {
        let l = IoLayout::ACCURACY;
        let mut z0 = vec![Fr::from(7); l.arity];
        z0[l.samples] = Fr::from(start);
        z0[l.correct] = Fr::ZERO;
        let mut zn = z0.clone();
        zn[l.samples] = Fr::from(start + steps);
        zn[l.correct] = Fr::from(correct);
        zn[l.sha_hi] = Fr::from(99);
        NovaIo {
            num_steps: steps,
            z0,
            zn,
        }
    }

    #[test]
    fn one_slot_is_one_proofs_digest() {
        let a = io(16, 0, 12);
        assert_eq!(io_digest(std::slice::from_ref(&a)), a.digest());
        assert_ne!(io_digest(&[a.clone(), a.clone()]), a.digest());
    }

    #[test]
    fn padding_runs_no_step_from_the_last_state_and_counts_nothing() {
        let l = IoLayout::ACCURACY;
        let last = io(6, 10, 4);
        let pad = NovaIo::padding(&last, &l);
        assert_eq!(pad.num_steps, 0);
        assert_eq!(pad.z0, pad.zn);
        assert_eq!(pad.zn[l.correct], Fr::ZERO);
        assert_eq!(pad.zn[l.samples], last.zn[l.samples]);
        assert_eq!(pad.zn[l.sha_hi], last.zn[l.sha_hi]);
    }
}
