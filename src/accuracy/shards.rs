//! Accuracy proofs in shards: contiguous ranges of samples proven independently (on as many
//! machines as there are shards) and joined into one statement about the whole file
//! (docs/DESIGN.md §6.3).
//!
//! A shard proof is an ordinary accuracy proof whose claim covers `first .. first + samples`:
//! its folds start from the sample index, the leaf's SHA-256 state and an empty leaf chain, and
//! end with the index, the state, the count and the chain of the leaves they finished. Shards
//! join when each starts where the one before ended — same sample index, same SHA-256 state —
//! and all prove one model (architecture and commitment) on one dataset; the first starts from
//! the header's hash state, the last ends at the last sample, and the leaves they list, finished
//! with their padding, rebuild the dataset's CID. Nothing else is trusted from the shards: each
//! is verified as a proof of its own range first.

use super::leaves::{dataset_cid, leaf_chain, leaves_finished};
use super::Fr;
use super::{
    check_chunk_size, header_state, hex_state, leaf_states, parse_state, AccuracyClaim,
    AccuracyProof,
};
use crate::data::cid::CHUNK_SIZE;
use crate::data::dataset::Dataset;
use crate::fold::proof::{fe_hex, PROOF_FORMAT, PROOF_VERSION};
use crate::{Error, Result};
use ff::Field as _;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Which samples a proof covers, and the leaf size the file is named with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// The samples proven.
    pub samples: Range<usize>,
    /// Bytes per IPFS leaf ([`CHUNK_SIZE`] unless the file is added with another chunker).
    pub chunk_size: usize,
}

impl ShardSpec {
    /// Every sample of `data`.
    pub fn whole(data: &Dataset) -> Self {
        Self {
            samples: 0..data.len(),
            chunk_size: CHUNK_SIZE,
        }
    }

    /// Shard `index` (from 1) of `count` contiguous shards of `samples` samples, as equal as can
    /// be: samples `⌊(index−1)·samples/count⌋ .. ⌊index·samples/count⌋`.
    pub fn nth(index: usize, count: usize, samples: usize) -> Result<Self> {
        if index == 0 || index > count || count > samples {
            return Err(Error::Usage(format!(
                "shard {index}/{count} of {samples} samples: shards are numbered 1 to N, and N is at most the number of samples"
            )));
        }
        let at = |k: usize| (k as u128 * samples as u128 / count as u128) as usize;
        Ok(Self {
            samples: at(index - 1)..at(index),
            chunk_size: CHUNK_SIZE,
        })
    }
}

/// How a shard is named in errors: `shard 2 of 3 (samples 100..200)`.
fn shard_name(k: usize, n: usize, claim: &AccuracyClaim) -> String {
    format!(
        "shard {} of {n} (samples {}..{})",
        k + 1,
        claim.first,
        claim.first.saturating_add(claim.samples)
    )
}

/// `e`, said of shard `k` when there are several.
pub(crate) fn in_shard(k: usize, proofs: &[AccuracyProof], e: Error) -> Error {
    if proofs.len() < 2 {
        return e;
    }
    let name = shard_name(k, proofs.len(), &proofs[k].claim);
    match e {
        Error::Invalid(m) => Error::Invalid(format!("{name}: {m}")),
        Error::Usage(m) => Error::Usage(format!("{name}: {m}")),
        Error::Malformed(m) => Error::Malformed(format!("{name}: {m}")),
        Error::Nova { what, source } => Error::Nova {
            what: format!("{name}: {what}"),
            source,
        },
        e => e,
    }
}

/// Checks what a list of shard proofs must be before any proof is verified: one model on one
/// dataset, each shard starting where the one before ended, together every sample. None of it
/// needs a SNARK, so a shard removed, repeated, reordered or of another model is named at once.
pub fn check_layout(proofs: &[AccuracyProof]) -> Result<()> {
    let Some(head) = proofs.first() else {
        return Err(Error::Usage("no accuracy proofs to join".into()));
    };
    let c0 = &head.claim;
    check_chunk_size(&c0.header, c0.chunk_size)
        .map_err(|m| Error::Invalid(format!("the shards' dataset: {m}")))?;
    let n = proofs.len();
    let mut end = 0usize;
    for (k, p) in proofs.iter().enumerate() {
        let c = &p.claim;
        let name = shard_name(k, n, c);
        let other = |what: &str| {
            Error::Invalid(format!(
                "{name} proves {what} than shard 1: the shards must prove one model on one dataset"
            ))
        };
        if p.system != head.system || p.architecture != head.architecture {
            return Err(other("another architecture or proof system"));
        }
        if c.model != c0.model {
            return Err(other("another model (commitment)"));
        }
        if c.fixed_point != c0.fixed_point {
            return Err(other("another quantization"));
        }
        if c.header != c0.header || c.cid != c0.cid || c.chunk_size != c0.chunk_size {
            return Err(other("another dataset"));
        }
        if c.first != end {
            return Err(Error::Invalid(if c.first < end {
                format!(
                    "{name} starts inside samples 0..{end}, which the shards before it prove: a repeated or overlapping shard"
                )
            } else {
                format!(
                    "{name} starts at sample {}, but the shards before it end at sample {end}: a shard is missing or out of order",
                    c.first
                )
            }));
        }
        end = c
            .first
            .checked_add(c.samples)
            .ok_or_else(|| Error::Invalid(format!("{name} has an impossible sample count")))?;
    }
    let count = c0.header.count as usize;
    if end != count {
        return Err(Error::Invalid(format!(
            "the shards cover samples 0..{end} of {count}: the shard proving samples {end}.. is missing"
        )));
    }
    Ok(())
}

