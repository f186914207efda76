//! A bounty scenario shared by the claim and EVM tests: the digits model quantized, a private
//! model opening, host and hunter keys, the encrypted weights, the accuracy claim an honest Nova
//! proof on the 16-sample digits dataset makes (derived natively, as its verifier derives it),
//! and claims proved for given addresses (Groth16 keys drawn once per circuit and kept in the test
//! target directory, keyed by the circuit's digest).
#![allow(dead_code)]

use kerafold::accuracy::{native_claim, AccuracyClaim};
use kerafold::claim::circuit::{self, ClaimInput, ClaimProof, ClaimSpec, IoLayout};
use kerafold::claim::groth16::{self, Keys, R1cs};
use kerafold::claim::shards::ShardIos;
use kerafold::claim::weights::{self, CiphertextFile, Encrypted, Opening};
use kerafold::crypto::babyjubjub::SecretKey;
use kerafold::crypto::bn254::Fr;
use kerafold::data::cid::cid_of_bytes;
use kerafold::data::Dataset;
use kerafold::fold::Architecture;
use kerafold::fold::{fe_hex, Visibility};
use kerafold::model::QuantizedModel;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The scenario's bounty threshold (the digits model gets 14 of the 16 samples right).
pub const THRESHOLD: u64 = 12;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The bounty's dataset: 16 samples of scikit-learn's 8×8 digits.
pub fn dataset() -> Dataset {
    Dataset::read(&fixtures().join("digits_16.kfd")).unwrap()
}

/// The first `n` records of the bounty's dataset, as a dataset of their own (the on-chain claim
/// circuit runs every record, so its tests use a few).
pub fn first_records(n: usize) -> Dataset {
    let full = dataset();
    let h = full.header();
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (x, y) = full.sample(i);
        features.extend_from_slice(x);
        labels.push(y);
    }
    Dataset::pack(
        &features,
        &labels,
        &h.shape(),
        usize::from(h.classes),
        h.scale_shift,
    )
    .unwrap()
}

/// The SHA-256 digest in the dataset's CID.
pub fn cid_digest() -> [u8; 32] {
    cid_of_bytes(dataset().as_bytes()).digest
}

/// The binary CIDv1 (raw codec) of the dataset.
pub fn cid_bytes() -> Vec<u8> {
    cid_of_bytes(dataset().as_bytes()).to_bytes().to_vec()
}

/// The digits model, calibrated on the dataset's samples.
pub fn digits() -> QuantizedModel {
    let graph = kerafold::model::load(&fixtures().join("digits.keras")).unwrap();
    let program = kerafold::model::lower(&graph).unwrap();
    kerafold::model::calibrate(&program, &dataset().inputs_f32())
        .unwrap()
        .0
}

/// Everything the host and the hunter hold.
pub struct Scenario {
    pub model: QuantizedModel,
    pub arch: Architecture,
    pub opening: Opening,
    pub host: SecretKey,
    pub hunter: SecretKey,
    pub file: CiphertextFile,
    pub encrypted: Encrypted,
    /// The hunter's reveal key for the ciphertext (what `withdraw` publishes).
    pub kappa: Fr,
    pub spec: ClaimSpec,
    /// The accuracy claim an honest Nova proof of the model on the dataset makes.
    pub accuracy: AccuracyClaim,
    /// The IO the claim binds: the honest proof's, as one shard.
    pub shards: ShardIos,
    pub params: PathBuf,
    /// The claim circuit's keys, drawn or read once per process: two test processes may share
    /// the key file, and a key read again could be another process's.
    keys: OnceLock<Keys>,
}

