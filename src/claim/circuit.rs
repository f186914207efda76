//! The claim circuit (Groth16 over BN254): a hunter's proof that the weights they encrypted to
//! the bounty host are the model of their Nova accuracy proof, and that this proof meets the
//! bounty.
//!
//! # Statement
//!
//! Public inputs, in this order (snarkjs `public.json`, Solidity `pub[]`):
//!
//! | # | input | supplied on chain by |
//! |---|---|---|
//! | 0 | `cid_hi`: high 128 bits of the dataset CID's SHA-256 digest (big-endian; a raw block's for a file of one IPFS leaf, the dag-pb root's for a larger one) | the bounty |
//! | 1 | `cid_lo`: low 128 bits | the bounty |
//! | 2 | `threshold`: the least number of correct samples | the bounty |
//! | 3, 4 | `host_x`, `host_y`: the host's Baby Jubjub public key | the bounty |
//! | 5 | `claimant`: the Ethereum address that submits the claim | `msg.sender` |
//! | 6, 7 | `hunter_x`, `hunter_y`: the hunter's public key | the claim (stored) |
//! | 8 | `ciphertext_hash`: [`super::weights::ciphertext_hash`] | the claim (stored) |
//! | 9 | `io_digest`: [`super::shards::io_digest`] of the Nova accuracy proofs' public IO (up to [`ClaimSpec::max_shards`] shards) | the claim (stored) |
//! | 10, 11 | `key_hash_hi`, `key_hash_lo`: high and low 128 bits of `SHA-256(κ)` | the claim (stored; `withdraw` checks κ against it) |
//!
//! Witness: the hunter's secret scalar `s` (251 bits), the reveal key κ, the cipher nonce, the
//! ciphertext, the Nova proofs' public IO (`num_steps`, `z_0`, `z_n` of each of `N` slots) and
//! the SHA-256 states of the dataset's finished IPFS leaves. The circuit enforces:
//!
//! 1. `(hunter_x, hunter_y) = s·Base8`; the host key is on the curve; `K = s·host` (ECDH; `K`
//!    never leaves the circuit);
//! 2. `ciphertext_hash = chain_hash(1, [nonce, c…])` and `nonce < 2^128`;
//! 3. `κ < 2^248` and `SHA-256(κ as 32 bytes big-endian) = key_hash` (one compression, about
//!    27k constraints); `c` decrypts under [`super::weights::session_key`]`(K, κ)` and `nonce`
//!    (padding zero, authentication element matches) to a plaintext in the layout of
//!    [`super::weights`] for the circuit's architecture. So whoever learns a preimage of
//!    `key_hash` and holds `K` — the host, once the contract's `withdraw` has published κ and
//!    paid — decrypts exactly the committed model, and before that nobody can;
//! 4. the plaintext's weights are well-formed (`kerafold_step_circuits::wellformed`: every lane
//!    within the guard bound, so they are an integer model's), and its model chain (nova-snark's
//!    Poseidon, `kerafold_step_circuits::poseidon::hash_gadget`, starting from the architecture's seed
//!    `fold::commit::model_seed`, so the architecture is bound too) equals `z_n[model]`;
//! 5. `io_digest = chain_hash(2, io_1 ‖ … ‖ io_N)`, `io_k = [num_steps, z_0…, z_n…]` (for
//!    `N = 1`, one proof's `chain_hash(2, [num_steps, z_0…, z_n…])`);
//! 6. the `N` slots join into one accuracy run over every sample of the dataset with the model
//!    chain of step 4 ([`super::shards::bind`]: the first starts at sample 0 in the header's
//!    hash state, each starts where the one before ended, each counts from zero, the last ends
//!    at the last sample); the finished leaves' states chain into the last slot's leaf chain and
//!    with its final state rebuild the CID's digest = `(cid_hi, cid_lo)` (`file_digest`: every
//!    leaf finished with its padding block, the dag-pb nodes over them); and `threshold ≤ Σ
//!    correct ≤ samples`, every count below 2^64 (range checks);
//! 7. one constraint `claimant·claimant = sq` puts the address into the R1CS (Groth16 binds every
//!    public input anyway); a proof made for one sender fails for any other, so a copied claim
//!    transaction is worthless.
//!
//! The circuit depends on the architecture (the plaintext layout), the dataset's header and
//! chunking, [`IoLayout`] and `N`; one Groth16 setup, verifier and bounty contract serve every
//! model of that architecture.

use super::groth16::FrontendCircuit;
use super::shards::ShardIos;
use super::weights;
use super::weights::{Layout, TAG_CIPHERTEXT};
use crate::accuracy::{AccuracyArch, SampleStep, SampleWitness};
use crate::crypto::babyjubjub::{Point, SecretKey, SCALAR_BITS};
use crate::crypto::bn254::{from_dec, to_be32, to_dec, to_u128, Fr};
use crate::crypto::cipher;
use crate::crypto::gadgets::{self as g, Lc, PointVar};
use crate::crypto::poseidon::chain_hash;
use crate::data::dataset::{Dataset, Header};
use crate::fold::Architecture;
use crate::{Error, Result};
use ff::{Field, PrimeField};
use kerafold_step_circuits::poseidon::{hash_gadget, hash_narrow_gadget};
use kerafold_step_circuits::wellformed;
use nova_snark::frontend::gadgets::sha256::sha256;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{Boolean, ConstraintSystem, SynthesisError};
use nova_snark::traits::circuit::StepCircuit;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Domain tag of [`NovaIo::digest`].
pub(crate) const TAG_IO: u64 = 2;
/// Number of public inputs.
pub const NUM_PUBLIC: usize = 12;
/// Names of the public inputs, in order.
pub const PUBLIC_NAMES: [&str; NUM_PUBLIC] = [
    "cid_hi",
    "cid_lo",
    "threshold",
    "host_x",
    "host_y",
    "claimant",
    "hunter_x",
    "hunter_y",
    "ciphertext_hash",
    "io_digest",
    "key_hash_hi",
    "key_hash_lo",
];

/// Bits of the counts (`threshold`, correct, samples).
pub(crate) const COUNT_BITS: usize = 64;

