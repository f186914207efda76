//! The bounty flow's checks, in one place for the CLI and for library users (SECURITY.md): what a
//! host publishes, what a hunter's claim must be bound to, and what the host checks before it
//! approves a claim or decrypts its weights.
//!
//! The host's **setup** ([`Setup`], `kerafold claim-setup`) is a directory it publishes:
//!
//! | file | what | who uses it |
//! |---|---|---|
//! | `setup.json` | the architecture's digest, the dataset header, its chunking and the number of shard proofs (`max_shards`) the circuit is built for | everyone |
//! | `architecture.json` | the model architecture (no weights), fixed point and guard included | hunters (to prove with it), verifiers |
//! | `claim.zkey` | the claim circuit's Groth16 proving key from a snarkjs phase-2 ceremony ([`Setup::from_ceremony`]) | hunters: `kerafold claim` verifies the ceremony over a published powers of tau before proving with it ([`Setup::proving_key`]) |
//! | `claim.pk` | or: a proving key the host drew alone ([`Setup::create`]; tests and private bounties) | hunters who pass `--trust-host-key` |
//! | `verification_key.json` | its verifying key (snarkjs format) | the host, `verify-claim`, snarkjs |
//! | `verifier_args.json` | the Solidity verifier's constructor arguments | the deployer |
//! | `ClaimVerifier.sol` | the Solidity Groth16 verifier for this circuit's number of public inputs (`contracts/Groth16Verifier.sol` for 12) | the deployer |
//!
//! The bounty's **terms** ([`Terms`]) are what `Bounty.createBounty` stores: the dataset's CID,
//! the threshold and the host's key. A claim is checked against the setup and the terms the
//! *verifier* holds — never against keys, terms or inputs that come with the claim: the public
//! inputs are rebuilt here from the terms, the claimant's address, the ciphertext file and the
//! verified accuracy proof (every shard of it, [`super::shards`]), exactly as the contract
//! rebuilds them on chain.

use super::ceremony::{self, VerifiedCeremony};
use super::circom::{self, ZkeyFile};
use super::circuit::{self, ClaimInput, ClaimProof, ClaimPublic, ClaimSpec};
use super::circuit::{ClaimMode, ClaimShape};
use super::groth16::{self, Keys, R1cs};
use super::shards::ShardIos;
use super::weights::{self, CiphertextFile, Encrypted, Opening};
use crate::accuracy::{self, AccuracyCheck, AccuracyClaim, AccuracyProof};
use crate::crypto::babyjubjub::{Point, SecretKey};
use crate::crypto::bn254::Fr;
use crate::data::cid::CHUNK_SIZE;
use crate::data::dataset::{Dataset, Header};
use crate::fold::params::{self, Srs};
use crate::fold::{fe_hex, Architecture, System, Tiling};
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
    /// Where the proving key comes from (`host` in older setups).
    #[serde(default = "host")]
    pub key: KeySource,
    /// How many shard proofs a claim binds (1 in older setups).
    #[serde(default = "one")]
    pub max_shards: usize,
    /// Bytes per IPFS leaf of the dataset's CID (IPFS' default in older setups).
    #[serde(default = "default_chunk")]
    pub chunk_size: usize,
    /// The powers of tau accuracy proofs are HyperKZG proofs over: the identity
    /// ([`params::srs_id`]) of the host's `.ptau` files. Absent: transparent IPA proofs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_ptau: Option<String>,
}

fn one() -> usize {
    1
}

fn default_chunk() -> usize {
    CHUNK_SIZE
}

fn approval() -> ClaimMode {
    ClaimMode::Approval
}

fn host() -> KeySource {
    KeySource::Host
}

/// Where a setup's proving key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    /// `claim.pk`, drawn by the host alone: it could forge claims, and a hunter cannot check that
    /// the key is well-formed (a subverted key can leak the witness — the weights — through the
    /// proof).
    Host,
    /// `claim.zkey`, a snarkjs phase-2 ceremony's key: anyone verifies it over a published
    /// powers of tau, and it is sound if one contribution was honest.
    Ceremony,
}

