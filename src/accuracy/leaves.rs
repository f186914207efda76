//! The dataset file hashed leaf by leaf, as the accuracy folds hash it (docs/DESIGN.md §6).
//!
//! IPFS cuts a file into leaves of `chunk_size` bytes and names it by the dag-pb tree over the
//! leaves' SHA-256 digests ([`crate::data::cid`]). A record is `R` bytes, `R` a power of two
//! that divides the chunk size, so leaves hold whole slots and a leaf boundary falls exactly
//! before slot `s` when `s·R` is a multiple of the chunk size (no record straddles leaves).
//!
//! The folds carry the running SHA-256 state of the current leaf. Before a slot that starts a
//! leaf, the fold absorbs the finished leaf's state (before padding) into the **leaf chain**
//! `c' = H_narrow(c, state_hi, state_lo)` and restarts from the IV. The verifier is given the
//! absorbed states in order, recomputes the chain against the proof's final state, finishes every
//! leaf with its public padding block (a full leaf: `chunk_size` bytes; the last: what is left)
//! and rebuilds the root CID ([`crate::data::cid::FileDag::from_leaf_digests`]) without the
//! file. Finishing natively is sound: the chain binds each state the circuit reached, and the
//! padding block is a function of the public length alone.

use super::{finish_len, pack_state};
use crate::data::cid::{Chunking, Cid, FileDag, MAX_LINKS};
use crate::data::dataset::{Dataset, Header};
use crate::data::sha256;
use crate::{Error, Result};
use kerafold_step_circuits::poseidon::hash_narrow;
use kerafold_step_circuits::Field;
use std::ops::Range;

/// Whether slot `slot` (0 the header, `i + 1` sample `i`) is the first of a leaf other than
/// the file's first.
pub fn starts_leaf(header: &Header, chunk_size: usize, slot: usize) -> bool {
    slot > 0 && (slot * header.record_size()).is_multiple_of(chunk_size)
}

/// Leaves finished by folding samples `range`: the slots `range.start + 1 ..= range.end` that
/// start a leaf, i.e. the multiples of `chunk_size / R` among them (`chunk_size` a multiple of
/// `R`, as [`super::AccuracyArch`] requires; an empty or reversed range finishes none).
pub fn leaves_finished(header: &Header, chunk_size: usize, range: &Range<usize>) -> usize {
    let per_leaf = (chunk_size / header.record_size()).max(1);
    (range.end / per_leaf).saturating_sub(range.start / per_leaf)
}

/// The leaf chain from `start` over finished leaves' states: `c' = H_narrow(c, hi, lo)` (the
/// file's chain starts at zero; a shard's continues the one of the leaves before it).
pub fn leaf_chain<F: Field>(start: F, states: &[[u32; 8]]) -> F {
    states.iter().fold(start, |c, st| {
        let [hi, lo] = pack_state::<F>(st);
        hash_narrow(&[c, hi, lo])
    })
}

/// What the folds over a range of samples compute: the SHA-256 state of the current leaf before
/// the range and after it, and the states of the leaves finished in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashRun {
    /// The state before the first sample of the range (the header slot hashed, for sample 0).
    pub start: [u32; 8],
    /// The state after the last sample.
    pub end: [u32; 8],
    /// The states of the leaves finished in the range, in file order.
    pub leaves: Vec<[u32; 8]>,
}

/// Hashes `data`'s slots as the folds over samples `range` do (natively: the prover's reference
/// and the tests' twin of the circuit).
pub fn hash_run(data: &Dataset, chunk_size: usize, range: Range<usize>) -> HashRun {
    let header = data.header();
    let slot = |s: usize| -> &[u8] {
        let r = header.record_size();
        &data.as_bytes()[s * r..(s + 1) * r]
    };
    let absorb = |st: &mut [u32; 8], bytes: &[u8]| {
        for blk in bytes.chunks(64) {
            sha256::compress(st, blk.try_into().expect("64-byte block"));
        }
    };
    // the state before the range: from the start of its leaf
    let mut st = sha256::IV;
    let first_of_leaf = (0..=range.start)
        .rev()
        .find(|&s| s == 0 || starts_leaf(header, chunk_size, s))
        .expect("slot 0 starts the file");
    for s in first_of_leaf..=range.start {
        absorb(&mut st, slot(s));
    }
    let start = st;
    let mut leaves = Vec::new();
    for s in range.start + 1..=range.end {
        if starts_leaf(header, chunk_size, s) {
            leaves.push(st);
            st = sha256::IV;
        }
        absorb(&mut st, slot(s));
    }
    HashRun {
        start,
        end: st,
        leaves,
    }
}

