//! Dataset accuracy proofs: the model's correct count on exactly the dataset file a CID names,
//! folded in one IVC (docs/DESIGN.md §6).
//!
//! One fold per sample. A fold takes the sample's record (`R` bytes, see
//! [`crate::data::dataset`]) as bits (its zero padding as constants), and with the same bits
//! - extends the SHA-256 of the file by the record's `R/64` blocks (the state travels in the fold
//!   state as two 128-bit halves),
//! - parses the features (`byte·2^(fa−s)`, or `⌊byte/2^(s−fa)⌋`) and the label,
//! - runs the whole model on the features, chaining the step gadgets of [`super::circuit`] as
//!   wires (no commitments between layers), ArgMax included,
//! - adds `[class = label]` to the correct count,
//! - recomputes the model chain (`H_narrow(prev, blind, H(step weights))` per step) from the
//!   weights and the blindings and requires it to equal the model commitment in the state: the
//!   same commitment an inference proof carries.
//!
//! State `z`: `[sample index, SHA state (words 0–3), SHA state (words 4–7), model commitment,
//! correct count]`. The header slot and the final SHA padding block are public: the verifier
//! hashes the header from the claimed header fields into `z0` and finishes the hash from `zn`,
//! so the final digest is checked against the CID without the verifier holding the file.
//!
//! Files up to one IPFS chunk (256 KiB: a single raw block, CID = `sha2-256` of the file) are
//! supported; larger files (a UnixFS tree of leaves) are rejected with a clear error.
//!
//! Folding per sample rather than per layer keeps every layer's activations as circuit wires:
//! for the small models of test-set bounties it is several times cheaper than a fold per layer,
//! and the step circuit of the layer-by-layer proof already holds every distinct layer. Proving
//! memory is that of one sample's pass, whatever the number of samples.

use crate::data::cid::{Chunking, Cid, FileDag, MAX_LINKS};
use crate::data::dataset::{Dataset, Header};
use crate::data::sha256;
use crate::fold::arch::{Architecture, Tiling};
use crate::fold::backend::{Backend, Bn254Ipa, Bn254Kzg, Scalar};
use crate::fold::params::{ParamsStore, Srs};
use crate::fold::pipeline::{self, Progress, ProveStats};
use crate::fold::{fe_from_hex, fe_hex, ModelClaim, Visibility};
use crate::inference::circuit::StepWitness;
use crate::model::QuantizedModel;
use crate::{Error, Result};
use ff::{Field as _, PrimeField};
use kerafold_step_circuits::packing::Packed;
use kerafold_step_circuits::spec::FixedPoint;
use kerafold_step_circuits::Field;
use nova_snark::traits::circuit::StepCircuit;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub mod by_layer;
mod circuit;
pub mod leaves;
pub mod shards;
mod step;

pub use circuit::AccuracyStep;
pub(crate) use step::unpack_half;
pub use step::{SampleStep, SampleWitness};

pub use shards::{CombinedProof, ShardSpec};

/// Number of state elements.
pub const ARITY: usize = 6;
/// The largest leaf size (IPFS' largest fixed-size chunker, 1 MiB).
pub const MAX_CHUNK_SIZE: usize = 1 << 20;

/// The public layout of an accuracy proof: the model's architecture, the dataset's header and
/// the leaf size the file is named with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyArch {
    /// The model's public architecture.
    pub model: Architecture,
    /// The dataset file's header.
    pub header: Header,
    /// Bytes per IPFS leaf ([`CHUNK_SIZE`] unless the file was added with another chunker).
    pub chunk_size: usize,
}

