#![allow(dead_code)]
//! Fuzz targets: every parser of untrusted bytes, as a plain `fn(&[u8])`. This file is not part
//! of the library: both harnesses include it (`#[path]`), so the library carries no fuzzing code.
//!
//! The same functions run in two harnesses (see `FUZZING.md`):
//!
//! * `fuzz/` — the cargo-fuzz crate (libFuzzer, coverage-guided), one binary per target, each a
//!   one-line `fuzz_target!` calling [`run`];
//! * `tests/fuzz_bounded.rs` — a stable test in the main suite (`cargo test --release
//!   --workspace`) that runs every target over its committed seed corpus
//!   (`fuzz/corpus/<name>/`) and a fixed number of deterministic proptest mutations.
//!
//! A target body calls the parser the way the CLI does, then (on success) the next step that
//! trusts the parsed value (lowering a model, validating points, ...). Any result is fine, `Ok`
//! or a `kerafold::Error`; a **panic**, an abort or an allocation above [`ALLOC_CAP`] (with
//! [`CappedAlloc`] installed) is a crash. Some targets also assert round-trip properties; a
//! failed assertion is a crash too.
//!
//! # Adding a target
//! 1. Write `fn name(data: &[u8])` below and add it to [`TARGETS`].
//! 2. Add `fuzz/fuzz_targets/<name>.rs` (copy any of them, change the name) and its `[[bin]]`
//!    entry in `fuzz/Cargo.toml`.
//! 3. Put a few valid files (and a few broken ones) in `fuzz/corpus/<name>/`.
//!
//! `tests/fuzz_bounded.rs` checks that every target has its binary, its `[[bin]]` entry and a
//! non-empty corpus, so a forgotten step fails the suite.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kerafold::claim::circuit::{self, ClaimPublic};
use kerafold::claim::groth16;
use kerafold::claim::snarkjs::{self, ProofJson, VkJson};
use kerafold::claim::weights::{CiphertextFile, ModelOpening};
use kerafold::crypto::babyjubjub::KeyFile;
use kerafold::data::cid::Cid;
use kerafold::data::dataset::Dataset;
use kerafold::model;

/// One fuzz target.
#[derive(Clone, Copy)]
pub struct Target {
    /// Name of the cargo-fuzz binary and of its corpus folder.
    pub name: &'static str,
    /// What it parses.
    pub about: &'static str,
    /// The body.
    pub run: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "keras",
        about: ".keras zip archives (model::load_bytes, then model::lower)",
        run: keras,
    },
    Target {
        name: "h5",
        about: "legacy Keras .h5 files (model::load_bytes, then model::lower)",
        run: h5,
    },
    Target {
        name: "keras_config",
        about: "the model config JSON of a .keras archive, with real weights \
                (model::load_keras_parts, then model::lower)",
        run: keras_config,
    },
    Target {
        name: "npy",
        about: "model inputs as .npy (model::input::parse_inputs) and the .npy reader itself",
        run: npy,
    },
    Target {
        name: "input_json",
        about: "model inputs as JSON (model::input::parse_inputs)",
        run: input_json,
    },
    Target {
        name: "kfd",
        about: "dataset files (.kfd, data::Dataset::from_bytes) and their accessors",
        run: kfd,
    },
    Target {
        name: "snarkjs_vk",
        about: "snarkjs verification_key.json (VkJson, to_ark, Groth16 verification)",
        run: snarkjs_vk,
    },
    Target {
        name: "snarkjs_proof",
        about: "snarkjs proof.json (ProofJson, to_ark, Groth16 verification)",
        run: snarkjs_proof,
    },
    Target {
        name: "snarkjs_public",
        about: "snarkjs public.json (parse_public, ClaimPublic::from_inputs)",
        run: snarkjs_public,
    },
    Target {
        name: "key_file",
        about: "Baby Jubjub key files (KeyFile::from_bytes, public_key, secret_key)",
        run: key_file,
    },
    Target {
        name: "ciphertext",
        about: "encrypted-weights files (CiphertextFile::read, parse)",
        run: ciphertext,
    },
    Target {
        name: "model_opening",
        about: "model opening files (ModelOpening::read)",
        run: model_opening,
    },
    Target {
        name: "cid",
        about: "CID strings and binary CIDs (claim::circuit::parse_cid, Cid::from_str, Cid::from_bytes)",
        run: cid,
    },
    Target {
        name: "proof_file",
        about:
            "proof files of either kind (kerafold::proofs::AnyProof), then the verifier's derivation of the \
                public state from the claim (Statement::derive) against real architectures",
        run: proof_file,
    },
    Target {
        name: "architecture",
        about: "architecture files (arch.json, architecture.json): Architecture, validate, and \
                the layer circuit's synthesis for what validates",
        run: architecture,
    },
    Target {
        name: "snark",
        about: "the compressed SNARK bytes of a proof file (bincode of nova-snark's \
                CompressedSNARK, bn254-ipa)",
        run: snark,
    },
    Target {
        name: "claim_setup",
        about: "a bounty host's setup.json and claim.pk (Groth16 proving key, arkworks)",
        run: claim_setup,
    },
    Target {
        name: "zkey",
        about: "a snarkjs Groth16 .zkey from a phase-2 ceremony (claim::circom::read_zkey), its \
                verifying key through snarkjs' JSON, and its contributions' hashes",
        run: zkey,
    },
    Target {
        name: "ptau",
        about: "a snarkjs powers of tau prepared for phase 2 (claim::ceremony::read_ptau), read \
                for the domains it may serve",
        run: ptau,
    },
    Target {
        name: "serve_api",
        about: "kerafold serve's requests (serve::api::Api::handle): a route and method picked by \
                the first two bytes, a query of the third byte's length, the rest the body",
        run: serve_api,
    },
];

