//! The bounty flow's checks, in one place for the CLI and for library users (SECURITY.md): what a
//! host publishes, what a hunter's claim must be bound to, and what the host checks before it
//! approves a claim or decrypts its weights.
//!
//! The host's **setup** ([`Setup`], `kerafold claim-setup`) is a directory it publishes:
//!
//! | file | what | who uses it |
//! |---|---|---|
//! | `setup.json` | the architecture's digest and the dataset header the circuit is built for | everyone |
//! | `architecture.json` | the model architecture (no weights), fixed point and guard included | hunters (to prove with it), verifiers |
//! | `claim.pk` | the claim circuit's Groth16 proving key | hunters (`kerafold claim` refuses to make its own) |
//! | `verification_key.json` | its verifying key (snarkjs format) | the host, `verify-claim`, snarkjs |
//! | `verifier_args.json` | the Solidity verifier's constructor arguments | the deployer |
//! | `ClaimVerifier.sol` | the Solidity Groth16 verifier for this circuit's number of public inputs (`contracts/Groth16Verifier.sol` for 12) | the deployer |
//!
//! The bounty's **terms** ([`Terms`]) are what `Bounty.createBounty` stores: the dataset's CID,
//! the threshold and the host's key. A claim is checked against the setup and the terms the
//! *verifier* holds — never against keys, terms or inputs that come with the claim: the public
//! inputs are rebuilt here from the terms, the claimant's address, the ciphertext file and the
//! verified accuracy proof, exactly as the contract rebuilds them on chain.

use super::circuit::ClaimMode;
use super::circuit::{self, ClaimInput, ClaimProof, ClaimPublic, ClaimSpec, NovaIo};
use super::groth16::{self, Keys, R1cs};
use super::weights::{self, CiphertextFile, Encrypted, Opening};
use crate::accuracy::{self, AccuracyArch, AccuracyCheck, AccuracyClaim, AccuracyProof};
use crate::crypto::babyjubjub::{Point, SecretKey};
use crate::crypto::bn254::Fr;
use crate::data::dataset::{Dataset, Header};
use crate::fold::{fe_hex, Architecture};
use crate::model::QuantizedModel;
use crate::{Error, Result};
use ark_bn254::Bn254;
use ark_groth16::{Proof, ProvingKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format tag of `setup.json`.
pub const SETUP_FORMAT: &str = "kerafold-claim-setup";

/// `setup.json`: what the claim circuit is built for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupFile {
    /// [`SETUP_FORMAT`].
    pub format: String,
    /// 1.
    pub version: u32,
    /// SHA-256 of `architecture.json`'s architecture (hex), as in proof files.
    pub architecture: String,
    /// The dataset header (its length is a constant of the circuit).
    pub header: Header,
    /// Constraints of the claim circuit.
    pub constraints: usize,
    /// Where accuracy is proven: by a Nova proof the host checks before approving (`approval`,
    /// the default of older setups), or in the claim itself (`on-chain`).
    #[serde(default = "approval")]
    pub mode: ClaimMode,
}

fn approval() -> ClaimMode {
    ClaimMode::Approval
}

/// A host's published claim setup (module docs), read from its directory.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The directory.
    pub dir: PathBuf,
    /// The model architecture.
    pub arch: Architecture,
    /// The dataset header.
    pub header: Header,
    /// The claim circuit's verifying key.
    pub vk: VerifyingKey<Bn254>,
    /// Where accuracy is proven.
    pub mode: ClaimMode,
}

/// What [`Setup::create`] did.
#[derive(Clone, Debug, Serialize)]
pub struct SetupReport {
    /// Constraints of the claim circuit.
    pub constraints: usize,
    /// SHA-256 of the architecture (hex).
    pub architecture: String,
    /// The files written, to publish.
    pub files: Vec<PathBuf>,
}

