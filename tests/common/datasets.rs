//! The multi-leaf dataset files the accuracy proofs are tested on, made the same way every time,
//! and the CIDs a real IPFS implementation gives them (`datasets` in
//! `tests/vectors/cid/vectors.json`, written by ipfs-unixfs-importer through
//! `tests/vectors/cid/make_vectors.mjs`). A test that proves accuracy over one of these files
//! checks its proven CID against the importer's, not against kerafold's own `cid`.

use std::path::Path;

use kerafold::data::Dataset;
use serde::Deserialize;

/// One dataset file as the importer named it.
#[derive(Clone, Debug, Deserialize)]
pub struct DatasetVector {
    pub name: String,
    pub size: u64,
    pub chunk_size: usize,
    pub max_links: usize,
    pub cid: String,
    pub leaves: usize,
    pub nodes: usize,
    pub depth: usize,
}

/// Bytes below `below` from a xorshift stream seeded with `seed`.
pub fn xorshift_bytes(n: usize, seed: u64, below: u8) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % u64::from(below)) as u8
        })
        .collect()
}

/// Samples of the Ray test: the depthwise fixture's 10×10×3 input, 512-byte records.
pub const RAY_SAMPLES: usize = 520;

/// The datasets, by name: `shards_16` (16 samples for the mlp fixture: 64-byte records, five
/// 256-byte leaves), `shards_4` (its first 4 samples), `deep_174` (174 such samples in 64-byte leaves: 175 leaves, more than one
/// node holds, so a two-level DAG) and `ray_520` ([`RAY_SAMPLES`] samples for the depthwise
/// fixture, 266,240 bytes: two leaves of IPFS' default 256 KiB).
pub fn dataset(name: &str) -> Dataset {
    match name {
        "shards_16" => shards(16),
        "shards_4" => shards(4),
        "deep_174" => {
            let x = xorshift_bytes(174 * 16, 3, 255);
            let labels = xorshift_bytes(174, 5, 10);
            Dataset::pack(&x, &labels, &[16], 10, 8).unwrap()
        }
        "ray_520" => ray_features_and_labels().pack(),
        _ => panic!("no dataset named {name}"),
    }
}

/// The first `n` samples of `shards_16`.
fn shards(n: usize) -> Dataset {
    let x: Vec<u8> = (0..n * 16).map(|k| (k * 37 % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i * 7 % 10) as u8).collect();
    Dataset::pack(&x, &labels, &[16], 10, 8).unwrap()
}

/// The Ray test's features and labels (it packs them through the CLI from `.npy`).
pub struct Arrays {
    pub features: Vec<u8>,
    pub shape: Vec<usize>,
    pub labels: Vec<u8>,
    pub classes: usize,
    pub scale_shift: u8,
}

impl Arrays {
    pub fn pack(&self) -> Dataset {
        Dataset::pack(
            &self.features,
            &self.labels,
            &self.shape,
            self.classes,
            self.scale_shift,
        )
        .unwrap()
    }
}

pub fn ray_features_and_labels() -> Arrays {
    Arrays {
        features: xorshift_bytes(RAY_SAMPLES * 300, 7, 64),
        shape: vec![10, 10, 3],
        labels: xorshift_bytes(RAY_SAMPLES, 11, 10),
        classes: 10,
        scale_shift: 6,
    }
}

/// The importer's vector for dataset `name`.
pub fn vector(name: &str) -> DatasetVector {
    vectors()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("tests/vectors/cid/vectors.json has no dataset {name}"))
}

/// Every dataset vector.
pub fn vectors() -> Vec<DatasetVector> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        datasets: Vec<DatasetVector>,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/cid/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<File>(&text).unwrap().datasets
}