/// The fewest contributions a ceremony key must have for a hunter to prove with it: the host's
/// and at least one more (an independent contributor — the hunter itself can be one — or the
/// closing random beacon).
pub const MIN_CONTRIBUTIONS: usize = 2;

/// A powers of tau the verifier holds, read from a file: a published ceremony's
/// ([`ceremony::PUBLISHED_PTAU`]) unless the caller explicitly accepts another.
#[derive(Clone, Debug)]
pub struct Ptau {
    /// The file.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its power, if it is a published ceremony's file.
    pub published: Option<u32>,
}

impl Ptau {
    /// Reads a `.ptau`; one whose BLAKE2b-512 is not a published ceremony's is refused unless
    /// `allow_unpublished` (a local test ceremony, or a private deployment that trusts it).
    pub fn read(path: &Path, allow_unpublished: bool) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let published = ceremony::published_ptau(&bytes);
        if published.is_none() && !allow_unpublished {
            return Err(Error::format(
                path,
                "not a published powers of tau (its BLAKE2b-512 is none of Hermez's powersOfTau28_hez_final_NN.ptau, scripts/claim-ceremony.sh downloads them); pass --ptau-unpublished only for a ceremony you trust",
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            published,
        })
    }
}

/// The claim circuit's proving key as a hunter proves with it.
pub enum ClaimKey {
    /// The host's own (`claim.pk`), accepted by the hunter's choice.
    Host(Box<Keys>),
    /// A ceremony's (`claim.zkey`), verified against the claim circuit's R1CS (kept: the
    /// prover needs it too).
    Ceremony(Box<ZkeyFile>, R1cs),
}

impl ClaimKey {
    fn prove(&self, spec: &ClaimSpec, input: &ClaimInput) -> Result<ClaimProof> {
        match self {
            ClaimKey::Host(keys) => circuit::prove_with_key(spec, input, keys),
            ClaimKey::Ceremony(z, r1cs) => circuit::prove_with_zkey(spec, input, z, r1cs),
        }
    }
}

/// What a hunter accepts as the claim circuit's proving key ([`Setup::proving_key`]).
#[derive(Clone, Copy, Debug)]
pub struct KeyTrust<'a> {
    /// The powers of tau a ceremony key is verified over.
    pub ptau: Option<&'a Ptau>,
    /// Accept a key the host drew alone (`claim.pk`).
    pub host_key: bool,
}

/// A file's contents refused: a malformed or invalid value becomes an error about that file.
fn about(path: &Path) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Malformed(m) | Error::Invalid(m) => Error::format(path, m),
        e => e,
    }
}

/// A ceremony key (`zkey`) checked for the claim circuit `r1cs`: the key is the circuit's over
/// `ptau`, its transcript holds, it has [`MIN_CONTRIBUTIONS`].
fn verified_zkey(r1cs: &R1cs, zkey: &Path, ptau: &Ptau) -> Result<(ZkeyFile, VerifiedCeremony)> {
    let bytes = std::fs::read(zkey).map_err(|e| Error::io(zkey, e))?;
    let z = circom::read_zkey(&bytes).map_err(about(zkey))?;
    let points = ceremony::read_ptau(&ptau.bytes, z.domain_size).map_err(about(&ptau.path))?;
    let v = ceremony::verify_ceremony(&z, r1cs, &points).map_err(about(zkey))?;
    if v.contributions.len() < MIN_CONTRIBUTIONS {
        return Err(Error::format(
            zkey,
            format!(
                "the ceremony has {} contribution(s): a key needs the host's and at least one more (an independent contributor or the closing beacon) before anyone can rely on it",
                v.contributions.len()
            ),
        ));
    }
    Ok((z, v))
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
    /// What the claim circuit is built for besides the architecture and the header: the mode,
    /// how many shard proofs a claim binds, the dataset CID's leaf size.
    pub shape: ClaimShape,
    /// Where the proving key comes from.
    pub key: KeySource,
    /// The identity ([`params::srs_id`]) of the powers of tau accuracy proofs are HyperKZG
    /// proofs over; `None`: transparent IPA proofs.
    pub accuracy_ptau: Option<String>,
    /// This verifier's directory of those powers of tau, checked against `accuracy_ptau`
    /// ([`Setup::with_accuracy_ptau`]).
    accuracy_ptau_dir: Option<PathBuf>,
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
    /// The ceremony the key comes from, verified ([`Setup::from_ceremony`]).
    pub ceremony: Option<VerifiedCeremony>,
    /// The identity of the powers of tau accuracy proofs are held to (none: transparent IPA).
    pub accuracy_ptau: Option<String>,
}

