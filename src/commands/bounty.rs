//! The bounty commands: `keygen`, `encrypt-weights`, `claim-circuit`, `claim-setup`,
//! `verify-ceremony`, `claim`, `verify-claim`, `reveal-key` and `decrypt-weights`. Every check lives in [`crate::claim::flow`]; these read the files, call it
//! and report.

use super::{ModelFile, QuantOptions};
use crate::accuracy::AccuracyProof;
use crate::claim::ceremony::VerifiedCeremony;
use crate::claim::circuit::{ClaimMode, ClaimShape};
use crate::claim::flow::{self, KeySource, KeyTrust, Ptau, Setup, Terms};
use crate::claim::snarkjs::ProofJson;
use crate::claim::weights::{self, CiphertextFile, ModelOpening, Opening};
use crate::crypto::babyjubjub::{KeyFile, Point, SecretKey};
use crate::crypto::bn254;
use crate::data::Dataset;
use crate::fold::Architecture;
use crate::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Renders a report as its JSON (the commands whose output is meant for files and scripts).
macro_rules! display_as_json {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let json = serde_json::to_string(self).map_err(|_| fmt::Error)?;
                write!(f, "{json}")
            }
        }
    };
}

/// What `kerafold keygen` reports: the public key file's content.
#[derive(Serialize)]
pub struct KeygenReport {
    /// The public key file's content.
    #[serde(flatten)]
    pub public: KeyFile,
    /// Where the secret key was written.
    #[serde(skip)]
    pub secret_path: PathBuf,
    /// Where the public key was written.
    #[serde(skip)]
    pub public_path: PathBuf,
}
impl fmt::Display for KeygenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_string_pretty(&self.public).map_err(|_| fmt::Error)?;
        write!(f, "{json}")
    }
}

/// Draws a Baby Jubjub key pair: the secret key to `out` (mode 0600), the public key beside it
/// (`NAME.pub.json`). Refuses to replace existing key files unless `force`.
pub fn keygen(out: &Path, force: bool) -> Result<KeygenReport> {
    let key = SecretKey::random();
    let public = KeyFile::public(&key.public());
    let pub_path = KeyFile::public_path(out);
    // both files checked before either is written: never leave a new secret beside an old
    // public key (KeyFile::write refuses too, but only file by file)
    if !force {
        for p in [out, pub_path.as_path()] {
            if p.exists() {
                return Err(Error::Usage(format!(
                    "{} exists: refusing to replace a key file (pass --force to overwrite it)",
                    p.display()
                )));
            }
        }
    }
    KeyFile::secret(&key).write(out, force)?;
    public.write(&pub_path, force)?;
    Ok(KeygenReport {
        public,
        secret_path: out.to_path_buf(),
        public_path: pub_path,
    })
}

/// What `kerafold encrypt-weights` reports.
#[derive(Serialize)]
pub struct EncryptReport {
    /// The ciphertext file.
    pub ciphertext: PathBuf,
    /// Number of field elements encrypted.
    pub elements: usize,
    /// The model commitment (hex, or decimal for the claim's field elements).
    pub model_commitment: String,
    /// The ciphertext hash the claim binds (decimal).
    pub ciphertext_hash: String,
    /// The hunter's Baby Jubjub public key (decimal coordinates).
    pub hunter_public_key: [String; 2],
}
display_as_json!(EncryptReport);

/// Encrypts a model's weights to a bounty host: a model opening (a private model's commitment)
/// or a Keras file (a public model's, quantized as `quant` says).
pub fn encrypt(
    model: &Path,
    quant: &QuantOptions,
    host_key: &Path,
    hunter_key: &Path,
    out: &Path,
) -> Result<EncryptReport> {
    let opening = if super::is_model_opening(model) {
        ModelOpening::read(model)?
    } else {
        Opening {
            model: ModelFile::open(model)?.prepare(quant, &[])?.model,
            blinds: vec![],
            tiling: None,
        }
    };
    let host = KeyFile::read(host_key)?.public_key()?;
    let hunter = KeyFile::read(hunter_key)?.secret_key(hunter_key)?;
    let (file, pt) = weights::encrypt(&opening, &host, &hunter)?;
    file.write(out)?;
    Ok(EncryptReport {
        ciphertext: out.to_path_buf(),
        elements: pt.len(),
        model_commitment: file.model_commitment.clone(),
        ciphertext_hash: file.ciphertext_hash.clone(),
        hunter_public_key: file.hunter_public_key.clone(),
    })
}

