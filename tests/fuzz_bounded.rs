//! Bounded fuzzing on stable, in the main suite: every target of `kerafold::fuzz` (the bodies
//! the cargo-fuzz binaries in `fuzz/` run) over its committed seed corpus `fuzz/corpus/<name>/`
//! (valid files, broken files, and every crash a campaign found, as a regression case), then
//! over a fixed number of proptest-generated inputs: seeds under a few byte-level mutations, and
//! random bytes. Deterministic (fixed RNG seed), so a failure reproduces; proptest shrinks it to
//! the fewest mutations.
//!
//! A crash is a panic (this test fails, naming the target and the input) or an allocation above
//! 1 GiB (`CappedAlloc` aborts the process with a message). `FUZZING.md` says how to run the
//! real, coverage-guided campaign. `KERAFOLD_FUZZ_CASES=n` changes the number of generated
//! inputs per target (default [`CASES`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "../fuzz/targets.rs"]
mod targets;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use targets::{Target, TARGETS};

#[global_allocator]
static ALLOC: targets::CappedAlloc = targets::CappedAlloc;

/// Generated inputs per target.
const CASES: u32 = 5000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The committed seeds of a target, sorted by name.
fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(name);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn cases() -> u32 {
    std::env::var("KERAFOLD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES)
}

/// Runs a target on one input; `Err` holds the panic message.
fn run_one(t: &Target, data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| (t.run)(data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

#[test]
fn every_target_has_a_binary_and_a_corpus() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for t in TARGETS {
        let src = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", t.name));
        let body = std::fs::read_to_string(&src)
            .unwrap_or_else(|e| panic!("target '{}': {}: {e}", t.name, src.display()));
        assert!(
            body.contains(&format!("run(\"{}\"", t.name)),
            "{} does not run target '{}'",
            src.display(),
            t.name
        );
        assert!(
            manifest.contains(&format!("name = \"{}\"", t.name)),
            "fuzz/Cargo.toml has no [[bin]] '{}'",
            t.name
        );
        assert!(
            !corpus(t.name).is_empty(),
            "fuzz/corpus/{} holds no seed",
            t.name
        );
    }
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    for e in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            names.contains(&stem.as_str()),
            "{} is not in targets::TARGETS",
            p.display()
        );
    }
}

#[test]
fn seed_corpus() {
    let mut failures = Vec::new();
    for t in TARGETS {
        let start = Instant::now();
        let seeds = corpus(t.name);
        for (name, data) in &seeds {
            if let Err(m) = run_one(t, data) {
                failures.push(format!("{}: fuzz/corpus/{}/{name}: {m}", t.name, t.name));
            }
        }
        eprintln!(
            "{:>15}: {} seeds in {:.2} s",
            t.name,
            seeds.len(),
            start.elapsed().as_secs_f64()
        );
    }
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

/// A byte-level change of an input.
#[derive(Clone, Debug)]
enum Mutation {
    Set(Index, u8),
    FlipBit(Index, u8),
    /// Write a boundary value (little-endian) of 1, 2, 4 or 8 bytes.
    Boundary(Index, u8, u64),
    Truncate(Index),
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    /// Insert a text token (numbers at the edges, JSON values).
    Token(Index, &'static str),
    /// Copy a chunk of the input elsewhere.
    Copy(Index, Index, usize),
}

const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "-0",
    "18446744073709551616",
    "4294967295",
    "21888242871839275222246405745257275088548364400416034343698204186575808495617",
    "0x",
    "null",
    "[]",
    "{}",
    "\"\"",
    "[[[[[[[[",
    ",",
    "\"class_name\"",
    "\"config\"",
    "b",
    "\u{e9}",
];

const BOUNDARIES: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (
            any::<Index>(),
            prop::sample::select(vec![1u8, 2, 4, 8]),
            prop::sample::select(BOUNDARIES)
        )
            .prop_map(|(i, w, v)| Mutation::Boundary(i, w, v)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Token(i, t)),
        (any::<Index>(), any::<Index>(), 1usize..256).prop_map(|(a, b, n)| Mutation::Copy(a, b, n)),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    let len = data.len();
    let at = |i: &Index| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::Set(i, b) if len > 0 => data[at(i)] = *b,
        Mutation::FlipBit(i, b) if len > 0 => data[at(i)] ^= 1 << b,
        Mutation::Boundary(i, w, v) => {
            let p = at(i);
            let bytes = v.to_le_bytes();
            for (k, b) in bytes.iter().take(*w as usize).enumerate() {
                match data.get_mut(p + k) {
                    Some(x) => *x = *b,
                    None => data.push(*b),
                }
            }
        }
        Mutation::Truncate(i) => data.truncate(at(i)),
        Mutation::Delete(i, n) => {
            let p = at(i);
            data.drain(p..(p + n).min(len));
        }
        Mutation::Insert(i, b) => {
            let p = at(i);
            data.splice(p..p, b.iter().copied());
        }
        Mutation::Token(i, t) => {
            let p = at(i);
            data.splice(p..p, t.bytes());
        }
        Mutation::Copy(a, b, n) if len > 0 => {
            let (from, to) = (at(a), at(b));
            let chunk = data[from..(from + n).min(len)].to_vec();
            data.splice(to..to, chunk);
        }
        _ => {}
    }
}

