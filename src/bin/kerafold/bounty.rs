//! The bounty commands: `keygen`, `encrypt-weights`, `claim-circuit`, `claim-setup`,
//! `verify-ceremony`, `claim`, `verify-claim`, `reveal-key`, `decrypt-weights`. Every check lives in the library (`kerafold::claim::flow`).

use crate::args::{ParamsArgs, QuantArgs};
use crate::print;
use clap::Args;
use kerafold::claim::circuit::{ClaimMode, ClaimShape};
use kerafold::claim::flow::{KeyTrust, Ptau};
use kerafold::commands::bounty::{self, Bounty, ClaimFiles};
use kerafold::Result;
use std::path::PathBuf;

/// The powers of tau a ceremony key is verified over.
#[derive(Args)]
pub(crate) struct PtauArgs {
    /// The powers of tau (.ptau, prepared for phase 2) the ceremony was made over: a published
    /// one (Hermez's powersOfTau28_hez_final_NN.ptau, checked by its BLAKE2b-512;
    /// scripts/claim-ceremony.sh downloads it).
    #[arg(long)]
    ptau: Option<PathBuf>,
    /// Accept a powers of tau that is not a published one (a local test ceremony, or a private
    /// one you trust: whoever knows its τ can forge claims).
    #[arg(long, requires = "ptau")]
    ptau_unpublished: bool,
}

impl PtauArgs {
    fn read(&self) -> Result<Option<Ptau>> {
        self.ptau
            .as_deref()
            .map(|p| Ptau::read(p, self.ptau_unpublished))
            .transpose()
    }
}

/// What a bounty's claim circuit is built for.
#[derive(Args)]
pub(crate) struct CircuitArgs {
    /// A Keras model of the bounty's architecture (its weights are not used).
    model: PathBuf,
    /// The bounty's dataset file.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    quant: QuantArgs,
    /// Prove accuracy inside the claim (small bounties): the claim circuit runs every record of
    /// the dataset through the hunter's model, so the contract checks the whole statement and
    /// pays without your approval. The circuit grows with records × model; without this flag a
    /// claim binds a Nova accuracy proof that you check before approving (any size).
    #[arg(long)]
    on_chain: bool,
    /// The most shard proofs a claim binds (a fixed N of the circuit): hunters may prove the
    /// dataset's accuracy in up to this many shards (prove-accuracy --shard I/N, in parallel),
    /// or in one proof. Each slot costs the claim circuit about 800 constraints.
    #[arg(long, value_name = "N", default_value_t = kerafold::claim::shards::DEFAULT_MAX_SHARDS)]
    max_shards: usize,
    /// Bytes per IPFS leaf of the dataset's CID (`ipfs add --chunker size-N`; IPFS' default).
    #[arg(long, value_name = "BYTES", default_value_t = kerafold::data::cid::CHUNK_SIZE)]
    chunk_size: usize,
    /// Hunters commit their models in Dense tiles and row bands of N (`commit --step-size N`)
    /// and prove accuracy folding by layer in them, so no fold is as wide as the widest layer
    /// (large models). The claim binds that commitment; without this, a step per layer.
    #[arg(long, value_name = "N", conflicts_with = "on_chain")]
    step_size: Option<usize>,
}

impl CircuitArgs {
    fn shape(&self) -> ClaimShape {
        if self.on_chain {
            ClaimShape {
                chunk_size: self.chunk_size,
                ..ClaimShape::ON_CHAIN
            }
        } else {
            ClaimShape {
                mode: ClaimMode::Approval,
                max_shards: self.max_shards,
                chunk_size: self.chunk_size,
            }
        }
    }
}