impl Setup {
    /// The host's side: the claim circuit for `model`'s architecture and `data`'s header, its
    /// Groth16 keys (drawn now; whoever runs this could forge claims, so the host runs it), and
    /// the files to publish, written into `dir`.
    pub fn create(
        model: &QuantizedModel,
        data: &Dataset,
        mode: ClaimMode,
        dir: &Path,
    ) -> Result<SetupReport> {
        let arch = Architecture::compile(model)?;
        // the dataset must fit the model: features, classes, one IPFS chunk
        AccuracyArch::new(arch.clone(), *data.header())?;
        let spec = match mode {
            ClaimMode::Approval => ClaimSpec::new(arch.clone(), *data.header()),
            ClaimMode::OnChain => ClaimSpec::on_chain(arch.clone(), *data.header())?,
        };
        let r1cs = R1cs::of(&circuit::ClaimCircuit {
            spec: &spec,
            public: None,
            witness: None,
        })?;
        let keys = groth16::setup(&r1cs, &mut rand_core::OsRng)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let digest = hex::encode(arch.digest());
        let setup = SetupFile {
            format: SETUP_FORMAT.into(),
            version: 1,
            architecture: digest.clone(),
            header: *data.header(),
            constraints: r1cs.num_constraints(),
            mode,
        };
        let path = |f: &str| dir.join(f);
        write_json(&path("setup.json"), &setup)?;
        arch.write(&path("architecture.json"))?;
        groth16::write_ark(&path("claim.pk"), &keys.pk)?;
        circuit::write_verifier_files(keys.vk(), dir)?;
        // the Solidity verifier for this circuit's number of public inputs (12 in approval mode,
        // 13 + the ciphertext's length on chain); its key goes to the constructor
        let sol = path("ClaimVerifier.sol");
        std::fs::write(&sol, super::solidity::verifier_source(spec.num_public()))
            .map_err(|e| Error::io(&sol, e))?;
        Ok(SetupReport {
            constraints: setup.constraints,
            architecture: digest,
            files: [
                "setup.json",
                "architecture.json",
                "claim.pk",
                "verification_key.json",
                "verifier_args.json",
                "ClaimVerifier.sol",
            ]
            .iter()
            .map(|f| path(f))
            .collect(),
        })
    }

    /// Reads a published setup: the architecture must be `setup.json`'s and valid.
    pub fn read(dir: &Path) -> Result<Self> {
        let setup: SetupFile = read_json(&dir.join("setup.json"), "a claim setup")?;
        if setup.format != SETUP_FORMAT || setup.version != 1 {
            return Err(Error::format(
                dir.join("setup.json"),
                format!("not a version-1 {SETUP_FORMAT} file"),
            ));
        }
        let arch_path = dir.join("architecture.json");
        let arch = Architecture::read(&arch_path)?;
        if hex::encode(arch.digest()) != setup.architecture {
            return Err(Error::format(
                &arch_path,
                "the architecture is not the one setup.json names",
            ));
        }
        arch.validate()
            .map_err(|e| Error::format(&arch_path, format!("malformed architecture: {e}")))?;
        let vk_path = dir.join("verification_key.json");
        let vk: super::snarkjs::VkJson = read_json(&vk_path, "a verification key")?;
        let vk = vk.to_ark().map_err(|e| match e {
            Error::Invalid(m) => Error::format(&vk_path, m),
            e => e,
        })?;
        let me = Self {
            dir: dir.to_path_buf(),
            arch,
            header: setup.header,
            vk,
            mode: setup.mode,
        };
        let n = me.spec()?.num_public();
        if me.vk.gamma_abc_g1.len() != n + 1 {
            return Err(Error::format(
                &vk_path,
                format!("not a key for the {n} public inputs of this claim circuit"),
            ));
        }
        Ok(me)
    }

    /// The claim circuit's constants.
    pub fn spec(&self) -> Result<ClaimSpec> {
        match self.mode {
            ClaimMode::Approval => Ok(ClaimSpec::new(self.arch.clone(), self.header)),
            ClaimMode::OnChain => ClaimSpec::on_chain(self.arch.clone(), self.header),
        }
    }

