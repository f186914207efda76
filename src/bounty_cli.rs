//! The bounty subcommands: `keygen`, `encrypt-weights`, `decrypt-weights`, `claim`,
//! `verify-claim`.

use clap::Args;
use kerafold::bounty::babyjubjub::{KeyFile, SecretKey};
use kerafold::bounty::claim::{self, ClaimInput, ClaimSpec, NovaIo, PUBLIC_NAMES};
use kerafold::bounty::snarkjs::{self, ProofJson, VkJson};
use kerafold::bounty::weights::{self, CiphertextFile, ModelOpening, Opening};
use kerafold::bounty::{bn254, groth16};
use kerafold::fold::accuracy::{self, AccuracyProof};
use kerafold::model::QuantizedModel;
use kerafold::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

use crate::QuantArgs;

#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Secret key file to write (JSON; keep it private).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct EncryptArgs {
    /// The model: a model opening (JSON, with the blindings of a private model commitment) or a
    /// Keras file (public model commitment; quantize with the same --fa/--fw/--bits as the proof).
    model: PathBuf,
    /// The host's public key (any key file).
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

#[derive(Args)]
pub(crate) struct DecryptArgs {
    /// Ciphertext file written by `encrypt-weights`.
    ciphertext: PathBuf,
    /// The host's secret key file.
    #[arg(long)]
    key: PathBuf,
    /// The hunter's public key as the claim states it (checked against the file).
    #[arg(long)]
    hunter_key: Option<PathBuf>,
    /// The hunter's accuracy proof: the decrypted model must have its model commitment.
    #[arg(long)]
    accuracy: Option<PathBuf>,
    /// Model opening to write (JSON: the quantized model and the blindings).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
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
    /// The bounty's dataset CID (CIDv1 base32 `b…`, or the 32-byte digest in hex).
    #[arg(long)]
    cid: String,
    /// The bounty's threshold (least number of correct samples).
    #[arg(long)]
    threshold: u64,
    /// The Ethereum address that will submit the claim (0x…).
    #[arg(long)]
    address: String,
    /// Directory to write verification_key.json, proof.json, public.json, calldata.txt,
    /// claim.json and verifier_args.json into.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Where the Groth16 keys are cached (default ./kerafold-params or $KERAFOLD_PARAMS).
    #[arg(long)]
    params_dir: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct VerifyClaimArgs {
    /// proof.json written by `claim`.
    proof: PathBuf,
    /// verification_key.json (default: beside the proof).
    #[arg(long)]
    vk: Option<PathBuf>,
    /// public.json (default: beside the proof).
    #[arg(long)]
    public: Option<PathBuf>,
    /// The hunter's accuracy proof: it is verified (against the claim's dataset and threshold)
    /// and its public IO's digest must be the claim's.
    #[arg(long)]
    accuracy: Option<PathBuf>,
    /// Parameter cache for verifying the accuracy proof.
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path, format!("not {what}: {e}")))
}

pub(crate) fn keygen(a: KeygenArgs) -> Result<()> {
    let key = SecretKey::random();
    KeyFile::secret(&key).write(&a.out)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&KeyFile::public(&key.public())).expect("serializes")
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

pub(crate) fn decrypt(a: DecryptArgs) -> Result<()> {
    let file = CiphertextFile::read(&a.ciphertext)?;
    if let Some(h) = &a.hunter_key {
        let want = KeyFile::read(h)?.public_key()?;
        if file.parse()?.hunter != want {
            return Err(Error::Invalid(
                "the ciphertext was made with another hunter key than the claim's".into(),
            ));
        }
    }
    let host = KeyFile::read(&a.key)?.secret_key(&a.key)?;
    let opening = weights::decrypt(&file, &host)?;
    if let Some(f) = &a.accuracy {
        let proof = AccuracyProof::read(f)?;
        if proof.claim.model.commitment != kerafold::fold::fe_hex(&opening.commitment()?) {
            return Err(Error::Invalid(
                "the decrypted model's commitment is not the accuracy proof's".into(),
            ));
        }
    }
    let f = ModelOpening::new(&opening)?;
    f.write(&a.out)?;
    println!(
        "{}",
        json!({"model": opening.model.name, "steps": opening.model.steps.len(),
               "model_commitment": f.commitment, "out": a.out})
    );
    Ok(())
}