/// Where the claim's values sit in the Nova accuracy proof's state (`fold::accuracy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoLayout {
    /// Length of `z_0` and `z_n` (the IVC's arity).
    pub arity: usize,
    /// Index of the sample counter.
    pub samples: usize,
    /// Index of the SHA-256 state's words 0–3.
    pub sha_hi: usize,
    /// Index of the SHA-256 state's words 4–7.
    pub sha_lo: usize,
    /// Index of the model commitment.
    pub model: usize,
    /// Index of the correct-prediction count.
    pub correct: usize,
    /// Index of the chain of finished leaves (zero throughout for a file of one leaf).
    pub leaves: usize,
}

impl IoLayout {
    /// The accuracy IVC's state: `[sample index, SHA hi, SHA lo, model commitment, correct,
    /// leaf chain]`.
    pub const ACCURACY: IoLayout = IoLayout {
        arity: crate::accuracy::ARITY,
        samples: 0,
        sha_hi: 1,
        sha_lo: 2,
        model: 3,
        correct: 4,
        leaves: 5,
    };
}

/// The public IO of a Nova accuracy proof: what the claim binds through [`NovaIo::digest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NovaIo {
    /// Number of folded steps.
    pub num_steps: u64,
    /// Initial state.
    pub z0: Vec<Fr>,
    /// Final state.
    pub zn: Vec<Fr>,
}

impl NovaIo {
    /// `[num_steps, z_0…, z_n…]`.
    pub fn elements(&self) -> Vec<Fr> {
        let mut v = vec![Fr::from(self.num_steps)];
        v.extend(&self.z0);
        v.extend(&self.zn);
        v
    }

    /// The IO digest: `poseidon::chain_hash(TAG_IO, [num_steps, z_0…, z_n…])` with circomlib's
    /// Poseidon (recomputable with circomlibjs).
    pub fn digest(&self) -> Fr {
        chain_hash(TAG_IO, &self.elements())
    }

    /// The public IO of an accuracy proof of a whole dataset of one IPFS leaf with this claim,
    /// as its verifier derives it (what the on-chain circuit computes; approval claims bind
    /// shards through [`ShardIos`]).
    pub fn from_accuracy(claim: &crate::accuracy::AccuracyClaim) -> Result<Self> {
        if !claim.is_whole() || !claim.leaves.is_empty() {
            return Err(Error::Usage(
                "one accuracy run over a whole dataset of one IPFS leaf was expected".into(),
            ));
        }
        let (z0, zn) = crate::accuracy::public_io::<Fr>(claim)?;
        Ok(Self {
            num_steps: claim.samples as u64,
            z0,
            zn,
        })
    }
}

/// The two 128-bit halves (big-endian) of a 32-byte digest as field elements.
pub(crate) fn cid_halves(d: &[u8; 32]) -> (Fr, Fr) {
    let hi = u128::from_be_bytes(d[..16].try_into().expect("16 bytes"));
    let lo = u128::from_be_bytes(d[16..].try_into().expect("16 bytes"));
    (Fr::from_u128(hi), Fr::from_u128(lo))
}

/// Where the accuracy statement a claim binds is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimMode {
    /// By a Nova accuracy proof, verified off chain (by the host, before it approves): the claim
    /// binds that proof's public IO by its digest. Any dataset and model size.
    Approval,
    /// Inside the claim itself: every record of the dataset runs through the decrypted model in
    /// the circuit (`accuracy::SampleStep`, unrolled), the records' SHA-256 is the bounty's CID,
    /// and the ciphertext is a public input, so the contract checks the whole statement and
    /// pays without the host's approval. Small datasets and models (the circuit grows with both).
    OnChain,
}

/// What a bounty's claim circuit is built for besides the architecture and the dataset's header:
/// `setup.json`'s `mode`, `max_shards` and `chunk_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimShape {
    /// Where accuracy is proven.
    pub mode: ClaimMode,
    /// How many shard proofs an approval-mode claim binds (1 on chain).
    pub max_shards: usize,
    /// Bytes per IPFS leaf of the dataset's CID.
    pub chunk_size: usize,
}

impl ClaimShape {
    /// An on-chain-accuracy claim ([`ClaimMode::OnChain`]).
    pub const ON_CHAIN: ClaimShape = ClaimShape {
        mode: ClaimMode::OnChain,
        max_shards: 1,
        chunk_size: crate::data::cid::CHUNK_SIZE,
    };
}

/// The circuit's constants: the architecture (plaintext layout), the dataset's header (its
/// hash's first and last blocks), where the IO holds what, and the mode.
#[derive(Clone, Debug)]
pub struct ClaimSpec {
    /// The model architecture.
    pub arch: Architecture,
    /// The plaintext layout of `arch`.
    pub layout: Layout,
    /// The bounty dataset's header.
    pub header: Header,
    /// The accuracy proof's IO layout.
    pub io: IoLayout,
    /// Where accuracy is proven.
    pub mode: ClaimMode,
    /// How many shard proofs' IO the claim binds ([`super::shards`]; 1: one whole proof).
    pub max_shards: usize,
    /// Bytes per IPFS leaf the dataset's CID is computed with (IPFS' default,
    /// [`crate::data::cid::CHUNK_SIZE`], unless the host added the file with another
    /// fixed-size chunker).
    pub chunk_size: usize,
}

impl ClaimSpec {
    /// The claim circuit's R1CS for this spec (no assignment): what a setup, a ceremony and a
    /// prover all start from.
    pub fn r1cs(&self) -> Result<super::groth16::R1cs> {
        super::groth16::R1cs::of(&ClaimCircuit {
            spec: self,
            public: None,
            witness: None,
        })
    }

    /// The spec for `arch` and a dataset with `header`, in [`ClaimMode::Approval`].
    pub fn new(arch: Architecture, header: Header) -> Self {
        let layout = Layout::new(&arch);
        Self {
            arch,
            layout,
            header,
            io: IoLayout::ACCURACY,
            mode: ClaimMode::Approval,
            max_shards: 1,
            chunk_size: crate::data::cid::CHUNK_SIZE,
        }
    }