    /// Refuses a claim of the other mode, naming what it needs.
    fn require(&self, mode: ClaimMode) -> Result<()> {
        if self.mode == mode {
            return Ok(());
        }
        Err(Error::Usage(match self.mode {
            ClaimMode::Approval => "this bounty's setup proves accuracy with a Nova proof: pass the accuracy proof (--accuracy)".into(),
            ClaimMode::OnChain => "this bounty's setup proves accuracy inside the claim (on-chain mode): pass the dataset (--data), not an accuracy proof".into(),
        }))
    }

    /// The host's proving key (`claim.pk`), which must belong to the published verifying key.
    pub fn proving_key(&self) -> Result<ProvingKey<Bn254>> {
        let path = self.dir.join("claim.pk");
        if !path.exists() {
            return Err(Error::Usage(format!(
                "{} is missing: a claim is proved with the bounty host's proving key (the host publishes it with `kerafold claim-setup`), never with keys of one's own",
                path.display()
            )));
        }
        let pk: ProvingKey<Bn254> = groth16::read_ark(&path)?;
        if pk.vk != self.vk {
            return Err(Error::format(
                &path,
                "the proving key does not belong to the setup's verification_key.json",
            ));
        }
        Ok(pk)
    }

    fn check_accuracy_proof(&self, proof: &AccuracyProof) -> Result<()> {
        if proof.architecture != hex::encode(self.arch.digest()) {
            return Err(Error::Invalid(
                "the accuracy proof is about another model architecture (or fixed-point parameters) than the bounty's".into(),
            ));
        }
        if proof.claim.header != self.header {
            return Err(Error::Invalid(
                "the accuracy proof is about a dataset of another shape than the bounty's".into(),
            ));
        }
        Ok(())
    }
}

/// A bounty's terms, as the contract holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The SHA-256 digest of the dataset's raw CIDv1.
    pub cid_digest: [u8; 32],
    /// The least number of correct samples.
    pub threshold: u64,
    /// The host's public key (prime-order subgroup).
    pub host: Point,
}

impl Terms {
    /// Terms from a CID string (raw CIDv1 `b…`, or 64 hex digits of its digest), a threshold and
    /// the host's key.
    pub fn new(cid: &str, threshold: u64, host: Point) -> Result<Self> {
        Ok(Self {
            cid_digest: circuit::parse_cid(cid)?,
            threshold,
            host,
        })
    }

    /// The dataset's CID as a string.
    pub fn cid(&self) -> String {
        crate::data::Cid::raw(self.cid_digest).to_string()
    }
}

/// Parses a 20-byte Ethereum address (`0x` and 40 hex digits).
pub fn parse_address(s: &str) -> Result<[u8; 20]> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(h)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Usage(format!("'{s}' is not a 20-byte hex address")))
}

/// The hunter's side: proves a claim for `terms` with the host's proving key. Checks before
/// proving everything a verifier will check, so a claim that could not be paid is refused with a
/// message that says why.
pub fn prove_claim(
    setup: &Setup,
    terms: &Terms,
    ciphertext: &CiphertextFile,
    hunter: &SecretKey,
    accuracy: &AccuracyProof,
    claimant: [u8; 20],
) -> Result<ClaimProof> {
    let enc = encrypted_for(setup, terms, ciphertext)?;
    setup.require(ClaimMode::Approval)?;
    setup.check_accuracy_proof(accuracy)?;
    let spec = setup.spec()?;
    let input = ClaimInput::new(
        &spec,
        &enc,
        hunter,
        NovaIo::from_accuracy(&accuracy.claim)?,
        terms.cid_digest,
        terms.threshold,
        claimant,
    )?;
    let pk = setup.proving_key()?;
    circuit::prove_with_key(&spec, &input, &Keys { pk })
}