impl AccuracyArch {
    /// Checks that the dataset fits the model and that records tile the leaves.
    pub fn new(model: Architecture, header: Header, chunk_size: usize) -> Result<Self> {
        header.check().map_err(|msg| Error::Shape {
            context: "dataset header".into(),
            msg,
        })?;
        if usize::from(header.classes) != model.classes() {
            return Err(Error::Shape {
                context: "dataset".into(),
                msg: format!(
                    "the dataset has {} classes, the model's {} outputs tell {} apart: labels must be the model's classes (pack the dataset with {} classes)",
                    header.classes,
                    model.output_len(),
                    model.classes(),
                    model.classes()
                ),
            });
        }
        let in_len: usize = model.input_shape.iter().product();
        if header.features() != in_len {
            return Err(Error::Shape {
                context: "dataset".into(),
                msg: format!(
                    "records hold {} features {:?}, the model takes {:?}",
                    header.features(),
                    header.shape(),
                    model.input_shape
                ),
            });
        }
        check_chunk_size(&header, chunk_size).map_err(Error::Usage)?;
        let fp = model.fp;
        let top = feature_int(255, header.scale_shift, fp.fa);
        if top > fp.max() {
            return Err(Error::Overflow {
                layer: "input".into(),
                sample: None,
                msg: format!(
                    "a feature byte of 255 at scale 2^-{} is {} at scale 2^{}, outside the {}-bit range; use more activation bits",
                    header.scale_shift, top, fp.fa, fp.bits
                ),
            });
        }
        Ok(Self {
            model,
            header,
            chunk_size,
        })
    }

    /// SHA-256 of the canonical JSON form: keys the public parameters.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(serde_json::to_vec(self).expect("serializes")).into()
    }

    fn record_size(&self) -> usize {
        self.header.record_size()
    }

    /// The file spans more than one leaf: the folds finish leaves and chain them.
    pub fn multi_leaf(&self) -> bool {
        self.header.file_len() > self.chunk_size as u64
    }
}

/// Leaves must hold whole records: a power of two from the record size to [`MAX_CHUNK_SIZE`]
/// (`header` checked first).
pub(crate) fn check_chunk_size(
    header: &Header,
    chunk_size: usize,
) -> std::result::Result<(), String> {
    header.check()?;
    if !chunk_size.is_power_of_two()
        || chunk_size < header.record_size()
        || chunk_size > MAX_CHUNK_SIZE
    {
        return Err(format!(
            "a leaf size of {chunk_size} bytes: accuracy proofs need a power of two from the record size ({}) to {MAX_CHUNK_SIZE}, so that leaves hold whole records",
            header.record_size()
        ));
    }
    Ok(())
}

/// The model input for feature byte `b` (as [`crate::data::dataset::quantize_feature`]).
fn feature_int(b: u8, s: u8, fa: u32) -> i64 {
    crate::data::dataset::quantize_feature(b, s, fa)
}

/// The SHA state as two field elements (words 0–3 and 4–7, big-endian words).
pub(crate) fn pack_state<F: PrimeField>(state: &[u32; 8]) -> [F; 2] {
    let half = |w: &[u32]| {
        let v = w.iter().fold(0u128, |acc, &x| (acc << 32) | x as u128);
        F::from_u128(v)
    };
    [half(&state[..4]), half(&state[4..])]
}

/// The SHA state after the header slot.
pub fn header_state(header: &Header) -> [u32; 8] {
    let mut st = sha256::IV;
    for blk in header.to_bytes().chunks(64) {
        sha256::compress(&mut st, blk.try_into().expect("64-byte block"));
    }
    st
}

/// The digest of `len` bytes (a whole number of blocks) whose blocks end in `state`: one
/// compression with the padding block, which depends on the length alone.
pub fn finish_len(state: &[u32; 8], len: u64) -> [u8; 32] {
    let mut st = *state;
    sha256::compress(&mut st, &sha256::final_block(len));
    sha256::state_digest(&st)
}

/// The file digest from the state after every record (a file of one leaf).
pub fn finish(state: &[u32; 8], header: &Header) -> [u8; 32] {
    finish_len(state, header.file_len())
}