/// What `kerafold reveal-key` reports: the argument of `Bounty.withdraw`.
#[derive(Serialize)]
pub struct RevealKeyReport {
    /// The reveal key κ (`0x` and 64 hex digits: `withdraw(id, key)`'s `key`).
    pub key: String,
    /// Its SHA-256, the claim's `keyHash` (`0x` and 64 hex digits).
    pub key_hash: String,
}
display_as_json!(RevealKeyReport);

/// The hunter's reveal key for a ciphertext: what `Bounty.withdraw` takes once the host has
/// approved the claim. Revealing it lets the host decrypt; pass it to no one before approval.
pub fn reveal_key(ciphertext: &Path, hunter_key: &Path) -> Result<RevealKeyReport> {
    let enc = CiphertextFile::read(ciphertext)?.parse()?;
    let hunter = KeyFile::read(hunter_key)?.secret_key(hunter_key)?;
    if enc.hunter != hunter.public() {
        return Err(Error::Usage(format!(
            "{} was encrypted with another hunter key than {}",
            ciphertext.display(),
            hunter_key.display()
        )));
    }
    let kappa = weights::reveal_key(&hunter, enc.nonce);
    if weights::key_hash(&kappa) != enc.key_hash {
        return Err(Error::Invalid(format!(
            "{}: the key hash is not this hunter key's reveal key",
            ciphertext.display()
        )));
    }
    Ok(RevealKeyReport {
        key: format!("0x{}", hex::encode(bn254::to_be32(&kappa))),
        key_hash: format!("0x{}", hex::encode(enc.key_hash)),
    })
}

/// Parses a reveal key as `withdraw` published it: `0x` hex or decimal.
pub fn parse_reveal_key(s: &str) -> Result<bn254::Fr> {
    let bad = || {
        Error::Usage(format!(
            "'{s}' is not a reveal key (0x hex or decimal, below 2^248: the `key` of the contract's KeyRevealed event)"
        ))
    };
    let kappa = bn254::from_dec(s, "reveal key").map_err(|_| bad())?;
    if !weights::is_reveal_key(&kappa) {
        return Err(bad());
    }
    Ok(kappa)
}

/// The bounty's model (quantized as the options say), its architecture as hunters commit to it
/// (a step per layer, or the tiles and bands of `step_size`), and the dataset, which must fit it.
fn model_and_data(
    model: &Path,
    data: &Path,
    quant: &QuantOptions,
    step_size: Option<usize>,
) -> Result<(crate::model::QuantizedModel, Architecture, Dataset)> {
    let data = Dataset::read(data)?;
    let file = ModelFile::open(model)?;
    data.check_input_shape(file.input_shape())?;
    let q = file.prepare(quant, &data.inputs_f32())?.model;
    let arch = Architecture::compile_tiled(&q, super::commitment_tiling(&q, step_size)?)?;
    Ok((q, arch, data))
}

/// What `kerafold claim-circuit` reports.
#[derive(Serialize)]
pub struct ClaimCircuitReport {
    /// Where accuracy is proven.
    pub mode: ClaimMode,
    /// How many shard proofs a claim binds.
    pub max_shards: usize,
    /// Constraints.
    pub constraints: usize,
    /// Public inputs.
    pub public_inputs: usize,
    /// Wires, the one included.
    pub wires: usize,
    /// The power of the powers of tau the ceremony needs (`2^power` ≥ the QAP's domain).
    pub ptau_power: u32,
    /// The published file of that power (scripts/claim-ceremony.sh downloads and checks it).
    pub ptau: String,
    /// The `.r1cs` written.
    pub out: PathBuf,
}
display_as_json!(ClaimCircuitReport);