/// The hunter's side of an on-chain-accuracy bounty: proves the claim, running the decrypted
/// model on every record of `data` (whose CID must be the terms'), with the host's proving key.
pub fn prove_on_chain_claim(
    setup: &Setup,
    terms: &Terms,
    ciphertext: &CiphertextFile,
    hunter: &SecretKey,
    data: &Dataset,
    claimant: [u8; 20],
) -> Result<ClaimProof> {
    setup.require(ClaimMode::OnChain)?;
    let enc = encrypted_for(setup, terms, ciphertext)?;
    if crate::data::cid::cid_of_bytes(data.as_bytes()).digest != terms.cid_digest {
        return Err(Error::Usage(format!(
            "the dataset file is not the bounty's: its CID is {}, the bounty's {}",
            crate::data::cid::cid_of_bytes(data.as_bytes()),
            terms.cid()
        )));
    }
    let spec = setup.spec()?;
    let input = ClaimInput::on_chain(&spec, &enc, hunter, data, terms.threshold, claimant)?;
    let pk = setup.proving_key()?;
    circuit::prove_with_key(&spec, &input, &Keys { pk })
}

/// The ciphertext file parsed and checked against the bounty: its architecture and host key.
fn encrypted_for(setup: &Setup, terms: &Terms, ciphertext: &CiphertextFile) -> Result<Encrypted> {
    let enc = ciphertext.parse()?;
    if enc.arch.digest() != setup.arch.digest() {
        return Err(Error::Usage(
            "the encrypted model's architecture (or fixed-point parameters) is not the bounty's: quantize with the setup's architecture.json".into(),
        ));
    }
    if enc.host != terms.host {
        return Err(Error::Usage(
            "the weights are encrypted to another key than the bounty host's: encrypt them again with the host's public key".into(),
        ));
    }
    Ok(enc)
}

/// Anyone's check of an on-chain-accuracy claim, as the contract makes it: the Groth16 proof
/// verifies under the setup's key with the public inputs rebuilt from `terms`, `claimant` and
/// the ciphertext (posted: nonce and elements are public inputs). `io_digest` is the digest of
/// the accuracy run the circuit computes itself (the claim's `ioDigest`): any value other than
/// the true one fails. The proof shows the count meets the terms' threshold; the count itself
/// stays private.
pub fn verify_on_chain_claim(
    setup: &Setup,
    terms: &Terms,
    proof: &Proof<Bn254>,
    ciphertext: &CiphertextFile,
    io_digest: Fr,
    claimant: [u8; 20],
) -> Result<ClaimPublic> {
    setup.require(ClaimMode::OnChain)?;
    let enc = encrypted_for(setup, terms, ciphertext).map_err(|e| match e {
        Error::Usage(m) => Error::Invalid(m),
        e => e,
    })?;
    let public = ClaimPublic {
        cid_digest: terms.cid_digest,
        threshold: terms.threshold,
        host: terms.host,
        claimant,
        hunter: enc.hunter,
        ciphertext_hash: enc.hash,
        io_digest,
        key_hash: enc.key_hash,
        posted: Some(circuit::Posted {
            nonce: enc.nonce,
            ciphertext: enc.ciphertext.clone(),
        }),
    };
    if !groth16::verify(&setup.vk, &public.inputs(), proof) {
        return Err(Error::Invalid(
            "the claim proof does not verify under the bounty's key for these terms, this claimant and this ciphertext".into(),
        ));
    }
    Ok(public)
}

/// A claim that holds for the bounty: its public inputs and the accuracy claim it is bound to.
#[derive(Clone, Debug)]
pub struct VerifiedClaim {
    /// The public inputs, as the verifier rebuilt them.
    pub public: ClaimPublic,
    /// The verified accuracy claim.
    pub accuracy: AccuracyClaim,
}