/// What an accuracy proof states: the correct count of one model on the samples
/// `first .. first + samples` of a dataset file (all of them, or one shard).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyClaim {
    /// The prover's label for the model (its Keras name): not bound by the proof.
    pub model_name: String,
    /// Fixed-point parameters of the quantized model.
    pub fixed_point: FixedPoint,
    /// The dataset's CIDv1 (`b…`): checked once the proofs cover the whole file.
    pub cid: String,
    /// The dataset header (shape, count, classes, scale shift).
    pub header: Header,
    /// Bytes per IPFS leaf the CID is computed with ([`CHUNK_SIZE`], IPFS' default).
    pub chunk_size: usize,
    /// The first sample proven (0 unless the proof is one shard of several).
    pub first: usize,
    /// Number of samples proven from `first`: one fold each.
    pub samples: usize,
    /// Samples whose predicted class equals their label.
    pub correct: usize,
    /// The SHA-256 state of the current leaf before sample `first` (hex of the eight words):
    /// the header slot hashed, for sample 0.
    pub sha_start: String,
    /// The SHA-256 state of the current leaf after the last sample proven, before padding.
    pub sha_state: String,
    /// The states of the leaves finished while folding these samples, in file order (hex of
    /// the eight words each, before padding): the leaf chain in the state binds them.
    pub leaves: Vec<String>,
    /// The leaf chain before sample `first` (hex of the field element): over every leaf finished
    /// before it, zero for sample 0. Shards continue one chain, so the last shard's ends in the
    /// chain of every leaf of the file.
    pub leaf_chain_start: String,
    /// Visibility and commitment of the model (the model chain).
    pub model: ModelClaim,
    /// What one fold runs: a whole sample, or one step of the model (`"sample"` if absent).
    #[serde(default)]
    pub fold: FoldUnit,
}

/// What one fold of an accuracy proof runs (docs/DESIGN.md §4.5). Either proves the same
/// statement; the verifier derives the circuit the claim names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoldUnit {
    /// One fold per sample runs the whole model ([`step`]): the fewest folds, but a fold grows
    /// with the model.
    #[default]
    Sample,
    /// One fold per step of the model ([`by_layer`]): a fold is as large as the largest step plus
    /// a piece of one record's hash, whatever the depth.
    Layer {
        /// How the architecture cuts Dense layers into tiles and convolution and pooling layers
        /// into row bands (docs/DESIGN.md §7), so that no step is as large as the widest layer;
        /// `None`: a step per layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tiling: Option<Tiling>,
    },
}

impl FoldUnit {
    /// The architecture a proof folded this way runs: the model's, cut as the tiling says.
    pub fn compile(&self, model: &QuantizedModel) -> Result<Architecture> {
        match self {
            Self::Sample => Architecture::compile(model),
            Self::Layer { tiling } => Architecture::compile_tiled(model, *tiling),
        }
    }

    /// The tiles the model runs in (`None`: whole layers).
    pub fn tiling(&self) -> Option<Tiling> {
        match self {
            Self::Sample => None,
            Self::Layer { tiling } => *tiling,
        }
    }
}

impl AccuracyClaim {
    /// The samples proven.
    pub fn range(&self) -> Range<usize> {
        self.first..self.first.saturating_add(self.samples)
    }

    /// The proof covers every sample of the file.
    pub fn is_whole(&self) -> bool {
        self.first == 0 && self.samples == self.header.count as usize
    }
}

/// The accuracy statement's kind tag in proof files.
pub const ACCURACY: &str = "accuracy";

/// An accuracy proof file: the common envelope ([`crate::fold::proof::ProofFile`]) with an
/// [`AccuracyClaim`]; its `architecture` is the model's architecture digest (the dataset header
/// is in the claim).
pub type AccuracyProof = crate::fold::proof::ProofFile<AccuracyClaim>;

impl crate::fold::proof::ProofFile<AccuracyClaim> {
    /// Reads an accuracy proof file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_kind(path, ACCURACY)
    }
}

/// The accuracy statement: one fold per sample of a range of a dataset, the file's SHA-256 leaf
/// by leaf and the correct count in the state (docs/DESIGN.md §6).
pub struct Accuracy;