/// Writes the claim circuit for a model architecture and a dataset as circom's `.r1cs`, the
/// input of the snarkjs ceremony whose key `claim-setup --zkey` takes.
pub fn claim_circuit(
    model: &Path,
    data: &Path,
    quant: &QuantOptions,
    shape: &ClaimShape,
    step_size: Option<usize>,
    out: &Path,
) -> Result<ClaimCircuitReport> {
    let (_, arch, data) = model_and_data(model, data, quant, step_size)?;
    let r1cs = flow::claim_r1cs(&arch, &data, shape)?;
    let mut bytes = Vec::new();
    crate::claim::circom::write_r1cs(&r1cs, &mut bytes)?;
    std::fs::write(out, bytes).map_err(|e| Error::io(out, e))?;
    let power = crate::claim::circom::ptau_power(&r1cs);
    Ok(ClaimCircuitReport {
        mode: shape.mode,
        max_shards: shape.max_shards,
        constraints: r1cs.num_constraints(),
        public_inputs: r1cs.num_inputs,
        wires: 1 + r1cs.num_inputs + r1cs.num_aux,
        ptau_power: power,
        ptau: format!("powersOfTau28_hez_final_{power:02}.ptau"),
        out: out.to_path_buf(),
    })
}

/// What `kerafold claim-setup` reports.
#[derive(Serialize)]
pub struct ClaimSetupReport {
    /// Where accuracy is proven.
    pub mode: ClaimMode,
    /// How many shard proofs a claim binds.
    pub max_shards: usize,
    /// The tiles hunters commit the model in (`--step-size`); absent: a step per layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiling: Option<crate::fold::Tiling>,
    /// Where the proving key comes from.
    pub key: KeySource,
    /// Constraints of the claim circuit.
    pub constraints: usize,
    /// SHA-256 of the architecture (hex).
    pub architecture: String,
    /// The file or directory written.
    pub out: PathBuf,
    /// The files to publish.
    pub files: Vec<PathBuf>,
    /// The ceremony, verified (with `--zkey`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<VerifiedCeremony>,
    /// The powers of tau accuracy proofs are HyperKZG proofs over (with `--accuracy-ptau`); absent:
    /// transparent IPA proofs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_ptau: Option<String>,
    /// Fractional bits of activations.
    pub fa: u32,
    /// Fractional bits of weights.
    pub fw: u32,
    /// Activation range in bits.
    pub bits: u32,
    /// Guard bits between packed weight lanes.
    pub guard: u32,
}
display_as_json!(ClaimSetupReport);

/// The powers of tau a claim setup is made over.
#[derive(Clone, Copy, Default)]
pub struct SetupPtau<'a> {
    /// A snarkjs ceremony's final `.zkey` and the powers of tau it was made over: the claim's key
    /// is the ceremony's, verified. Without, keys drawn here (hunters accept those only with
    /// `--trust-host-key`).
    pub ceremony: Option<(&'a Path, &'a Ptau)>,
    /// The directory of the `.ptau` files hunters' accuracy proofs are HyperKZG proofs over.
    /// Without, they are transparent IPA proofs.
    pub accuracy: Option<&'a Path>,
}

/// The host's claim setup for a model architecture and a dataset, written into `out`, its keys
/// made as `ptau` says.
pub fn claim_setup(
    model: &Path,
    data: &Path,
    quant: &QuantOptions,
    shape: &ClaimShape,
    step_size: Option<usize>,
    ptau: SetupPtau<'_>,
    out: &Path,
) -> Result<ClaimSetupReport> {
    let (q, arch, data) = model_and_data(model, data, quant, step_size)?;
    let (key, r) = match ptau.ceremony {
        Some((zkey, ceremony)) => (
            KeySource::Ceremony,
            Setup::from_ceremony(&arch, &data, shape, zkey, ceremony, ptau.accuracy, out)?,
        ),
        None => (
            KeySource::Host,
            Setup::create(&arch, &data, shape, ptau.accuracy, out)?,
        ),
    };
    Ok(ClaimSetupReport {
        mode: shape.mode,
        max_shards: shape.max_shards,
        tiling: arch.tiling,
        key,
        constraints: r.constraints,
        architecture: r.architecture,
        out: out.to_path_buf(),
        files: r.files,
        ceremony: r.ceremony,
        accuracy_ptau: r.accuracy_ptau,
        fa: q.fp.fa,
        fw: q.fp.fw,
        bits: q.fp.bits,
        guard: q.fp.guard,
    })
}

/// What `kerafold verify-ceremony` reports.
#[derive(Serialize)]
pub struct VerifyCeremonyReport {
    /// The setup directory.
    pub setup: PathBuf,
    /// Whether the ceremony key verified (always true: a failure is an error).
    pub verified: bool,
    /// The powers of tau's power, if it is a published one.
    pub ptau_published: Option<u32>,
    /// The ceremony's circuit hash and contributions, oldest first: contributors find their hash.
    pub ceremony: VerifiedCeremony,
}
display_as_json!(VerifyCeremonyReport);