/// Runs the target `name` on `data`.
///
/// # Panics
/// If there is no such target (or, of course, if the target finds a bug).
pub fn run(name: &str, data: &[u8]) {
    let t = TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target '{name}'"));
    (t.run)(data)
}

// ---------------------------------------------------------------------------------------------
// Models and inputs
// ---------------------------------------------------------------------------------------------

fn model_file(data: &[u8], origin: &str) {
    if let Ok(graph) = model::load_bytes(data.to_vec(), Path::new(origin)) {
        let _ = model::lower(&graph);
    }
}

fn keras(data: &[u8]) {
    model_file(data, "fuzz.keras")
}

fn h5(data: &[u8]) {
    model_file(data, "fuzz.h5")
}

/// `model.weights.h5` of a few fixtures (Dense, Conv/BatchNorm/pooling, a Functional model
/// with an Add), for [`keras_config`].
fn fixture_weights() -> &'static [Vec<u8>] {
    static W: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    W.get_or_init(|| {
        let zips: [&[u8]; 3] = [
            include_bytes!("../tests/fixtures/mlp.keras"),
            include_bytes!("../tests/fixtures/cnn.keras"),
            include_bytes!("../tests/fixtures/residual.keras"),
        ];
        zips.iter()
            .map(|z| {
                let mut a = zip::ZipArchive::new(Cursor::new(*z)).expect("fixture zip");
                let mut f = a.by_name("model.weights.h5").expect("fixture weights");
                let mut w = Vec::new();
                f.read_to_end(&mut w).expect("fixture weights");
                w
            })
            .collect()
    })
}

fn keras_config(data: &[u8]) {
    for w in fixture_weights() {
        if let Ok(graph) = model::load_keras_parts(data, w.clone(), Path::new("fuzz.keras")) {
            let _ = model::lower(&graph);
        }
    }
}

/// Input shapes the input targets read for: a vector, a sequence, an image.
const INPUT_SHAPES: &[&[usize]] = &[&[16], &[8, 8, 1], &[10, 2]];

fn npy(data: &[u8]) {
    let _ = model::input::parse_npy_typed(data);
    for shape in INPUT_SHAPES {
        let _ = model::input::parse_inputs(data, Path::new("fuzz.npy"), shape);
    }
}

