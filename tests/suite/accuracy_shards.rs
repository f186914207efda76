//! Accuracy proofs of a dataset spanning several IPFS leaves, proven in shards and combined
//! (docs/DESIGN.md §6.3): the CLI flow, and every way of tampering with the combined proof —
//! removing, repeating, reordering or swapping a shard, a shard of another model, a shard over
//! other records than it declares, a forged leaf — fails with an error naming the shard; then
//! the bounty claim (Groth16) over the shards, whose circuit rebuilds the dag-pb CID from the
//! leaves, verifies, and the host's check refuses it with a shard removed or swapped, or with
//! another (whole) proof of the same file.
//! The accuracy proofs are HyperKZG over an insecure random tau, which the bounties' setups name
//! (`claim-setup --accuracy-ptau`); `bounty_cli` runs a bounty on transparent IPA proofs.
//! Release mode. The model is the small `mlp` fixture (16 features: 64-byte records) and the
//! leaves are 256 bytes (`--chunk-size`, as `ipfs add --chunker size-256`), so 16 samples span
//! five leaves; the Ray test (`tests/suite/ray_shards.rs`) proves a file over IPFS' default 256 KiB
//! leaves.

use crate::common;
use kerafold::fold::params::RANDOM_TAU_DIR;
use kerafold::fold::Srs;

use common::{datasets, scratch_dir, Format};
use kerafold::accuracy::{prove_shard, AccuracyProof, CombinedProof, FoldUnit, ShardSpec};
use kerafold::claim::weights::ModelOpening;
use kerafold::data::cid::{Chunking, FileDag, MAX_LINKS};
use kerafold::data::Dataset;
use kerafold::fold::Tiling;
use std::path::Path;
use std::process::{Command, Output};

const CHUNK: usize = 256;