impl Setup {
    /// The host's side, without a ceremony: the claim circuit for the architecture `arch` (a
    /// model's, a step per layer or in the tiles hunters commit in) and `data`'s header, Groth16
    /// keys drawn now by whoever runs this (`claim.pk`), and the files to publish, written into
    /// `dir`. Hunters accept such a key only by choice ([`KeyTrust::host_key`]): use
    /// [`Setup::from_ceremony`] for a public bounty. `accuracy_ptau`: the directory of the
    /// powers of tau hunters' accuracy proofs are HyperKZG proofs over (none: transparent IPA).
    pub fn create(
        arch: &Architecture,
        data: &Dataset,
        shape: &ClaimShape,
        accuracy_ptau: Option<&Path>,
        dir: &Path,
    ) -> Result<SetupReport> {
        let accuracy_ptau = accuracy_ptau_id(accuracy_ptau)?;
        let spec = ClaimSpec::of(arch.clone(), *data.header(), shape)?;
        let r1cs = spec.r1cs()?;
        let keys = groth16::setup(&r1cs, &mut rand_core::OsRng)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let key = dir.join("claim.pk");
        groth16::write_ark(&key, &keys.pk)?;
        let published = Published {
            arch,
            header: *data.header(),
            spec: &spec,
            constraints: r1cs.num_constraints(),
            vk: keys.vk(),
            key: KeySource::Host,
            accuracy_ptau,
        };
        published.write(dir, key, None)
    }