/// A generated input: a seed under mutations, or random bytes.
#[derive(Clone, Debug)]
enum Input {
    Mutated(usize, Vec<Mutation>),
    Random(Vec<u8>),
}

#[test]
fn generated_inputs() {
    let n = cases();
    let mut failures = Vec::new();
    for t in TARGETS {
        let start = Instant::now();
        let seeds = corpus(t.name);
        let strategy = prop_oneof![
            7 => (0..seeds.len(), prop::collection::vec(mutation(), 1..6))
                .prop_map(|(s, m)| Input::Mutated(s, m)),
            1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Input::Random),
        ];
        let config = Config {
            cases: n,
            failure_persistence: None,
            max_shrink_iters: 512,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let result = runner.run(&strategy, |input| {
            ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let data = match &input {
                Input::Mutated(s, ms) => {
                    let mut d = seeds[*s].1.clone();
                    ms.iter().for_each(|m| apply(&mut d, m));
                    d
                }
                Input::Random(d) => d.clone(),
            };
            run_one(t, &data).map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            failures.push(format!(
                "{}: {e} (seeds: {:?})",
                t.name,
                seeds.iter().map(|s| &s.0).collect::<Vec<_>>()
            ));
        }
        let ran = ran.into_inner();
        eprintln!(
            "{:>15}: {ran} generated inputs in {:.2} s",
            t.name,
            start.elapsed().as_secs_f64()
        );
        assert!(
            ran >= n as usize,
            "{}: only {ran} of {n} inputs ran",
            t.name
        );
    }
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The seed corpus
// ---------------------------------------------------------------------------------------------

/// A `.npy` file (version `major`) from a header dict and raw data.
fn npy(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    let pre = if major == 1 { 10 } else { 12 };
    while !(pre + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([major, 0]);
    if major == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// Writes the seed corpus `fuzz/corpus/<target>/seed-*`: copies of test fixtures, files made
/// by the library's own writers, and a few hand-broken ones. Run once when adding a target
/// (`cargo test --release --test fuzz_bounded -- --ignored write_seed_corpus`); existing seeds
/// are overwritten, crash regression files (`crash-*`) are left alone.
#[test]
#[ignore]
fn write_seed_corpus() {
    use kerafold::claim::circuit::ClaimPublic;
    use kerafold::claim::snarkjs::{public_json, ProofJson, VkJson};
    use kerafold::claim::weights::{self, ModelOpening, Opening};
    use kerafold::crypto::babyjubjub::{KeyFile, SecretKey};
    use kerafold::data::{cid::cid_of_bytes, Dataset};
    use std::io::Read;

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let fixture = |f: &str| std::fs::read(fixtures.join(f)).unwrap();
    let put = |target: &str, name: &str, data: &[u8]| {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    };
    let member = |zip: &[u8], name: &str| {
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut f = a.by_name(name).unwrap();
        let mut out = Vec::new();
        f.read_to_end(&mut out).unwrap();
        out
    };

    // Models: real files, a truncated one, NaN weights, recurrent layers.
    for m in [
        "mlp", "cnn", "residual", "conv1d", "nan", "lstm", "gru", "lstm_seq",
    ] {
        put(
            "keras",
            &format!("{m}.keras"),
            &fixture(&format!("{m}.keras")),
        );
    }
    put(
        "keras",
        "mlp-truncated.keras",
        &fixture("mlp.keras")[..4000],
    );
    for m in ["mlp", "cnn", "residual", "conv1d", "gru", "lstm_seq"] {
        put("h5", &format!("{m}.h5"), &fixture(&format!("{m}.h5")));
    }
    put("h5", "mlp-truncated.h5", &fixture("mlp.h5")[..6000]);
    for m in [
        "mlp",
        "cnn",
        "residual",
        "conv1d",
        "conv1d_gmp",
        "depthwise",
        "strided",
        "upsample",
        "poly",
        "deep_mlp",
        "lstm",
        "views",
        "seq_convs",
        "smooth",
        "smooth2",
        "binary",
        "transpose",
        "resize",
        "merges",
        "concat",
        "branches",
        "embedding",
        "layernorm",
        "rmsnorm",
        "inception",
        "rnn",
        "gru",
        "lstm_seq",
    ] {
        let config = member(&fixture(&format!("{m}.keras")), "config.json");
        put("keras_config", &format!("{m}.json"), &config);
    }

    // Inputs.
    put("npy", "digits_16_x.npy", &fixture("digits_16_x.npy"));
    put("npy", "digits_test_y.npy", &fixture("digits_test_y.npy"));
    let f4: Vec<u8> = (0..32)
        .flat_map(|i| (i as f32 / 8.0).to_le_bytes())
        .collect();
    put(
        "npy",
        "f4-2x16.npy",
        &npy(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 16), }",
            &f4,
        ),
    );
    let i8s: Vec<u8> = (0..20).flat_map(|i| (i as i64 - 3).to_le_bytes()).collect();
    put(
        "npy",
        "i8-10x2-v2.npy",
        &npy(
            2,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (10, 2), }",
            &i8s,
        ),
    );
    let f8: Vec<u8> = (0..64).flat_map(|i| (i as f64).to_le_bytes()).collect();
    put(
        "npy",
        "f8-8x8x1-v3.npy",
        &npy(
            3,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (8, 8, 1), }",
            &f8,
        ),
    );
    put(
        "npy",
        "fortran.npy",
        &npy(
            1,
            "{'descr': '|u1', 'fortran_order': True, 'shape': (16,), }",
            &[7; 16],
        ),
    );
    let row = |n: usize| {
        (0..n)
            .map(|i| format!("{}", i as f32 / 4.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    put(
        "input_json",
        "one.json",
        format!("{{\"input\": [{}]}}", row(16)).as_bytes(),
    );
    put(
        "input_json",
        "two.json",
        format!("{{\"inputs\": [[{}], [{}]]}}", row(16), row(16)).as_bytes(),
    );
    let image: Vec<String> = (0..8)
        .map(|r| {
            let px: Vec<String> = (0..8).map(|c| format!("[{}]", r * 8 + c)).collect();
            format!("[{}]", px.join(","))
        })
        .collect();
    put(
        "input_json",
        "image.json",
        format!("{{\"input\": [{}]}}", image.join(",")).as_bytes(),
    );
    put(
        "input_json",
        "seq.json",
        b"{\"inputs\": [[[1,2],[3,4],[5,6],[7,8],[9,10],[1,2],[3,4],[5,6],[7,8],[9,1e3]]]}",
    );
    put("input_json", "ragged.json", b"{\"input\": [[1, 2], [3]]}");

    // Datasets.
    put("kfd", "digits_16.kfd", &fixture("digits_16.kfd"));
    let x: Vec<u8> = (0..3 * 8).map(|v| v as u8).collect();
    let tiny = Dataset::pack(&x, &[0, 2, 1], &[2, 4], 3, 4).unwrap();
    put("kfd", "tiny.kfd", tiny.as_bytes());
    let mut bad = tiny.to_bytes();
    bad[64 + 8] = 9; // label 9 of 3 classes
    put("kfd", "bad-label.kfd", &bad);

    // snarkjs files of a valid key and proof (generator multiples; the proof does not verify).
    use ark_ec::{AffineRepr, CurveGroup};
    let g1 = ark_bn254::G1Affine::generator();
    let g2 = ark_bn254::G2Affine::generator();
    let m1 = |k: u64| (g1 * ark_bn254::Fr::from(k)).into_affine();
    let m2 = |k: u64| (g2 * ark_bn254::Fr::from(k)).into_affine();
    let vk = ark_groth16::VerifyingKey::<ark_bn254::Bn254> {
        alpha_g1: m1(2),
        beta_g2: m2(3),
        gamma_g2: m2(5),
        delta_g2: m2(7),
        gamma_abc_g1: vec![m1(11), m1(13), m1(29)],
    };
    let proof = ark_groth16::Proof::<ark_bn254::Bn254> {
        a: m1(17),
        b: m2(19),
        c: m1(23),
    };
    put("snarkjs_vk", "vk.json", &pretty(&VkJson::new(&vk)));
    put(
        "snarkjs_proof",
        "proof.json",
        &pretty(&ProofJson::new(&proof)),
    );
    let infinity = ark_groth16::Proof::<ark_bn254::Bn254> {
        a: ark_bn254::G1Affine::zero(),
        b: ark_bn254::G2Affine::zero(),
        c: m1(1),
    };
    put(
        "snarkjs_proof",
        "infinity.json",
        &pretty(&ProofJson::new(&infinity)),
    );

    let host = SecretKey::from_private_key(&[1; 32]);
    let hunter = SecretKey::from_private_key(&[2; 32]);
    let data = Dataset::read(&fixtures.join("digits_16.kfd")).unwrap();
    let public = ClaimPublic {
        cid_digest: cid_of_bytes(data.as_bytes()).digest,
        threshold: 12,
        host: host.public(),
        claimant: [0x11; 20],
        hunter: hunter.public(),
        ciphertext_hash: kerafold::crypto::bn254::Fr::from(5u64),
        io_digest: kerafold::crypto::bn254::Fr::from(7u64),
        key_hash: [0x33; 32],
        posted: None,
    };
    put(
        "snarkjs_public",
        "claim.json",
        &pretty(&public_json(&public.inputs())),
    );
    put("snarkjs_public", "short.json", b"[\"1\", \"0x2a\"]");

    // Keys.
    put("key_file", "secret.json", &pretty(&KeyFile::secret(&host)));
    put(
        "key_file",
        "public.json",
        &pretty(&KeyFile::public(&hunter.public())),
    );

    // Encrypted weights and model openings of the digits model.
    let graph = kerafold::model::load(&fixtures.join("digits.keras")).unwrap();
    let program = kerafold::model::lower(&graph).unwrap();
    let model = kerafold::model::calibrate(&program, &data.inputs_f32())
        .unwrap()
        .0;
    let opening = Opening::private(model.clone()).unwrap();
    let (file, _) = weights::encrypt(&opening, &host.public(), &hunter).unwrap();
    put("ciphertext", "digits.json", &pretty(&file));
    put(
        "model_opening",
        "digits-private.json",
        &pretty(&ModelOpening::new(&opening).unwrap()),
    );
    let public_model = Opening {
        model,
        blinds: Vec::new(),
        tiling: None,
    };
    put(
        "model_opening",
        "digits-public.json",
        &pretty(&ModelOpening::new(&public_model).unwrap()),
    );

    // CIDs.
    let c = cid_of_bytes(data.as_bytes());
    put("cid", "raw.txt", c.to_string().as_bytes());
    put(
        "cid",
        "raw-upper.txt",
        c.to_string().to_uppercase().as_bytes(),
    );
    put("cid", "binary.bin", &c.to_bytes());
    put("cid", "hex.txt", hex::encode(c.digest).as_bytes());
    put("cid", "json.json", format!("\"{c}\"").as_bytes());
    let big = kerafold::data::FileDag::of_bytes(&vec![7u8; 300_000]).cid();
    put("cid", "dag-pb.txt", big.to_string().as_bytes());
    put(
        "cid",
        "v0.txt",
        b"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    );

    // Proofs (a real inference proof of the mlp fixture; an accuracy claim with a stand-in
    // SNARK: the targets parse and derive, they do not verify), their SNARK bytes, and
    // architectures (real ones and a hostile one).
    use kerafold::accuracy;
    use kerafold::fold::{self, Architecture};
    use kerafold::inference::{self, ProveOptions};
    let mlp = {
        let g = kerafold::model::load(&fixtures.join("mlp.keras")).unwrap();
        let p = kerafold::model::lower(&g).unwrap();
        let fx: serde_json::Value = serde_json::from_slice(&fixture("mlp.json")).unwrap();
        let x: Vec<f32> = serde_json::from_value(fx["inputs"][0].clone()).unwrap();
        let (q, _) = kerafold::model::calibrate(&p, std::slice::from_ref(&x)).unwrap();
        (q.clone(), q.quantize_input(&x, Some(0)).unwrap())
    };
    let params = std::env::temp_dir().join(format!("kerafold-seed-params-{}", std::process::id()));
    let (proof, _) = inference::prove(
        &mlp.0,
        &mlp.1,
        &ProveOptions {
            params_dir: params,
            ..ProveOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    put("proof_file", "mlp-inference.proof", &pretty(&proof));
    let text = pretty(&proof);
    put("proof_file", "truncated.proof", &text[..text.len() / 2]);
    let digits = {
        let g = kerafold::model::load(&fixtures.join("digits.keras")).unwrap();
        let p = kerafold::model::lower(&g).unwrap();
        kerafold::model::calibrate(&p, &data.inputs_f32())
            .unwrap()
            .0
    };
    let arch_d = Architecture::compile(&digits).unwrap();
    let commitment = fold::public_model_commitment(&digits, fold::System::Bn254Ipa).unwrap();
    let acc_claim =
        accuracy::native_claim(&digits, &data, fold::Visibility::Public, &commitment).unwrap();
    let acc = accuracy::AccuracyProof::new(
        accuracy::ACCURACY,
        "bn254-ipa",
        &arch_d.digest(),
        acc_claim,
        "00".into(),
    );
    put("proof_file", "digits-accuracy.proof", &pretty(&acc));
    let combined = accuracy::CombinedProof::combine(vec![acc.clone()]).unwrap();
    put("proof_file", "digits-combined.proof", &pretty(&combined));
    put("snark", "mlp.bin", &hex::decode(&proof.snark).unwrap());
    let arch_m = Architecture::compile(&mlp.0).unwrap();
    put("architecture", "mlp.json", &pretty(&arch_m));
    put("architecture", "digits.json", &pretty(&arch_d));
    let mut hostile = arch_m.clone();
    hostile.width = 1;
    put("architecture", "narrow-bus.json", &pretty(&hostile));
    // piecewise-linear activations, dilated and resized views, a binary head, merges, branches,
    // an embedding, layer normalizations, forks of three branches
    for m in [
        "smooth",
        "transpose",
        "resize",
        "binary",
        "merges",
        "concat",
        "branches",
        "embedding",
        "layernorm",
        "inception",
    ] {
        let json: serde_json::Value =
            serde_json::from_slice(&fixture(&format!("{m}.json"))).unwrap();
        let inputs: Vec<Vec<f32>> = serde_json::from_value(json["inputs"].clone()).unwrap();
        let g = kerafold::model::load(&fixtures.join(format!("{m}.keras"))).unwrap();
        let p = kerafold::model::lower(&g).unwrap();
        let q = kerafold::model::calibrate(&p, &inputs).unwrap().0;
        let arch = Architecture::compile(&q).unwrap();
        put("architecture", &format!("{m}.json"), &pretty(&arch));
    }

    // A claim setup's setup.json and a proving key (of a one-constraint circuit: the claim
    // circuit's is megabytes).
    put(
        "claim_setup",
        "setup.json",
        &pretty(&kerafold::claim::flow::SetupFile {
            format: kerafold::claim::flow::SETUP_FORMAT.into(),
            version: 1,
            architecture: hex::encode(arch_d.digest()),
            header: *data.header(),
            constraints: 1,
            mode: kerafold::claim::circuit::ClaimMode::Approval,
            key: kerafold::claim::flow::KeySource::Host,
            max_shards: 1,
            chunk_size: kerafold::data::cid::CHUNK_SIZE,
            accuracy_ptau: None,
        }),
    );
    struct Square;
    impl kerafold::claim::groth16::FrontendCircuit for Square {
        fn synthesize<CS: nova_snark::frontend::ConstraintSystem<kerafold::crypto::bn254::Fr>>(
            &self,
            cs: &mut CS,
        ) -> Result<(), nova_snark::frontend::SynthesisError> {
            let x =
                nova_snark::frontend::num::AllocatedNum::alloc_input(cs.namespace(|| "x"), || {
                    Ok(kerafold::crypto::bn254::Fr::from(9u64))
                })?;
            let y = nova_snark::frontend::num::AllocatedNum::alloc(cs.namespace(|| "y"), || {
                Ok(kerafold::crypto::bn254::Fr::from(3u64))
            })?;
            cs.enforce(
                || "y*y",
                |lc| lc + y.get_variable(),
                |lc| lc + y.get_variable(),
                |lc| lc + x.get_variable(),
            );
            Ok(())
        }
    }
    let r1cs = kerafold::claim::groth16::R1cs::of(&Square).unwrap();
    let keys = kerafold::claim::groth16::setup(&r1cs, &mut rand_core::OsRng).unwrap();
    let pk_path = std::env::temp_dir().join(format!("kerafold-seed-{}.pk", std::process::id()));
    kerafold::claim::groth16::write_ark(&pk_path, &keys.pk).unwrap();
    put(
        "claim_setup",
        "square.pk",
        &std::fs::read(&pk_path).unwrap(),
    );
}

/// Pretty JSON.
fn pretty<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap()
}
