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

use crate::data::cid::{Cid, Codec, CHUNK_SIZE};
use crate::data::dataset::{Dataset, Header};
use crate::data::sha256;
use crate::fold::arch::Architecture;
use crate::fold::backend::{Backend, Bn254Ipa, Scalar};
use crate::fold::params::{ParamsStore, Srs};
use crate::fold::pipeline::{self, Progress, ProveStats};
use crate::fold::{fe_from_hex, fe_hex, ModelClaim, Visibility};
use crate::model::QuantizedModel;
use crate::{Error, Result};
use ff::{Field as _, PrimeField};
use kerafold_step_circuits::field::pow2;
use kerafold_step_circuits::packing::{self, Packed};
use kerafold_step_circuits::poseidon::{hash_gadget, hash_narrow_gadget};
use kerafold_step_circuits::spec::{FixedPoint, Op};
use kerafold_step_circuits::step::alloc_num as alloc;
use kerafold_step_circuits::wellformed;
use kerafold_step_circuits::{step as slot_gadget, Field};
use nova_snark::frontend::gadgets::sha256::sha256_compression_function;
use nova_snark::frontend::gadgets::uint32::UInt32;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{
    AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};
use nova_snark::traits::circuit::StepCircuit;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// Number of state elements.
pub const ARITY: usize = 5;

/// The public layout of an accuracy proof: the model's architecture and the dataset's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyArch {
    /// The model's public architecture.
    pub model: Architecture,
    /// The dataset file's header.
    pub header: Header,
}

