//! The dataset's CID digest inside the claim circuit, from what the accuracy folds leave behind:
//! the SHA-256 states of the finished leaves (bound by the leaf chain in the folded state) and
//! the state of the last leaf (the folded state itself).
//!
//! Every leaf is finished with its padding block (a constant: the leaf's length is public), so
//! its digest is one compression. A file of one leaf is named by that digest (a raw CID). A
//! larger file is named by the dag-pb tree over the leaves ([`crate::data::cid::FileDag`]): its
//! nodes' bytes are constants except the children's digests, so each node is the SHA-256 of its
//! [`crate::data::cid::Node::template`] with the children's digest bits written in at their
//! offsets, children before parents, the root last. The layout depends on the file's length and
//! chunking only, both constants of the circuit.

use crate::accuracy::unpack_half;
use crate::crypto::bn254::Fr;
use crate::data::cid::{Block, Chunking, FileDag};
use crate::data::dataset::Header;
use crate::data::sha256::final_block;
use kerafold_step_circuits::poseidon::hash_narrow_gadget;
use nova_snark::frontend::gadgets::sha256::{sha256, sha256_compression_function};
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{Boolean, ConstraintSystem, SynthesisError};

/// The packed halves (`[hi, lo]`, 128 bits each) of a SHA-256 state, as the folded state holds
/// them.
pub(crate) type StateHalves = [AllocatedNum<Fr>; 2];

/// The leaf chain over `finished` (`c' = H_narrow(c, hi, lo)` from zero), as the folds compute
/// it (`accuracy::leaves::leaf_chain`).
pub(crate) fn leaf_chain<CS: ConstraintSystem<Fr>>(
    mut cs: CS,
    zero: &AllocatedNum<Fr>,
    finished: &[StateHalves],
) -> Result<AllocatedNum<Fr>, SynthesisError> {
    let mut c = zero.clone();
    for (j, [hi, lo]) in finished.iter().enumerate() {
        c = hash_narrow_gadget(
            cs.namespace(|| format!("leaf{j}")),
            &[c, hi.clone(), lo.clone()],
        )?;
    }
    Ok(c)
}

/// The SHA-256 digest (256 bits, big-endian) that names a file of `header`'s length cut and
/// linked as `chunking` says (IPFS' balanced layout): `finished` are the states of every leaf but
/// the last (before padding), `last` the last leaf's.
pub(crate) fn file_digest<CS: ConstraintSystem<Fr>>(
    mut cs: CS,
    header: &Header,
    chunking: Chunking,
    finished: &[StateHalves],
    last: &StateHalves,
) -> Result<Vec<Boolean>, SynthesisError> {
    let size = header.file_len();
    let chunk = chunking.chunk_size as u64;
    let n = chunking.leaf_count(size) as usize;
    if finished.len() + 1 != n {
        return Err(SynthesisError::Unsatisfiable(format!(
            "a file of {size} bytes has {n} leaves of {chunk} bytes, not {}",
            finished.len() + 1
        )));
    }
    let mut leaf_digests = Vec::with_capacity(n);
    for (j, st) in finished.iter().chain(std::iter::once(last)).enumerate() {
        let len = if j + 1 < n {
            chunk
        } else {
            size - (n as u64 - 1) * chunk
        };
        leaf_digests.push(leaf_digest(cs.namespace(|| format!("leaf{j}")), st, len)?);
    }
    if n == 1 {
        return Ok(leaf_digests.pop().expect("one leaf"));
    }
    // the layout of the file's DAG: every length and Tsize follows from the size alone
    let dag = FileDag::from_leaf_digests(&vec![[0u8; 32]; n], size, chunking)
        .map_err(|e| SynthesisError::Unsatisfiable(e.to_string()))?;
    let mut node_digests: Vec<Vec<Boolean>> = Vec::with_capacity(dag.nodes.len());
    for (k, node) in dag.nodes.iter().enumerate() {
        let mut bits: Vec<Boolean> = node.template().iter().flat_map(|&b| byte_bits(b)).collect();
        for link in &node.links {
            let child = match link.child {
                Block::Leaf(i) => &leaf_digests[i],
                Block::Node(i) => &node_digests[i],
            };
            bits[8 * link.digest_offset..8 * (link.digest_offset + 32)].clone_from_slice(child);
        }
        node_digests.push(sha256(cs.namespace(|| format!("node{k}")), &bits)?);
    }
    Ok(node_digests.pop().expect("the root is the last node"))
}

/// The digest of a leaf of `len` bytes whose blocks hashed to `state`: one compression of the
/// constant padding block.
fn leaf_digest<CS: ConstraintSystem<Fr>>(
    mut cs: CS,
    state: &StateHalves,
    len: u64,
) -> Result<Vec<Boolean>, SynthesisError> {
    let mut st = unpack_half(cs.namespace(|| "hi"), &state[0])?;
    st.extend(unpack_half(cs.namespace(|| "lo"), &state[1])?);
    let block: Vec<Boolean> = final_block(len)
        .iter()
        .flat_map(|&b| byte_bits(b))
        .collect();
    let words = sha256_compression_function(cs.namespace(|| "finish"), &block, &st)?;
    Ok(words.into_iter().flat_map(|w| w.into_bits_be()).collect())
}

/// The bits of a constant byte, most significant first.
fn byte_bits(b: u8) -> impl Iterator<Item = Boolean> {
    (0..8).map(move |j| Boolean::constant((b >> (7 - j)) & 1 == 1))
}