    /// The spec of an approval-mode claim that binds up to `max_shards` shard proofs of a
    /// dataset named with `chunk_size`-byte leaves (any size: the circuit rebuilds the CID).
    pub fn sharded(
        arch: Architecture,
        header: Header,
        max_shards: usize,
        chunk_size: usize,
    ) -> Result<Self> {
        if !(1..=super::shards::MAX_SHARDS).contains(&max_shards) {
            return Err(Error::Usage(format!(
                "--max-shards {max_shards}: a claim binds 1 to {} shard proofs",
                super::shards::MAX_SHARDS
            )));
        }
        // the dataset must fit the model and the chunking, as for its accuracy proofs
        AccuracyArch::new(arch.clone(), header, chunk_size)?;
        Ok(Self {
            max_shards,
            chunk_size,
            ..Self::new(arch, header)
        })
    }

    /// Whether the dataset's CID is a dag-pb root (a file of more than one leaf) rather than a
    /// raw block.
    pub fn dag_pb(&self) -> bool {
        self.header.file_len() > self.chunk_size as u64
    }

    /// The spec for `arch`, a dataset with `header`, and `shape`.
    pub fn of(arch: Architecture, header: Header, shape: &ClaimShape) -> Result<Self> {
        match shape.mode {
            ClaimMode::Approval => {
                Self::sharded(arch, header, shape.max_shards, shape.chunk_size)
            }
            ClaimMode::OnChain if shape.max_shards != 1 => Err(Error::Usage(
                "an on-chain-accuracy claim runs the whole dataset itself: it binds no shards (--max-shards 1)".into(),
            )),
            ClaimMode::OnChain if shape.chunk_size != crate::data::cid::CHUNK_SIZE => {
                Err(Error::Usage(format!(
                    "--chunk-size {}: an on-chain-accuracy claim covers one raw IPFS block of the default chunker ({} bytes)",
                    shape.chunk_size,
                    crate::data::cid::CHUNK_SIZE
                )))
            }
            ClaimMode::OnChain if arch.has_carry() => Err(Error::Usage(
                "an on-chain-accuracy claim runs each record through whole layers: it takes a model committed a step per layer (no --step-size)".into(),
            )),
            ClaimMode::OnChain => Self::on_chain(arch, header),
        }
    }

    /// The spec of an on-chain-accuracy claim ([`ClaimMode::OnChain`]): the dataset must fit the
    /// model (as for an accuracy proof) and one IPFS leaf (the circuit runs every record).
    pub fn on_chain(arch: Architecture, header: Header) -> Result<Self> {
        let chunk = crate::data::cid::CHUNK_SIZE;
        crate::accuracy::AccuracyArch::new(arch.clone(), header, chunk)?;
        if header.file_len() > chunk as u64 {
            return Err(Error::Usage(format!(
                "the dataset file is {} bytes: an on-chain-accuracy claim runs every record in the claim circuit and covers one IPFS chunk (up to {chunk} bytes, {} samples of this shape); use an approval-mode bounty (a Nova accuracy proof, in shards) for larger datasets",
                header.file_len(),
                chunk / header.record_size() - 1
            )));
        }
        Ok(Self {
            mode: ClaimMode::OnChain,
            ..Self::new(arch, header)
        })
    }

    /// Number of public inputs: [`NUM_PUBLIC`], and in [`ClaimMode::OnChain`] the nonce and the
    /// ciphertext after them.
    pub fn num_public(&self) -> usize {
        match self.mode {
            ClaimMode::Approval => NUM_PUBLIC,
            ClaimMode::OnChain => NUM_PUBLIC + 1 + cipher::ciphertext_len(self.layout.len),
        }
    }
}

/// The public inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimPublic {
    /// SHA-256 digest inside the dataset's CID.
    pub cid_digest: [u8; 32],
    /// Least number of correct samples.
    pub threshold: u64,
    /// Host public key.
    pub host: Point,
    /// Claimant address.
    pub claimant: [u8; 20],
    /// Hunter public key.
    pub hunter: Point,
    /// Hash of the ciphertext (and nonce).
    pub ciphertext_hash: Fr,
    /// Digest of the Nova proof's public IO.
    pub io_digest: Fr,
    /// `SHA-256(κ)`: what the hunter's reveal key must hash to.
    pub key_hash: [u8; 32],
    /// The nonce and the ciphertext, public in [`ClaimMode::OnChain`] (the contract passes the
    /// posted calldata itself); `None` in [`ClaimMode::Approval`].
    pub posted: Option<Posted>,
}

/// A ciphertext as posted on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// Cipher nonce (`< 2^128`).
    pub nonce: u128,
    /// The ciphertext.
    pub ciphertext: Vec<Fr>,
}

impl ClaimPublic {
    /// The public inputs in circuit order.
    pub fn inputs(&self) -> Vec<Fr> {
        let (hi, lo) = cid_halves(&self.cid_digest);
        let (key_hi, key_lo) = cid_halves(&self.key_hash);
        let mut a = [0u8; 32];
        a[12..].copy_from_slice(&self.claimant);
        a.reverse();
        let mut repr = <Fr as PrimeField>::Repr::default();
        repr.as_mut().copy_from_slice(&a);
        let claimant = Option::from(Fr::from_repr(repr)).expect("160-bit value");
        let mut x = vec![
            hi,
            lo,
            Fr::from(self.threshold),
            self.host.x,
            self.host.y,
            claimant,
            self.hunter.x,
            self.hunter.y,
            self.ciphertext_hash,
            self.io_digest,
            key_hi,
            key_lo,
        ];
        if let Some(p) = &self.posted {
            x.push(Fr::from_u128(p.nonce));
            x.extend(&p.ciphertext);
        }
        x
    }