fn kerafold(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `kerafold verify` of `combined` exits 1 and names `shard` (and `what`).
fn refused(
    combined: &CombinedProof,
    dir: &Path,
    params: &Path,
    cid: &str,
    name: &str,
    what: &[&str],
) {
    let path = dir.join(format!("{name}.json"));
    combined.write(&path).unwrap();
    let o = kerafold(&[
        "verify",
        s(&path),
        "--cid",
        cid,
        "--params-dir",
        s(params),
        "--ptau",
        s(&params.join(RANDOM_TAU_DIR)),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    for w in what {
        assert!(err.contains(w), "{name}: '{w}' not in: {err}");
    }
    println!("{name}: refused: {}", err.trim());
}

#[test]
fn sharded_proofs_of_a_multi_leaf_file_combine_and_every_tampering_names_the_shard() {
    let params = scratch_dir("shards-params");
    let dir = scratch_dir("shards");
    let model = common::model_path("mlp", Format::Keras);
    // 16 samples in 64-byte records, named by the CID ipfs-unixfs-importer gives them in
    // 256-byte leaves (tests/vectors/cid): the proven CID is checked against a real importer's
    let data = datasets::dataset("shards_16");
    let data_path = dir.join("data.kfd");
    data.write(&data_path).unwrap();
    assert_eq!(data.header().record_size(), 64);
    let named = datasets::vector("shards_16");
    assert_eq!((named.chunk_size, named.leaves), (CHUNK, 5));
    let cid = named.cid;
    let chunk = CHUNK.to_string();

    // one commitment for every shard of the private model
    let opening = dir.join("opening.json");
    ok(&kerafold(&[
        "commit",
        s(&model),
        "--data",
        s(&data_path),
        "--opening",
        s(&opening),
    ]));
    // without it, a private model's shard is refused with the way out
    let o = kerafold(&[
        "prove-accuracy",
        s(&model),
        "--data",
        s(&data_path),
        "--shard",
        "1/3",
        "-o",
        s(&dir.join("x.json")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--opening"));

    let mut shard_files = vec![];
    let mut correct = 0;
    for i in 1..=3 {
        let out = dir.join(format!("shard-{i}.json"));
        let o = kerafold(&[
            "prove-accuracy",
            s(&opening),
            "--data",
            s(&data_path),
            "--shard",
            &format!("{i}/3"),
            "--chunk-size",
            &chunk,
            "-o",
            s(&out),
            "--params-dir",
            s(&params),
            // HyperKZG over a random tau: the bounty below names it (claim-setup
            // --accuracy-ptau); its verifiers derive the shards' key from it
            "--insecure-random-tau",
            "--progress-json",
            "--json",
        ]);
        let v = ok(&o);
        // progress lines for drivers, with a time-left estimate once a fold is measured
        let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert!(events
            .iter()
            .any(|e| e["phase"] == "fold" && e["eta_s"].is_f64()));
        assert_eq!(v["shard"], format!("{i}/3"));
        println!(
            "shard {i}/3: samples {}..+{}, {} right, folding {:.1}s, compression {:.1}s",
            v["first"], v["samples"], v["correct"], v["fold_s"], v["compress_s"]
        );
        correct += v["correct"].as_u64().unwrap();
        shard_files.push(out);
    }
    let ptau = params.join(RANDOM_TAU_DIR);
    // a lone shard verifies as a shard; its CID and threshold need every shard
    let o = kerafold(&[
        "verify",
        s(&shard_files[1]),
        "--params-dir",
        s(&params),
        "--ptau",
        s(&ptau),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid shard proof"));
    let o = kerafold(&[
        "verify",
        s(&shard_files[1]),
        "--cid",
        &cid,
        "--params-dir",
        s(&params),
        "--ptau",
        s(&ptau),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kerafold combine"));

    // combined in any order; the combined proof verifies against the CID and the count
    let combined_path = dir.join("combined.json");
    let v = ok(&kerafold(&[
        "combine",
        s(&shard_files[2]),
        s(&shard_files[0]),
        s(&shard_files[1]),
        "-o",
        s(&combined_path),
        "--json",
    ]));
    assert_eq!(v["shards"], 3);
    assert_eq!(v["claim"]["correct"].as_u64(), Some(correct));
    assert_eq!(
        v["claim"]["leaves"].as_array().unwrap().len(),
        4,
        "5 leaves"
    );
    let v = ok(&kerafold(&[
        "verify",
        s(&combined_path),
        "--cid",
        &cid,
        "--min-correct",
        &correct.to_string(),
        "--params-dir",
        s(&params),
        "--ptau",
        s(&ptau),
        "--json",
    ]));
    assert_eq!(v["valid"], true);
    assert_eq!(v["whole"], true);
    assert_eq!(v["shards"], 3);
    // the file's CID with IPFS' default leaves is another file name: refused
    let raw = kerafold::data::cid::cid_of_bytes(data.as_bytes()).to_string();
    let o = kerafold(&[
        "verify",
        s(&combined_path),
        "--cid",
        &raw,
        "--params-dir",
        s(&params),
        "--ptau",
        s(&ptau),
    ]);
    assert_eq!(o.status.code(), Some(1));

    let combined = CombinedProof::read(&combined_path).unwrap();
    let shards = combined.shards.clone();
    let with = |list: Vec<AccuracyProof>| CombinedProof {
        shards: list,
        ..combined.clone()
    };
    refused(
        &with(vec![shards[0].clone(), shards[2].clone()]),
        &dir,
        &params,
        &cid,
        "removed",
        &["shard 2 of 2", "a shard is missing or out of order"],
    );
    refused(
        &with(vec![shards[0].clone(), shards[1].clone()]),
        &dir,
        &params,
        &cid,
        "last removed",
        &["the shards cover samples 0..10 of 16"],
    );
    refused(
        &with(vec![
            shards[0].clone(),
            shards[1].clone(),
            shards[1].clone(),
            shards[2].clone(),
        ]),
        &dir,
        &params,
        &cid,
        "repeated",
        &["shard 3 of 4", "repeated or overlapping"],
    );
    refused(
        &with(vec![
            shards[1].clone(),
            shards[0].clone(),
            shards[2].clone(),
        ]),
        &dir,
        &params,
        &cid,
        "reordered",
        &["shard 1 of 3", "starts at sample 5"],
    );

    // library side: shards a cheating prover could make
    let q = ModelOpening::read(&opening).unwrap();
    let spec = |r: std::ops::Range<usize>| ShardSpec {
        samples: r,
        chunk_size: CHUNK,
    };
    // shard 2 of another model (other blindings: another commitment)
    let other = kerafold::claim::weights::Opening::private(q.model.clone()).unwrap();
    let (foreign, _) = prove_shard(
        &other.model,
        &data,
        &other.blinds,
        &spec(5..10),
        FoldUnit::Sample,
        &Srs::InsecureRandomTau,
        &params,
        &mut |_| {},
    )
    .unwrap();
    refused(
        &with(vec![shards[0].clone(), foreign, shards[2].clone()]),
        &dir,
        &params,
        &cid,
        "other model",
        &["shard 2 of 3", "another model"],
    );
    // samples 6..11 proven, 5..10 declared (with the honest states of 5..10 claimed)
    let (shifted, _) = prove_shard(
        &q.model,
        &data,
        &q.blinds,
        &spec(6..11),
        FoldUnit::Sample,
        &Srs::InsecureRandomTau,
        &params,
        &mut |_| {},
    )
    .unwrap();
    let mut lying = shifted.clone();
    lying.claim.first = 5;
    lying.claim.sha_start = shards[1].claim.sha_start.clone();
    lying.claim.sha_state = shards[1].claim.sha_state.clone();
    lying.claim.leaves = shards[1].claim.leaves.clone();
    lying.claim.leaf_chain_start = shards[1].claim.leaf_chain_start.clone();
    lying.claim.correct = shards[1].claim.correct;
    refused(
        &with(vec![shards[0].clone(), lying, shards[2].clone()]),
        &dir,
        &params,
        &cid,
        "records outside the declared range",
        &["shard 2 of 3"],
    );
    // shard 2 honestly proven, but over a tau of the prover's own (another parameter
    // directory draws another): the verifier's key is derived from its own powers of tau
    let (own_tau, _) = prove_shard(
        &q.model,
        &data,
        &q.blinds,
        &spec(5..10),
        FoldUnit::Sample,
        &Srs::InsecureRandomTau,
        &scratch_dir("shards-params-own-tau"),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        own_tau.claim, shards[1].claim,
        "an honest shard, but for its tau"
    );
    refused(
        &with(vec![shards[0].clone(), own_tau, shards[2].clone()]),
        &dir,
        &params,
        &cid,
        "another tau",
        &["shard 2 of 3"],
    );
    // a listed leaf state that the folds did not reach
    let mut forged = shards[1].clone();
    assert_eq!(forged.claim.leaves.len(), 1);
    forged.claim.leaves[0] = shards[0].claim.sha_start.clone();
    refused(
        &with(vec![shards[0].clone(), forged, shards[2].clone()]),
        &dir,
        &params,
        &cid,
        "forged leaf",
        &["shard 2 of 3"],
    );
    // a combined claim that says more than its shards
    let mut inflated = combined.clone();
    inflated.claim.correct += 1;
    refused(
        &inflated,
        &dir,
        &params,
        &cid,
        "inflated claim",
        &["not what its shards prove"],
    );

    // --- the bounty over the same file: a claim (Groth16) that binds up to 4 shard proofs of a
    //     dataset named with 256-byte leaves (its CID a dag-pb root the circuit rebuilds)
    let p = |f: &str| dir.join(f);
    ok(&kerafold(&["keygen", "-o", s(&p("host.json"))]));
    ok(&kerafold(&["keygen", "-o", s(&p("hunter.json"))]));
    let setup = ok(&kerafold(&[
        "claim-setup",
        s(&model),
        "--data",
        s(&data_path),
        "--max-shards",
        "4",
        "--chunk-size",
        &chunk,
        "--accuracy-ptau",
        s(&ptau),
        "-o",
        s(&p("host")),
    ]));
    assert_eq!(setup["max_shards"], 4);
    assert!(
        setup["accuracy_ptau"]
            .as_str()
            .is_some_and(|id| id.starts_with("ptau-")),
        "{setup}"
    );
    println!(
        "claim circuit over 4 shards and 5 leaves: {} constraints",
        setup["constraints"]
    );
    ok(&kerafold(&[
        "encrypt-weights",
        s(&opening),
        "--host-key",
        s(&p("host.pub.json")),
        "--key",
        s(&p("hunter.json")),
        "-o",
        s(&p("ct.json")),
    ]));
    let threshold = correct.to_string();
    let address = format!("0x{}", "a1".repeat(20));
    let terms = |accuracy: &Path, accuracy_ptau: &Path| -> Vec<String> {
        [
            "--accuracy",
            s(accuracy),
            "--host-key",
            s(&p("host.pub.json")),
            "--setup",
            s(&p("host")),
            "--cid",
            &cid,
            "--threshold",
            &threshold,
            "--address",
            &address,
            "--params-dir",
            s(&params),
            "--accuracy-ptau",
            s(accuracy_ptau),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let run_over = |head: &[&str], accuracy: &Path, accuracy_ptau: &Path| {
        let mut args: Vec<String> = head.iter().map(|a| a.to_string()).collect();
        args.extend(terms(accuracy, accuracy_ptau));
        kerafold(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let run = |head: &[&str], accuracy: &Path| run_over(head, accuracy, &ptau);
    ok(&run(
        &[
            "claim",
            s(&p("ct.json")),
            "--key",
            s(&p("hunter.json")),
            "--trust-host-key",
            "-o",
            s(&p("claim")),
        ],
        &combined_path,
    ));
    let verify_claim = |accuracy: &Path| {
        run(
            &[
                "verify-claim",
                s(&p("claim")),
                "--ciphertext",
                s(&p("ct.json")),
                "--json",
            ],
            accuracy,
        )
    };
    let v = ok(&verify_claim(&combined_path));
    assert_eq!(v["valid"], true);
    assert_eq!(v["cid"], cid.as_str());
    assert_eq!(v["correct"].as_u64(), Some(correct));
    // the verifier's powers of tau must be the ones the setup names: a directory the prover
    // filled (here: the tau file with one byte changed) is refused before any key is derived
    let forged_ptau = p("forged-ptau");
    std::fs::create_dir_all(&forged_ptau).unwrap();
    for e in std::fs::read_dir(&ptau).unwrap() {
        let e = e.unwrap();
        let mut bytes = std::fs::read(e.path()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(forged_ptau.join(e.file_name()), bytes).unwrap();
    }
    let (claim_dir, ciphertext) = (p("claim"), p("ct.json"));
    let verify_head = [
        "verify-claim",
        s(&claim_dir),
        "--ciphertext",
        s(&ciphertext),
    ];
    let o = run_over(&verify_head, &combined_path, &forged_ptau);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("holds accuracy proofs to ptau-"), "{err}");
    // and a verifier that names none is told to
    let mut args: Vec<String> = verify_head.iter().map(|a| a.to_string()).collect();
    args.extend(terms(&combined_path, &ptau));
    args.truncate(args.len() - 2);
    let o = kerafold(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--accuracy-ptau"), "{err}");
    // the host checks every shard: the claim does not verify with a shard removed, or with
    // the shards of another model (their IO is not the one the claim bound)
    for (name, list, words) in [
        (
            "claim-removed",
            vec![shards[0].clone(), shards[2].clone()],
            vec!["shard 2 of 2"],
        ),
        (
            "claim-swapped",
            vec![shards[1].clone(), shards[0].clone(), shards[2].clone()],
            vec!["shard 1 of 3"],
        ),
        // a shard that says it ran the model in tiles proves a commitment to the model in
        // tiles, which the claim does not bind: refused by name, before anything is verified
        (
            "claim-tiled",
            {
                let mut tiled = shards[1].clone();
                tiled.claim.fold = FoldUnit::Layer {
                    tiling: Some(Tiling {
                        rows: 4,
                        outputs: 4,
                        bands: false,
                    }),
                };
                vec![shards[0].clone(), tiled, shards[2].clone()]
            },
            vec!["shard 2 of 3", "in tiles"],
        ),
        // an IPA shard: the bounty holds accuracy proofs to its powers of tau
        (
            "claim-ipa",
            {
                let mut ipa = shards[1].clone();
                ipa.system = "bn254-ipa".into();
                vec![shards[0].clone(), ipa, shards[2].clone()]
            },
            vec![
                "shard 2 of 3",
                "bn254-ipa",
                "takes accuracy proofs on bn254-kzg over the powers of tau ptau-",
            ],
        ),
    ] {
        let path = dir.join(format!("{name}.json"));
        with(list).write(&path).unwrap();
        let o = verify_claim(&path);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        for w in words {
            assert!(err.contains(w), "{name}: '{w}' not in: {err}");
        }
        println!("{name}: refused: {}", err.trim());
    }
    // one whole proof of the same file is another IO: the claim bound the shards'
    let whole = dir.join("whole.json");
    ok(&kerafold(&[
        "prove-accuracy",
        s(&opening),
        "--data",
        s(&data_path),
        "--chunk-size",
        &chunk,
        "-o",
        s(&whole),
        "--params-dir",
        s(&params),
        "--insecure-random-tau",
    ]));
    let o = verify_claim(&whole);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not verify under the bounty's key"),
        "{err}"
    );
}

/// A file whose DAG has two levels of dag-pb nodes (175 leaves, one more than a node links): the
/// folds' leaf digests rebuild both levels to the CID ipfs-unixfs-importer gives the file, and
/// the proof verifies against that CID and no other.
#[test]
fn a_two_level_dag_is_proven_to_the_importers_cid() {
    let dir = scratch_dir("two-level");
    let named = datasets::vector("deep_174");
    assert_eq!((named.leaves, named.depth), (175, 2));
    let data_path = dir.join("deep.kfd");
    datasets::dataset("deep_174").write(&data_path).unwrap();
    let proof = dir.join("deep.json");
    let model = common::model_path("mlp", Format::Keras);
    let v = ok(&kerafold(&[
        "prove-accuracy",
        s(&model),
        "--data",
        s(&data_path),
        "--model-visibility",
        "public",
        "--chunk-size",
        &named.chunk_size.to_string(),
        "-o",
        s(&proof),
        "--params-dir",
        s(&dir.join("params")),
        // HyperKZG: this test is about the DAG, and it compresses several times faster
        "--insecure-random-tau",
        "--json",
    ]));
    assert_eq!(v["cid"], named.cid.as_str());
    assert_eq!(v["samples"], 174);
    println!(
        "174 samples in 175 leaves: folding {:.1}s, compression {:.1}s",
        v["fold_s"], v["compress_s"]
    );
    let verify = |cid: &str| {
        kerafold(&[
            "verify",
            s(&proof),
            "--cid",
            cid,
            "--params-dir",
            s(&dir.join("params")),
            "--ptau",
            s(&dir.join("params").join(RANDOM_TAU_DIR)),
            "--json",
        ])
    };
    assert_eq!(ok(&verify(&named.cid))["valid"], true);
    // another file's CID: refused
    let other = datasets::vectors()
        .into_iter()
        .find(|x| x.name == "shards_16")
        .unwrap()
        .cid;
    assert_eq!(verify(&other).status.code(), Some(1));
}

/// `kerafold`'s exit code 2 with every one of `what` in its error.
fn usage_error(args: &[&str], what: &[&str]) {
    let o = kerafold(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for w in what {
        assert!(err.contains(w), "{args:?}: '{w}' not in: {err}");
    }
}

/// A private model committed in tiles (`commit --step-size`): its opening carries the tiling,
/// every shard folds by layer in those tiles from it and proves the opening's commitment, and
/// they combine and verify. An opening is proven only as it was committed, and a bounty claim,
/// which binds the per-layer commitment, refuses it.
#[test]
fn shards_of_a_private_model_committed_in_tiles() {
    let dir = scratch_dir("tiled-shards");
    let params = dir.join("params");
    let model = common::model_path("mlp", Format::Keras);
    // 4 samples in 256-byte leaves: two leaves, two shards of two samples
    let data_path = dir.join("data.kfd");
    let x: Vec<u8> = (0..4 * 16).map(|k| (k * 37 % 251) as u8).collect();
    let data = Dataset::pack(&x, &[3, 1, 4, 1], &[16], 10, 8).unwrap();
    data.write(&data_path).unwrap();
    let cid = FileDag::from_reader(
        data.as_bytes(),
        Chunking {
            chunk_size: CHUNK,
            max_links: MAX_LINKS,
        },
    )
    .unwrap()
    .cid()
    .to_string();
    let tiled = dir.join("tiled.json");
    let c = ok(&kerafold(&[
        "commit",
        s(&model),
        "--data",
        s(&data_path),
        "--opening",
        s(&tiled),
        "--step-size",
        "1",
    ]));
    assert_eq!(c["step_size"], 1);
    let opening = ModelOpening::read(&tiled).unwrap();
    assert!(opening.tiling.is_some());
    let commitment = c["commitment"].as_str().unwrap().to_string();
    assert_eq!(
        kerafold::fold::fe_hex(&opening.commitment().unwrap()),
        commitment
    );

    // proven only as committed
    let chunk = CHUNK.to_string();
    let shard = |extra: &[&str], i: usize| -> Vec<String> {
        let mut a: Vec<String> = [
            "prove-accuracy",
            s(&tiled),
            "--data",
            s(&data_path),
            "--chunk-size",
            &chunk,
            "--shard",
            &format!("{i}/2"),
            "-o",
            s(&dir.join(format!("shard-{i}.json"))),
            "--params-dir",
            s(&params),
            "--insecure-random-tau",
            "--json",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let args = shard(&[], 1);
    usage_error(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &["tiles", "--fold-by layer"],
    );
    let args = shard(&["--fold-by", "layer", "--step-size", "1000"], 1);
    usage_error(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &["tiles", "--step-size"],
    );
    let per_layer = dir.join("per-layer.json");
    ok(&kerafold(&[
        "commit",
        s(&model),
        "--data",
        s(&data_path),
        "--opening",
        s(&per_layer),
    ]));
    usage_error(
        &[
            "prove-accuracy",
            s(&per_layer),
            "--data",
            s(&data_path),
            "--fold-by",
            "layer",
            "--step-size",
            "1",
            "-o",
            s(&dir.join("x.json")),
        ],
        &["a step per layer", "--step-size"],
    );
    // both shards fold by layer in the opening's tiles and prove its commitment
    let mut files = vec![];
    for i in 1..=2 {
        let args = shard(&["--fold-by", "layer"], i);
        let v = ok(&kerafold(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        assert_eq!(v["model_commitment"], commitment.as_str(), "shard {i}");
        assert!(v["fold"]["layer"]["tiling"].is_object(), "shard {i}: {v}");
        println!(
            "tiled shard {i}/2: {} folds of {} constraints, folding {:.1}s, compression {:.1}s",
            v["folds"], v["primary_constraints"], v["fold_s"], v["compress_s"]
        );
        files.push(dir.join(format!("shard-{i}.json")));
    }
    let combined = dir.join("combined.json");
    ok(&kerafold(&[
        "combine",
        s(&files[1]),
        s(&files[0]),
        "-o",
        s(&combined),
    ]));
    let ptau = params.join(RANDOM_TAU_DIR);
    let v = ok(&kerafold(&[
        "verify",
        s(&combined),
        "--cid",
        &cid,
        "--params-dir",
        s(&params),
        "--ptau",
        s(&ptau),
        "--json",
    ]));
    assert_eq!(v["valid"], true);
    assert_eq!(v["whole"], true);

    // --- a bounty whose claim binds the model committed in tiles (claim-setup --step-size 1):
    //     the host decrypts exactly the tiled opening the shards proved
    let p = |f: &str| dir.join(f);
    ok(&kerafold(&["keygen", "-o", s(&p("host.json"))]));
    ok(&kerafold(&["keygen", "-o", s(&p("hunter.json"))]));
    let setup = ok(&kerafold(&[
        "claim-setup",
        s(&model),
        "--data",
        s(&data_path),
        "--max-shards",
        "2",
        "--chunk-size",
        &chunk,
        "--step-size",
        "1",
        "--accuracy-ptau",
        s(&ptau),
        "-o",
        s(&p("host")),
    ]));
    assert_eq!(
        setup["tiling"]["rows"].as_u64(),
        opening.tiling.map(|t| t.rows as u64)
    );
    println!(
        "claim circuit over a model in tiles: {} constraints",
        setup["constraints"]
    );
    let encrypt = |from: &Path, to: &str| {
        kerafold(&[
            "encrypt-weights",
            s(from),
            "--host-key",
            s(&p("host.pub.json")),
            "--key",
            s(&p("hunter.json")),
            "-o",
            s(&p(to)),
        ])
    };
    ok(&encrypt(&tiled, "ct.json"));
    ok(&encrypt(&per_layer, "ct-per-layer.json"));
    let correct = v["claim"]["correct"].as_u64().unwrap();
    let threshold = correct.to_string();
    let address = format!("0x{}", "b2".repeat(20));
    let (host_pub, hunter, claim_dir) = (p("host.pub.json"), p("hunter.json"), p("claim"));
    let setup_dir = p("host");
    // a command with the bounty's terms
    let call = |head: &[&str]| {
        let mut a = head.to_vec();
        a.extend([
            "--setup",
            s(&setup_dir),
            "--cid",
            &cid,
            "--threshold",
            &threshold,
            "--address",
            &address,
            "--params-dir",
            s(&params),
            "--accuracy-ptau",
            s(&ptau),
        ]);
        kerafold(&a)
    };
    let claim = |ct: &Path| {
        call(&[
            "claim",
            s(ct),
            "--key",
            s(&hunter),
            "--accuracy",
            s(&combined),
            "--host-key",
            s(&host_pub),
            "--trust-host-key",
            "-o",
            s(&claim_dir),
        ])
    };
    // the same model committed a step per layer is not what this bounty binds
    let o = claim(&p("ct-per-layer.json"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for w in ["committed a step per layer", "in tiles of"] {
        assert!(err.contains(w), "'{w}' not in: {err}");
    }
    ok(&claim(&p("ct.json")));
    let v = ok(&call(&[
        "verify-claim",
        s(&claim_dir),
        "--ciphertext",
        s(&p("ct.json")),
        "--accuracy",
        s(&combined),
        "--host-key",
        s(&host_pub),
        "--json",
    ]));
    assert_eq!(v["valid"], true);
    assert_eq!(v["correct"].as_u64(), Some(correct));
    let reveal = ok(&kerafold(&[
        "reveal-key",
        s(&p("ct.json")),
        "--key",
        s(&hunter),
    ]));
    ok(&call(&[
        "decrypt-weights",
        s(&p("ct.json")),
        "--key",
        s(&p("host.json")),
        "--reveal-key",
        reveal["key"].as_str().unwrap(),
        "--claim",
        s(&claim_dir),
        "--accuracy",
        s(&combined),
        "-o",
        s(&p("opened.json")),
    ]));
    let opened = ModelOpening::read(&p("opened.json")).unwrap();
    assert_eq!(
        opened, opening,
        "the host's opening is the hunter's, tiles and all"
    );
}