/// The host's (or anyone's) check of a claim: the Groth16 proof verifies under the setup's key
/// with public inputs rebuilt from `terms`, `claimant`, the ciphertext file and the accuracy
/// proof, which itself verifies (key derived by the verifier, the setup's architecture) for the
/// terms' CID and threshold.
pub fn verify_claim(
    setup: &Setup,
    terms: &Terms,
    proof: &Proof<Bn254>,
    ciphertext: &CiphertextFile,
    accuracy: &AccuracyProof,
    claimant: [u8; 20],
    params_dir: &Path,
) -> Result<VerifiedClaim> {
    setup.require(ClaimMode::Approval)?;
    let enc = ciphertext.parse()?;
    if enc.arch.digest() != setup.arch.digest() {
        return Err(Error::Invalid(
            "the ciphertext's model architecture is not the bounty's".into(),
        ));
    }
    if enc.host != terms.host {
        return Err(Error::Invalid(
            "the weights are encrypted to another key than the bounty host's".into(),
        ));
    }
    setup.check_accuracy_proof(accuracy)?;
    let acc = accuracy::verify_accuracy(
        accuracy,
        params_dir,
        &AccuracyCheck {
            cid: Some(terms.cid()),
            min_correct: Some(terms.threshold as usize),
            model: None,
            arch: Some(setup.arch.clone()),
        },
    )?;
    if acc.model.commitment != fe_hex(&enc.commitment) {
        return Err(Error::Invalid(
            "the ciphertext file states another model commitment than the accuracy proof's".into(),
        ));
    }
    let public = ClaimPublic {
        cid_digest: terms.cid_digest,
        threshold: terms.threshold,
        host: terms.host,
        claimant,
        hunter: enc.hunter,
        ciphertext_hash: enc.hash,
        io_digest: NovaIo::from_accuracy(&acc)?.digest(),
        key_hash: enc.key_hash,
        posted: None,
    };
    if !groth16::verify(&setup.vk, &public.inputs(), proof) {
        return Err(Error::Invalid(
            "the claim proof does not verify under the bounty's key for these terms, this claimant, this ciphertext and this accuracy proof".into(),
        ));
    }
    Ok(VerifiedClaim {
        public,
        accuracy: acc,
    })
}

/// The host's decryption of a claimed model, with the reveal key κ the hunter published when it
/// was paid (`Bounty.withdraw`'s `KeyRevealed` event): only after [`verify_claim`] holds (with
/// the host's own key as the terms' key), and only to a model whose commitment is the verified
/// accuracy proof's and whose weights are well-formed.
#[allow(clippy::too_many_arguments)]
pub fn decrypt_claim(
    setup: &Setup,
    terms: &Terms,
    host: &SecretKey,
    kappa: &Fr,
    proof: &Proof<Bn254>,
    ciphertext: &CiphertextFile,
    accuracy: &AccuracyProof,
    claimant: [u8; 20],
    params_dir: &Path,
) -> Result<(Opening, VerifiedClaim)> {
    if terms.host != host.public() {
        return Err(Error::Usage(
            "the key file is not the bounty host's key".into(),
        ));
    }
    let v = verify_claim(
        setup, terms, proof, ciphertext, accuracy, claimant, params_dir,
    )?;
    let opening = weights::decrypt(ciphertext, host, kappa)?;
    if fe_hex(&opening.commitment()?) != v.accuracy.model.commitment {
        return Err(Error::Invalid(
            "the decrypted model's commitment is not the accuracy proof's".into(),
        ));
    }
    Ok((opening, v))
}

/// The host's decryption of an on-chain-accuracy claim's model with the revealed key: only after
/// [`verify_on_chain_claim`] holds (the host's own key as the terms' key).
#[allow(clippy::too_many_arguments)]
pub fn decrypt_on_chain_claim(
    setup: &Setup,
    terms: &Terms,
    host: &SecretKey,
    kappa: &Fr,
    proof: &Proof<Bn254>,
    ciphertext: &CiphertextFile,
    io_digest: Fr,
    claimant: [u8; 20],
) -> Result<Opening> {
    if terms.host != host.public() {
        return Err(Error::Usage(
            "the key file is not the bounty host's key".into(),
        ));
    }
    verify_on_chain_claim(setup, terms, proof, ciphertext, io_digest, claimant)?;
    weights::decrypt(ciphertext, host, kappa)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path, format!("not {what}: {e}")))
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(v).expect("serializes");
    std::fs::write(path, json).map_err(|e| Error::io(path, e))
}