/// Joins shard claims, in order, into the claim about the whole file: their layout
/// ([`check_layout`]), then that each starts from the hash state and leaf chain the one before
/// ended in, and that the leaves they hashed rebuild the claimed CID. Each proof must also verify
/// on its own ([`super::verify_shards`] does both).
pub fn join(proofs: &[AccuracyProof]) -> Result<AccuracyClaim> {
    check_layout(proofs)?;
    let c0 = &proofs[0].claim;
    let n = proofs.len();
    let mut state = hex_state(&header_state(&c0.header));
    let mut correct = 0usize;
    let mut leaves = Vec::new();
    for (k, p) in proofs.iter().enumerate() {
        let c = &p.claim;
        let name = shard_name(k, n, c);
        if c.sha_start != state || c.leaf_chain_start != fe_hex(&leaf_chain(Fr::ZERO, &leaves)) {
            return Err(Error::Invalid(format!(
                "{name} does not start from the hash state and leaf chain the shards before it end in"
            )));
        }
        if c.leaves.len() != leaves_finished(&c.header, c.chunk_size, &c.range()) {
            return Err(Error::Invalid(format!(
                "{name} lists {} finished leaves, its samples finish {}",
                c.leaves.len(),
                leaves_finished(&c.header, c.chunk_size, &c.range())
            )));
        }
        state = c.sha_state.clone();
        correct += c.correct;
        leaves.extend(leaf_states(c)?);
    }
    let count = c0.header.count as usize;
    let cid = dataset_cid(&c0.header, c0.chunk_size, &leaves, &parse_state(&state)?)?;
    if cid.to_string() != c0.cid {
        return Err(Error::Invalid(format!(
            "the proofs hashed the file named {cid}, not the claimed dataset {}",
            c0.cid
        )));
    }
    Ok(AccuracyClaim {
        first: 0,
        samples: count,
        correct,
        sha_start: hex_state(&header_state(&c0.header)),
        sha_state: state,
        leaves: leaves.iter().map(hex_state).collect(),
        leaf_chain_start: fe_hex(&Fr::ZERO),
        ..c0.clone()
    })
}

/// The proof kind of a combined file.
pub const COMBINED: &str = "accuracy-shards";

/// A combined accuracy proof: the shard proofs of one dataset, in order, and the claim they join
/// into (`kerafold combine`).
///
/// ```json
/// {"format": "kerafold-proof", "version": 4, "kind": "accuracy-shards",
///  "claim": {…the whole file's claim…}, "shards": [{…accuracy proof…}, …]}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinedProof {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// [`PROOF_VERSION`].
    pub version: u32,
    /// [`COMBINED`].
    pub kind: String,
    /// What the shards prove together: recomputed by every verifier ([`join`]), shown for
    /// readers.
    pub claim: AccuracyClaim,
    /// The shard proofs, in sample order.
    pub shards: Vec<AccuracyProof>,
}

impl CombinedProof {
    /// Orders shard proofs by their first sample and joins them ([`join`]); the proofs
    /// themselves are verified by `verify`.
    pub fn combine(mut shards: Vec<AccuracyProof>) -> Result<Self> {
        shards.sort_by_key(|p| p.claim.first);
        let claim = join(&shards)?;
        Ok(Self {
            format: PROOF_FORMAT.into(),
            version: PROOF_VERSION,
            kind: COMBINED.into(),
            claim,
            shards,
        })
    }

    /// Parses a combined proof file.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        crate::fold::proof::kind_of(bytes, path)?;
        let f: Self = serde_json::from_slice(bytes)
            .map_err(|e| Error::format(path, format!("malformed combined accuracy proof: {e}")))?;
        if f.kind != COMBINED {
            return Err(Error::format(
                path,
                format!("a proof of kind '{}', not '{COMBINED}'", f.kind),
            ));
        }
        if f.shards.is_empty() {
            return Err(Error::format(path, "a combined proof without shards"));
        }
        Ok(f)
    }

    /// Reads a combined proof file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("proof serializes");
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_contiguous_and_cover_every_sample() {
        for (count, n) in [(10, 3), (7, 7), (560, 3), (1, 1), (1000, 64)] {
            let mut end = 0;
            for i in 1..=n {
                let s = ShardSpec::nth(i, n, count).unwrap();
                assert_eq!(s.samples.start, end);
                assert!(!s.samples.is_empty());
                end = s.samples.end;
            }
            assert_eq!(end, count);
        }
        for (i, n, count) in [(0, 3, 10), (4, 3, 10), (1, 11, 10)] {
            let e = ShardSpec::nth(i, n, count).unwrap_err();
            assert!(e.to_string().contains("numbered 1 to N"), "{e}");
        }
    }
}