    /// Parses public inputs (in circuit order).
    pub fn from_inputs(x: &[Fr]) -> Result<Self> {
        if x.len() != NUM_PUBLIC && x.len() < NUM_PUBLIC + 2 {
            return Err(Error::Invalid(format!(
                "{} public inputs, not {NUM_PUBLIC} (or more, with a posted ciphertext)",
                x.len()
            )));
        }
        let half = |f: &Fr, what: &str| {
            to_u128(f).ok_or_else(|| Error::Invalid(format!("{what} is not a 128-bit value")))
        };
        let mut cid = [0u8; 32];
        cid[..16].copy_from_slice(&half(&x[0], "cid_hi")?.to_be_bytes());
        cid[16..].copy_from_slice(&half(&x[1], "cid_lo")?.to_be_bytes());
        let mut key_hash = [0u8; 32];
        key_hash[..16].copy_from_slice(&half(&x[10], "key_hash_hi")?.to_be_bytes());
        key_hash[16..].copy_from_slice(&half(&x[11], "key_hash_lo")?.to_be_bytes());
        let threshold = u64::try_from(half(&x[2], "threshold")?)
            .map_err(|_| Error::Invalid("threshold is not a 64-bit value".into()))?;
        let be = to_be32(&x[5]);
        if be[..12].iter().any(|&b| b != 0) {
            return Err(Error::Invalid("claimant is not a 160-bit address".into()));
        }
        let pt = |a: Fr, b: Fr, what: &str| Point::from_dec(&[to_dec(&a), to_dec(&b)], what);
        Ok(Self {
            cid_digest: cid,
            threshold,
            host: pt(x[3], x[4], "host key")?,
            claimant: be[12..].try_into().expect("20 bytes"),
            hunter: pt(x[6], x[7], "hunter key")?,
            ciphertext_hash: x[8],
            io_digest: x[9],
            key_hash,
            posted: match x.get(NUM_PUBLIC) {
                None => None,
                Some(n) => Some(Posted {
                    nonce: half(n, "nonce")?,
                    ciphertext: x[NUM_PUBLIC + 1..].to_vec(),
                }),
            },
        })
    }

    /// Parses decimal public inputs (snarkjs `public.json`).
    pub fn from_dec(x: &[String]) -> Result<Self> {
        let v = x
            .iter()
            .map(|s| from_dec(s, "public input"))
            .collect::<Result<Vec<Fr>>>()?;
        Self::from_inputs(&v)
    }
}

/// The witness.
#[derive(Clone, Debug)]
pub struct ClaimWitness {
    /// The hunter's secret key.
    pub hunter: SecretKey,
    /// The hunter's reveal key κ ([`super::weights::reveal_key`]).
    pub kappa: Fr,
    /// Cipher nonce.
    pub nonce: u128,
    /// The ciphertext.
    pub ciphertext: Vec<Fr>,
    /// The accuracy IO, one per slot ([`ClaimSpec::max_shards`]): the Nova proofs'
    /// ([`ClaimMode::Approval`], [`super::shards::ShardIos`]), or that of the run the circuit
    /// unrolls ([`ClaimMode::OnChain`], where the circuit computes it).
    pub ios: Vec<NovaIo>,
    /// The states of every leaf of the dataset file but the last (before padding).
    pub leaves: Vec<[u32; 8]>,
    /// The dataset's records and the model's packed weights, for [`ClaimMode::OnChain`].
    pub samples: Option<Arc<SamplesWitness>>,
}

/// What the on-chain-accuracy circuit runs: every record, through the decrypted model.
#[derive(Clone, Debug)]
pub struct SamplesWitness {
    /// The dataset's records, in file order.
    pub records: Vec<Vec<u8>>,
    /// Every step's packed weights (the plaintext's, [`weights::packed_steps`]).
    pub weights: Arc<Vec<kerafold_step_circuits::packing::Packed<Fr>>>,
    /// Every step's blinding.
    pub blinds: Arc<Vec<Fr>>,
}

/// The claim circuit. Without public values and witness it gives the shape.
pub struct ClaimCircuit<'a> {
    /// Constants.
    pub spec: &'a ClaimSpec,
    /// Public inputs (`None` for the shape).
    pub public: Option<&'a ClaimPublic>,
    /// Witness (`None` for the shape).
    pub witness: Option<&'a ClaimWitness>,
}

fn alloc<CS: ConstraintSystem<Fr>>(
    cs: CS,
    v: Option<Fr>,
) -> Result<AllocatedNum<Fr>, SynthesisError> {
    AllocatedNum::alloc(cs, || v.ok_or(SynthesisError::AssignmentMissing))
}

