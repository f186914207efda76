//! A bounty scenario shared by the claim and EVM tests: the mlp fixture quantized, a private
//! model opening, host and hunter keys, the encrypted weights, and claims proved for given
//! addresses (Groth16 keys cached in the test target directory, keyed by the circuit's digest).
#![allow(dead_code)]

use kerafold::bounty::babyjubjub::SecretKey;
use kerafold::bounty::claim::{self, ClaimInput, ClaimProof, ClaimSpec, IoLayout, NovaIo};
use kerafold::bounty::weights::{self, CiphertextFile, Encrypted, Opening};
use kerafold::fold::Architecture;
use kerafold::model::QuantizedModel;
use std::path::{Path, PathBuf};

/// The dataset digest of the scenario's bounty.
pub const CID_DIGEST: [u8; 32] = [
    0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
/// Correct samples and samples of the stand-in accuracy proof.
pub const CORRECT: u64 = 27;
pub const SAMPLES: u64 = 32;
/// The bounty's threshold.
pub const THRESHOLD: u64 = 25;

/// The binary CIDv1 (raw codec) of [`CID_DIGEST`].
pub fn cid_bytes() -> Vec<u8> {
    let mut v = vec![0x01, 0x55, 0x12, 0x20];
    v.extend(CID_DIGEST);
    v
}

/// The mlp fixture, calibrated on its inputs.
pub fn mlp() -> QuantizedModel {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let graph = kerafold::model::load(&dir.join("mlp.keras")).unwrap();
    let program = kerafold::model::lower(&graph).unwrap();
    #[derive(serde::Deserialize)]
    struct Inputs {
        inputs: Vec<Vec<f32>>,
    }
    let fx: Inputs =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mlp.json")).unwrap()).unwrap();
    kerafold::model::calibrate(&program, &fx.inputs).unwrap().0
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
    pub spec: ClaimSpec,
    pub io: NovaIo,
    pub params: PathBuf,
}

impl Scenario {
    /// A fresh scenario (random blindings, keys and nonce).
    pub fn new() -> Self {
        let model = mlp();
        let arch = Architecture::compile(&model).unwrap();
        let opening = Opening::private(model.clone()).unwrap();
        let host = SecretKey::random();
        let hunter = SecretKey::random();
        let (file, _) = weights::encrypt(&opening, &host.public(), &hunter).unwrap();
        let encrypted = file.parse().unwrap();
        let spec = ClaimSpec::new(arch.clone(), IoLayout::STANDIN);
        let io = NovaIo::standin(
            arch.steps.len() as u64 * SAMPLES,
            opening.commitment().unwrap(),
            CORRECT,
            SAMPLES,
            &CID_DIGEST,
        );
        let params = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kerafold-claim-params");
        Self {
            model,
            arch,
            opening,
            host,
            hunter,
            file,
            encrypted,
            spec,
            io,
            params,
        }
    }

    /// The claim input for `claimant`.
    pub fn input(&self, claimant: [u8; 20]) -> ClaimInput {
        ClaimInput::new(
            &self.spec,
            &self.encrypted,
            &self.hunter,
            self.io.clone(),
            CID_DIGEST,
            THRESHOLD,
            claimant,
        )
        .unwrap()
    }

    /// A proved claim for `claimant`.
    pub fn prove(&self, claimant: [u8; 20]) -> ClaimProof {
        claim::prove(&self.spec, &self.input(claimant), &self.params).unwrap()
    }
}