impl crate::fold::Statement for Accuracy {
    const KIND: &'static str = ACCURACY;
    const SYSTEMS: &'static [crate::fold::System] =
        &[crate::fold::System::Bn254Ipa, crate::fold::System::Bn254Kzg];
    const STATE: &'static [&'static str] = &[
        "sample index",
        "dataset hash",
        "dataset hash",
        "model commitment",
        "correct count",
        "leaf chain",
    ];
    type Claim = AccuracyClaim;
    type Circuit<F: Field> = AccuracyStep<F>;

    fn model(claim: &AccuracyClaim) -> &ModelClaim {
        &claim.model
    }

    fn tiling(claim: &AccuracyClaim) -> Option<Tiling> {
        match claim.fold {
            FoldUnit::Sample => None,
            FoldUnit::Layer { tiling } => tiling,
        }
    }

    /// The shard's own statement; whether the shards make up the file named by the CID is
    /// [`shards::join`]'s check.
    fn derive<F: Field>(
        arch: &Arc<Architecture>,
        claim: &AccuracyClaim,
    ) -> Result<crate::fold::statement::Derived<F, AccuracyStep<F>>> {
        let arch = AccuracyArch::new((**arch).clone(), claim.header, claim.chunk_size).map_err(
            |e| match e {
                Error::Shape { msg, .. } | Error::Usage(msg) => Error::Invalid(format!(
                    "the claimed dataset header does not fit the architecture: {msg}"
                )),
                e => e,
            },
        )?;
        if claim.fold == FoldUnit::Sample && arch.model.has_carry() {
            return Err(Error::Invalid(
                "a proof folded per sample runs whole layers, but the architecture is cut into tiles or bands".into(),
            ));
        }
        if claim.fixed_point != arch.model.fp {
            return Err(Error::Invalid(
                "claimed fixed-point parameters differ from the architecture's".into(),
            ));
        }
        let count = claim.header.count as usize;
        if claim.samples == 0
            || claim
                .first
                .checked_add(claim.samples)
                .is_none_or(|end| end > count)
            || claim.correct > claim.samples
        {
            return Err(Error::Invalid(format!(
                "the claimed samples {}..{} ({} right) are inconsistent with the dataset's {count}",
                claim.first,
                claim.first.saturating_add(claim.samples),
                claim.correct
            )));
        }
        if claim.first == 0
            && (parse_state(&claim.sha_start)? != header_state(&claim.header)
                || fe_from_hex::<F>(&claim.leaf_chain_start, "leaf chain")? != F::ZERO)
        {
            return Err(Error::Invalid(
                "a proof from sample 0 must start from the hash of the dataset's header and an empty leaf chain".into(),
            ));
        }
        let finished = leaves::leaves_finished(&claim.header, claim.chunk_size, &claim.range());
        if claim.leaves.len() != finished {
            return Err(Error::Invalid(format!(
                "samples {}..{} finish {finished} leaves of the file, the claim lists {}",
                claim.first,
                claim.first + claim.samples,
                claim.leaves.len()
            )));
        }
        let (mut z0, mut zn) = public_io::<F>(claim)?;
        let circuit = AccuracyStep::shape(
            claim.fold,
            Arc::new(arch),
            claim.model.visibility == Visibility::Private,
        );
        // the label and the layer state of a fold by layer are zero between samples
        let arity = StepCircuit::<F>::arity(&circuit);
        z0.resize(arity, F::ZERO);
        zn.resize(arity, F::ZERO);
        Ok(crate::fold::statement::Derived {
            digest: circuit.digest(),
            folds: claim.samples * circuit.folds_per_sample(),
            circuit,
            z0,
            zn,
        })
    }
}

fn hex_state(st: &[u32; 8]) -> String {
    st.iter().map(|w| format!("{w:08x}")).collect()
}

fn parse_state(s: &str) -> Result<[u32; 8]> {
    if s.len() != 64 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Invalid(
            "a SHA-256 state is not 64 hex digits".into(),
        ));
    }
    let mut st = [0u32; 8];
    for (k, w) in st.iter_mut().enumerate() {
        *w = u32::from_str_radix(&s[8 * k..8 * k + 8], 16)
            .map_err(|_| Error::Invalid("bad SHA state".into()))?;
    }
    Ok(st)
}

/// The leaf states a claim lists (the leaves finished by its samples, in file order).
pub fn leaf_states(claim: &AccuracyClaim) -> Result<Vec<[u32; 8]>> {
    claim.leaves.iter().map(|s| parse_state(s)).collect()
}

/// The SHA-256 state packed into two 128-bit halves ([`pack_state`]), or `None` when a half
/// does not fit 128 bits.
pub(crate) fn unpack_state(halves: &[crate::crypto::bn254::Fr; 2]) -> Option<[u32; 8]> {
    let mut st = [0u32; 8];
    for (h, half) in halves.iter().enumerate() {
        let v = crate::crypto::bn254::to_u128(half)?;
        for k in 0..4 {
            st[4 * h + k] = (v >> (96 - 32 * k)) as u32;
        }
    }
    Some(st)
}

