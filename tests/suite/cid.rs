//! IPFS CIDs against a real IPFS implementation: `tests/vectors/cid/vectors.json` was written by
//! ipfs-unixfs-importer (`tests/vectors/cid/make_vectors.mjs`); the files are regenerated here
//! from the same deterministic byte stream, so no large file is committed.

use crate::common;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::{datasets, fixture_file};
use kerafold::data::cid::{self, Block, Chunking, Cid, FileDag};
use kerafold::data::sha256;
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    lcg: Vec<Vector>,
    files: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    #[serde(default)]
    file: Option<String>,
    size: u64,
    chunk_size: usize,
    max_links: usize,
    cid: String,
    leaves: usize,
    nodes: usize,
    depth: usize,
    #[serde(default)]
    root_block: Option<String>,
}

fn vectors() -> Vectors {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/cid/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The byte stream of make_vectors.mjs: state_0 = 1, state_{i+1} = 1664525·state_i +
/// 1013904223 mod 2^32, byte_i = state_{i+1} >> 24; `len` bytes of it.
struct Lcg {
    state: u32,
    left: u64,
}

impl Lcg {
    fn new(len: u64) -> Self {
        Lcg {
            state: 1,
            left: len,
        }
    }
}

impl Read for Lcg {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        for b in &mut buf[..n] {
            self.state = self.state.wrapping_mul(1664525).wrapping_add(1013904223);
            *b = (self.state >> 24) as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn lcg_bytes(len: u64) -> Vec<u8> {
    let mut v = Vec::new();
    Lcg::new(len).read_to_end(&mut v).unwrap();
    v
}

/// Checks `dag` against the vector, and that every node can be rebuilt from its template and
/// its children's digests (what the circuit will do).
fn check(dag: &FileDag, v: &Vector, what: &str) {
    assert_eq!(dag.cid().to_string(), v.cid, "{what}: CID");
    assert_eq!(dag.size, v.size, "{what}: size");
    assert_eq!(dag.leaves.len(), v.leaves, "{what}: leaves");
    assert_eq!(dag.nodes.len(), v.nodes, "{what}: nodes");
    assert_eq!(dag.depth(), v.depth, "{what}: depth");
    match (&v.root_block, dag.root) {
        (Some(hex), Block::Node(i)) => {
            assert_eq!(
                hex::encode(&dag.nodes[i].bytes),
                *hex,
                "{what}: root block bytes"
            )
        }
        (None, Block::Leaf(0)) => {}
        _ => panic!("{what}: root kind"),
    }
    let mut offset = 0;
    for (k, l) in dag.leaves.iter().enumerate() {
        assert_eq!(l.offset, offset, "{what}: leaf {k} offset");
        let last = k + 1 == dag.leaves.len();
        assert!(
            l.len == v.chunk_size as u64 || (last && l.len <= v.chunk_size as u64),
            "{what}: leaf {k} length"
        );
        offset += l.len;
    }
    assert_eq!(offset, v.size);
    for (i, n) in dag.nodes.iter().enumerate() {
        let mut bytes = n.template();
        for l in &n.links {
            let d = match l.child {
                Block::Leaf(j) => dag.leaves[j].digest,
                Block::Node(j) => {
                    assert!(j < i, "{what}: children before parents");
                    dag.nodes[j].digest
                }
            };
            bytes[l.digest_offset..l.digest_offset + 32].copy_from_slice(&d);
        }
        assert_eq!(bytes, n.bytes, "{what}: node {i} rebuilt");
        assert_eq!(
            sha256::digest_blockwise(&bytes),
            n.digest,
            "{what}: node {i}"
        );
    }
}

#[test]
fn cids_match_ipfs_unixfs_importer() {
    let v = vectors();
    println!(
        "{:>9} {:>7} {:>5} {:>6} {:<62}",
        "size", "chunk", "links", "leaves", "cid"
    );
    for vec in &v.lcg {
        let chunking = Chunking {
            chunk_size: vec.chunk_size,
            max_links: vec.max_links,
        };
        let dag = FileDag::from_reader(Lcg::new(vec.size), chunking).unwrap();
        check(&dag, vec, &format!("lcg {} bytes / {chunking:?}", vec.size));
        // a verifier holding only the leaf digests and the size rebuilds the same DAG; one leaf
        // too many or too few is refused, a changed digest changes the root
        let mut digests: Vec<[u8; 32]> = dag.leaves.iter().map(|l| l.digest).collect();
        let rebuilt = FileDag::from_leaf_digests(&digests, dag.size, chunking).unwrap();
        assert_eq!(
            rebuilt, dag,
            "lcg {} bytes: rebuilt from the digests",
            vec.size
        );
        let mut more = digests.clone();
        more.push([0; 32]);
        assert!(FileDag::from_leaf_digests(&more, dag.size, chunking).is_err());
        assert!(FileDag::from_leaf_digests(&digests[1..], dag.size, chunking).is_err());
        digests[0][0] ^= 1;
        let changed = FileDag::from_leaf_digests(&digests, dag.size, chunking).unwrap();
        assert_ne!(changed.cid(), dag.cid());
        if chunking == Chunking::default() && vec.size <= 3_000_000 {
            assert_eq!(cid::cid_of_bytes(&lcg_bytes(vec.size)).to_string(), vec.cid);
        }
        println!(
            "{:>9} {:>7} {:>5} {:>6} {:<62}",
            vec.size, vec.chunk_size, vec.max_links, vec.leaves, vec.cid
        );
    }
    // The sizes named by the issue are all there, with IPFS' default chunking.
    for size in [0u64, 1, 797, 262_144, 262_145] {
        assert!(
            v.lcg
                .iter()
                .any(|x| x.size == size && x.chunk_size == cid::CHUNK_SIZE && x.max_links == 174),
            "vector for {size} bytes"
        );
    }
    assert!(v.lcg.iter().any(|x| x.size >= 3_000_000 && x.leaves > 1));
    assert!(v.lcg.iter().any(|x| x.leaves > cid::MAX_LINKS));
}

#[test]
fn committed_dataset_cids() {
    let v = vectors();
    assert!(!v.files.is_empty());
    for vec in &v.files {
        let name = vec.file.as_deref().unwrap();
        let path = fixture_file(name);
        let dag = FileDag::of_file(&path).unwrap();
        check(&dag, vec, name);
        // The CLI prints the same.
        let out = Command::new(env!("CARGO_BIN_EXE_kerafold"))
            .arg("cid")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), vec.cid);
        let cid: Cid = vec.cid.parse().unwrap();
        assert_eq!(cid, dag.cid());
        assert_eq!(cid.to_bytes()[..4], [0x01, 0x55, 0x12, 0x20]);
    }
}

#[test]
fn cli_cid_json_and_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(["cid", "--json"])
        .arg(fixture_file("digits_test.kfd"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["leaves"], 1);
    assert_eq!(j["size"], 8320);
    assert!(j["cid"].as_str().unwrap().starts_with("bafkrei"));
    let out = Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(["cid", "/nonexistent/file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file"));
}

/// The multi-leaf dataset files that accuracy proofs are tested on (`common::datasets`): the
/// importer's CIDs at their chunk sizes, which the proving tests then check their proven CIDs
/// against. With `KERAFOLD_VECTOR_DATASETS=DIR` the files are also written to DIR, for
/// `make_vectors.mjs --datasets DIR`.
#[test]
fn dataset_cids_match_ipfs_unixfs_importer() {
    const NAMES: [&str; 3] = ["shards_16", "deep_174", "ray_520"];
    if let Some(dir) = std::env::var_os("KERAFOLD_VECTOR_DATASETS") {
        for name in NAMES {
            let path = Path::new(&dir).join(format!("{name}.kfd"));
            datasets::dataset(name).write(&path).unwrap();
        }
    }
    let all = datasets::vectors();
    for name in NAMES {
        let data = datasets::dataset(name);
        let dv = all
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no vector for dataset {name}"));
        assert!(dv.leaves > 1, "{name}: a multi-leaf file");
        let chunking = Chunking {
            chunk_size: dv.chunk_size,
            max_links: dv.max_links,
        };
        let dag = FileDag::from_reader(data.as_bytes(), chunking).unwrap();
        assert_eq!(dag.cid().to_string(), dv.cid, "{name}: CID");
        assert_eq!(dag.size, dv.size, "{name}: size");
        assert_eq!(dag.leaves.len(), dv.leaves, "{name}: leaves");
        assert_eq!(dag.nodes.len(), dv.nodes, "{name}: nodes");
        assert_eq!(dag.depth(), dv.depth, "{name}: depth");
        println!(
            "{name}: {} bytes in {} leaves of {} (depth {}): {}",
            dv.size, dv.leaves, dv.chunk_size, dv.depth, dv.cid
        );
    }
    assert!(all.iter().any(|v| v.depth >= 2), "a two-level DAG");
}