    /// The host's side with a ceremony: the claim circuit's key from a snarkjs phase-2 ceremony
    /// over the circuit [`claim_r1cs`] exports (scripts/claim-ceremony.sh), verified here over
    /// `ptau` as every hunter will ([`Setup::proving_key`]), copied into `dir` as `claim.zkey`
    /// with the files to publish (the verifying key and Solidity verifier from the ceremony's
    /// key); `accuracy_ptau` as in [`Setup::create`].
    pub fn from_ceremony(
        arch: &Architecture,
        data: &Dataset,
        shape: &ClaimShape,
        zkey: &Path,
        ptau: &Ptau,
        accuracy_ptau: Option<&Path>,
        dir: &Path,
    ) -> Result<SetupReport> {
        let accuracy_ptau = accuracy_ptau_id(accuracy_ptau)?;
        let spec = ClaimSpec::of(arch.clone(), *data.header(), shape)?;
        let r1cs = spec.r1cs()?;
        let (z, verified) = verified_zkey(&r1cs, zkey, ptau)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let key = dir.join("claim.zkey");
        if std::fs::canonicalize(zkey).ok() != std::fs::canonicalize(&key).ok() {
            std::fs::copy(zkey, &key).map_err(|e| Error::io(&key, e))?;
        }
        let published = Published {
            arch,
            header: *data.header(),
            spec: &spec,
            constraints: r1cs.num_constraints(),
            vk: z.vk(),
            key: KeySource::Ceremony,
            accuracy_ptau,
        };
        published.write(dir, key, Some(verified))
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
        let vk = vk.to_ark().map_err(about(&vk_path))?;
        let me = Self {
            dir: dir.to_path_buf(),
            arch,
            header: setup.header,
            vk,
            shape: ClaimShape {
                mode: setup.mode,
                max_shards: setup.max_shards,
                chunk_size: setup.chunk_size,
            },
            key: setup.key,
            accuracy_ptau: setup.accuracy_ptau,
            accuracy_ptau_dir: None,
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

    /// Names this verifier's directory of the powers of tau the setup holds accuracy proofs to:
    /// refused unless its `.ptau` files are the ones the setup names.
    pub fn with_accuracy_ptau(mut self, dir: &Path) -> Result<Self> {
        let Some(want) = &self.accuracy_ptau else {
            return Err(Error::Usage(format!(
                "the setup in {} takes transparent accuracy proofs ({}) and names no powers of tau: drop --accuracy-ptau",
                self.dir.display(),
                System::Bn254Ipa.id()
            )));
        };
        let got = params::srs_id(&Srs::Ptau(dir.to_path_buf()))?;
        if &got != want {
            return Err(Error::Usage(format!(
                "the powers of tau in {} are {got}, but the setup in {} holds accuracy proofs to {want}: name the directory of the host's .ptau files",
                dir.display(),
                self.dir.display()
            )));
        }
        self.accuracy_ptau_dir = Some(dir.to_path_buf());
        Ok(self)
    }

    /// The proof system a claim's accuracy proofs must be on.
    fn accuracy_system(&self) -> System {
        match self.accuracy_ptau {
            Some(_) => System::Bn254Kzg,
            None => System::Bn254Ipa,
        }
    }

    /// Where a verifier derives the accuracy proofs' key from: nothing for IPA, the checked
    /// directory of the setup's powers of tau for HyperKZG.
    fn accuracy_srs(&self) -> Result<Option<Srs>> {
        match (&self.accuracy_ptau, &self.accuracy_ptau_dir) {
            (None, _) => Ok(None),
            (Some(_), Some(dir)) => Ok(Some(Srs::Ptau(dir.clone()))),
            (Some(id), None) => Err(Error::Usage(format!(
                "the setup in {} holds accuracy proofs to the powers of tau {id}: name the directory of its .ptau files (--accuracy-ptau)",
                self.dir.display()
            ))),
        }
    }

    /// The claim circuit's constants.
    pub fn spec(&self) -> Result<ClaimSpec> {
        ClaimSpec::of(self.arch.clone(), self.header, &self.shape)
    }

    /// Refuses terms whose CID cannot name this setup's dataset: a raw block for a file of one
    /// leaf, a dag-pb root for a larger one (the digest alone is what the circuit binds).
    fn check_terms(&self, terms: &Terms) -> Result<()> {
        let spec = self.spec()?;
        let want = if spec.dag_pb() {
            crate::data::cid::Codec::DagPb
        } else {
            crate::data::cid::Codec::Raw
        };
        if terms.cid.codec != want {
            return Err(Error::Usage(format!(
                "the bounty's CID {} is a {:?} CID, but its setup's dataset of {} bytes in {}-byte leaves is named by a {want:?} one",
                terms.cid,
                terms.cid.codec,
                self.header.file_len(),
                self.shape.chunk_size
            )));
        }
        Ok(())
    }

    /// Refuses a claim of the other mode, naming what it needs.
    fn require(&self, mode: ClaimMode) -> Result<()> {
        if self.shape.mode == mode {
            return Ok(());
        }
        Err(Error::Usage(match self.shape.mode {
            ClaimMode::Approval => "this bounty's setup proves accuracy with a Nova proof: pass the accuracy proof (--accuracy)".into(),
            ClaimMode::OnChain => "this bounty's setup proves accuracy inside the claim (on-chain mode): pass the dataset (--data), not an accuracy proof".into(),
        }))
    }

    /// The proving key a hunter proves with, as `trust` accepts it: a ceremony key
    /// (`claim.zkey`) verified over `trust.ptau` ([`Self::verify_ceremony`]), or — only with
    /// `trust.host_key` — the host's own `claim.pk`. Either must belong to the published
    /// verifying key.
    pub fn proving_key(&self, trust: KeyTrust<'_>) -> Result<ClaimKey> {
        match self.key {
            KeySource::Ceremony => {
                let ptau = trust.ptau.ok_or_else(|| {
                    Error::Usage(format!(
                        "the setup in {} holds a ceremony key (claim.zkey): pass the powers of tau it was made over (--ptau; scripts/claim-ceremony.sh downloads the published one) so it can be verified before you prove with it",
                        self.dir.display()
                    ))
                })?;
                let (z, r1cs, _) = self.verify_ceremony(ptau)?;
                Ok(ClaimKey::Ceremony(Box::new(z), r1cs))
            }
            KeySource::Host if !trust.host_key => Err(Error::Usage(format!(
                "the setup in {} holds a proving key the host drew alone (claim.pk): nobody can check it, and a subverted key can leak your weights through the proof. Ask the host for a ceremony key (kerafold claim-setup --zkey), or pass --trust-host-key if you trust the host with them",
                self.dir.display()
            ))),
            KeySource::Host => {
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
                Ok(ClaimKey::Host(Box::new(Keys { pk })))
            }
        }
    }

    /// Verifies the setup's ceremony key (`claim.zkey`) over `ptau` as a hunter must before
    /// proving with it: the key is this claim circuit's (built here from the setup's
    /// architecture, not read from anywhere), every contribution checks, there are at least
    /// [`MIN_CONTRIBUTIONS`], and it is the key of the published `verification_key.json`.
    /// Returns the key, the circuit it was checked against, and the ceremony.
    pub fn verify_ceremony(&self, ptau: &Ptau) -> Result<(ZkeyFile, R1cs, VerifiedCeremony)> {
        if self.key != KeySource::Ceremony {
            return Err(Error::Usage(format!(
                "the setup in {} has no ceremony: its key (claim.pk) was drawn by the host alone",
                self.dir.display()
            )));
        }
        let path = self.dir.join("claim.zkey");
        let r1cs = self.spec()?.r1cs()?;
        let (z, v) = verified_zkey(&r1cs, &path, ptau)?;
        if z.vk() != &self.vk {
            return Err(Error::format(
                &path,
                "the ceremony key does not belong to the setup's verification_key.json",
            ));
        }
        Ok((z, r1cs, v))
    }

    /// Refuses accuracy proofs (one whole proof, or the shards of one) about another
    /// architecture, dataset shape or chunking than the bounty's, or more shards than the claim
    /// binds, naming the shard.
    fn check_accuracy_proofs(&self, proofs: &[AccuracyProof]) -> Result<()> {
        if proofs.is_empty() {
            return Err(Error::Usage("no accuracy proof".into()));
        }
        let max = self.shape.max_shards;
        if proofs.len() > max {
            return Err(Error::Invalid(format!(
                "the accuracy proof has {} shards; this bounty's claim binds at most {max}: prove it in at most {max} shards (prove-accuracy --shard I/{max})",
                proofs.len()
            )));
        }
        let check = |proof: &AccuracyProof| {
            if proof.claim.fold.tiling() != self.arch.tiling {
                return Err(Error::Invalid(format!(
                    "the accuracy proof runs the model {}, so it proves a commitment to the \
                     model cut that way; the bounty's claim binds the commitment {} \
                     (claim-setup --step-size): commit and prove the model as the bounty's \
                     architecture.json cuts it",
                    cut(proof.claim.fold.tiling()),
                    cut(self.arch.tiling)
                )));
            }
            if proof.architecture != hex::encode(self.arch.digest()) {
                return Err(Error::Invalid(
                    "the accuracy proof is about another model architecture (or fixed-point parameters) than the bounty's".into(),
                ));
            }
            if proof.claim.header != self.header {
                return Err(Error::Invalid(
                    "the accuracy proof is about a dataset of another shape than the bounty's"
                        .into(),
                ));
            }
            if proof.claim.chunk_size != self.shape.chunk_size {
                return Err(Error::Invalid(format!(
                    "the accuracy proof hashes the dataset in {}-byte IPFS leaves, the bounty's CID is of {}-byte leaves",
                    proof.claim.chunk_size, self.shape.chunk_size
                )));
            }
            let want = self.accuracy_system();
            if proof.system != want.id() {
                let how = match &self.accuracy_ptau {
                    None => "(transparent IPA): prove-accuracy without --ptau".to_string(),
                    Some(id) => format!(
                        "over the powers of tau {id}: prove-accuracy --ptau with the host's .ptau files"
                    ),
                };
                return Err(Error::Invalid(format!(
                    "the accuracy proof is on {}; this bounty's claim takes accuracy proofs on {} {how}",
                    proof.system,
                    want.id()
                )));
            }
            Ok(())
        };
        for (k, proof) in proofs.iter().enumerate() {
            check(proof).map_err(|e| accuracy::shards::in_shard(k, proofs, e))?;
        }
        Ok(())
    }
}

/// The claim circuit a ceremony runs over, for the architecture `arch`, `data`'s header (which
/// must fit it: features, classes) and `shape`: write it with [`circom::write_r1cs`] for snarkjs
/// (`kerafold claim-circuit`).
pub fn claim_r1cs(arch: &Architecture, data: &Dataset, shape: &ClaimShape) -> Result<R1cs> {
    ClaimSpec::of(arch.clone(), *data.header(), shape)?.r1cs()
}

/// The identity of the powers of tau in `dir` that a setup holds accuracy proofs to.
fn accuracy_ptau_id(dir: Option<&Path>) -> Result<Option<String>> {
    dir.map(|d| params::srs_id(&Srs::Ptau(d.to_path_buf())))
        .transpose()
}

/// What a setup publishes besides its proving key.
struct Published<'a> {
    arch: &'a Architecture,
    header: Header,
    spec: &'a ClaimSpec,
    constraints: usize,
    vk: &'a VerifyingKey<Bn254>,
    key: KeySource,
    accuracy_ptau: Option<String>,
}

impl Published<'_> {
    /// Writes `setup.json`, `architecture.json`, the verifying key files and the Solidity
    /// verifier into `dir` (where the proving key `key` already is).
    fn write(
        &self,
        dir: &Path,
        key: PathBuf,
        ceremony: Option<VerifiedCeremony>,
    ) -> Result<SetupReport> {
        let digest = hex::encode(self.arch.digest());
        let setup = SetupFile {
            format: SETUP_FORMAT.into(),
            version: 1,
            architecture: digest.clone(),
            header: self.header,
            constraints: self.constraints,
            mode: self.spec.mode,
            key: self.key,
            max_shards: self.spec.max_shards,
            chunk_size: self.spec.chunk_size,
            accuracy_ptau: self.accuracy_ptau.clone(),
        };
        let path = |f: &str| dir.join(f);
        write_json(&path("setup.json"), &setup)?;
        self.arch.write(&path("architecture.json"))?;
        circuit::write_verifier_files(self.vk, dir)?;
        // the Solidity verifier for this circuit's number of public inputs (12 in approval mode,
        // 13 + the ciphertext's length on chain); its key goes to the constructor
        let sol = path("ClaimVerifier.sol");
        std::fs::write(
            &sol,
            super::solidity::verifier_source(self.spec.num_public()),
        )
        .map_err(|e| Error::io(&sol, e))?;
        let mut files: Vec<PathBuf> = ["setup.json", "architecture.json"]
            .iter()
            .map(|f| path(f))
            .collect();
        files.push(key);
        files.extend(
            [
                "verification_key.json",
                "verifier_args.json",
                "ClaimVerifier.sol",
            ]
            .iter()
            .map(|f| path(f)),
        );
        Ok(SetupReport {
            constraints: self.constraints,
            architecture: digest,
            files,
            ceremony,
            accuracy_ptau: self.accuracy_ptau.clone(),
        })
    }
}