/// The CID of the dataset file whose leaves end in `leaves` (finished leaves, in order) and
/// `last` (the last leaf's state), as IPFS names it with `chunk_size`-byte leaves.
pub fn dataset_cid(
    header: &Header,
    chunk_size: usize,
    leaves: &[[u32; 8]],
    last: &[u32; 8],
) -> Result<Cid> {
    let size = header.file_len();
    let chunk = chunk_size as u64;
    let chunking = Chunking {
        chunk_size,
        max_links: MAX_LINKS,
    };
    let n = chunking.leaf_count(size);
    if leaves.len() as u64 + 1 != n {
        return Err(Error::Invalid(format!(
            "a dataset file of {size} bytes has {n} leaves of {chunk} bytes; the proof hashed {}",
            leaves.len() + 1
        )));
    }
    let mut digests: Vec<[u8; 32]> = leaves.iter().map(|st| finish_len(st, chunk)).collect();
    digests.push(finish_len(last, size - (n - 1) * chunk));
    let dag = FileDag::from_leaf_digests(&digests, size, chunking)?;
    Ok(dag.cid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::Fr;
    use crate::data::cid::FileDag;
    use ff::Field as _;

    fn dataset(features: usize, count: usize) -> Dataset {
        let x: Vec<u8> = (0..count * features)
            .map(|k| (k * 31 + k / features * 7) as u8)
            .collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 3) as u8).collect();
        Dataset::pack(&x, &labels, &[features], 3, 8).unwrap()
    }

    fn cid_with(data: &Dataset, chunk_size: usize) -> Cid {
        FileDag::from_reader(
            data.as_bytes(),
            Chunking {
                chunk_size,
                max_links: MAX_LINKS,
            },
        )
        .unwrap()
        .cid()
    }

    /// Runs split at `cuts` join into the file's CID, whatever the split.
    #[test]
    fn runs_rebuild_the_cid_for_any_split() {
        // 64-byte records, 256-byte leaves: 4 slots a leaf; 21 slots = 6 leaves (the last short)
        let data = dataset(40, 20);
        let chunk = 256;
        let want = cid_with(&data, chunk);
        for cuts in [vec![], vec![3], vec![1, 2, 7, 15], vec![4, 8, 12, 16, 19]] {
            let mut bounds = vec![0];
            bounds.extend(&cuts);
            bounds.push(20);
            let mut leaves = Vec::new();
            let mut state = None;
            for w in bounds.windows(2) {
                let run = hash_run(&data, chunk, w[0]..w[1]);
                if let Some(prev) = state {
                    assert_eq!(run.start, prev, "runs join at sample {}", w[0]);
                }
                assert_eq!(
                    run.leaves.len(),
                    leaves_finished(data.header(), chunk, &(w[0]..w[1]))
                );
                leaves.extend(run.leaves);
                state = Some(run.end);
            }
            let cid = dataset_cid(data.header(), chunk, &leaves, &state.unwrap()).unwrap();
            assert_eq!(cid, want, "cuts {cuts:?}");
        }
        // one leaf: the raw CID of the file
        let one = hash_run(&data, 1 << 18, 0..20);
        assert!(one.leaves.is_empty());
        assert_eq!(
            dataset_cid(data.header(), 1 << 18, &[], &one.end).unwrap(),
            crate::data::cid::cid_of_bytes(data.as_bytes())
        );
    }

    #[test]
    fn wrong_leaves_give_another_cid_or_an_error() {
        let data = dataset(40, 20);
        let run = hash_run(&data, 256, 0..20);
        let want = cid_with(&data, 256);
        let mut swapped = run.leaves.clone();
        swapped.swap(1, 2);
        assert_ne!(
            dataset_cid(data.header(), 256, &swapped, &run.end).unwrap(),
            want
        );
        let e = dataset_cid(data.header(), 256, &run.leaves[1..], &run.end).unwrap_err();
        assert!(e.to_string().contains("has 6 leaves"), "{e}");
        assert_ne!(
            leaf_chain::<Fr>(Fr::ZERO, &swapped),
            leaf_chain::<Fr>(Fr::ZERO, &run.leaves),
            "the chain binds the order"
        );
    }
}