/// Allocates a SHA-256 state's packed halves as witnesses (range-checked where they are
/// unpacked).
pub(crate) fn alloc_state<CS: ConstraintSystem<Fr>>(
    mut cs: CS,
    state: Option<&[u32; 8]>,
) -> Result<StateHalves, SynthesisError> {
    let halves = state.map(crate::accuracy::pack_state::<Fr>);
    let hi = AllocatedNum::alloc(cs.namespace(|| "hi"), || {
        halves
            .map(|h| h[0])
            .ok_or(SynthesisError::AssignmentMissing)
    })?;
    let lo = AllocatedNum::alloc(cs.namespace(|| "lo"), || {
        halves
            .map(|h| h[1])
            .ok_or(SynthesisError::AssignmentMissing)
    })?;
    Ok([hi, lo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::leaves::hash_run;
    use crate::data::cid::MAX_LINKS;
    use crate::data::dataset::Dataset;
    use ff::Field;
    use nova_snark::frontend::test_cs::TestConstraintSystem;

    /// A dataset of `count` records of 64 bytes (63 features and a label).
    fn dataset(count: usize) -> Dataset {
        let x: Vec<u8> = (0..count * 63)
            .map(|k| (k * 31 + k / 63 * 7) as u8)
            .collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 3) as u8).collect();
        Dataset::pack(&x, &labels, &[63], 3, 8).expect("dataset")
    }

    /// The circuit's digest of `data` named with `chunk`-byte leaves, from the states the folds
    /// leave (the leaf states tampered with by `tamper`), and the constraint system.
    fn circuit_digest(
        data: &Dataset,
        chunking: Chunking,
        tamper: impl Fn(&mut Vec<[u32; 8]>),
    ) -> ([u8; 32], TestConstraintSystem<Fr>) {
        let run = hash_run(data, chunking.chunk_size, 0..data.len());
        let mut finished = run.leaves.clone();
        tamper(&mut finished);
        let mut cs = TestConstraintSystem::<Fr>::new();
        let states: Vec<StateHalves> = finished
            .iter()
            .enumerate()
            .map(|(j, st)| alloc_state(cs.namespace(|| format!("s{j}")), Some(st)).unwrap())
            .collect();
        let last = alloc_state(cs.namespace(|| "last"), Some(&run.end)).unwrap();
        let bits = file_digest(
            cs.namespace(|| "digest"),
            data.header(),
            chunking,
            &states,
            &last,
        )
        .unwrap();
        let mut d = [0u8; 32];
        for (i, b) in bits.iter().enumerate() {
            if b.get_value().unwrap() {
                d[i / 8] |= 1 << (7 - i % 8);
            }
        }
        (d, cs)
    }

    fn ipfs(chunk_size: usize) -> Chunking {
        Chunking {
            chunk_size,
            max_links: MAX_LINKS,
        }
    }

    fn cid_digest(data: &Dataset, chunking: Chunking) -> [u8; 32] {
        FileDag::from_reader(data.as_bytes(), chunking)
            .unwrap()
            .cid()
            .digest
    }

    #[test]
    fn the_circuit_names_the_file_as_ipfs_does() {
        // one leaf (raw), three leaves under one node
        for (count, chunk) in [(5, 1024), (11, 256)] {
            let data = dataset(count);
            let (d, cs) = circuit_digest(&data, ipfs(chunk), |_| {});
            assert!(cs.is_satisfied());
            assert_eq!(
                d,
                cid_digest(&data, ipfs(chunk)),
                "{count} records, {chunk}-byte leaves"
            );
        }
    }

    #[test]
    fn a_tree_of_two_levels_is_named_as_ipfs_does() {
        // 7 leaves of 64 bytes, 3 links a node: a level of three nodes (3 + 3 + 1 links)
        // under the root, as IPFS would link 523 leaves with its 174
        let data = dataset(6);
        let chunking = Chunking {
            chunk_size: 64,
            max_links: 3,
        };
        assert_eq!(chunking.leaf_count(data.header().file_len()), 7);
        let (d, cs) = circuit_digest(&data, chunking, |_| {});
        assert!(cs.is_satisfied());
        assert_eq!(d, cid_digest(&data, chunking));
        assert_eq!(
            FileDag::from_reader(data.as_bytes(), chunking)
                .unwrap()
                .depth(),
            2
        );
    }

    #[test]
    fn another_leaf_state_names_another_file() {
        let data = dataset(11);
        let (d, _) = circuit_digest(&data, ipfs(256), |f| f[1][3] ^= 1);
        assert_ne!(d, cid_digest(&data, ipfs(256)));
    }

    #[test]
    fn the_leaf_count_is_the_files() {
        let data = dataset(11);
        let run = hash_run(&data, 256, 0..data.len());
        let mut cs = TestConstraintSystem::<Fr>::new();
        let last = alloc_state(cs.namespace(|| "last"), Some(&run.end)).unwrap();
        let e =
            file_digest(cs.namespace(|| "d"), data.header(), ipfs(256), &[], &last).unwrap_err();
        assert!(e.to_string().contains("has 3 leaves"), "{e}");
    }

    #[test]
    fn the_chain_is_the_folds() {
        let data = dataset(11);
        let run = hash_run(&data, 256, 0..data.len());
        let mut cs = TestConstraintSystem::<Fr>::new();
        let zero = AllocatedNum::alloc(cs.namespace(|| "zero"), || Ok(Fr::ZERO)).unwrap();
        let states: Vec<StateHalves> = run
            .leaves
            .iter()
            .enumerate()
            .map(|(j, st)| alloc_state(cs.namespace(|| format!("s{j}")), Some(st)).unwrap())
            .collect();
        let c = leaf_chain(cs.namespace(|| "chain"), &zero, &states).unwrap();
        assert_eq!(
            c.get_value().unwrap(),
            crate::accuracy::leaves::leaf_chain(Fr::ZERO, &run.leaves)
        );
    }
}