/// A bounty's terms, as the contract holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The dataset's CIDv1: a raw block (a file of one IPFS leaf) or a dag-pb root.
    pub cid: crate::data::Cid,
    /// The least number of correct samples.
    pub threshold: u64,
    /// The host's public key (prime-order subgroup).
    pub host: Point,
}

impl Terms {
    /// Terms from a CID string (CIDv1 `b…` of a raw block or a dag-pb root, or 64 hex digits of
    /// a raw block's digest), a threshold and the host's key.
    pub fn new(cid: &str, threshold: u64, host: Point) -> Result<Self> {
        Ok(Self {
            cid: circuit::parse_cid(cid)?,
            threshold,
            host,
        })
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

/// The hunter's side: proves a claim for `terms` with the setup's proving key, as `trust`
/// accepts it ([`Setup::proving_key`]). Checks before
/// proving everything a verifier will check, so a claim that could not be paid is refused with a
/// message that says why.
pub fn prove_claim(
    setup: &Setup,
    terms: &Terms,
    ciphertext: &CiphertextFile,
    hunter: &SecretKey,
    accuracy: &[AccuracyProof],
    claimant: [u8; 20],
    trust: KeyTrust<'_>,
) -> Result<ClaimProof> {
    let enc = encrypted_for(setup, terms, ciphertext)?;
    setup.require(ClaimMode::Approval)?;
    setup.check_terms(terms)?;
    setup.check_accuracy_proofs(accuracy)?;
    // the shards must join into the whole dataset (checked again by every verifier)
    accuracy::shards::join(accuracy)?;
    let spec = setup.spec()?;
    let claims: Vec<AccuracyClaim> = accuracy.iter().map(|p| p.claim.clone()).collect();
    let input = ClaimInput::new(
        &spec,
        &enc,
        hunter,
        ShardIos::from_claims(&claims, spec.max_shards, &spec.io)?,
        terms.cid.digest,
        terms.threshold,
        claimant,
    )?;
    setup.proving_key(trust)?.prove(&spec, &input)
}

/// The hunter's side of an on-chain-accuracy bounty: proves the claim, running the decrypted
/// model on every record of `data` (whose CID must be the terms'), with the setup's proving key
/// as `trust` accepts it.
pub fn prove_on_chain_claim(
    setup: &Setup,
    terms: &Terms,
    ciphertext: &CiphertextFile,
    hunter: &SecretKey,
    data: &Dataset,
    claimant: [u8; 20],
    trust: KeyTrust<'_>,
) -> Result<ClaimProof> {
    setup.require(ClaimMode::OnChain)?;
    let enc = encrypted_for(setup, terms, ciphertext)?;
    let cid = crate::data::cid::cid_of_bytes(data.as_bytes());
    if cid != terms.cid {
        return Err(Error::Usage(format!(
            "the dataset file is not the bounty's: its CID is {cid}, the bounty's {}",
            terms.cid
        )));
    }
    let spec = setup.spec()?;
    let input = ClaimInput::on_chain(&spec, &enc, hunter, data, terms.threshold, claimant)?;
    setup.proving_key(trust)?.prove(&spec, &input)
}

/// The ciphertext file parsed and checked against the bounty: its architecture and host key.
fn encrypted_for(setup: &Setup, terms: &Terms, ciphertext: &CiphertextFile) -> Result<Encrypted> {
    let enc = ciphertext.parse()?;
    if enc.arch.tiling != setup.arch.tiling {
        return Err(Error::Usage(format!(
            "the encrypted model is committed {}, the bounty's claim binds a commitment {} \
             (claim-setup --step-size): encrypt an opening committed that way",
            cut(enc.arch.tiling),
            cut(setup.arch.tiling)
        )));
    }
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

/// How a model is cut into committed steps, for messages.
fn cut(tiling: Option<Tiling>) -> String {
    match tiling {
        Some(t) => format!("in tiles of {} rows", t.rows),
        None => "a step per layer".to_string(),
    }
}

/// [`encrypted_for`] on a verifier's side: a claim whose ciphertext is not for this bounty does
/// not verify.
fn claimed_ciphertext(
    setup: &Setup,
    terms: &Terms,
    ciphertext: &CiphertextFile,
) -> Result<Encrypted> {
    encrypted_for(setup, terms, ciphertext).map_err(refused)
}

/// A usage error of the prover's side, as its verifier's refusal: what the hunter must fix is
/// what makes the claim invalid.
fn refused(e: Error) -> Error {
    match e {
        Error::Usage(m) => Error::Invalid(m),
        e => e,
    }
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
    let enc = claimed_ciphertext(setup, terms, ciphertext)?;
    verified_public(
        setup,
        terms,
        claimant,
        &enc,
        io_digest,
        proof,
        "these terms, this claimant and this ciphertext",
    )
}

/// The claim's public inputs as a verifier rebuilds them — from the terms, the claimant, the
/// ciphertext (posted with the claim in on-chain mode) and the accuracy run's digest — once the
/// proof verifies for them under the setup's key; `what` names what they were rebuilt from.
fn verified_public(
    setup: &Setup,
    terms: &Terms,
    claimant: [u8; 20],
    enc: &Encrypted,
    io_digest: Fr,
    proof: &Proof<Bn254>,
    what: &str,
) -> Result<ClaimPublic> {
    let public = ClaimPublic {
        cid_digest: terms.cid.digest,
        threshold: terms.threshold,
        host: terms.host,
        claimant,
        hunter: enc.hunter,
        ciphertext_hash: enc.hash,
        io_digest,
        key_hash: enc.key_hash,
        posted: (setup.shape.mode == ClaimMode::OnChain).then(|| circuit::Posted {
            nonce: enc.nonce,
            ciphertext: enc.ciphertext.clone(),
        }),
    };
    if !groth16::verify(&setup.vk, &public.inputs(), proof) {
        return Err(Error::Invalid(format!(
            "the claim proof does not verify under the bounty's key for {what}"
        )));
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
    accuracy: &[AccuracyProof],
    claimant: [u8; 20],
    params_dir: &Path,
) -> Result<VerifiedClaim> {
    setup.require(ClaimMode::Approval)?;
    let enc = claimed_ciphertext(setup, terms, ciphertext)?;
    setup.check_terms(terms).map_err(refused)?;
    setup.check_accuracy_proofs(accuracy)?;
    // every shard's SNARK, then the join into the whole file, its CID and count
    let acc = accuracy::verify_shards(
        accuracy,
        params_dir,
        &AccuracyCheck {
            cid: Some(terms.cid.to_string()),
            min_correct: Some(terms.threshold as usize),
            model: None,
            arch: Some(setup.arch.clone()),
            srs: setup.accuracy_srs()?,
        },
    )?;
    if acc.model.commitment != fe_hex(&enc.commitment) {
        return Err(Error::Invalid(
            "the ciphertext file states another model commitment than the accuracy proof's".into(),
        ));
    }
    // the IO digest of the verified shards, padded by the verifier itself
    let claims: Vec<AccuracyClaim> = accuracy.iter().map(|p| p.claim.clone()).collect();
    let spec = setup.spec()?;
    let ios = ShardIos::from_claims(&claims, spec.max_shards, &spec.io)?;
    let public = verified_public(
        setup,
        terms,
        claimant,
        &enc,
        ios.digest(),
        proof,
        "these terms, this claimant, this ciphertext and these accuracy proofs",
    )?;
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
    accuracy: &[AccuracyProof],
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