#[derive(Args)]
#[command(
    after_help = "The ceremony, with snarkjs (scripts/claim-ceremony.sh): `setup` over this \
    file and the published powers of tau of the printed power, the host's `contribute`, \
    independent contributions (hunters can contribute), a closing `beacon`; then \
    `kerafold claim-setup --zkey FINAL.zkey --ptau PTAU` publishes the verified key."
)]
pub(crate) struct ClaimCircuitArgs {
    #[command(flatten)]
    circuit: CircuitArgs,
    /// The .r1cs file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

pub(crate) fn claim_circuit(a: ClaimCircuitArgs) -> Result<()> {
    let c = &a.circuit;
    let r = bounty::claim_circuit(
        &c.model,
        &c.data,
        &c.quant.options(),
        &c.shape(),
        c.step_size,
        &a.out,
    )?;
    print(&r, false)
}

#[derive(Args)]
pub(crate) struct VerifyCeremonyArgs {
    /// The claim setup directory (`claim-setup --zkey` wrote it).
    #[arg(long)]
    setup: PathBuf,
    #[command(flatten)]
    ptau: PtauArgs,
}

pub(crate) fn verify_ceremony(a: VerifyCeremonyArgs) -> Result<()> {
    let ptau = a.ptau.read()?.ok_or_else(|| {
        kerafold::Error::Usage("pass the powers of tau the ceremony was made over (--ptau)".into())
    })?;
    let r = bounty::verify_ceremony(&a.setup, &ptau)?;
    print(&r, false)
}

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

pub(crate) fn keygen(a: KeygenArgs) -> Result<()> {
    let r = bounty::keygen(&a.out, a.force)?;
    eprintln!(
        "secret key: {} (keep it private); public key: {}",
        r.secret_path.display(),
        r.public_path.display()
    );
    print(&r, false)
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

pub(crate) fn encrypt(a: EncryptArgs) -> Result<()> {
    let r = bounty::encrypt(&a.model, &a.quant.options(), &a.host_key, &a.key, &a.out)?;
    print(&r, false)
}

#[derive(Args)]
#[command(
    after_help = "The claim circuit depends on the model architecture (with its fixed-point \
    parameters: pass --fa --fw --bits --guard, with a guard bit or two to spare for hunters' \
    weights) and on the dataset's header. Writes, to publish: setup.json, architecture.json \
    (hunters quantize with it: --arch), the proving key hunters prove with, \
    verification_key.json, verifier_args.json (the Solidity verifier's constructor arguments) \
    and ClaimVerifier.sol.\n\nThe proving key: with --zkey, the final key of a snarkjs \
    phase-2 ceremony over `kerafold claim-circuit`'s .r1cs (scripts/claim-ceremony.sh), \
    verified here over --ptau as every hunter verifies it (claim.zkey). Without, keys drawn \
    here (claim.pk): whoever runs this could forge claims, and hunters accept such a key only \
    with --trust-host-key."
)]
pub(crate) struct ClaimSetupArgs {
    #[command(flatten)]
    circuit: CircuitArgs,
    /// The ceremony's final key (snarkjs .zkey) over this claim circuit.
    #[arg(long, requires = "ptau")]
    zkey: Option<PathBuf>,
    #[command(flatten)]
    ptau: PtauArgs,
    /// Hold hunters' accuracy proofs to HyperKZG over the powers of tau in this directory
    /// (.ptau files, e.g. PPOT's; the setup records their SHA-256 and every verifier names the
    /// same files): smaller proofs, faster to prove and verify. Without, accuracy proofs are
    /// transparent IPA proofs.
    #[arg(long, value_name = "DIR")]
    accuracy_ptau: Option<PathBuf>,
    /// Directory to write the setup into (the files to publish).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

pub(crate) fn claim_setup(a: ClaimSetupArgs) -> Result<()> {
    let c = &a.circuit;
    let quant = c.quant.options();
    if quant.arch.is_none() && !c.quant.guard_given() {
        eprintln!(
            "note: pass --fa --fw --bits --guard to fix the architecture hunters must match \
             (see architecture.json)"
        );
    }
    let ptau = a.ptau.read()?;
    let ceremony = match (&a.zkey, &ptau) {
        (Some(z), Some(p)) => Some((z.as_path(), p)),
        (None, Some(_)) => {
            return Err(kerafold::Error::Usage(
                "--ptau is for a ceremony key: pass its final .zkey with --zkey".into(),
            ))
        }
        _ => None,
    };
    if ceremony.is_none() {
        eprintln!(
            "note: keys drawn here (claim.pk): hunters accept them only with --trust-host-key; \
             a public bounty takes a ceremony's key (--zkey, see kerafold claim-circuit)"
        );
    }
    let r = bounty::claim_setup(
        &c.model,
        &c.data,
        &quant,
        &c.shape(),
        c.step_size,
        bounty::SetupPtau {
            ceremony,
            accuracy: a.accuracy_ptau.as_deref(),
        },
        &a.out,
    )?;
    eprintln!(
        "publish these files for hunters and verifiers: {}",
        r.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    print(&r, false)
}

/// The bounty a claim is for: the host's published setup and the terms the contract holds.
#[derive(Args)]
pub(crate) struct BountyArgs {
    /// The host's published claim setup (the directory `kerafold claim-setup` wrote).
    #[arg(long)]
    setup: PathBuf,
    /// The bounty's dataset CID (`kerafold cid`: raw `bafkrei…` up to one IPFS leaf, dag-pb
    /// `bafybei…` above; or a raw block's 32-byte digest in hex).
    #[arg(long)]
    cid: String,
    /// The bounty's threshold: the least number of correct samples.
    #[arg(long)]
    threshold: u64,
    /// The claimant's Ethereum address (the sender of `submitClaim`), 0x…
    #[arg(long)]
    address: String,
    /// For the accuracy proof's verifier key.
    #[command(flatten)]
    params: ParamsArgs,
    /// The directory of the .ptau files the setup holds accuracy proofs to (a setup made with
    /// `claim-setup --accuracy-ptau`): checked against the setup, the accuracy proofs' key is
    /// derived from them.
    #[arg(long, value_name = "DIR")]
    accuracy_ptau: Option<PathBuf>,
}

impl BountyArgs {
    fn bounty(&self) -> Bounty {
        Bounty {
            setup: self.setup.clone(),
            cid: self.cid.clone(),
            threshold: self.threshold,
            address: self.address.clone(),
            params_dir: self.params.dir(),
            accuracy_ptau: self.accuracy_ptau.clone(),
        }
    }
}

#[derive(Args)]
pub(crate) struct ClaimArgs {
    /// Ciphertext file written by `encrypt-weights`.
    ciphertext: PathBuf,
    /// The hunter's secret key file.
    #[arg(long)]
    key: PathBuf,
    /// The accuracy proof (`kerafold prove-accuracy`) the claim is about, or the shards of one
    /// (`kerafold combine`; at most the setup's --max-shards) (approval-mode bounties).
    #[arg(long, required_unless_present = "data")]
    accuracy: Option<PathBuf>,
    /// The bounty's dataset file (on-chain-accuracy bounties: the claim runs it).
    #[arg(long, conflicts_with = "accuracy")]
    data: Option<PathBuf>,
    /// The bounty host's public key (checked against the ciphertext's).
    #[arg(long)]
    host_key: PathBuf,
    #[command(flatten)]
    bounty: BountyArgs,
    #[command(flatten)]
    ptau: PtauArgs,
    /// Prove with a key the host drew alone (claim.pk) instead of a verified ceremony key: the
    /// host could have subverted it to learn your weights from the proof.
    #[arg(long)]
    trust_host_key: bool,
    /// Directory to write proof.json, public.json, calldata.txt, claim.json and
    /// verification_key.json (the host's, for snarkjs) into.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

pub(crate) fn claim(a: ClaimArgs) -> Result<()> {
    let files = ClaimFiles {
        ciphertext: &a.ciphertext,
        accuracy: a.accuracy.as_deref(),
    };
    let ptau = a.ptau.read()?;
    let r = bounty::claim(
        &a.bounty.bounty(),
        &files,
        a.data.as_deref(),
        &a.key,
        &a.host_key,
        KeyTrust {
            ptau: ptau.as_ref(),
            host_key: a.trust_host_key,
        },
        &a.out,
    )?;
    print(&r, false)
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
    /// The hunter's accuracy proof, whole or combined from shards (approval-mode bounties; an
    /// on-chain claim proves accuracy itself). Every shard's proof is verified.
    #[arg(long)]
    accuracy: Option<PathBuf>,
    #[command(flatten)]
    bounty: BountyArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn verify_claim(a: VerifyClaimArgs) -> Result<()> {
    let files = ClaimFiles {
        ciphertext: &a.ciphertext,
        accuracy: a.accuracy.as_deref(),
    };
    let r = bounty::verify_claim(&a.bounty.bounty(), &files, &a.claim, &a.host_key)?;
    print(&r, a.json)
}

#[derive(Args)]
#[command(
    after_help = "Prints the key to pass to the bounty contract's withdraw(id, key) once the \
    host has approved your claim. Revealing it lets the host decrypt your weights: reveal it only \
    in that transaction, well before the reveal window (revealBy) closes — a withdraw that lands \
    after it fails, and the key is public from the moment the transaction is broadcast."
)]
pub(crate) struct RevealKeyArgs {
    /// Ciphertext file written by `encrypt-weights`.
    ciphertext: PathBuf,
    /// The hunter's secret key file (the one the weights were encrypted with).
    #[arg(long)]
    key: PathBuf,
}

pub(crate) fn reveal_key(a: RevealKeyArgs) -> Result<()> {
    print(&bounty::reveal_key(&a.ciphertext, &a.key)?, false)
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
    /// The hunter's accuracy proof, whole or combined from shards (approval-mode bounties).
    #[arg(long)]
    accuracy: Option<PathBuf>,
    /// The reveal key the hunter published to be paid: the `key` of the bounty contract's
    /// `KeyRevealed` event (0x hex or decimal). Without it nobody, the host included, can decrypt.
    #[arg(long)]
    reveal_key: String,
    #[command(flatten)]
    bounty: BountyArgs,
    /// Model opening to write (JSON: the quantized model and the blindings; `kerafold run` and
    /// `inspect` take it).
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
}

pub(crate) fn decrypt(a: DecryptArgs) -> Result<()> {
    let files = ClaimFiles {
        ciphertext: &a.ciphertext,
        accuracy: a.accuracy.as_deref(),
    };
    let r = bounty::decrypt(
        &a.bounty.bounty(),
        &files,
        &a.claim,
        &a.key,
        &a.reveal_key,
        &a.out,
    )?;
    print(&r, false)
}