impl FrontendCircuit for ClaimCircuit<'_> {
    fn synthesize<CS: ConstraintSystem<Fr>>(&self, cs: &mut CS) -> Result<(), SynthesisError> {
        let spec = self.spec;
        let w = self.witness;
        // public inputs
        let x = self.public.map(|p| p.inputs());
        let mut pubs = Vec::with_capacity(NUM_PUBLIC);
        for (i, name) in PUBLIC_NAMES.iter().enumerate() {
            let n = AllocatedNum::alloc_input(cs.namespace(|| format!("pub_{name}")), || {
                x.as_ref()
                    .map(|x| x[i])
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            pubs.push(Lc::num(&n));
        }
        let [cid_hi, cid_lo, threshold, host_x, host_y, claimant, hunter_x, hunter_y, ct_hash, io_digest, key_hash_hi, key_hash_lo] =
            <[Lc<Fr>; NUM_PUBLIC]>::try_from(pubs).expect("twelve inputs");

        // 1. keys and ECDH
        let host = PointVar {
            x: host_x,
            y: host_y,
        };
        g::assert_on_curve(cs.namespace(|| "host_on_curve"), &host)?;
        let bits_v = w.map(|w| w.hunter.scalar_bits());
        let bits = g::alloc_scalar_bits(cs.namespace(|| "scalar"), bits_v.as_deref(), SCALAR_BITS)?;
        let hunter = g::mul_fixed(cs.namespace(|| "hunter_pk"), &Point::base8(), &bits)?;
        let mut ns = cs.namespace(|| "bind_hunter");
        hunter.x.enforce_eq(&mut ns, "x", &hunter_x);
        hunter.y.enforce_eq(&mut ns, "y", &hunter_y);
        drop(ns);
        let shared = g::mul_var(cs.namespace(|| "shared"), &host, &bits)?;

        // 2. ciphertext and its hash (public inputs after the twelve in the on-chain mode)
        let on_chain = spec.mode == ClaimMode::OnChain;
        let posted = self.public.and_then(|p| p.posted.as_ref());
        let value = |name: &str, public: Option<Fr>, witness: Option<Fr>| {
            if on_chain && self.public.is_some() {
                public
                    .ok_or_else(|| {
                        SynthesisError::Unsatisfiable(format!("an on-chain claim posts its {name}"))
                    })
                    .map(Some)
            } else {
                Ok(witness)
            }
        };
        let alloc_ct = |cs: &mut CS, name: String, v: Option<Fr>| {
            if on_chain {
                AllocatedNum::alloc_input(cs.namespace(|| name), || {
                    v.ok_or(SynthesisError::AssignmentMissing)
                })
            } else {
                alloc(cs.namespace(|| name), v)
            }
        };
        let nonce_v = value(
            "nonce",
            posted.map(|p| Fr::from_u128(p.nonce)),
            w.map(|w| Fr::from_u128(w.nonce)),
        )?;
        let nonce = alloc_ct(cs, "nonce".into(), nonce_v)?;
        let nonce = Lc::num(&nonce);
        g::range_check(cs.namespace(|| "nonce_range"), &nonce, 128)?;
        let ct_len = cipher::ciphertext_len(spec.layout.len);
        let lens = [
            w.map(|w| w.ciphertext.len()),
            posted.filter(|_| on_chain).map(|p| p.ciphertext.len()),
        ];
        if let Some(n) = lens.into_iter().flatten().find(|&n| n != ct_len) {
            return Err(SynthesisError::Unsatisfiable(format!(
                "ciphertext of {n} elements, the architecture needs {ct_len}"
            )));
        }
        let mut ct = Vec::with_capacity(ct_len);
        for k in 0..ct_len {
            let v = value(
                "ciphertext",
                posted.map(|p| p.ciphertext[k]),
                w.map(|w| w.ciphertext[k]),
            )?;
            let c = alloc_ct(cs, format!("ct{k}"), v)?;
            ct.push(Lc::num(&c));
        }
        let mut hashed = vec![nonce.clone()];
        hashed.extend(ct.iter().cloned());
        let h = g::chain_hash(cs.namespace(|| "ct_hash"), TAG_CIPHERTEXT, &hashed)?;
        h.enforce_eq(cs, "bind_ct_hash", &ct_hash);

        // 3. the reveal key, its hash, the session key and decryption
        let kappa = alloc(cs.namespace(|| "kappa"), w.map(|w| w.kappa))?;
        let kappa = Lc::num(&kappa);
        let kappa_bits = g::range_check(
            cs.namespace(|| "kappa_range"),
            &kappa,
            weights::REVEAL_KEY_BITS,
        )?;
        let mut message: Vec<Boolean> = vec![Boolean::constant(false); 256 - kappa_bits.len()];
        message.extend(kappa_bits.iter().rev().map(|b| Boolean::from(b.clone())));
        let digest = sha256(cs.namespace(|| "key_hash"), &message)?;
        let mut ns = cs.namespace(|| "bind_key_hash");
        g::pack_bits_be(&digest[..128]).enforce_eq(&mut ns, "hi", &key_hash_hi);
        g::pack_bits_be(&digest[128..]).enforce_eq(&mut ns, "lo", &key_hash_lo);
        drop(ns);
        let mut session = |j: u64| {
            g::hash(
                cs.namespace(|| format!("session_key{j}")),
                &[
                    shared.x.clone(),
                    shared.y.clone(),
                    kappa.clone(),
                    Lc::constant(Fr::from(j)),
                ],
            )
        };
        let (k0, k1) = (session(0)?, session(1)?);
        let pt = g::decrypt(
            cs.namespace(|| "decrypt"),
            &ct,
            (&k0, &k1),
            &nonce,
            spec.layout.len,
        )?;
        let pt: Vec<AllocatedNum<Fr>> = pt
            .iter()
            .enumerate()
            .map(|(k, m)| m.alloc(cs.namespace(|| format!("pt{k}"))))
            .collect::<Result<_, _>>()?;

        // 4. the model chain
        let zero = alloc(cs.namespace(|| "zero"), Some(Fr::ZERO))?;
        cs.enforce(
            || "zero is zero",
            |lc| lc + zero.get_variable(),
            |lc| lc + CS::one(),
            |lc| lc,
        );
        let seed_value = crate::fold::commit::model_seed::<Fr>(&spec.arch);
        let mut chain = alloc(cs.namespace(|| "model_seed"), Some(seed_value))?;
        cs.enforce(
            || "model seed is the architecture's",
            |lc| lc + chain.get_variable(),
            |lc| lc + CS::one(),
            |lc| lc + (seed_value, CS::one()),
        );
        for (i, st) in spec.layout.steps.iter().enumerate() {
            let d = match spec.layout.weights_range(i) {
                Some(r) => {
                    // the host gets these weights: they must be those of an integer model, whose
                    // lanes never wrap (the Nova proof's arithmetic relies on the same bound)
                    let op = &spec.arch.slots[st.slot].op;
                    let (w, b) = pt[r.clone()].split_at(st.w_len);
                    wellformed::enforce(
                        &mut cs.namespace(|| format!("wellformed{i}")),
                        op,
                        w,
                        b,
                        &spec.arch.fp,
                    )?;
                    hash_gadget(cs.namespace(|| format!("digest{i}")), &pt[r])?
                }
                None => zero.clone(),
            };
            chain = hash_narrow_gadget(
                cs.namespace(|| format!("chain{i}")),
                &[chain, pt[st.blind].clone(), d],
            )?;
        }

        // 5. the accuracy IO and its digest: the Nova proofs' (a witness bound by the digest,
        //    one slot per shard), or the run of every record through the decrypted model,
        //    unrolled here
        let io = &spec.io;
        let io_nums = match spec.mode {
            ClaimMode::Approval => {
                if let Some(w) = w {
                    if w.ios.len() != spec.max_shards
                        || w.ios
                            .iter()
                            .any(|x| x.z0.len() != io.arity || x.zn.len() != io.arity)
                    {
                        return Err(SynthesisError::Unsatisfiable(format!(
                            "the circuit expects {} Nova IOs of arity {}",
                            spec.max_shards, io.arity
                        )));
                    }
                }
                let io_vals: Option<Vec<Fr>> =
                    w.map(|w| w.ios.iter().flat_map(NovaIo::elements).collect());
                (0..spec.max_shards * (1 + 2 * io.arity))
                    .map(|k| {
                        alloc(
                            cs.namespace(|| format!("io{k}")),
                            io_vals.as_ref().map(|v| v[k]),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            ClaimMode::OnChain => unrolled_io(cs, spec, w, &chain, &zero)?,
        };
        let io_vars: Vec<Lc<Fr>> = io_nums.iter().map(Lc::num).collect();
        let d = g::chain_hash(cs.namespace(|| "io_hash"), TAG_IO, &io_vars)?;
        d.enforce_eq(cs, "bind_io_digest", &io_digest);

        // 6. what the IO must say: the slots join into one run over every sample of the
        //    dataset with this model, which names the bounty's file; the count meets the
        //    threshold
        let bound = super::shards::bind(
            cs,
            spec,
            &io_nums,
            &Lc::num(&chain),
            &zero,
            w.map(|w| w.leaves.as_slice()),
        )?;
        let hi = g::pack_bits_be::<Fr>(&bound.digest[..128]);
        let lo = g::pack_bits_be::<Fr>(&bound.digest[128..]);
        let mut ns = cs.namespace(|| "bind_cid");
        hi.enforce_eq(&mut ns, "hi", &cid_hi);
        lo.enforce_eq(&mut ns, "lo", &cid_lo);
        drop(ns);
        let count = Lc::constant(Fr::from(u64::from(spec.header.count)));
        g::range_check(cs.namespace(|| "threshold_range"), &threshold, COUNT_BITS)?;
        g::range_check(
            cs.namespace(|| "meets_threshold"),
            &bound.correct.sub(&threshold),
            COUNT_BITS,
        )?;
        g::range_check(
            cs.namespace(|| "correct_le_samples"),
            &count.sub(&bound.correct),
            COUNT_BITS,
        )?;

        // 7. the claimant
        g::mul(
            &mut cs.namespace(|| "claimant_square"),
            "sq",
            &claimant,
            &claimant,
        )?;
        Ok(())
    }
}

/// The on-chain mode's accuracy IO `[num_steps, z_0…, z_n…]`: `z_0` is the start of every
/// accuracy run (sample 0, the SHA-256 state after the dataset's header, the model chain of the
/// decrypted plaintext, no correct sample) and each record is one `accuracy::SampleStep` from the
/// state the previous one left — the Nova accuracy IVC, unrolled. The steps do not check the
/// weights' well-formedness again: their chain must equal the plaintext's, which step 4 checked.
fn unrolled_io<CS: ConstraintSystem<Fr>>(
    cs: &mut CS,
    spec: &ClaimSpec,
    w: Option<&ClaimWitness>,
    chain: &AllocatedNum<Fr>,
    zero: &AllocatedNum<Fr>,
) -> Result<Vec<AllocatedNum<Fr>>, SynthesisError> {
    let unsat = |m: String| SynthesisError::Unsatisfiable(m);
    let header = &spec.header;
    let arch = Arc::new(
        AccuracyArch::new(spec.arch.clone(), *header, crate::data::cid::CHUNK_SIZE)
            .map_err(|e| unsat(e.to_string()))?,
    );
    let count = header.count as usize;
    let samples = match w {
        None => None,
        Some(w) => Some(w.samples.clone().ok_or_else(|| {
            unsat("an on-chain-accuracy claim needs the dataset's records".into())
        })?),
    };
    if let Some(s) = &samples {
        if s.records.len() != count {
            return Err(unsat(format!(
                "{} records, the dataset's header says {count}",
                s.records.len()
            )));
        }
    }
    let mut constant = |name: &str, v: Fr| -> Result<AllocatedNum<Fr>, SynthesisError> {
        let n = alloc(cs.namespace(|| name.to_string()), Some(v))?;
        cs.enforce(
            || format!("{name} is constant"),
            |lc| lc + n.get_variable(),
            |lc| lc + CS::one(),
            |lc| lc + (v, CS::one()),
        );
        Ok(n)
    };
    let h0 = crate::accuracy::pack_state::<Fr>(&crate::accuracy::header_state(header));
    let num_steps = constant("num_steps", Fr::from(count as u64))?;
    let z0 = vec![
        zero.clone(),
        constant("sha_hi0", h0[0])?,
        constant("sha_lo0", h0[1])?,
        chain.clone(),
        zero.clone(),
        zero.clone(),
    ];
    let mut z = z0.clone();
    for k in 0..count {
        let step = SampleStep {
            arch: arch.clone(),
            private_weights: false,
            witness: samples.as_ref().map(|s| {
                Arc::new(SampleWitness {
                    record: s.records[k].clone(),
                    weights: s.weights.clone(),
                    blinds: s.blinds.clone(),
                })
            }),
        };
        z = step.synthesize(&mut cs.namespace(|| format!("sample{k}")), &z)?;
    }
    let mut io = vec![num_steps];
    io.extend(z0);
    io.extend(z);
    Ok(io)
}

/// Everything the hunter has when claiming.
#[derive(Clone, Debug)]
pub struct ClaimInput {
    /// The public inputs.
    pub public: ClaimPublic,
    /// The witness.
    pub witness: ClaimWitness,
}

impl ClaimInput {
    /// Assembles a claim from the encrypted weights, the hunter's key, the accuracy proofs' IO
    /// (every shard's, padded: [`ShardIos`]), the bounty's terms and the claimant's address;
    /// checks natively what the circuit will enforce (the ciphertext decrypts to a plaintext
    /// whose chain is the proofs' model commitment, the shards join over the bounty's dataset,
    /// the count meets the threshold), so a wrong claim fails here with a readable message.
    pub fn new(
        spec: &ClaimSpec,
        encrypted: &weights::Encrypted,
        hunter: &SecretKey,
        shards: ShardIos,
        cid_digest: [u8; 32],
        threshold: u64,
        claimant: [u8; 20],
    ) -> Result<Self> {
        if spec.mode != ClaimMode::Approval {
            return Err(Error::Usage(
                "an on-chain-accuracy claim runs the dataset itself: use ClaimInput::on_chain"
                    .into(),
            ));
        }
        let opened = Opened::new(spec, encrypted, hunter)?;
        shards.check(spec, opened.chain, &cid_digest, threshold)?;
        let public = ClaimPublic {
            cid_digest,
            threshold,
            host: encrypted.host,
            claimant,
            hunter: hunter.public(),
            ciphertext_hash: encrypted.hash,
            io_digest: shards.digest(),
            key_hash: encrypted.key_hash,
            posted: None,
        };
        let witness = ClaimWitness {
            hunter: hunter.clone(),
            kappa: opened.kappa,
            nonce: encrypted.nonce,
            ciphertext: encrypted.ciphertext.clone(),
            ios: shards.ios,
            leaves: shards.leaves,
            samples: None,
        };
        Ok(Self { public, witness })
    }

    /// Assembles an on-chain-accuracy claim ([`ClaimMode::OnChain`]): the encrypted weights, the
    /// hunter's key, the bounty's dataset (whose CID the claim proves), threshold and the
    /// claimant. Runs the decrypted model on every record natively first, so a claim that would
    /// not hold fails here with a readable message.
    pub fn on_chain(
        spec: &ClaimSpec,
        encrypted: &weights::Encrypted,
        hunter: &SecretKey,
        data: &Dataset,
        threshold: u64,
        claimant: [u8; 20],
    ) -> Result<Self> {
        if spec.mode != ClaimMode::OnChain {
            return Err(Error::Usage(
                "an approval-mode claim binds a Nova accuracy proof: use ClaimInput::new".into(),
            ));
        }
        if *data.header() != spec.header {
            return Err(Error::Usage(
                "the dataset's header is not the one the claim circuit was built for".into(),
            ));
        }
        let opened = Opened::new(spec, encrypted, hunter)?;
        let (model, blinds) = weights::model_from_plaintext(
            &encrypted.file.skeleton,
            &encrypted.arch,
            &opened.plaintext,
        )?;
        let visibility = if blinds.iter().all(|b| *b == Fr::ZERO) {
            crate::fold::Visibility::Public
        } else {
            crate::fold::Visibility::Private
        };
        let accuracy = crate::accuracy::native_claim(
            &model,
            data,
            visibility,
            &crate::fold::fe_hex(&opened.chain),
        )?;
        if (accuracy.correct as u64) < threshold {
            return Err(Error::Invalid(format!(
                "the model gets {} of {} samples right, below the threshold {threshold}",
                accuracy.correct, accuracy.samples
            )));
        }
        let cid: crate::data::cid::Cid = accuracy.cid.parse()?;
        let io = NovaIo::from_accuracy(&accuracy)?;
        let (packed, blinds) = weights::packed_steps(&spec.arch, &opened.plaintext)?;
        let public = ClaimPublic {
            cid_digest: cid.digest,
            threshold,
            host: encrypted.host,
            claimant,
            hunter: hunter.public(),
            ciphertext_hash: encrypted.hash,
            io_digest: io.digest(),
            key_hash: encrypted.key_hash,
            posted: Some(Posted {
                nonce: encrypted.nonce,
                ciphertext: encrypted.ciphertext.clone(),
            }),
        };
        let witness = ClaimWitness {
            hunter: hunter.clone(),
            kappa: opened.kappa,
            nonce: encrypted.nonce,
            ciphertext: encrypted.ciphertext.clone(),
            ios: vec![io],
            leaves: Vec::new(),
            samples: Some(Arc::new(SamplesWitness {
                records: (0..data.len()).map(|i| data.record(i).to_vec()).collect(),
                weights: Arc::new(packed),
                blinds: Arc::new(blinds),
            })),
        };
        Ok(Self { public, witness })
    }
}

/// A ciphertext opened by its hunter: the reveal key, the plaintext, its model chain.
struct Opened {
    kappa: Fr,
    plaintext: Vec<Fr>,
    chain: Fr,
}

impl Opened {
    /// Checks natively what the circuit's steps 1–4 enforce.
    fn new(spec: &ClaimSpec, encrypted: &weights::Encrypted, hunter: &SecretKey) -> Result<Self> {
        if encrypted.hunter != hunter.public() {
            return Err(Error::Usage(
                "the ciphertext was made with another hunter key".into(),
            ));
        }
        if encrypted.arch.digest() != spec.arch.digest() {
            return Err(Error::Usage(
                "the ciphertext's architecture is not the circuit's".into(),
            ));
        }
        let kappa = weights::reveal_key(hunter, encrypted.nonce);
        if weights::key_hash(&kappa) != encrypted.key_hash {
            return Err(Error::Usage(
                "the ciphertext's key hash is not this hunter key's reveal key for its nonce: encrypt the weights again with this key".into(),
            ));
        }
        let shared = hunter.ecdh(&encrypted.host);
        let pt = cipher::decrypt(
            &encrypted.ciphertext,
            weights::session_key(&shared, &kappa),
            encrypted.nonce,
            spec.layout.len,
        )?;
        weights::check_plaintext(&spec.arch, &pt)?;
        let chain = weights::chain_from_plaintext(&spec.arch, &pt)?;
        Ok(Self {
            kappa,
            plaintext: pt,
            chain,
        })
    }
}

/// A bounty dataset's CID, given as a CIDv1 string (multibase base32, sha2-256 multihash: a raw
/// block `bafkrei…` for a file of one IPFS leaf, a dag-pb root `bafybei…` for a larger one) or
/// as 64 hex digits (a raw block's digest). The claim circuit binds the digest; which codec the
/// bounty's dataset needs follows from its setup ([`ClaimSpec::dag_pb`]).
pub fn parse_cid(s: &str) -> Result<crate::data::cid::Cid> {
    if s.len() == 64 {
        if let Ok(d) = hex::decode(s) {
            return Ok(crate::data::cid::Cid::raw(d.try_into().expect("32 bytes")));
        }
    }
    s.parse()
}

/// A proved claim.
#[derive(Clone, Debug)]
pub struct ClaimProof {
    /// The Groth16 proof.
    pub proof: ark_groth16::Proof<ark_bn254::Bn254>,
    /// The verifying key.
    pub vk: ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    /// The public inputs.
    pub public: ClaimPublic,
    /// Constraints of the circuit.
    pub constraints: usize,
}

/// Writes the verifying key for snarkjs (`verification_key.json`) and the generated verifier's
/// constructor arguments (`verifier_args.json`) into `dir`.
pub fn write_verifier_files(
    vk: &ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    dir: &std::path::Path,
) -> Result<()> {
    use super::snarkjs::{vk_words, VkJson};
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let w = |name: &str, v: &serde_json::Value| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_vec_pretty(v).expect("serializes"))
            .map_err(|e| Error::io(&p, e))
    };
    w(
        "verification_key.json",
        &serde_json::to_value(VkJson::new(vk)).expect("vk"),
    )?;
    let hexw = |v: &[[u8; 32]]| {
        v.iter()
            .map(|b| format!("0x{}", hex::encode(b)))
            .collect::<Vec<_>>()
    };
    let (vkw, ic) = vk_words(vk);
    w(
        "verifier_args.json",
        &serde_json::json!({"vk": hexw(&vkw), "ic": hexw(&ic)}),
    )
}

impl ClaimProof {
    /// Writes `verification_key.json`, `proof.json`, `public.json` (snarkjs), `calldata.txt`
    /// (`snarkjs zkey export soliditycalldata`'s format), `verifier_args.json` (the generated
    /// verifier's constructor arguments) and `claim.json` (named public inputs and the arguments
    /// of `Bounty.submitClaim`) into `dir`.
    pub fn write_dir(&self, dir: &std::path::Path) -> Result<()> {
        use super::snarkjs::{calldata_text, public_json, vk_words, ProofJson, VkJson};
        let w = |name: &str, v: &serde_json::Value| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, serde_json::to_vec_pretty(v).expect("serializes"))
                .map_err(|e| Error::io(&p, e))
        };
        let x = self.public.inputs();
        w(
            "verification_key.json",
            &serde_json::to_value(VkJson::new(&self.vk)).expect("vk"),
        )?;
        w(
            "proof.json",
            &serde_json::to_value(ProofJson::new(&self.proof)).expect("proof"),
        )?;
        w(
            "public.json",
            &serde_json::to_value(public_json(&x)).expect("public"),
        )?;
        let hexw = |v: &[[u8; 32]]| {
            v.iter()
                .map(|b| format!("0x{}", hex::encode(b)))
                .collect::<Vec<_>>()
        };
        let (vk, ic) = vk_words(&self.vk);
        w(
            "verifier_args.json",
            &serde_json::json!({"vk": hexw(&vk), "ic": hexw(&ic)}),
        )?;
        let named: serde_json::Map<String, serde_json::Value> = PUBLIC_NAMES
            .iter()
            .zip(&x)
            .map(|(n, v)| (n.to_string(), serde_json::json!(to_dec(v))))
            .collect();
        w(
            "claim.json",
            &serde_json::json!({
                "public": named,
                "constraints": self.constraints,
                "submitClaim": {
                    "hunterX": to_dec(&self.public.hunter.x),
                    "hunterY": to_dec(&self.public.hunter.y),
                    "ciphertextHash": to_dec(&self.public.ciphertext_hash),
                    "ioDigest": to_dec(&self.public.io_digest),
                    "keyHash": format!("0x{}", hex::encode(self.public.key_hash)),
                },
            }),
        )?;
        let p = dir.join("calldata.txt");
        std::fs::write(&p, calldata_text(&self.proof, &x) + "\n").map_err(|e| Error::io(&p, e))
    }

    /// Verifies the proof with its verifying key.
    pub fn verify(&self) -> bool {
        super::groth16::verify(&self.vk, &self.public.inputs(), &self.proof)
    }
}

/// Proves a claim with `keys` (the bounty host's, from its setup: [`super::flow::prove_claim`]
/// loads and checks them): extracts the circuit's R1CS, builds and checks the witness, proves.
pub fn prove_with_key(
    spec: &ClaimSpec,
    input: &ClaimInput,
    keys: &super::groth16::Keys,
) -> Result<ClaimProof> {
    let r1cs = spec.r1cs()?;
    let (x, aux) = assignment(spec, input)?;
    let proof = super::groth16::prove(keys, &r1cs, &x, &aux, &mut rand_core::OsRng)?;
    Ok(claim_proof(proof, keys.vk(), input, &r1cs))
}

/// Proves a claim with a snarkjs ceremony's key, verified by the caller against `r1cs`, the
/// spec's circuit ([`super::flow::Setup::proving_key`]), as [`prove_with_key`] does with
/// arkworks keys.
pub fn prove_with_zkey(
    spec: &ClaimSpec,
    input: &ClaimInput,
    zkey: &super::circom::ZkeyFile,
    r1cs: &super::groth16::R1cs,
) -> Result<ClaimProof> {
    let (x, aux) = assignment(spec, input)?;
    let proof = super::circom::prove(zkey, r1cs, &x, &aux, &mut rand_core::OsRng)?;
    Ok(claim_proof(proof, zkey.vk(), input, r1cs))
}

/// The input's assignment to the claim circuit, whose public part must be the claim's public
/// inputs.
fn assignment(spec: &ClaimSpec, input: &ClaimInput) -> Result<(Vec<Fr>, Vec<Fr>)> {
    let (x, aux) = super::groth16::witness(&ClaimCircuit {
        spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    })?;
    if x != input.public.inputs() {
        return Err(Error::Prover(
            "the circuit's public inputs differ from the claim's".into(),
        ));
    }
    Ok((x, aux))
}

fn claim_proof(
    proof: ark_groth16::Proof<ark_bn254::Bn254>,
    vk: &ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    input: &ClaimInput,
    r1cs: &super::groth16::R1cs,
) -> ClaimProof {
    ClaimProof {
        proof,
        vk: vk.clone(),
        public: input.public.clone(),
        constraints: r1cs.num_constraints(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cid::{Cid, Codec};

    #[test]
    fn bounty_cids_are_raw_blocks_or_dag_pb_roots() {
        let digest = [7u8; 32];
        let raw = Cid {
            codec: Codec::Raw,
            digest,
        };
        assert_eq!(parse_cid(&raw.to_string()).unwrap(), raw);
        assert_eq!(parse_cid(&hex::encode(digest)).unwrap(), raw);
        let root = Cid {
            codec: Codec::DagPb,
            digest,
        };
        assert_eq!(parse_cid(&root.to_string()).unwrap(), root);
        assert!(parse_cid("bafy").is_err());
    }
}