fn parse_address(s: &str) -> Result<[u8; 20]> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(h)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Usage(format!("'{s}' is not a 20-byte hex address")))
}

pub(crate) fn claim(a: ClaimArgs) -> Result<()> {
    let file = CiphertextFile::read(&a.ciphertext)?;
    let enc = file.parse()?;
    let hunter = KeyFile::read(&a.key)?.secret_key(&a.key)?;
    let acc = AccuracyProof::read(&a.accuracy)?;
    let io = NovaIo::from_accuracy(&acc.claim)?;
    let cid = claim::parse_cid(&a.cid)?;
    let spec = ClaimSpec::new(enc.arch.clone(), acc.claim.header);
    let input = ClaimInput::new(
        &spec,
        &enc,
        &hunter,
        io,
        cid,
        a.threshold,
        parse_address(&a.address)?,
    )?;
    let params = a
        .params_dir
        .unwrap_or_else(kerafold::fold::default_params_dir);
    let out = claim::prove(&spec, &input, &params)?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    out.write_dir(&a.out)?;
    println!(
        "claim proved ({} constraints, keys {}): {}",
        out.constraints,
        if out.keys_cached { "cached" } else { "set up" },
        a.out.display()
    );
    Ok(())
}

pub(crate) fn verify_claim(a: VerifyClaimArgs) -> Result<()> {
    let dir = a.proof.parent().unwrap_or(Path::new("."));
    let vk: VkJson = read_json(
        &a.vk.unwrap_or_else(|| dir.join("verification_key.json")),
        "a verification key",
    )?;
    let public: Vec<String> = read_json(
        &a.public.unwrap_or_else(|| dir.join("public.json")),
        "a public.json",
    )?;
    let proof: ProofJson = read_json(&a.proof, "a proof.json")?;
    let x = snarkjs::parse_public(&public)?;
    if !groth16::verify(&vk.to_ark()?, &x, &proof.to_ark()?) {
        return Err(Error::Invalid("the claim proof does not verify".into()));
    }
    let p = claim::ClaimPublic::from_inputs(&x)?;
    let mut io_checked = false;
    if let Some(f) = &a.accuracy {
        // the accuracy proof must hold for the claim's dataset and threshold, and be the one the
        // claim's IO digest names
        let proof = AccuracyProof::read(f)?;
        let cid = kerafold::bounty::Cid::raw(p.cid_digest).to_string();
        let check = accuracy::AccuracyCheck {
            cid: Some(cid),
            min_correct: Some(p.threshold as usize),
            model: None,
        };
        let params = a
            .params_dir
            .clone()
            .unwrap_or_else(kerafold::fold::default_params_dir);
        let c = accuracy::verify_accuracy(&proof, &params, &check)?;
        if NovaIo::from_accuracy(&c)?.digest() != p.io_digest {
            return Err(Error::Invalid(
                "the claim's IO digest is not the accuracy proof's".into(),
            ));
        }
        io_checked = true;
    }
    let named: serde_json::Map<String, serde_json::Value> = PUBLIC_NAMES
        .iter()
        .zip(&public)
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    if a.json {
        println!(
            "{}",
            json!({"valid": true, "public": named, "nova_io_checked": io_checked,
                   "claimant": format!("0x{}", hex::encode(p.claimant)),
                   "cid_digest": hex::encode(p.cid_digest)})
        );
    } else {
        println!("valid claim proof");
        println!("  claimant: 0x{}", hex::encode(p.claimant));
        println!("  dataset digest: {}", hex::encode(p.cid_digest));
        println!("  threshold: {}", p.threshold);
        println!("  ciphertext hash: {}", bn254::to_dec(&p.ciphertext_hash));
        println!(
            "  Nova IO digest: {}{}",
            bn254::to_dec(&p.io_digest),
            if io_checked {
                " (matches the Nova proof's IO)"
            } else {
                " (not checked: pass --accuracy PROOF)"
            }
        );
    }
    Ok(())
}