/// Verifies a setup's ceremony key over a powers of tau, as `claim` does before proving.
pub fn verify_ceremony(setup: &Path, ptau: &Ptau) -> Result<VerifyCeremonyReport> {
    let (_, _, ceremony) = Setup::read(setup)?.verify_ceremony(ptau)?;
    Ok(VerifyCeremonyReport {
        setup: setup.to_path_buf(),
        verified: true,
        ptau_published: ptau.published,
        ceremony,
    })
}

/// The bounty a claim is for: the host's published setup and the terms the contract holds.
#[derive(Clone, Debug)]
pub struct Bounty {
    /// The directory `kerafold claim-setup` wrote.
    pub setup: PathBuf,
    /// The dataset CID (CIDv1: raw `bafkrei…` or dag-pb `bafybei…`; or a raw block's 32-byte
    /// digest in hex).
    pub cid: String,
    /// The least number of correct samples.
    pub threshold: u64,
    /// The claimant's Ethereum address (`0x…`).
    pub address: String,
    /// Parameter cache for the accuracy proof's verifier key.
    pub params_dir: PathBuf,
    /// The directory of the `.ptau` files the setup holds accuracy proofs to (checked against
    /// the setup), for setups that name one.
    pub accuracy_ptau: Option<PathBuf>,
}

impl Bounty {
    fn load(&self, host: Point) -> Result<(Setup, Terms, [u8; 20])> {
        let setup = Setup::read(&self.setup)?;
        let setup = match &self.accuracy_ptau {
            Some(dir) => setup.with_accuracy_ptau(dir)?,
            None => setup,
        };
        Ok((
            setup,
            Terms::new(&self.cid, self.threshold, host)?,
            flow::parse_address(&self.address)?,
        ))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path, format!("not {what}: {e}")))
}

/// The Groth16 proof of a claim directory (or of its `proof.json`).
fn claim_proof(path: &Path) -> Result<ark_groth16::Proof<ark_bn254::Bn254>> {
    let file = if path.is_dir() {
        path.join("proof.json")
    } else {
        path.to_path_buf()
    };
    let p: ProofJson = read_json(&file, "a Groth16 proof.json")?;
    p.to_ark().map_err(|e| match e {
        Error::Invalid(m) => Error::format(&file, m),
        e => e,
    })
}

/// What `kerafold claim` reports.
#[derive(Serialize)]
pub struct ClaimReport {
    /// Constraints of the claim circuit.
    pub constraints: usize,
    /// The host's claim setup directory.
    pub setup: PathBuf,
    /// The file or directory written.
    pub out: PathBuf,
}

impl fmt::Display for ClaimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "claim proved ({} constraints) with the host's key from {}: {}",
            self.constraints,
            self.setup.display(),
            self.out.display()
        )
    }
}

/// The hunter's files for a claim.
pub struct ClaimFiles<'a> {
    /// Written by `encrypt-weights`.
    pub ciphertext: &'a Path,
    /// The accuracy proof the claim is about (approval-mode bounties).
    pub accuracy: Option<&'a Path>,
}

impl ClaimFiles<'_> {
    /// The ciphertext, and the accuracy proof's shards (one for a whole proof, every shard of a
    /// combined one).
    fn read(&self) -> Result<(CiphertextFile, Option<Vec<AccuracyProof>>)> {
        Ok((
            CiphertextFile::read(self.ciphertext)?,
            self.accuracy
                .map(crate::proofs::AnyProof::read_accuracy)
                .transpose()?,
        ))
    }
}

/// The accuracy proofs an approval-mode claim needs.
fn need_accuracy(setup: &Setup, a: Option<Vec<AccuracyProof>>) -> Result<Vec<AccuracyProof>> {
    a.ok_or_else(|| {
        Error::Usage(format!(
            "the setup in {} is an approval-mode bounty: pass the accuracy proof (--accuracy)",
            setup.dir.display()
        ))
    })
}