impl AccuracyArch {
    /// Checks that the dataset fits the model and the single-chunk limit.
    pub fn new(model: Architecture, header: Header) -> Result<Self> {
        header.check().map_err(|msg| Error::Shape {
            context: "dataset header".into(),
            msg,
        })?;
        if usize::from(header.classes) != model.output_len() {
            return Err(Error::Shape {
                context: "dataset".into(),
                msg: format!(
                    "the dataset has {} classes, the model {} outputs: labels must be the model's classes (pack the dataset with {} classes)",
                    header.classes,
                    model.output_len(),
                    model.output_len()
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
        if header.file_len() > CHUNK_SIZE as u64 {
            return Err(Error::Usage(format!(
                "the dataset file is {} bytes: accuracy proofs support files of one IPFS chunk (up to {CHUNK_SIZE} bytes, {} samples of this shape); split the test set",
                header.file_len(),
                CHUNK_SIZE / header.record_size() - 1
            )));
        }
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
        Ok(Self { model, header })
    }

    /// SHA-256 of the canonical JSON form: keys the public parameters.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(serde_json::to_vec(self).expect("serializes")).into()
    }

    fn record_size(&self) -> usize {
        self.header.record_size()
    }
}

/// The model input for feature byte `b` (as [`crate::data::dataset::quantize_feature`]).
fn feature_int(b: u8, s: u8, fa: u32) -> i64 {
    crate::data::dataset::quantize_feature(b, s, fa)
}

/// Everything the prover knows at one fold.
#[derive(Clone, Debug)]
pub struct SampleWitness<F> {
    /// The sample's record bytes.
    pub record: Vec<u8>,
    /// The packed weights of every model step (its active slot).
    pub weights: Arc<Vec<Packed<F>>>,
    /// The model chain's blinding at every step.
    pub blinds: Arc<Vec<F>>,
}

/// The accuracy step circuit.
#[derive(Clone, Debug)]
pub struct SampleStep<F: Field> {
    /// The model architecture and dataset header.
    pub arch: Arc<AccuracyArch>,
    /// The weights are private: each step proves them well-formed
    /// ([`kerafold_step_circuits::wellformed`]).
    pub private_weights: bool,
    /// The prover's witness (`None` for the circuit's shape).
    pub witness: Option<Arc<SampleWitness<F>>>,
}

impl<F: Field> SampleStep<F> {
    /// The circuit without a witness.
    pub fn shape(arch: Arc<AccuracyArch>, private_weights: bool) -> Self {
        Self {
            arch,
            private_weights,
            witness: None,
        }
    }

    /// The digest that keys this circuit's parameters: architecture, header and whether the
    /// weights are checked.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"kerafold accuracy circuit")
            .chain_update(self.arch.digest())
            .chain_update([u8::from(self.private_weights)])
            .finalize()
            .into()
    }
}

/// Allocates `lc` (with value `v`) as a number: one constraint.
fn num_of<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    lc: LinearCombination<F>,
    v: Option<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let n = AllocatedNum::alloc(cs.namespace(|| "v"), || {
        v.ok_or(SynthesisError::AssignmentMissing)
    })?;
    cs.enforce(|| "eq", |_| lc, |l| l + CS::one(), |l| l + n.get_variable());
    Ok(n)
}

/// Decomposes a 128-bit half of the SHA state into its four words (big-endian words, each
/// big-endian bits, as the SHA gadget takes them).
pub(crate) fn unpack_half<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    half: &AllocatedNum<F>,
) -> Result<Vec<UInt32>, SynthesisError> {
    let v = half.get_value().map(|f| {
        let r = f.to_repr();
        u128::from_le_bytes(r.as_ref()[..16].try_into().expect("16 bytes"))
    });
    // bit i (LSB first) of the 128-bit value
    let bits = (0..128)
        .map(|i| {
            AllocatedBit::alloc(
                cs.namespace(|| format!("b{i}")),
                v.map(|v| (v >> i) & 1 == 1),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    cs.enforce(
        || "recompose",
        |lc| {
            bits.iter().enumerate().fold(lc, |lc, (i, b)| {
                lc + (pow2::<F>(i as u32), b.get_variable())
            })
        },
        |lc| lc + CS::one(),
        |lc| lc + half.get_variable(),
    );
    // word k (k = 0 most significant) holds bits 32·(3−k) .. 32·(4−k)
    Ok((0..4)
        .map(|k| {
            let lo = 32 * (3 - k);
            let be: Vec<Boolean> = (lo..lo + 32)
                .rev()
                .map(|i| Boolean::from(bits[i].clone()))
                .collect();
            UInt32::from_bits_be(&be)
        })
        .collect())
}

/// Packs four words (big-endian) into a 128-bit number.
pub(crate) fn pack_half<F: Field, CS: ConstraintSystem<F>>(
    cs: CS,
    words: &[UInt32],
) -> Result<AllocatedNum<F>, SynthesisError> {
    let mut lc = LinearCombination::zero();
    let mut val = Some(F::ZERO);
    for (k, w) in words.iter().enumerate() {
        let bits = w.clone().into_bits_be();
        for (j, b) in bits.iter().enumerate() {
            let pos = 32 * (3 - k as u32) + (31 - j as u32);
            lc = lc + &b.lc(CS::one(), pow2::<F>(pos));
            val = match (val, b.get_value()) {
                (Some(acc), Some(bit)) => Some(if bit { acc + pow2::<F>(pos) } else { acc }),
                _ => None,
            };
        }
    }
    num_of(cs, lc, val)
}

impl<F: Field> StepCircuit<F> for SampleStep<F> {
    fn arity(&self) -> usize {
        ARITY
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let arch = &self.arch.model;
        let header = &self.arch.header;
        let w = self.witness.as_deref();
        let fp = arch.fp;
        let r = self.arch.record_size();
        let (z_i, z_hi, z_lo, z_model, z_correct) = (&z[0], &z[1], &z[2], &z[3], &z[4]);

        // --- the record as bits (byte order as in the file, bits most significant first)
        // features and label are witness bits; the record's padding is zero by the file format,
        // so it enters the hash as constants (a file with other padding is not a dataset file)
        let used = header.features() + 1;
        let mut bytes_be: Vec<Vec<Boolean>> = Vec::with_capacity(r);
        for k in 0..r {
            if k >= used {
                bytes_be.push(vec![Boolean::constant(false); 8]);
                continue;
            }
            let byte = w.map(|w| w.record[k]);
            let bits = (0..8)
                .map(|j| {
                    AllocatedBit::alloc(
                        cs.namespace(|| format!("rec{k}_{j}")),
                        byte.map(|b| (b >> (7 - j)) & 1 == 1),
                    )
                    .map(Boolean::from)
                })
                .collect::<Result<Vec<_>, _>>()?;
            bytes_be.push(bits);
        }
        let byte_lc = |k: usize| -> (LinearCombination<F>, Option<u8>) {
            let mut lc = LinearCombination::zero();
            for (j, b) in bytes_be[k].iter().enumerate() {
                lc = lc + &b.lc(CS::one(), F::from(1u64 << (7 - j)));
            }
            (lc, w.map(|w| w.record[k]))
        };

        // --- SHA-256 over the record's blocks
        let mut state = unpack_half(cs.namespace(|| "sha_hi"), z_hi)?;
        state.extend(unpack_half(cs.namespace(|| "sha_lo"), z_lo)?);
        for blk in 0..r / 64 {
            let bits: Vec<Boolean> = bytes_be[blk * 64..(blk + 1) * 64]
                .iter()
                .flatten()
                .cloned()
                .collect();
            state =
                sha256_compression_function(cs.namespace(|| format!("sha{blk}")), &bits, &state)?;
        }
        let hi_next = pack_half(cs.namespace(|| "sha_hi_next"), &state[..4])?;
        let lo_next = pack_half(cs.namespace(|| "sha_lo_next"), &state[4..])?;

        // --- features and label
        let s = u32::from(header.scale_shift);
        let n_feat = header.features();
        let mut x = Vec::with_capacity(n_feat);
        for (k, byte_bits) in bytes_be.iter().enumerate().take(n_feat) {
            // byte·2^(fa−s), or the byte's top bits for ⌊byte / 2^(s−fa)⌋
            let (lc, v) = if fp.fa >= s {
                let (lc, b) = byte_lc(k);
                let m = pow2::<F>(fp.fa - s);
                (
                    LinearCombination::zero() + (m, &lc),
                    b.map(|b| F::from(b as u64) * m),
                )
            } else {
                let drop = (s - fp.fa) as usize;
                let mut lc = LinearCombination::zero();
                for (j, b) in byte_bits[..8usize.saturating_sub(drop)].iter().enumerate() {
                    lc = lc + &b.lc(CS::one(), F::from(1u64 << (7 - drop - j)));
                }
                (lc, w.map(|w| F::from((w.record[k] >> drop) as u64)))
            };
            x.push(num_of(cs.namespace(|| format!("x{k}")), lc, v)?);
        }
        let (label_lc, label_v) = byte_lc(n_feat);

        // --- the model, layer after layer as wires
        let zero = alloc(cs, "zero", Some(F::ZERO))?;
        cs.enforce(
            || "zero is zero",
            |l| l + zero.get_variable(),
            |l| l + CS::one(),
            |l| l,
        );
        let seed_value = crate::fold::commit::model_seed::<F>(arch);
        let seed = alloc(cs, "model_seed", Some(seed_value))?;
        cs.enforce(
            || "model seed is the architecture's",
            |l| l + seed.get_variable(),
            |l| l + CS::one(),
            |l| l + (seed_value, CS::one()),
        );
        let mut cur = x;
        let mut saved: Option<Vec<AllocatedNum<F>>> = None;
        let mut class = None;
        let mut chain = seed;
        for (i, desc) in arch.steps.iter().enumerate() {
            let slot = &arch.slots[desc.slot];
            let mut ns = cs.namespace(|| format!("step{i}"));
            let (wl, bl) = packing::packed_lens(&slot.op, &fp);
            let wa = (0..wl)
                .map(|j| alloc(&mut ns, &format!("w{j}"), w.map(|w| w.weights[i].w[j])))
                .collect::<Result<Vec<_>, _>>()?;
            let ba = (0..bl)
                .map(|j| alloc(&mut ns, &format!("b{j}"), w.map(|w| w.weights[i].b[j])))
                .collect::<Result<Vec<_>, _>>()?;
            let blind = alloc(&mut ns, "blind", w.map(|w| w.blinds[i]))?;
            // model chain link: H_narrow(prev, blind, H(this step's packed weights) or 0)
            let d = if wl + bl > 0 {
                let all: Vec<_> = wa.iter().chain(&ba).cloned().collect();
                hash_gadget(ns.namespace(|| "digest"), &all)?
            } else {
                zero.clone()
            };
            chain = hash_narrow_gadget(ns.namespace(|| "chain"), &[chain, blind, d])?;
            if self.private_weights && wl + bl > 0 {
                wellformed::enforce(&mut ns.namespace(|| "wf"), &slot.op, &wa, &ba, &fp)?;
            }

            let n_in = slot.raw_input_len();
            let mut xin = cur.clone();
            xin.resize(n_in, zero.clone());
            if desc.save_input {
                saved = Some(cur.clone());
            }
            let skip = match slot.op {
                Op::Add { n } => saved.as_ref().map(|s| {
                    let mut s = s.clone();
                    s.resize(n, zero.clone());
                    s
                }),
                _ => None,
            };
            let out = slot_gadget(
                &mut ns.namespace(|| "op"),
                &slot.op,
                &slot.act,
                &slot.views,
                &xin,
                skip.as_deref(),
                &wa,
                &ba,
                &fp,
            )?;
            if let Op::Add { .. } = slot.op {
                saved = None;
            }
            if let Some(idx) = out.argmax {
                class = Some(idx);
            }
            cur = out.y[..desc.n_out.min(out.y.len())].to_vec();
        }
        let class = class
            .ok_or_else(|| SynthesisError::Unsatisfiable("the model has no ArgMax step".into()))?;
        cs.enforce(
            || "model_commitment",
            |l| l + chain.get_variable(),
            |l| l + CS::one(),
            |l| l + z_model.get_variable(),
        );

        // --- correct += [class = label]
        let diff_v = match (class.get_value(), label_v) {
            (Some(c), Some(l)) => Some(c - F::from(l as u64)),
            _ => None,
        };
        let eq = AllocatedBit::alloc(cs.namespace(|| "eq"), diff_v.map(|d| d.is_zero().into()))?;
        let inv = alloc(
            cs,
            "inv",
            diff_v.map(|d| Option::<F>::from(d.invert()).unwrap_or(F::ZERO)),
        )?;
        // diff·inv = 1 − eq and diff·eq = 0
        cs.enforce(
            || "eq_inv",
            |l| l + class.get_variable() - &label_lc,
            |l| l + inv.get_variable(),
            |l| l + CS::one() - eq.get_variable(),
        );
        cs.enforce(
            || "eq_zero",
            |l| l + class.get_variable() - &label_lc,
            |l| l + eq.get_variable(),
            |l| l,
        );
        let correct_next = num_of(
            cs.namespace(|| "correct_next"),
            LinearCombination::zero() + z_correct.get_variable() + eq.get_variable(),
            z_correct
                .get_value()
                .zip(eq.get_value())
                .map(|(c, e)| c + F::from(e as u64)),
        )?;
        let i_next = num_of(
            cs.namespace(|| "i_next"),
            LinearCombination::zero() + z_i.get_variable() + CS::one(),
            z_i.get_value().map(|v| v + F::ONE),
        )?;
        Ok(vec![
            i_next,
            hi_next,
            lo_next,
            z_model.clone(),
            correct_next,
        ])
    }
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

/// The file digest from the state after every record.
pub fn finish(state: &[u32; 8], header: &Header) -> [u8; 32] {
    let mut st = *state;
    sha256::compress(&mut st, &sha256::final_block(header.file_len()));
    sha256::state_digest(&st)
}

/// What an accuracy proof states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyClaim {
    /// The prover's label for the model (its Keras name): not bound by the proof.
    pub model_name: String,
    /// Fixed-point parameters of the quantized model.
    pub fixed_point: FixedPoint,
    /// The dataset's CIDv1 (`b…`).
    pub cid: String,
    /// The dataset header (shape, count, classes, scale shift).
    pub header: Header,
    /// The SHA-256 state after the last record (hex of the eight words), before padding.
    pub sha_state: String,
    /// Number of samples proven: one fold each.
    pub samples: usize,
    /// Samples whose predicted class equals their label.
    pub correct: usize,
    /// Visibility and commitment of the model (the model chain).
    pub model: ModelClaim,
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

/// The accuracy statement: one fold per sample of a dataset, the file's SHA-256 and the correct
/// count in the state (docs/DESIGN.md §4.5).
pub struct Accuracy;

impl crate::fold::Statement for Accuracy {
    const KIND: &'static str = ACCURACY;
    const SYSTEMS: &'static [crate::fold::System] = &[crate::fold::System::Bn254Ipa];
    const STATE: &'static [&'static str] = &[
        "sample count",
        "dataset hash",
        "dataset hash",
        "model commitment",
        "correct count",
    ];
    type Claim = AccuracyClaim;
    type Circuit<F: Field> = SampleStep<F>;

    fn folds(claim: &AccuracyClaim) -> usize {
        claim.samples
    }

    fn model(claim: &AccuracyClaim) -> &ModelClaim {
        &claim.model
    }

    fn derive<F: Field>(
        arch: &Arc<Architecture>,
        claim: &AccuracyClaim,
    ) -> Result<crate::fold::statement::Derived<F, SampleStep<F>>> {
        let arch = AccuracyArch::new((**arch).clone(), claim.header).map_err(|e| match e {
            Error::Shape { msg, .. } => Error::Invalid(format!(
                "the claimed dataset header does not fit the architecture: {msg}"
            )),
            e => e,
        })?;
        if claim.fixed_point != arch.model.fp {
            return Err(Error::Invalid(
                "claimed fixed-point parameters differ from the architecture's".into(),
            ));
        }
        if claim.samples != claim.header.count as usize || claim.correct > claim.samples {
            return Err(Error::Invalid(
                "the claimed counts are inconsistent with the dataset header".into(),
            ));
        }
        // the CID: the folded SHA state, finished with the public padding block
        let st = parse_state(&claim.sha_state)?;
        let cid = Cid {
            codec: Codec::Raw,
            digest: finish(&st, &claim.header),
        };
        if cid.to_string() != claim.cid {
            return Err(Error::Invalid(
                "the claimed CID is not the hash the proof computes".into(),
            ));
        }
        let (z0, zn) = public_io::<F>(claim)?;
        let circuit = SampleStep::shape(
            Arc::new(arch),
            claim.model.visibility == Visibility::Private,
        );
        Ok(crate::fold::statement::Derived {
            digest: circuit.digest(),
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
            "the SHA-256 state is not 64 hex digits".into(),
        ));
    }
    let mut st = [0u32; 8];
    for (k, w) in st.iter_mut().enumerate() {
        *w = u32::from_str_radix(&s[8 * k..8 * k + 8], 16)
            .map_err(|_| Error::Invalid("bad SHA state".into()))?;
    }
    Ok(st)
}

/// The BN254 scalar field accuracy proofs are over.
pub type Fr = Scalar<Bn254Ipa>;

/// Fresh random model-chain blindings for every step of `model` (a private model).
pub fn random_blinds(model: &QuantizedModel) -> Result<Vec<Fr>> {
    let n = Architecture::compile(model)?.steps.len();
    Ok((0..n).map(|_| Fr::random(OsRng)).collect())
}

/// Proves the correct count of `model` on every sample of `data` (BN254/Grumpkin, IPA).
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
    prove_with::<Bn254Ipa>(model, data, blinds, params_dir, progress)
}

fn prove_with<B: Backend>(
    model: &QuantizedModel,
    data: &Dataset,
    blinds: &[Scalar<B>],
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
    let arch = Arc::new(AccuracyArch::new(Architecture::compile(model)?, header)?);
    let n = data.len();
    // the integer reference: every sample's class
    let mut correct = 0usize;
    for i in 0..n {
        let t = model.trace(&data.quantized_input(i, model.fp.fa), Some(i))?;
        if t.class == data.sample(i).1 as usize {
            correct += 1;
        }
    }
    let steps = arch.model.steps.len();
    let weights: Arc<Vec<Packed<Scalar<B>>>> = Arc::new(
        arch.model
            .layers()
            .into_iter()
            .enumerate()
            .map(|(i, layer)| {
                let active = arch.model.steps[i].slot;
                arch.model
                    .packed_weights::<Scalar<B>>(i, layer, model)
                    .swap_remove(active)
            })
            .collect(),
    );
    if !blinds.is_empty() && blinds.len() != steps {
        return Err(Error::Usage(format!(
            "{} blindings for a model of {steps} steps",
            blinds.len()
        )));
    }
    let blinds: Arc<Vec<Scalar<B>>> = Arc::new(if blinds.is_empty() {
        vec![Scalar::<B>::ZERO; steps]
    } else {
        blinds.to_vec()
    });
    let commitment = crate::fold::commit::model_commitment(&arch.model, model, &blinds);
    let h0 = pack_state::<Scalar<B>>(&header_state(&header));
    let z0 = vec![
        Scalar::<B>::ZERO,
        h0[0],
        h0[1],
        commitment,
        Scalar::<B>::ZERO,
    ];
    // the SHA state the folds must reach, and the CID it gives
    let mut st = header_state(&header);
    for i in 0..n {
        for blk in data.record(i).chunks(64) {
            sha256::compress(&mut st, blk.try_into().expect("64-byte block"));
        }
    }
    let digest = finish(&st, &header);
    let cid = Cid {
        codec: Codec::Raw,
        digest,
    };
    if cid != crate::data::cid::cid_of_bytes(data.as_bytes()) {
        return Err(Error::Prover(
            "the folded SHA-256 differs from the file's CID".into(),
        ));
    }
    let store = ParamsStore::new(params_dir);
    let shape = SampleStep::<Scalar<B>>::shape(arch.clone(), visibility == Visibility::Private);
    let circuit = |i: usize| SampleStep {
        witness: Some(Arc::new(SampleWitness {
            record: data.record(i).to_vec(),
            weights: weights.clone(),
            blinds: blinds.clone(),
        })),
        ..shape.clone()
    };
    let what = |i: usize| format!("sample {i}");
    let folding = pipeline::Folding {
        digest: shape.digest(),
        shape: shape.clone(),
        n,
        circuit: &circuit,
        what: &what,
    };
    let (snark, zn, stats) =
        pipeline::prove::<B, _>(&store, &Srs::Transparent, &folding, &z0, progress)?;
    let digest_arch = arch.model.digest();
    store.save_arch(B::ID, &digest_arch, &arch.model)?;
    if zn[4] != Scalar::<B>::from(correct as u64) || zn[1..3] != pack_state::<Scalar<B>>(&st) {
        return Err(Error::Prover(
            "the proven state differs from the reference".into(),
        ));
    }
    let claim = AccuracyClaim {
        model_name: model.name.clone(),
        fixed_point: model.fp,
        cid: cid.to_string(),
        header,
        sha_state: hex_state(&st),
        samples: n,
        correct,
        model: ModelClaim {
            visibility,
            commitment: fe_hex(&commitment),
        },
    };
    Ok((
        AccuracyProof::new(ACCURACY, B::ID, &digest_arch, claim, hex::encode(snark)),
        stats,
    ))
}

/// The claim an honest accuracy proof of `model` on `data` makes, computed natively (the
/// integer reference's count and the file's SHA-256 state), with model commitment `commitment`.
pub fn native_claim(
    model: &QuantizedModel,
    data: &Dataset,
    visibility: Visibility,
    commitment: &str,
) -> Result<AccuracyClaim> {
    data.check_input_shape(&model.input_shape)?;
    let header = *data.header();
    AccuracyArch::new(Architecture::compile(model)?, header)?;
    let mut correct = 0;
    let mut st = header_state(&header);
    for i in 0..data.len() {
        let t = model.trace(&data.quantized_input(i, model.fp.fa), Some(i))?;
        if t.class == data.sample(i).1 as usize {
            correct += 1;
        }
        for blk in data.record(i).chunks(64) {
            sha256::compress(&mut st, blk.try_into().expect("64-byte block"));
        }
    }
    Ok(AccuracyClaim {
        model_name: model.name.clone(),
        fixed_point: model.fp,
        cid: Cid {
            codec: Codec::Raw,
            digest: finish(&st, &header),
        }
        .to_string(),
        header,
        sha_state: hex_state(&st),
        samples: data.len(),
        correct,
        model: ModelClaim {
            visibility,
            commitment: commitment.to_string(),
        },
    })
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
}

/// The public state of an accuracy proof: `(z0, zn)` as the verifier derives them from a claim.
pub fn public_io<F: Field>(claim: &AccuracyClaim) -> Result<(Vec<F>, Vec<F>)> {
    let h0 = pack_state::<F>(&header_state(&claim.header));
    let st = parse_state(&claim.sha_state)?;
    let hn = pack_state::<F>(&st);
    let c: F = fe_from_hex(&claim.model.commitment, "model commitment")?;
    Ok((
        vec![F::ZERO, h0[0], h0[1], c, F::ZERO],
        vec![
            F::from(claim.samples as u64),
            hn[0],
            hn[1],
            c,
            F::from(claim.correct as u64),
        ],
    ))
}

/// Verifies an accuracy proof against the CID and threshold in `check`.
pub fn verify_accuracy(
    proof: &AccuracyProof,
    params_dir: &Path,
    check: &AccuracyCheck,
) -> Result<AccuracyClaim> {
    let claim = &proof.claim;
    crate::fold::statement::verify::<Accuracy>(
        proof,
        &crate::fold::VerifyContext {
            params_dir,
            srs: None,
            model: check.model.as_ref(),
            arch: check.arch.as_ref(),
        },
    )?;
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
    Ok(claim.clone())
}
