//! The bounty subcommands: `keygen`, `encrypt-weights`, `claim`, `verify-claim`,
//! `decrypt-weights`. Every check lives in `kerafold::claim::flow`; this file reads files,
//! calls it and prints.

use clap::Args;
use kerafold::accuracy::AccuracyProof;
use kerafold::claim::flow::{self, Setup, Terms};
use kerafold::claim::snarkjs::ProofJson;
use kerafold::claim::weights::{self, CiphertextFile, ModelOpening, Opening};
use kerafold::crypto::babyjubjub::{KeyFile, SecretKey};
use kerafold::crypto::bn254;
use kerafold::model::QuantizedModel;
use kerafold::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

use crate::QuantArgs;

#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Secret key file to write (JSON, mode 0600; keep it private). The public key goes to
    /// NAME.pub.json beside it.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub(crate) struct EncryptArgs {
    /// The model: a model opening (JSON, with the blindings of a private model commitment) or a
    /// Keras file (public model commitment; quantize with the bounty's --arch).
    model: PathBuf,
    /// The bounty host's public key (`host.pub.json`, or any key file).
    #[arg(long)]
    host_key: PathBuf,
    /// The hunter's secret key file.
    #[arg(long)]
    key: PathBuf,
    /// Ciphertext file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    #[command(flatten)]
    quant: QuantArgs,
}

/// The bounty a claim is for: the host's published setup and the terms the contract holds.
#[derive(Args)]
pub(crate) struct BountyArgs {
    /// The host's published claim setup (the directory `kerafold claim-setup` wrote).
    #[arg(long)]
    setup: PathBuf,
    /// The bounty's dataset CID (raw CIDv1 `bafkrei…`, or the 32-byte digest in hex).
    #[arg(long)]
    cid: String,
    /// The bounty's threshold: the least number of correct samples.
    #[arg(long)]
    threshold: u64,
    /// The claimant's Ethereum address (the sender of `submitClaim`), 0x…
    #[arg(long)]
    address: String,
    /// Parameter cache for the accuracy proof's verifier key.
    #[arg(long)]
    params_dir: Option<PathBuf>,
}

impl BountyArgs {
    fn load(&self, host: kerafold::crypto::babyjubjub::Point) -> Result<(Setup, Terms, [u8; 20])> {
        Ok((
            Setup::read(&self.setup)?,
            Terms::new(&self.cid, self.threshold, host)?,
            flow::parse_address(&self.address)?,
        ))
    }

    fn params(&self) -> PathBuf {
        self.params_dir
            .clone()
            .unwrap_or_else(kerafold::fold::default_params_dir)
    }
}

#[derive(Args)]
pub(crate) struct ClaimArgs {
    /// Ciphertext file written by `encrypt-weights`.
    ciphertext: PathBuf,
    /// The hunter's secret key file.
    #[arg(long)]
    key: PathBuf,
    /// The accuracy proof (`kerafold prove-accuracy`) the claim is about.
    #[arg(long)]
    accuracy: PathBuf,
    /// The bounty host's public key (checked against the ciphertext's).
    #[arg(long)]
    host_key: PathBuf,
    #[command(flatten)]
    bounty: BountyArgs,
    /// Directory to write proof.json, public.json, calldata.txt, claim.json and
    /// verification_key.json (the host's, for snarkjs) into.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct VerifyClaimArgs {
    /// The claim: its directory (as `kerafold claim` wrote it) or its proof.json. Only the proof
    /// is read from it; the public inputs are rebuilt from the bounty.
    claim: PathBuf,
    /// The bounty host's public key.
    #[arg(long)]
    host_key: PathBuf,
    /// The hunter's ciphertext file (its hash is the claim's `ciphertextHash`).
    #[arg(long)]
    ciphertext: PathBuf,
    /// The hunter's accuracy proof.
    #[arg(long)]
    accuracy: PathBuf,
    #[command(flatten)]
    bounty: BountyArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct DecryptArgs {
    /// Ciphertext file written by `encrypt-weights`.
    ciphertext: PathBuf,
    /// The host's secret key file.
    #[arg(long)]
    key: PathBuf,
    /// The hunter's claim (directory or proof.json): it must verify for this bounty first.
    #[arg(long)]
    claim: PathBuf,
    /// The hunter's accuracy proof.
    #[arg(long)]
    accuracy: PathBuf,
    #[command(flatten)]
    bounty: BountyArgs,
    /// Model opening to write (JSON: the quantized model and the blindings).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path, format!("not {what}: {e}")))
}

/// The Groth16 proof of a claim directory (or of its proof.json).
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

pub(crate) fn keygen(a: KeygenArgs) -> Result<()> {
    let key = SecretKey::random();
    let public = KeyFile::public(&key.public());
    let pub_path = KeyFile::public_path(&a.out);
    if !a.force {
        for p in [&a.out, &pub_path] {
            if p.exists() {
                return Err(Error::Usage(format!(
                    "{} exists: refusing to replace a key file (pass --force to overwrite it)",
                    p.display()
                )));
            }
        }
    }
    KeyFile::secret(&key).write(&a.out, a.force)?;
    public.write(&pub_path, a.force)?;
    eprintln!(
        "secret key: {} (keep it private); public key: {}",
        a.out.display(),
        pub_path.display()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&public).expect("serializes")
    );
    Ok(())
}