/// The BN254 scalar field accuracy proofs are over.
pub type Fr = Scalar<Bn254Ipa>;

/// Fresh random model-chain blindings for every step of `model` (a private model), one step per
/// layer.
pub fn random_blinds(model: &QuantizedModel) -> Result<Vec<Fr>> {
    random_blinds_for(model, FoldUnit::Sample)
}

/// [`random_blinds`] for every step of the architecture a proof folded as `fold` runs (a tiled
/// one has a step per tile or band).
pub fn random_blinds_for(model: &QuantizedModel, fold: FoldUnit) -> Result<Vec<Fr>> {
    let n = fold.compile(model)?.steps.len();
    Ok((0..n).map(|_| Fr::random(OsRng)).collect())
}

/// Proves the correct count of `model` on every sample of `data` (BN254/Grumpkin, IPA), the file
/// named with IPFS' default leaves ([`prove_shard`] for a range, leaves of another size, or
/// HyperKZG).
///
/// `blinds` are the model chain's per-step blindings: empty for a public model (the commitment is
/// then the one `fold::public_model_commitment` gives), one per step for a private model
/// ([`random_blinds`]; keep them: encrypting the weights for a bounty claim needs them).
pub fn prove_accuracy(
    model: &QuantizedModel,
    data: &Dataset,
    blinds: &[Fr],
    params_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(AccuracyProof, ProveStats)> {
    prove_shard(
        model,
        data,
        blinds,
        &ShardSpec::whole(data),
        FoldUnit::Sample,
        &Srs::Transparent,
        params_dir,
        progress,
    )
}

/// Proves the correct count of `model` on the samples `shard` names, each fold running what
/// `fold` says ([`prove_accuracy`] for the rest), on BN254 with IPA (`srs` transparent) or with
/// HyperKZG over `srs`'s powers of tau: both in the field of the bounty's Groth16 claim; HyperKZG
/// compresses and verifies several times faster, but its verifier must name the powers of tau.
/// Shards of one private model must use the same `blinds`.
#[allow(clippy::too_many_arguments)]
pub fn prove_shard(
    model: &QuantizedModel,
    data: &Dataset,
    blinds: &[Fr],
    shard: &ShardSpec,
    fold: FoldUnit,
    srs: &Srs,
    params_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(AccuracyProof, ProveStats)> {
    match srs {
        Srs::Transparent => {
            prove_with::<Bn254Ipa>(model, data, blinds, shard, fold, srs, params_dir, progress)
        }
        Srs::Ptau(_) | Srs::InsecureRandomTau => {
            prove_with::<Bn254Kzg>(model, data, blinds, shard, fold, srs, params_dir, progress)
        }
    }
}

/// The model's per-step packed weights (each step's active slot).
fn step_weights<F: Field>(arch: &Architecture, model: &QuantizedModel) -> Vec<Packed<F>> {
    arch.layers()
        .into_iter()
        .enumerate()
        .map(|(i, layer)| {
            let active = arch.steps[i].slot;
            arch.packed_weights::<F>(i, layer, model)
                .swap_remove(active)
        })
        .collect()
}

/// The integer model's correct count on samples `range`.
fn reference_count(model: &QuantizedModel, data: &Dataset, range: Range<usize>) -> Result<usize> {
    let mut correct = 0;
    for i in range {
        let t = model.trace(&data.quantized_input(i, model.fp.fa), Some(i))?;
        if t.class == data.sample(i).1 as usize {
            correct += 1;
        }
    }
    Ok(correct)
}

/// The CID of `data` with `chunk_size`-byte leaves, checked against the native twin of the
/// folds' hashing (the leaf states of a run over every sample).
fn checked_cid(data: &Dataset, chunk_size: usize) -> Result<Cid> {
    let cid = FileDag::from_reader(
        data.as_bytes(),
        Chunking {
            chunk_size,
            max_links: MAX_LINKS,
        },
    )
    .map_err(|e| Error::Prover(format!("reading the dataset: {e}")))?
    .cid();
    let run = leaves::hash_run(data, chunk_size, 0..data.len());
    if leaves::dataset_cid(data.header(), chunk_size, &run.leaves, &run.end)? != cid {
        return Err(Error::Prover(
            "the leaf-by-leaf SHA-256 differs from the file's CID".into(),
        ));
    }
    Ok(cid)
}

#[allow(clippy::too_many_arguments)]
fn prove_with<B: Backend>(
    model: &QuantizedModel,
    data: &Dataset,
    blinds: &[Scalar<B>],
    shard: &ShardSpec,
    fold: FoldUnit,
    srs: &Srs,
    params_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(AccuracyProof, ProveStats)> {
    let visibility = if blinds.is_empty() {
        Visibility::Public
    } else {
        Visibility::Private
    };
    data.check_input_shape(&model.input_shape)?;
    let header = *data.header();
    let compiled = fold.compile(model)?;
    if visibility == Visibility::Private {
        // the circuit holds each tile to its share of the bound: say which one fails, and why
        compiled.check_tile_shares(model)?;
    }
    let arch = Arc::new(AccuracyArch::new(compiled, header, shard.chunk_size)?);
    let range = shard.samples.clone();
    if range.is_empty() || range.end > data.len() {
        return Err(Error::Usage(format!(
            "samples {}..{} of a dataset of {}",
            range.start,
            range.end,
            data.len()
        )));
    }
    let first = range.start;
    let n = range.len();
    let correct = reference_count(model, data, range.clone())?;
    let steps = arch.model.steps.len();
    let weights: Arc<Vec<Packed<Scalar<B>>>> = Arc::new(match fold {
        FoldUnit::Sample => step_weights(&arch.model, model),
        FoldUnit::Layer { .. } => vec![], // the layer steps' witnesses carry them
    });
    if !blinds.is_empty() && blinds.len() != steps {
        return Err(Error::Usage(format!(
            "{} blindings for an architecture of {steps} steps: a private model's blindings are \
             made for one architecture (a step per layer, or the tiles and bands of one step \
             size); commit the model for the architecture this proof runs",
            blinds.len()
        )));
    }
    let blinds: Arc<Vec<Scalar<B>>> = Arc::new(if blinds.is_empty() {
        vec![Scalar::<B>::ZERO; steps]
    } else {
        blinds.to_vec()
    });
    let commitment = crate::fold::commit::model_commitment(&arch.model, model, &blinds);
    // the states the folds start from and must reach, and the file's CID
    let cid = checked_cid(data, shard.chunk_size)?;
    let run = leaves::hash_run(data, shard.chunk_size, range.clone());
    let before = leaves::hash_run(data, shard.chunk_size, 0..first).leaves;
    let chain_start = leaves::leaf_chain(Scalar::<B>::ZERO, &before);
    let h0 = pack_state::<Scalar<B>>(&run.start);
    let shape =
        AccuracyStep::<Scalar<B>>::shape(fold, arch.clone(), visibility == Visibility::Private);
    let mut z0 = vec![
        Scalar::<B>::from(first as u64),
        h0[0],
        h0[1],
        commitment,
        Scalar::<B>::ZERO,
        chain_start,
    ];
    z0.resize(StepCircuit::<Scalar<B>>::arity(&shape), Scalar::<B>::ZERO);
    let store = ParamsStore::new(params_dir);
    let per_sample = shape.folds_per_sample();
    // the current sample's record and step witnesses, built once for its folds
    type Sample<F> = (usize, Arc<Vec<u8>>, Vec<Arc<StepWitness<F>>>);
    let current: Mutex<Option<Sample<Scalar<B>>>> = Mutex::new(None);
    let circuit = |k: usize| match &shape {
        AccuracyStep::Sample(c) => AccuracyStep::Sample(SampleStep {
            witness: Some(Arc::new(SampleWitness {
                record: data.record(first + k).to_vec(),
                weights: weights.clone(),
                blinds: blinds.clone(),
            })),
            ..c.clone()
        }),
        AccuracyStep::Layer(c) => {
            let (s, j) = (first + k / per_sample, k % per_sample);
            let mut current = current.lock().unwrap_or_else(|p| p.into_inner());
            if current.as_ref().is_none_or(|(at, ..)| *at != s) {
                let trace = model
                    .trace(&data.quantized_input(s, model.fp.fa), Some(s))
                    .expect("reference_count traced every sample of the range");
                let steps =
                    crate::inference::sample_step_witnesses(&arch.model, model, &trace, &blinds)
                        .into_iter()
                        .map(Arc::new)
                        .collect();
                *current = Some((s, Arc::new(data.record(s).to_vec()), steps));
            }
            let (_, rec, steps) = current.as_ref().expect("set above");
            AccuracyStep::Layer(c.at(rec.clone(), steps[j].clone()))
        }
    };
    let what = |k: usize| match fold {
        FoldUnit::Sample => format!("sample {}", first + k),
        FoldUnit::Layer { .. } => {
            format!("sample {}, step {}", first + k / per_sample, k % per_sample)
        }
    };
    let folding = pipeline::Folding {
        digest: shape.digest(),
        shape: shape.clone(),
        n: n * per_sample,
        circuit: &circuit,
        what: &what,
    };
    let (snark, zn, stats) = pipeline::prove::<B, _>(&store, srs, &folding, &z0, progress)?;
    let digest_arch = arch.model.digest();
    store.save_arch(B::ID, &digest_arch, &arch.model)?;
    if zn[4] != Scalar::<B>::from(correct as u64)
        || zn[1..3] != pack_state::<Scalar<B>>(&run.end)
        || zn[5] != leaves::leaf_chain(chain_start, &run.leaves)
    {
        return Err(Error::Prover(
            "the proven state differs from the reference".into(),
        ));
    }
    let claim = claim_of(
        model,
        data,
        shard,
        correct,
        &cid,
        &run,
        &chain_start,
        ModelClaim {
            visibility,
            commitment: fe_hex(&commitment),
        },
        fold,
    );
    Ok((
        AccuracyProof::new(ACCURACY, B::ID, &digest_arch, claim, hex::encode(snark)),
        stats,
    ))
}

/// The claim an honest accuracy proof of `model` (with model commitment `commitment`, hex) on
/// every sample of `data` makes, computed natively: what its verifier derives `(z0, zn)` from.
pub fn native_claim(
    model: &QuantizedModel,
    data: &Dataset,
    visibility: Visibility,
    commitment: &str,
) -> Result<AccuracyClaim> {
    native_shard_claim(model, data, visibility, commitment, &ShardSpec::whole(data))
}

/// [`native_claim`] of one shard: the claim an honest proof of `shard` makes.
pub fn native_shard_claim(
    model: &QuantizedModel,
    data: &Dataset,
    visibility: Visibility,
    commitment: &str,
    shard: &ShardSpec,
) -> Result<AccuracyClaim> {
    data.check_input_shape(&model.input_shape)?;
    AccuracyArch::new(
        Architecture::compile(model)?,
        *data.header(),
        shard.chunk_size,
    )?;
    let range = shard.samples.clone();
    let correct = reference_count(model, data, range.clone())?;
    let run = leaves::hash_run(data, shard.chunk_size, range);
    let before = leaves::hash_run(data, shard.chunk_size, 0..shard.samples.start).leaves;
    let chain_start = leaves::leaf_chain(Fr::ZERO, &before);
    Ok(claim_of(
        model,
        data,
        shard,
        correct,
        &checked_cid(data, shard.chunk_size)?,
        &run,
        &chain_start,
        ModelClaim {
            visibility,
            commitment: commitment.to_string(),
        },
        FoldUnit::Sample,
    ))
}

/// The claim of a run over `shard` of `data` that hashed `run` from the leaf chain
/// `chain_start` and counted `correct`.
#[allow(clippy::too_many_arguments)]
fn claim_of<F: PrimeField>(
    model: &QuantizedModel,
    data: &Dataset,
    shard: &ShardSpec,
    correct: usize,
    cid: &Cid,
    run: &leaves::HashRun,
    chain_start: &F,
    model_claim: ModelClaim,
    fold: FoldUnit,
) -> AccuracyClaim {
    AccuracyClaim {
        model_name: model.name.clone(),
        fixed_point: model.fp,
        cid: cid.to_string(),
        header: *data.header(),
        chunk_size: shard.chunk_size,
        first: shard.samples.start,
        samples: shard.samples.len(),
        correct,
        sha_start: hex_state(&run.start),
        sha_state: hex_state(&run.end),
        leaves: run.leaves.iter().map(hex_state).collect(),
        leaf_chain_start: fe_hex(chain_start),
        model: model_claim,
        fold,
    }
}

/// How to verify an accuracy proof.
#[derive(Clone, Debug, Default)]
pub struct AccuracyCheck {
    /// The published CID the proof must be about.
    pub cid: Option<String>,
    /// The least correct count to accept.
    pub min_correct: Option<usize>,
    /// The model file's quantized model, for a public model: the architecture is rebuilt from it
    /// and the commitment recomputed.
    pub model: Option<QuantizedModel>,
    /// The model's architecture (an `arch.json`, e.g. the bounty host's), checked against the
    /// proof's digest; without it and `model`, the parameter directory's copy.
    pub arch: Option<Architecture>,
    /// HyperKZG proofs: the powers of tau the verifier key is derived from (IPA proofs need
    /// none; a HyperKZG proof without it is refused).
    pub srs: Option<Srs>,
}

/// The public state of an accuracy proof: `(z0, zn)` as the verifier derives them from a claim.
pub fn public_io<F: Field>(claim: &AccuracyClaim) -> Result<(Vec<F>, Vec<F>)> {
    let h0 = pack_state::<F>(&parse_state(&claim.sha_start)?);
    let hn = pack_state::<F>(&parse_state(&claim.sha_state)?);
    let start: F = fe_from_hex(&claim.leaf_chain_start, "leaf chain")?;
    let chain = leaves::leaf_chain(start, &leaf_states(claim)?);
    let c: F = fe_from_hex(&claim.model.commitment, "model commitment")?;
    Ok((
        vec![F::from(claim.first as u64), h0[0], h0[1], c, F::ZERO, start],
        vec![
            F::from(claim.range().end as u64),
            hn[0],
            hn[1],
            c,
            F::from(claim.correct as u64),
            chain,
        ],
    ))
}

/// Verifies an accuracy proof of the whole dataset against the CID and threshold in `check`.
pub fn verify_accuracy(
    proof: &AccuracyProof,
    params_dir: &Path,
    check: &AccuracyCheck,
) -> Result<AccuracyClaim> {
    verify_shards(std::slice::from_ref(proof), params_dir, check)
}

/// Verifies the shard proofs of one dataset, in order: each proof, then that they join into the
/// whole file ([`shards::join`]); then the CID and threshold in `check`. Returns the joined claim.
pub fn verify_shards(
    proofs: &[AccuracyProof],
    params_dir: &Path,
    check: &AccuracyCheck,
) -> Result<AccuracyClaim> {
    // the layout first: a shard removed, repeated, reordered or of another model costs no SNARK
    shards::check_layout(proofs)?;
    for (k, proof) in proofs.iter().enumerate() {
        verify_one(proof, params_dir, check).map_err(|e| shards::in_shard(k, proofs, e))?;
    }
    // then the hash states and leaves, which only verified claims may be trusted to carry (a
    // forged leaf is its own shard's SNARK failure, named as such)
    let claim = shards::join(proofs)?;
    if let Some(want) = &check.cid {
        let want: Cid = want.parse()?;
        if want.to_string() != claim.cid {
            return Err(Error::Invalid(format!(
                "the proof is about dataset {}, not {want}",
                claim.cid
            )));
        }
    }
    if let Some(k) = check.min_correct {
        if claim.correct < k {
            return Err(Error::Invalid(format!(
                "the model is right on {} of {} samples, below the threshold {k}",
                claim.correct, claim.samples
            )));
        }
    }
    Ok(claim)
}

/// Verifies one proof (whole or a shard) on its own.
pub fn verify_one(proof: &AccuracyProof, params_dir: &Path, check: &AccuracyCheck) -> Result<()> {
    crate::fold::statement::verify::<Accuracy>(
        proof,
        &crate::fold::VerifyContext {
            params_dir,
            srs: check.srs.as_ref(),
            model: check.model.as_ref(),
            arch: check.arch.as_ref(),
        },
    )
    .map(|_| ())
}