impl Scenario {
    /// A fresh scenario (random blindings, keys and nonce).
    pub fn new() -> Self {
        let model = digits();
        let arch = Architecture::compile(&model).unwrap();
        let opening = Opening::private(model.clone()).unwrap();
        let host = SecretKey::random();
        let hunter = SecretKey::random();
        let (file, _) = weights::encrypt(&opening, &host.public(), &hunter).unwrap();
        let encrypted = file.parse().unwrap();
        let kappa = weights::reveal_key(&hunter, encrypted.nonce);
        let data = dataset();
        let commitment = fe_hex(&opening.commitment().unwrap());
        let accuracy = native_claim(&model, &data, Visibility::Private, &commitment).unwrap();
        let spec = ClaimSpec::new(arch.clone(), *data.header());
        let shards =
            ShardIos::from_claims(std::slice::from_ref(&accuracy), 1, &IoLayout::ACCURACY).unwrap();
        let params = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kerafold-claim-params");
        Self {
            model,
            arch,
            opening,
            host,
            hunter,
            file,
            encrypted,
            kappa,
            spec,
            accuracy,
            shards,
            params,
            keys: OnceLock::new(),
        }
    }

    /// The claim input for `claimant`.
    pub fn input(&self, claimant: [u8; 20]) -> ClaimInput {
        ClaimInput::new(
            &self.spec,
            &self.encrypted,
            &self.hunter,
            self.shards.clone(),
            cid_digest(),
            THRESHOLD,
            claimant,
        )
        .unwrap()
    }

    /// A proved claim for `claimant`, with the scenario's setup keys.
    pub fn prove(&self, claimant: [u8; 20]) -> ClaimProof {
        circuit::prove_with_key(&self.spec, &self.input(claimant), self.keys()).unwrap()
    }

    /// The claim circuit's Groth16 keys ([`claim_keys`]).
    pub fn keys(&self) -> &Keys {
        self.keys.get_or_init(|| claim_keys(&self.spec))
    }
}

/// The claim circuit's Groth16 keys for `spec`. A real host draws them once per bounty
/// (`claim::flow::Setup::create`, or a ceremony); the tests draw them once per circuit and keep
/// them in the test target directory (keyed by the circuit's digest), so that every test binary
/// proving claims of one circuit spends its setup once, and in memory, so that the tests of one
/// binary read them once (tests asking for one circuit at once wait for the first).
pub fn claim_keys(spec: &ClaimSpec) -> Keys {
    static KEPT: std::sync::Mutex<Vec<([u8; 32], Keys)>> = std::sync::Mutex::new(Vec::new());
    let r1cs = R1cs::of(&circuit::ClaimCircuit {
        spec,
        public: None,
        witness: None,
    })
    .unwrap();
    let digest = r1cs.digest();
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, keys)) = kept.iter().find(|(d, _)| *d == digest) {
        return keys.clone();
    }
    let keys = setup_or_read(&r1cs);
    kept.push((digest, keys.clone()));
    keys
}

/// [`claim_keys`]' file cache: the keys of `r1cs` read from the test target directory, or drawn
/// and written there.
fn setup_or_read(r1cs: &R1cs) -> Keys {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kerafold-claim-params");
    let path = dir.join(format!("claim-{}.pk", &hex::encode(r1cs.digest())[..16]));
    if let Ok(pk) = groth16::read_ark(&path) {
        return Keys { pk };
    }
    let t = std::time::Instant::now();
    let keys = groth16::setup(r1cs, &mut rand_core::OsRng).unwrap();
    println!(
        "claim circuit setup ({} constraints): {:.1}s, kept in {}",
        r1cs.num_constraints(),
        t.elapsed().as_secs_f64(),
        path.display()
    );
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    groth16::write_ark(&tmp, &keys.pk).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    keys
}

/// The bounty's quantization flags for the digits model (`--fa --fw --bits --guard`), with one
/// guard bit of margin for the hunter's weights: what the CLI tests pass to `claim-setup`.
pub fn bounty_quant_args() -> Vec<String> {
    let fp = digits().fp;
    [
        ("--fa", fp.fa),
        ("--fw", fp.fw),
        ("--bits", fp.bits),
        ("--guard", fp.guard + 1),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect()
}