pub(crate) fn encrypt(
    a: EncryptArgs,
    load: impl Fn(&Path, &QuantArgs) -> Result<QuantizedModel>,
) -> Result<()> {
    let opening = match ModelOpening::read(&a.model) {
        Ok(o) => o,
        Err(Error::Format { .. }) | Err(Error::Invalid(_))
            if a.model.extension().is_none_or(|e| e != "json") =>
        {
            Opening {
                model: load(&a.model, &a.quant)?,
                blinds: vec![],
            }
        }
        Err(e) => return Err(e),
    };
    let host = KeyFile::read(&a.host_key)?.public_key()?;
    let hunter = KeyFile::read(&a.key)?.secret_key(&a.key)?;
    let (file, pt) = weights::encrypt(&opening, &host, &hunter)?;
    file.write(&a.out)?;
    println!(
        "{}",
        json!({"ciphertext": a.out, "elements": pt.len(), "model_commitment": file.model_commitment,
               "ciphertext_hash": file.ciphertext_hash, "hunter_public_key": file.hunter_public_key})
    );
    Ok(())
}

pub(crate) fn claim(a: ClaimArgs) -> Result<()> {
    let host = KeyFile::read(&a.host_key)?.public_key()?;
    let (setup, terms, claimant) = a.bounty.load(host)?;
    let ciphertext = CiphertextFile::read(&a.ciphertext)?;
    let hunter = KeyFile::read(&a.key)?.secret_key(&a.key)?;
    let accuracy = AccuracyProof::read(&a.accuracy)?;
    let out = flow::prove_claim(&setup, &terms, &ciphertext, &hunter, &accuracy, claimant)?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    out.write_dir(&a.out)?;
    println!(
        "claim proved ({} constraints) with the host's key from {}: {}",
        out.constraints,
        a.bounty.setup.display(),
        a.out.display()
    );
    Ok(())
}

pub(crate) fn verify_claim(a: VerifyClaimArgs) -> Result<()> {
    let host = KeyFile::read(&a.host_key)?.public_key()?;
    let (setup, terms, claimant) = a.bounty.load(host)?;
    let proof = claim_proof(&a.claim)?;
    let ciphertext = CiphertextFile::read(&a.ciphertext)?;
    let accuracy = AccuracyProof::read(&a.accuracy)?;
    let v = flow::verify_claim(
        &setup,
        &terms,
        &proof,
        &ciphertext,
        &accuracy,
        claimant,
        &a.bounty.params(),
    )?;
    let p = &v.public;
    let c = &v.accuracy;
    if a.json {
        println!(
            "{}",
            json!({"valid": true, "cid": terms.cid(), "threshold": p.threshold,
                   "claimant": format!("0x{}", hex::encode(p.claimant)),
                   "correct": c.correct, "samples": c.samples,
                   "model_commitment": c.model.commitment,
                   "ciphertext_hash": bn254::to_dec(&p.ciphertext_hash),
                   "io_digest": bn254::to_dec(&p.io_digest),
                   "hunter_public_key": p.hunter.to_dec()})
        );
    } else {
        println!("valid claim for this bounty");
        println!("  dataset: {} (the bounty's CID)", terms.cid());
        println!(
            "  accuracy: {} of {} samples right (threshold {}), proof verified",
            c.correct, c.samples, p.threshold
        );
        println!("  claimant: 0x{}", hex::encode(p.claimant));
        println!(
            "  ciphertext hash: {} (must equal the on-chain claim's ciphertextHash)",
            bn254::to_dec(&p.ciphertext_hash)
        );
        println!("  model commitment: {}", c.model.commitment);
    }
    Ok(())
}

pub(crate) fn decrypt(a: DecryptArgs) -> Result<()> {
    let host = KeyFile::read(&a.key)?.secret_key(&a.key)?;
    let (setup, terms, claimant) = a.bounty.load(host.public())?;
    let proof = claim_proof(&a.claim)?;
    let ciphertext = CiphertextFile::read(&a.ciphertext)?;
    let accuracy = AccuracyProof::read(&a.accuracy)?;
    let (opening, v) = flow::decrypt_claim(
        &setup,
        &terms,
        &host,
        &proof,
        &ciphertext,
        &accuracy,
        claimant,
        &a.bounty.params(),
    )?;
    let f = ModelOpening::new(&opening)?;
    f.write(&a.out)?;
    println!(
        "{}",
        json!({"model": opening.model.name, "steps": opening.model.steps.len(),
               "model_commitment": f.commitment, "correct": v.accuracy.correct,
               "samples": v.accuracy.samples, "out": a.out})
    );
    Ok(())
}