/// The claim's `ioDigest`, from its directory's `public.json` (on-chain claims: the circuit
/// computes it, so any other value fails verification).
fn claim_io_digest(claim: &Path) -> Result<bn254::Fr> {
    let file = if claim.is_dir() {
        claim.join("public.json")
    } else {
        claim.with_file_name("public.json")
    };
    let x: Vec<String> = read_json(&file, "a snarkjs public.json")?;
    let public = crate::claim::circuit::ClaimPublic::from_dec(&x)
        .map_err(|e| Error::format(&file, e.to_string()))?;
    Ok(public.io_digest)
}

/// Proves a bounty claim with the host's proving key and writes its files into `out`.
/// For an on-chain-accuracy bounty `data` is the dataset file (the circuit runs it); for an
/// approval-mode bounty `files.accuracy` is the Nova accuracy proof.
pub fn claim(
    bounty: &Bounty,
    files: &ClaimFiles,
    data: Option<&Path>,
    hunter_key: &Path,
    host_key: &Path,
    trust: KeyTrust<'_>,
    out: &Path,
) -> Result<ClaimReport> {
    let host = KeyFile::read(host_key)?.public_key()?;
    let (setup, terms, claimant) = bounty.load(host)?;
    let hunter = KeyFile::read(hunter_key)?.secret_key(hunter_key)?;
    let proof = match setup.shape.mode {
        ClaimMode::OnChain => {
            let (Some(data), None) = (data, files.accuracy) else {
                return Err(Error::Usage(format!(
                    "the setup in {} is an on-chain-accuracy bounty: the claim runs the dataset itself, pass it with --data (not an accuracy proof)",
                    setup.dir.display()
                )));
            };
            let ciphertext = CiphertextFile::read(files.ciphertext)?;
            let data = Dataset::read(data)?;
            flow::prove_on_chain_claim(
                &setup,
                &terms,
                &ciphertext,
                &hunter,
                &data,
                claimant,
                trust,
            )?
        }
        ClaimMode::Approval => {
            let (ciphertext, accuracy) = files.read()?;
            let accuracy = need_accuracy(&setup, accuracy)?;
            flow::prove_claim(
                &setup,
                &terms,
                &ciphertext,
                &hunter,
                &accuracy,
                claimant,
                trust,
            )?
        }
    };
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    proof.write_dir(out)?;
    Ok(ClaimReport {
        constraints: proof.constraints,
        setup: bounty.setup.clone(),
        out: out.to_path_buf(),
    })
}

/// What `kerafold verify-claim` reports.
#[derive(Serialize)]
pub struct VerifyClaimReport {
    /// Always true: a report exists only for a proof that verified.
    pub valid: bool,
    /// The dataset's CIDv1.
    pub cid: String,
    /// The bounty's threshold: the least correct count.
    pub threshold: u64,
    /// The claimant's Ethereum address.
    pub claimant: String,
    /// Where accuracy was proven: `approval` (a Nova proof, verified here) or `on-chain` (inside
    /// the claim, as the contract checks it).
    pub mode: ClaimMode,
    /// Number of samples the model gets right (the verified Nova proof's; `null` for an on-chain
    /// claim, which proves only that it meets the threshold).
    pub correct: Option<usize>,
    /// Number of samples of the dataset.
    pub samples: usize,
    /// The model commitment (hex; `null` for an on-chain claim, whose commitment is inside it).
    pub model_commitment: Option<String>,
    /// The ciphertext hash the claim binds (decimal).
    pub ciphertext_hash: String,
    /// The digest of the accuracy proof's public IO the claim binds (decimal).
    pub io_digest: String,
    /// The hunter's Baby Jubjub public key (decimal coordinates).
    pub hunter_public_key: [String; 2],
}

