//! Sharded accuracy proofs through the Ray driver (`ray/`, docs/RAY.md) on a Ray cluster of two
//! nodes: a two-leaf dataset (> 256 KiB) proven in 3 shards with a private model, one shard
//! failing once and retried, combined, verified against the file's CID; a combined proof with a
//! shard removed, repeated, reordered, swapped or altered is refused, naming the shard. The
//! shards prove with HyperKZG over a random tau drawn into the shared parameter directory (the
//! IPA path of shards and `combine` is `accuracy_shards.rs`'s).
//!
//! The cluster is the one at `$KERAFOLD_RAY_ADDRESS` (`.ci/run` starts it with
//! `ray/cluster.sh start`); without it the test installs `ray/.venv` and starts (and at the end
//! stops) its own, so a plain `cargo test --release` works on a fresh machine.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use common::{datasets, fixture_file, scratch_dir, write_npy};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn kerafold(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .expect("run kerafold")
}

/// The steps' wall times, printed as they go and at the end.
struct Timings(Vec<(String, f64)>);

impl Timings {
    fn step<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        let secs = t.elapsed().as_secs_f64();
        println!("[{secs:7.1}s] {name}");
        self.0.push((name.to_string(), secs));
        out
    }
}

impl Drop for Timings {
    fn drop(&mut self) {
        println!("step timings:");
        for (name, secs) in &self.0 {
            println!("  {secs:7.1}s  {name}");
        }
    }
}

/// The cluster the test runs on; stops it when the test started it (also when the test fails).
struct Cluster {
    address: String,
    /// `KERAFOLD_RAY_DIR` of a cluster this test started.
    own: Option<PathBuf>,
}