fn input_json(data: &[u8]) {
    for shape in INPUT_SHAPES {
        if let Ok(samples) = model::input::parse_inputs(data, Path::new("fuzz.json"), shape) {
            let n: usize = shape.iter().product();
            assert!(
                samples.iter().all(|s| s.len() == n),
                "sample of the wrong length"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bounty files
// ---------------------------------------------------------------------------------------------

fn kfd(data: &[u8]) {
    let Ok(d) = Dataset::from_bytes(data.to_vec(), Path::new("fuzz.kfd")) else {
        return;
    };
    // A dataset is its bytes, and every accessor works on whatever the reader accepted.
    assert_eq!(d.as_bytes(), data, "a dataset is not its file");
    let h = *d.header();
    assert_eq!(h.file_len(), data.len() as u64);
    assert_eq!(d.labels().len(), d.len());
    assert_eq!(d.label_histogram().iter().sum::<usize>(), d.len());
    let _ = d.inputs_f32();
    let _ = d.quantized_input(d.len() - 1, 8);
    let _ = d.check_input_shape(&[64]);
    let again = Dataset::from_bytes(d.to_bytes(), Path::new("again.kfd")).expect("re-read");
    assert_eq!(again, d);
}

/// A valid verifying key and proof (generator multiples; the proof does not verify), to pair
/// with a fuzzed proof or key.
fn fixed_vk_and_proof() -> &'static (
    ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    ark_groth16::Proof<ark_bn254::Bn254>,
) {
    use ark_ec::{AffineRepr, CurveGroup};
    static V: OnceLock<(
        ark_groth16::VerifyingKey<ark_bn254::Bn254>,
        ark_groth16::Proof<ark_bn254::Bn254>,
    )> = OnceLock::new();
    V.get_or_init(|| {
        let g1 = ark_bn254::G1Affine::generator();
        let g2 = ark_bn254::G2Affine::generator();
        let m1 = |k: u64| (g1 * ark_bn254::Fr::from(k)).into_affine();
        let m2 = |k: u64| (g2 * ark_bn254::Fr::from(k)).into_affine();
        let vk = ark_groth16::VerifyingKey {
            alpha_g1: m1(2),
            beta_g2: m2(3),
            gamma_g2: m2(5),
            delta_g2: m2(7),
            gamma_abc_g1: vec![m1(11), m1(13)],
        };
        let proof = ark_groth16::Proof {
            a: m1(17),
            b: m2(19),
            c: m1(23),
        };
        (vk, proof)
    })
}

fn snarkjs_vk(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<VkJson>(data) else {
        return;
    };
    let Ok(vk) = v.to_ark() else {
        return;
    };
    assert_eq!(VkJson::new(&vk).to_ark().expect("re-read"), vk);
    let inputs = vec![kerafold::crypto::bn254::Fr::from(1u64); vk.gamma_abc_g1.len() - 1];
    let _ = groth16::verify(&vk, &inputs, &fixed_vk_and_proof().1);
}

fn snarkjs_proof(data: &[u8]) {
    let Ok(p) = serde_json::from_slice::<ProofJson>(data) else {
        return;
    };
    let Ok(proof) = p.to_ark() else {
        return;
    };
    assert_eq!(ProofJson::new(&proof).to_ark().expect("re-read"), proof);
    let one = kerafold::crypto::bn254::Fr::from(1u64);
    let _ = groth16::verify(&fixed_vk_and_proof().0, &[one], &proof);
    let _ = snarkjs::calldata_text(&proof, &[one]);
}

fn snarkjs_public(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Vec<String>>(data) else {
        return;
    };
    let Ok(x) = snarkjs::parse_public(&v) else {
        return;
    };
    assert_eq!(x.len(), v.len());
    let _ = ClaimPublic::from_inputs(&x);
    let _ = ClaimPublic::from_dec(&v);
}

fn key_file(data: &[u8]) {
    let origin = Path::new("fuzz-key.json");
    let Ok(k) = KeyFile::from_bytes(data, origin) else {
        return;
    };
    let _ = k.public_key();
    if let Ok(sk) = k.secret_key(origin) {
        assert_eq!(Some(sk.public()), k.public_key().ok());
    }
}

/// Writes `data` to a scratch file of this process and thread and runs `f` on its path: for the
/// readers that only take a path (`bounty/weights.rs`).
fn with_file<T>(data: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    thread_local! {
        static PATH: PathBuf = std::env::temp_dir().join(format!(
            "kerafold-fuzz-{}-{:?}.json",
            std::process::id(),
            std::thread::current().id()
        ).replace(['(', ')'], ""));
    }
    PATH.with(|p| {
        std::fs::write(p, data).expect("write the scratch file");
        let out = f(p);
        let _ = std::fs::remove_file(p);
        out
    })
}

fn ciphertext(data: &[u8]) {
    with_file(data, |p| {
        if let Ok(c) = CiphertextFile::read(p) {
            let _ = c.parse();
        }
    })
}

fn model_opening(data: &[u8]) {
    with_file(data, |p| {
        let _ = ModelOpening::read(p);
    })
}

fn cid(data: &[u8]) {
    if let Ok(c) = Cid::from_bytes(data) {
        assert_eq!(c.to_bytes().as_slice(), data);
    }
    let _ = serde_json::from_slice::<Cid>(data);
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = s.parse::<Cid>() {
        assert_eq!(c.to_string().parse::<Cid>().expect("re-parse"), c);
        assert_eq!(c.to_string(), s.to_ascii_lowercase());
    }
    let _ = circuit::parse_cid(s);
}

/// One request to the API, as `kerafold serve` hands it over: the route index and method from
/// the first two bytes, a query of at most 31 bytes, the body. Every answer must be JSON with a
/// status, an error an `{"error": {"status", "message"}}` naming no temporary path, and no answer
/// may echo a secret key's field.
fn serve_api(data: &[u8]) {
    use kerafold::serve::api::{Api, ApiRequest, ROUTES};
    let [route, method, q, rest @ ..] = data else {
        return;
    };
    let (_, path, _) = ROUTES[*route as usize % ROUTES.len()];
    let q = (*q as usize % 32).min(rest.len());
    let (query, body) = rest.split_at(q);
    let query = String::from_utf8_lossy(query);
    let api = Api {
        max_upload: 1 << 20,
        // never written for a request that does not verify a real proof
        params_dir: std::env::temp_dir().join("kerafold-fuzz-serve-params"),
        ptau: None,
    };
    let r = api.handle(ApiRequest {
        method: if method & 1 == 0 { "POST" } else { "GET" },
        path,
        query: &query,
        body,
    });
    assert!((200..600).contains(&r.status), "status {}", r.status);
    let text = r.body.to_string();
    if r.status != 200 {
        let message = r.body["error"]["message"]
            .as_str()
            .expect("an error message");
        assert!(
            !message.contains("kerafold-serve-"),
            "a temporary path: {message}"
        );
    }
    for secret in ["private_key", "secret_scalar"] {
        assert!(
            !text.contains(&format!("\"{secret}\"")),
            "an answer holding {secret}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Proofs, architectures, keys
// ---------------------------------------------------------------------------------------------

type Fr = kerafold::fold::backend::Scalar<kerafold::fold::backend::Bn254Ipa>;

/// The architectures of two fixtures (an MLP for inference claims, the digits model for
/// accuracy claims), quantized with fixed parameters.
fn fixture_archs() -> &'static [std::sync::Arc<kerafold::fold::Architecture>; 2] {
    static A: OnceLock<[std::sync::Arc<kerafold::fold::Architecture>; 2]> = OnceLock::new();
    A.get_or_init(|| {
        let arch = |bytes: &[u8], name: &str| {
            let g = model::load_bytes(bytes.to_vec(), Path::new(name)).expect("fixture");
            let p = model::lower(&g).expect("fixture lowers");
            let fp = fixed_point();
            let q = model::quantize(&p, fp).expect("fixture quantizes");
            std::sync::Arc::new(kerafold::fold::Architecture::compile(&q).expect("compiles"))
        };
        [
            arch(include_bytes!("../tests/fixtures/mlp.keras"), "mlp.keras"),
            arch(
                include_bytes!("../tests/fixtures/digits.keras"),
                "digits.keras",
            ),
        ]
    })
}

fn fixed_point() -> kerafold_step_circuits::FixedPoint {
    kerafold_step_circuits::FixedPoint {
        fa: 6,
        fw: 6,
        bits: 16,
        guard: 1,
    }
}

fn proof_file(data: &[u8]) {
    use kerafold::accuracy::Accuracy;
    use kerafold::fold::Statement;
    use kerafold::inference::Inference;
    use kerafold::proofs::AnyProof;
    let Ok(p) = AnyProof::from_bytes(data, Path::new("fuzz.proof")) else {
        return;
    };
    if let AnyProof::Combined(c) = &p {
        let _ = kerafold::accuracy::shards::join(&c.shards);
    }
    for arch in fixture_archs() {
        match &p {
            AnyProof::Inference(p) => {
                let _ = Inference::derive::<Fr>(arch, &p.claim);
            }
            AnyProof::Accuracy(p) => {
                let _ = Accuracy::derive::<Fr>(arch, &p.claim);
            }
            AnyProof::Combined(c) => {
                for p in &c.shards {
                    let _ = Accuracy::derive::<Fr>(arch, &p.claim);
                }
            }
        }
    }
}

fn architecture(data: &[u8]) {
    let Ok(arch) = serde_json::from_slice::<kerafold::fold::Architecture>(data) else {
        return;
    };
    if arch.validate().is_err() {
        return;
    }
    // what validates must synthesize without a panic (bounded, to keep executions fast)
    let small = arch.width <= 4096
        && arch.steps.len() <= 64
        && arch.slots.iter().all(|s| s.op.macs() <= 1 << 16);
    if small {
        let arch = std::sync::Arc::new(arch);
        let _ = kerafold::inference::circuit::step_constraints::<Fr>(&arch);
    }
}

fn snark(data: &[u8]) {
    use kerafold::fold::backend::{decode, Bn254Ipa};
    use kerafold::inference::circuit::Snark;
    let _ = decode::<Snark<Bn254Ipa>>(data, "compressed proof");
}

fn claim_setup(data: &[u8]) {
    let _ = serde_json::from_slice::<kerafold::claim::flow::SetupFile>(data);
    with_file(data, |p| {
        let _ = groth16::read_ark::<ark_groth16::ProvingKey<ark_bn254::Bn254>>(p);
    })
}

fn zkey(data: &[u8]) {
    let Ok(z) = kerafold::claim::circom::read_zkey(data) else {
        return;
    };
    // the parser's invariants: what the prover and the snarkjs export rely on
    let pk = &z.pk;
    assert_eq!(pk.vk.gamma_abc_g1.len(), z.n_public + 1);
    assert_eq!(pk.a_query.len(), z.n_vars);
    assert_eq!(pk.b_g2_query.len(), z.n_vars);
    assert_eq!(pk.l_query.len(), z.n_vars - z.n_public - 1);
    assert_eq!(pk.h_query.len(), z.domain_size);
    assert_eq!(
        VkJson::new(z.vk())
            .to_ark()
            .expect("a parsed key's vk re-reads"),
        *z.vk()
    );
    let _ = kerafold::claim::circom::format_hash(&z.cs_hash);
    for c in &z.contributions {
        let _ = c.hash();
    }
}

fn ptau(data: &[u8]) {
    for n in [1usize, 2, 4, 8, 16] {
        let Ok(p) = kerafold::claim::ceremony::read_ptau(data, n) else {
            continue;
        };
        // what the key check indexes without bounds checks of its own
        assert!(n <= 1 << p.power);
        assert_eq!(p.tau_g1.len(), 2 * n - 1);
        assert_eq!(p.l_tau_g1.len(), n);
        assert_eq!(p.l_tau_g2.len(), n);
        assert_eq!(p.l_alpha_tau_g1.len(), n);
        assert_eq!(p.l_beta_tau_g1.len(), n);
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation cap
// ---------------------------------------------------------------------------------------------

/// Largest single allocation [`CappedAlloc`] allows: 1 GiB. No file the targets get (at most a
/// few hundred KiB) needs that much; more means a size was taken from the file unchecked.
pub const ALLOC_CAP: usize = 1 << 30;

/// A global allocator (the system's) that aborts the process on an allocation above
/// [`ALLOC_CAP`], so that libFuzzer records the input as a crash (its own `-malloc_limit_mb`
/// needs a sanitizer's malloc hooks, which `--sanitizer none` lacks) and the bounded test fails
/// loudly. Install it in a fuzz or test binary with
/// `#[global_allocator] static A: targets::CappedAlloc = targets::CappedAlloc;`.
pub struct CappedAlloc;

fn check_size(size: usize) {
    if size > ALLOC_CAP {
        // No allocation (nor formatting machinery) here: we are inside the allocator.
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut n = size;
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut err = std::io::stderr();
        let _ = err.write_all(b"\nkerafold fuzz: an allocation of ");
        let _ = err.write_all(&buf[i..]);
        let _ = err.write_all(b" bytes exceeds the 1 GiB cap: the input sets a size unchecked\n");
        std::process::abort();
    }
}

// SAFETY: every call is forwarded unchanged to `System` (after a size check that aborts).
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check_size(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}