/// Verifies a claim (its directory or `proof.json`) against the bounty, the host's key, the
/// hunter's ciphertext and accuracy proof.
pub fn verify_claim(
    bounty: &Bounty,
    files: &ClaimFiles,
    claim: &Path,
    host_key: &Path,
) -> Result<VerifyClaimReport> {
    let host = KeyFile::read(host_key)?.public_key()?;
    let (setup, terms, claimant) = bounty.load(host)?;
    let proof = claim_proof(claim)?;
    let (ciphertext, accuracy) = files.read()?;
    let (p, acc) = match setup.shape.mode {
        ClaimMode::OnChain => {
            let io_digest = claim_io_digest(claim)?;
            let p = flow::verify_on_chain_claim(
                &setup,
                &terms,
                &proof,
                &ciphertext,
                io_digest,
                claimant,
            )?;
            (p, None)
        }
        ClaimMode::Approval => {
            let accuracy = need_accuracy(&setup, accuracy)?;
            let v = flow::verify_claim(
                &setup,
                &terms,
                &proof,
                &ciphertext,
                &accuracy,
                claimant,
                &bounty.params_dir,
            )?;
            (v.public, Some(v.accuracy))
        }
    };
    Ok(VerifyClaimReport {
        valid: true,
        cid: terms.cid.to_string(),
        threshold: p.threshold,
        claimant: format!("0x{}", hex::encode(p.claimant)),
        mode: setup.shape.mode,
        correct: acc.as_ref().map(|c| c.correct),
        samples: setup.header.count as usize,
        model_commitment: acc.map(|c| c.model.commitment),
        ciphertext_hash: bn254::to_dec(&p.ciphertext_hash),
        io_digest: bn254::to_dec(&p.io_digest),
        hunter_public_key: p.hunter.to_dec(),
    })
}

impl fmt::Display for VerifyClaimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "valid claim for this bounty")?;
        writeln!(f, "  dataset: {} (the bounty's CID)", self.cid)?;
        match self.correct {
            Some(c) => writeln!(
                f,
                "  accuracy: {c} of {} samples right (threshold {}), proof verified",
                self.samples, self.threshold
            )?,
            None => writeln!(
                f,
                "  accuracy: at least {} of {} samples right, proven inside the claim",
                self.threshold, self.samples
            )?,
        }
        writeln!(f, "  claimant: {}", self.claimant)?;
        write!(
            f,
            "  ciphertext hash: {} (must equal the on-chain claim's ciphertextHash)",
            self.ciphertext_hash
        )?;
        if let Some(m) = &self.model_commitment {
            write!(f, "\n  model commitment: {m}")?;
        }
        Ok(())
    }
}

/// What `kerafold decrypt-weights` reports.
#[derive(Serialize)]
pub struct DecryptReport {
    /// The model's name.
    pub model: String,
    /// Number of steps of the decrypted model.
    pub steps: usize,
    /// The model commitment (hex, or decimal for the claim's field elements).
    pub model_commitment: String,
    /// Number of samples the model gets right (the verified Nova proof's; `null` for an on-chain
    /// claim: run the opening on the dataset to count).
    pub correct: Option<usize>,
    /// Number of samples of the dataset.
    pub samples: usize,
    /// The file or directory written.
    pub out: PathBuf,
}
display_as_json!(DecryptReport);

/// The host's side: decrypts a hunter's weights once its claim verifies for the bounty and the
/// hunter has revealed its key (`reveal_key`, as [`parse_reveal_key`] reads it) to be paid, and
/// writes the model opening to `out`.
pub fn decrypt(
    bounty: &Bounty,
    files: &ClaimFiles,
    claim: &Path,
    host_key: &Path,
    reveal_key: &str,
    out: &Path,
) -> Result<DecryptReport> {
    let kappa = parse_reveal_key(reveal_key)?;
    let host = KeyFile::read(host_key)?.secret_key(host_key)?;
    let (setup, terms, claimant) = bounty.load(host.public())?;
    let proof = claim_proof(claim)?;
    let (ciphertext, accuracy) = files.read()?;
    let (opening, correct) = match setup.shape.mode {
        ClaimMode::OnChain => {
            let opening = flow::decrypt_on_chain_claim(
                &setup,
                &terms,
                &host,
                &kappa,
                &proof,
                &ciphertext,
                claim_io_digest(claim)?,
                claimant,
            )?;
            (opening, None)
        }
        ClaimMode::Approval => {
            let accuracy = need_accuracy(&setup, accuracy)?;
            let (opening, v) = flow::decrypt_claim(
                &setup,
                &terms,
                &host,
                &kappa,
                &proof,
                &ciphertext,
                &accuracy,
                claimant,
                &bounty.params_dir,
            )?;
            (opening, Some(v.accuracy.correct))
        }
    };
    let f = ModelOpening::new(&opening)?;
    f.write(out)?;
    Ok(DecryptReport {
        model: opening.model.name.clone(),
        steps: opening.model.steps.len(),
        model_commitment: f.commitment,
        correct,
        samples: setup.header.count as usize,
        out: out.to_path_buf(),
    })
}