impl Cluster {
    fn get() -> Cluster {
        if let Ok(address) = std::env::var("KERAFOLD_RAY_ADDRESS") {
            if !address.trim().is_empty() {
                return Cluster {
                    address: address.trim().to_string(),
                    own: None,
                };
            }
        }
        let o = Command::new(repo().join("ray/install.sh"))
            .output()
            .unwrap();
        common::succeeded(&o, "ray/install.sh");
        // Short: Ray's Unix sockets live under it.
        let dir = std::env::temp_dir().join(format!("kf-ray-test-{}", std::process::id()));
        let o = Command::new(repo().join("ray/cluster.sh"))
            .arg("start")
            .env("KERAFOLD_RAY_DIR", &dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let mut cluster = Cluster {
            address: String::new(),
            own: Some(dir),
        };
        cluster.address = common::succeeded(&o, "ray/cluster.sh start")
            .trim()
            .to_string();
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(dir) = &self.own {
            let _ = Command::new(repo().join("ray/cluster.sh"))
                .arg("stop")
                .env("KERAFOLD_RAY_DIR", dir)
                .status();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

const SAMPLES: usize = datasets::RAY_SAMPLES;
const SHARDS: usize = 3;

#[test]
fn sharded_accuracy_on_a_two_node_ray_cluster() {
    let mut t = Timings(vec![]);
    let dir = scratch_dir("ray-shards");
    let params = dir.join("params");
    let python = repo().join("ray/.venv/bin/python");

    let cluster = t.step(
        "the Ray cluster (install, start unless given)",
        Cluster::get,
    );
    println!("cluster: {}", cluster.address);

    t.step("the driver's unit tests", || {
        let o = Command::new(&python)
            .args(["-m", "unittest", "discover", "-s"])
            .arg(repo().join("ray/tests"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ray/tests: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    });

    // 520 samples (266,752 bytes) of the pooled_dense fixture's 10×10×3 input: 512-byte records,
    // two IPFS leaves; packed from .npy as a host would, named by ipfs-unixfs-importer's CID.
    let data = dir.join("test.kfd");
    t.step("pack the dataset", || {
        let x = dir.join("x.npy");
        let y = dir.join("y.npy");
        let arrays = datasets::ray_features_and_labels();
        let mut shape = vec![SAMPLES];
        shape.extend(&arrays.shape);
        write_npy(&x, "|u1", &shape, &arrays.features);
        write_npy(&y, "|u1", &[SAMPLES], &arrays.labels);
        let o = kerafold(&[
            "dataset",
            "pack",
            "--features",
            s(&x),
            "--labels",
            s(&y),
            "--classes",
            &arrays.classes.to_string(),
            "--scale-shift",
            &arrays.scale_shift.to_string(),
            "-o",
            s(&data),
        ]);
        common::succeeded(&o, "dataset pack");
    });
    let size = std::fs::metadata(&data).unwrap().len();
    assert!(size > 256 * 1024, "{size} bytes: not more than one leaf");
    let cid = common::succeeded(&kerafold(&["cid", s(&data)]), "cid")
        .trim()
        .to_string();
    assert_eq!(cid, datasets::vector("ray_520").cid, "the importer's CID");
    println!("dataset: {size} bytes, {SAMPLES} samples, cid {cid}");

    // Clear errors before any proving: no binary, no cluster.
    t.step("the driver's errors", || {
        let o = Command::new(&python)
            .args(["-m", "kerafold_ray", "prove", "--model"])
            .arg(fixture_file("pooled_dense.keras"))
            .args(["--data", s(&data), "--shards", "3", "--out"])
            .arg(dir.join("never"))
            .args(["--kerafold", "/nonexistent/kerafold"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("/nonexistent/kerafold"), "{err}");
        let o = Command::new(&python)
            .args(["-m", "kerafold_ray", "prove", "--model"])
            .arg(fixture_file("pooled_dense.keras"))
            .args(["--data", s(&data), "--shards", "3", "--out"])
            .arg(dir.join("never"))
            .args(["--kerafold", env!("CARGO_BIN_EXE_kerafold")])
            .args(["--address", "127.0.0.1:9"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("ray/cluster.sh start"), "{err}");
    });

    // The driver: a private model committed once, 3 shards, shard 2 failing its first attempt.
    let out = dir.join("run");
    let summary: Value = t.step("prove in 3 shards through Ray, combine", || {
        let o = Command::new(&python)
            .args(["-m", "kerafold_ray", "prove", "--model"])
            .arg(fixture_file("pooled_dense.keras"))
            .args(["--data", s(&data), "--shards", &SHARDS.to_string()])
            .args(["--out", s(&out), "--params-dir", s(&params)])
            .args(["--kerafold", env!("CARGO_BIN_EXE_kerafold")])
            .args(["--address", &cluster.address])
            .args(["--model-visibility", "private", "--inject-failure", "2"])
            // HyperKZG over a random tau drawn into the shared parameter directory: compression
            // (a third of a shard's time on IPA) and verification several times faster
            .arg("--insecure-random-tau")
            // One CPU per shard in Ray's accounting, two prover threads: the third shard, alone
            // in its round, uses both cores.
            .args(["--threads-per-shard", "2"])
            .args(["--verify", "--json"])
            .stderr(Stdio::inherit()) // progress, live
            .output()
            .unwrap();
        serde_json::from_str(&common::succeeded(&o, "kerafold_ray prove")).unwrap()
    });
    println!("{}", serde_json::to_string_pretty(&summary).unwrap());
    let shards = summary["shards"].as_array().unwrap();
    assert_eq!(shards.len(), SHARDS);
    let mut next = 0;
    for (i, sh) in shards.iter().enumerate() {
        assert_eq!(sh["shard"], i + 1);
        assert_eq!(sh["first"], next, "shard {} starts where {} ends", i + 1, i);
        next += sh["samples"].as_u64().unwrap();
        assert_eq!(
            sh["attempts"],
            if i == 1 { 2 } else { 1 },
            "shard {}",
            i + 1
        );
    }
    assert_eq!(next, SAMPLES as u64);
    assert_eq!(summary["samples"], SAMPLES);
    let nodes: std::collections::BTreeSet<&str> =
        shards.iter().map(|s| s["node"].as_str().unwrap()).collect();
    println!("shards ran on {} node(s): {nodes:?}", nodes.len());
    assert_eq!(summary["estimate"]["workers"].as_array().unwrap().len(), 3);
    let correct = summary["correct"].as_u64().unwrap();
    let combined = out.join("accuracy.json");
    assert_eq!(summary["proof"], s(&combined));

    let verify = |file: &Path, min: u64| {
        kerafold(&[
            "verify",
            s(file),
            "--cid",
            &cid,
            "--min-correct",
            &min.to_string(),
            "--params-dir",
            s(&params),
            "--ptau",
            s(&params.join(kerafold::fold::params::RANDOM_TAU_DIR)),
        ])
    };
    // The driver verified the combined proof against the CID it computed from the file (`kerafold
    // verify --cid`); here, the CID is the test's own, and a threshold above the count fails.
    assert_eq!(summary["cid"], cid.as_str());
    assert_eq!(summary["verify"]["valid"], true, "{}", summary["verify"]);
    assert_eq!(summary["verify"]["cid_checked"], true);
    assert_eq!(summary["verify"]["claim"]["cid"], cid.as_str());
    assert_eq!(summary["verify"]["claim"]["samples"], SAMPLES);
    assert_eq!(summary["verify"]["claim"]["correct"], correct);
    t.step("verify with a threshold above the count", || {
        let o = verify(&combined, correct + 1);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "above the proven count: {err}");
        assert!(err.contains("below the threshold"), "{err}");
    });

    // Tampered combined proofs: each refused (exit 1), the reason naming the shard.
    let proof: Value = serde_json::from_slice(&std::fs::read(&combined).unwrap()).unwrap();
    assert_eq!(proof["shards"].as_array().unwrap().len(), SHARDS);
    let tamper = |what: &str, f: &dyn Fn(&mut Vec<Value>)| {
        let mut p = proof.clone();
        f(p["shards"].as_array_mut().unwrap());
        let file = dir.join(format!("tampered-{}.json", what.replace(' ', "-")));
        std::fs::write(&file, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
        let o = verify(&file, 0);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(1), "{what}: {text}");
        assert!(text.to_lowercase().contains("shard"), "{what}: {text}");
        println!("{what}: refused: {}", text.trim());
    };
    t.step("tampered combined proofs refused", || {
        tamper("shard 2 removed", &|v| {
            v.remove(1);
        });
        tamper("shard 1 repeated", &|v| v[1] = v[0].clone());
        tamper("shards 1 and 2 reordered", &|v| v.swap(0, 1));
        tamper("shard 2 and 3 proofs swapped", &|v| {
            let a = v[1]["snark"].clone();
            v[1]["snark"] = v[2]["snark"].clone();
            v[2]["snark"] = a;
        });
        tamper("shard 2 count raised", &|v| {
            let c = v[1]["claim"]["correct"].as_u64().unwrap();
            v[1]["claim"]["correct"] = (c + 1).into();
        });
    });
    drop(cluster);
}
