//! Layer-by-layer folding: prove a quantized model's inference with Nova, one fold per compute
//! step, compress with Nova's zero-knowledge CompressedSNARK, and verify (docs/DESIGN.md §4–5).
//!
//! ```no_run
//! # fn main() -> kerafold::Result<()> {
//! use kerafold::fold::{self, ProveOptions, VerifyOptions};
//! let graph = kerafold::model::load("model.keras".as_ref())?;
//! let program = kerafold::model::lower(&graph)?;
//! let sample = vec![0.5f32; graph.input_len()];
//! let (model, _) = kerafold::model::calibrate(&program, &[sample.clone()])?;
//! let input = model.quantize_input(&sample, None)?;
//! let (proof, _stats) = fold::prove(&model, &input, &ProveOptions::default(), &mut |_| {})?;
//! let claim = fold::verify(&proof, &VerifyOptions::default())?;
//! println!("class {}", claim.claim.class);
//! # Ok(()) }
//! ```

pub mod accuracy;
pub mod arch;
pub mod backend;
pub mod check;
pub mod circuit;
pub mod commit;
pub mod params;

pub use arch::Architecture;
pub use backend::{Progress, ProveStats};
pub use params::{ParamsStore, Srs};

use crate::model::{QuantizedModel, Trace};
use crate::{Error, Result};
use backend::{Backend, Bn254Ipa, Bn254Kzg, PastaIpa, Scalar};
use circuit::{LayerStep, StepWitness};
use commit::{arch_chain, tensor_commitment, zero_tensor_commitment};
use ff::{Field as _, PrimeField};
use kerafold_step_circuits::spec::FixedPoint;
use kerafold_step_circuits::Field;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Who may see a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// In the claim; the verifier recomputes its commitment.
    Public,
    /// Only a blinded commitment is in the claim.
    Private,
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        })
    }
}

/// The proof system: curve cycle and commitment scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum System {
    /// BN254/Grumpkin, IPA (transparent). The default.
    Bn254Ipa,
    /// BN254/Grumpkin, HyperKZG on BN254 from powers of tau.
    Bn254Kzg,
    /// Pallas/Vesta, IPA (transparent).
    PastaIpa,
}

impl System {
    /// Identifier in proof files and the parameter cache.
    pub fn id(&self) -> &'static str {
        match self {
            System::Bn254Ipa => Bn254Ipa::ID,
            System::Bn254Kzg => Bn254Kzg::ID,
            System::PastaIpa => PastaIpa::ID,
        }
    }
    /// Parses an identifier.
    pub fn from_id(id: &str) -> Option<Self> {
        [System::Bn254Ipa, System::Bn254Kzg, System::PastaIpa]
            .into_iter()
            .find(|s| s.id() == id)
    }
}

/// The default parameter cache: `$KERAFOLD_PARAMS`, else `kerafold-params` in the working
/// directory.
pub fn default_params_dir() -> PathBuf {
    std::env::var_os("KERAFOLD_PARAMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kerafold-params"))
}

/// How to prove.
#[derive(Clone, Debug)]
pub struct ProveOptions {
    pub system: System,
    pub srs: Srs,
    pub input: Visibility,
    pub model: Visibility,
    pub output: Visibility,
    pub params_dir: PathBuf,
}

impl Default for ProveOptions {
    fn default() -> Self {
        Self {
            system: System::Bn254Ipa,
            srs: Srs::Transparent,
            input: Visibility::Public,
            model: Visibility::Public,
            output: Visibility::Public,
            params_dir: default_params_dir(),
        }
    }
}

/// A committed or revealed tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "visibility", rename_all = "lowercase")]
pub enum Opening {
    /// The integer values (fixed point at scale `2^fa`).
    Public { values: Vec<i64> },
    /// A blinded commitment (hex of the field element).
    Private { commitment: String },
}

/// The model part of a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelClaim {
    pub visibility: Visibility,
    /// The model chain (hex): unblinded for a public model, blinded for a private one.
    pub commitment: String,
}

/// What a proof states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The prover's label for the model (its Keras name): not bound by the proof.
    pub model_name: String,
    /// Number of folded steps.
    pub steps: usize,
    pub fixed_point: FixedPoint,
    pub input: Opening,
    pub model: ModelClaim,
    /// The logits.
    pub output: Opening,
    /// ArgMax of the logits.
    pub class: usize,
}

/// Format tag of proof files.
pub const PROOF_FORMAT: &str = "kerafold-proof";
/// Current proof file version.
/// Current proof file version (2: model commitments bind the architecture, private weights are
/// proven well-formed, keys are derived by the verifier).
pub const PROOF_VERSION: u32 = 2;

/// A proof file: self-describing JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofFile {
    pub format: String,
    pub version: u32,
    /// Proof system id (`bn254-ipa`, `bn254-kzg`, `pasta-ipa`).
    pub system: String,
    /// SHA-256 of the architecture (hex): keys the verifier's parameters.
    pub architecture: String,
    pub claim: Claim,
    /// The compressed SNARK (hex of its bincode encoding).
    pub snark: String,
}

impl ProofFile {
    /// Reads and checks the format of a proof file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let p: ProofFile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not a kerafold proof file: {e}")))?;
        if p.format != PROOF_FORMAT {
            return Err(Error::format(
                path,
                format!("format is '{}', not '{PROOF_FORMAT}'", p.format),
            ));
        }
        if p.version != PROOF_VERSION {
            return Err(Error::format(
                path,
                format!(
                    "proof version {} is not supported (this kerafold reads {PROOF_VERSION})",
                    p.version
                ),
            ));
        }
        Ok(p)
    }

    /// Writes the proof file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("proof serializes");
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }
}

/// Hex of a field element's canonical representation.
pub fn fe_hex<F: PrimeField>(f: &F) -> String {
    hex::encode(f.to_repr().as_ref())
}

/// Parses [`fe_hex`], rejecting non-canonical encodings.
pub fn fe_from_hex<F: PrimeField>(s: &str, what: &str) -> Result<F> {
    let bytes = hex::decode(s).map_err(|_| Error::Invalid(format!("{what} is not hex")))?;
    let mut repr = F::Repr::default();
    if bytes.len() != repr.as_ref().len() {
        return Err(Error::Invalid(format!("{what} has the wrong length")));
    }
    repr.as_mut().copy_from_slice(&bytes);
    Option::from(F::from_repr(repr))
        .ok_or_else(|| Error::Invalid(format!("{what} is not a field element")))
}

/// Blinding values of one proof.
struct Blinding<F> {
    input: F,
    output: F,
    /// Per step (empty for a public model).
    model: Vec<F>,
}

fn random_or_zero<F: Field>(v: Visibility) -> F {
    match v {
        Visibility::Public => F::ZERO,
        Visibility::Private => F::random(OsRng),
    }
}

/// Builds one step's witness.
fn step_witness<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    trace: &Trace,
    blind: &Blinding<F>,
    i: usize,
) -> StepWitness<F> {
    let width = arch.width;
    let pad = |v: &[i64]| {
        let mut v = v.to_vec();
        v.resize(width, 0);
        v
    };
    let (desc, st) = (&arch.steps[i], &trace.steps[i]);
    let n = arch.steps.len();
    let r_in = if i == 0 { blind.input } else { F::ZERO };
    // the saved tensor was committed as some step's input: only step 0's input is blinded
    let saver = arch.steps[..i].iter().rposition(|d| d.save_input);
    StepWitness {
        slot: desc.slot,
        n_out: desc.n_out,
        save_input: desc.save_input,
        x: pad(&st.input),
        r_in,
        skip: st
            .skip
            .as_deref()
            .map(pad)
            .unwrap_or_else(|| vec![0; width]),
        r_skip: if st.skip.is_some() && saver == Some(0) {
            blind.input
        } else {
            F::ZERO
        },
        weights: arch.packed_weights(i, model),
        r_model: blind.model.get(i).copied().unwrap_or(F::ZERO),
        r_out: if i + 1 == n { blind.output } else { F::ZERO },
    }
}

/// The witness of step `i` of a proof whose input, model and output are all public (nothing
/// blinded): exactly what [`prove`] folds at that step. For code that drives Nova directly
/// (benchmarks).
pub fn public_step_witness<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    trace: &Trace,
    i: usize,
) -> StepWitness<F> {
    step_witness(arch, model, trace, &Blinding::public(), i)
}

/// The initial state `z0` of a proof with a public input (see [`public_step_witness`]).
pub fn public_initial_state<F: Field>(arch: &Architecture, trace: &Trace) -> Vec<F> {
    initial_state(arch, trace, &Blinding::public())
}

impl<F: Field> Blinding<F> {
    fn public() -> Self {
        Self {
            input: F::ZERO,
            output: F::ZERO,
            model: vec![],
        }
    }
}

/// The initial state.
fn initial_state<F: Field>(arch: &Architecture, trace: &Trace, blind: &Blinding<F>) -> Vec<F> {
    vec![
        F::ZERO,
        tensor_commitment(&trace.input, arch.width, arch.fp.bits, blind.input),
        zero_tensor_commitment(arch.width, arch.fp.bits),
        F::ZERO,
        commit::model_seed(arch),
        F::ZERO,
    ]
}

fn prove_with<B: Backend>(
    model: &QuantizedModel,
    input: &[i64],
    opts: &ProveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(ProofFile, ProveStats)> {
    let arch = Arc::new(Architecture::compile(model)?);
    let trace = model.trace(input, None)?;
    let blind = Blinding::<Scalar<B>> {
        input: random_or_zero(opts.input),
        output: random_or_zero(opts.output),
        model: match opts.model {
            Visibility::Public => vec![],
            Visibility::Private => (0..arch.steps.len())
                .map(|_| Scalar::<B>::random(OsRng))
                .collect(),
        },
    };
    let z0 = initial_state(&arch, &trace, &blind);
    let store = ParamsStore::new(&opts.params_dir);
    let private_weights = opts.model == Visibility::Private;
    let shape = LayerStep::shape_for(arch.clone(), private_weights);
    let circuit = |i: usize| LayerStep {
        witness: Some(Arc::new(step_witness(&arch, model, &trace, &blind, i))),
        ..shape.clone()
    };
    let what = |i: usize| format!("step {i} ('{}')", arch.steps[i].name);
    let folding = backend::Folding {
        digest: shape.digest(),
        shape: shape.clone(),
        n: arch.steps.len(),
        circuit: &circuit,
        what: &what,
    };
    let (snark, zn, stats) = backend::prove::<B, _>(&store, &opts.srs, &folding, &z0, progress)?;
    store.save_arch(B::ID, &arch.digest(), &*arch)?;
    if zn[5] != Scalar::<B>::from(trace.class as u64) {
        return Err(Error::Prover(
            "proven class differs from the reference inference".into(),
        ));
    }
    let claim = Claim {
        model_name: model.name.clone(),
        steps: arch.steps.len(),
        fixed_point: model.fp,
        input: match opts.input {
            Visibility::Public => Opening::Public {
                values: trace.input.clone(),
            },
            Visibility::Private => Opening::Private {
                commitment: fe_hex(&z0[1]),
            },
        },
        model: ModelClaim {
            visibility: opts.model,
            commitment: fe_hex(&zn[4]),
        },
        output: match opts.output {
            Visibility::Public => Opening::Public {
                values: trace.logits.clone(),
            },
            Visibility::Private => Opening::Private {
                commitment: fe_hex(&zn[1]),
            },
        },
        class: trace.class,
    };
    let proof = ProofFile {
        format: PROOF_FORMAT.into(),
        version: PROOF_VERSION,
        system: B::ID.into(),
        architecture: hex::encode(arch.digest()),
        claim,
        snark: hex::encode(snark),
    };
    Ok((proof, stats))
}

/// Proves one inference of `model` on the quantized `input`.
pub fn prove(
    model: &QuantizedModel,
    input: &[i64],
    opts: &ProveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(ProofFile, ProveStats)> {
    match opts.system {
        System::Bn254Ipa => prove_with::<Bn254Ipa>(model, input, opts, progress),
        System::Bn254Kzg => prove_with::<Bn254Kzg>(model, input, opts, progress),
        System::PastaIpa => prove_with::<PastaIpa>(model, input, opts, progress),
    }
}

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub params_dir: PathBuf,
    /// For HyperKZG proofs whose verifier key is not cached: the powers of tau.
    pub srs: Option<Srs>,
    /// The model file's quantized model (public models only): the architecture is rebuilt from
    /// it and the commitment recomputed.
    pub model: Option<QuantizedModel>,
    /// The architecture (an `arch.json`), for a proof whose model the verifier does not have;
    /// checked against the proof's digest. Without it and without `model`, the parameter
    /// directory's copy is used (checked the same way).
    pub arch: Option<Architecture>,
    /// The quantized input, checked against a public input in the claim.
    pub input: Option<Vec<i64>>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            params_dir: default_params_dir(),
            srs: None,
            model: None,
            arch: None,
            input: None,
        }
    }
}

/// A verified claim and what was checked beyond the proof itself.
#[derive(Clone, Debug)]
pub struct Verified {
    pub claim: Claim,
    pub system: System,
    /// The model commitment was recomputed from a model file.
    pub model_checked: bool,
    /// The public input was compared with an input file.
    pub input_checked: bool,
}

fn opening_commitment<F: Field>(
    o: &Opening,
    len: usize,
    width: usize,
    fp: &FixedPoint,
    what: &str,
) -> Result<F> {
    match o {
        Opening::Public { values } => {
            if values.len() != len {
                return Err(Error::Invalid(format!(
                    "{what} has {} values, the architecture has {len}",
                    values.len()
                )));
            }
            if let Some(v) = values.iter().find(|v| !fp.in_range(**v)) {
                return Err(Error::Invalid(format!(
                    "{what} value {v} is outside the {}-bit range",
                    fp.bits
                )));
            }
            Ok(tensor_commitment(values, width, fp.bits, F::ZERO))
        }
        Opening::Private { commitment } => fe_from_hex(commitment, &format!("{what} commitment")),
    }
}

/// The public state of an inference proof of `claim` over `arch`: `(z0, zn)` as the verifier
/// derives them (public values are committed here, never taken as commitments).
pub fn public_io<F: Field>(arch: &Architecture, claim: &Claim) -> Result<(Vec<F>, Vec<F>)> {
    let fp = arch.fp;
    let in_len: usize = arch.input_shape.iter().product();
    let input_c: F = opening_commitment(&claim.input, in_len, arch.width, &fp, "input")?;
    let output_c: F =
        opening_commitment(&claim.output, arch.output_len(), arch.width, &fp, "output")?;
    if let Opening::Public { values } = &claim.output {
        if kerafold_step_circuits::native::argmax(values) != claim.class {
            return Err(Error::Invalid(
                "the claimed class is not the ArgMax of the claimed logits".into(),
            ));
        }
    }
    let model_c: F = fe_from_hex(&claim.model.commitment, "model commitment")?;
    let zero_c = zero_tensor_commitment(arch.width, fp.bits);
    let z0 = vec![
        F::ZERO,
        input_c,
        zero_c,
        F::ZERO,
        commit::model_seed(arch),
        F::ZERO,
    ];
    let zn = vec![
        F::from(arch.steps.len() as u64),
        output_c,
        zero_c,
        arch_chain(arch),
        model_c,
        F::from(claim.class as u64),
    ];
    Ok((z0, zn))
}

/// The architecture a proof claims (digest `digest_hex`), from what the verifier trusts: rebuilt
/// from the verifier's model file, or given (an `arch.json`), or read from the parameter
/// directory; in every case its digest must be the claimed one and it must validate. A model
/// file for a private-model proof is an error: its weights cannot be checked against a blinded
/// commitment.
pub(crate) fn claimed_architecture<B: Backend>(
    digest_hex: &str,
    visibility: Visibility,
    model: Option<&QuantizedModel>,
    given: Option<&Architecture>,
    store: &ParamsStore,
) -> Result<Architecture> {
    let digest: [u8; 32] = hex::decode(digest_hex)
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| Error::Invalid("the architecture digest is malformed".into()))?;
    if model.is_some() && visibility == Visibility::Private {
        return Err(Error::Usage(
            "the proof's model is private: a model file cannot be checked against its blinded commitment; verify with its architecture instead".into(),
        ));
    }
    let arch = match (model, given) {
        (Some(m), _) => Architecture::compile(m)?,
        (None, Some(a)) => a.clone(),
        (None, None) => store
            .load_arch(B::ID, &digest, Architecture::digest)?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "architecture {} is not in {}: give the model file (public model) or the architecture file",
                    &digest_hex[..16.min(digest_hex.len())],
                    store.dir.display()
                ))
            })?,
    };
    if arch.digest() != digest {
        return Err(Error::Invalid(if model.is_some() {
            "the model file's architecture (or fixed-point parameters) differs from the proof's"
                .into()
        } else {
            "the architecture file is not the proof's architecture".into()
        }));
    }
    arch.validate()
        .map_err(|e| Error::Invalid(format!("the architecture is malformed: {e}")))?;
    Ok(arch)
}

fn verify_with<B: Backend>(
    proof: &ProofFile,
    opts: &VerifyOptions,
    system: System,
) -> Result<Verified> {
    let claim = &proof.claim;
    let store = ParamsStore::new(&opts.params_dir);
    let arch = Arc::new(claimed_architecture::<B>(
        &proof.architecture,
        claim.model.visibility,
        opts.model.as_ref(),
        opts.arch.as_ref(),
        &store,
    )?);
    if claim.fixed_point != arch.fp {
        return Err(Error::Invalid(
            "claimed fixed-point parameters differ from the architecture's".into(),
        ));
    }
    if claim.steps != arch.steps.len() {
        return Err(Error::Invalid(format!(
            "claim has {} steps, the architecture {}",
            claim.steps,
            arch.steps.len()
        )));
    }
    let mut input_checked = false;
    if let Some(x) = &opts.input {
        match &claim.input {
            Opening::Public { values } if values == x => input_checked = true,
            Opening::Public { .. } => {
                return Err(Error::Invalid(
                    "the input file differs from the proof's public input".into(),
                ))
            }
            Opening::Private { .. } => {
                return Err(Error::Usage(
                    "the proof's input is private: it cannot be compared with an input file".into(),
                ))
            }
        }
    }
    let (z0, expected) = public_io::<Scalar<B>>(&arch, claim)?;
    let private_weights = claim.model.visibility == Visibility::Private;
    let mut model_checked = false;
    if let Some(m) = &opts.model {
        let c: Scalar<B> = commit::model_commitment(&arch, m, &[]);
        if c != expected[4] {
            return Err(Error::Invalid(
                "the model file's weights do not match the proof's model commitment".into(),
            ));
        }
        model_checked = true;
    }
    let srs = match (system, &opts.srs) {
        (_, Some(srs)) => srs.clone(),
        (System::Bn254Kzg, None) => {
            return Err(Error::Usage(
                "a HyperKZG proof verifies only against powers of tau the verifier names: pass --ptau DIR".into(),
            ))
        }
        (_, None) => Srs::Transparent,
    };
    let shape = LayerStep::shape_for(arch.clone(), private_weights);
    let zn = backend::verify_folded::<B, _>(
        &store,
        &srs,
        &shape.digest(),
        &shape,
        &proof.snark,
        arch.steps.len(),
        &z0,
    )?;
    const NAMES: [&str; 6] = [
        "step count",
        "output commitment",
        "residual state",
        "architecture chain",
        "model commitment",
        "class",
    ];
    for (i, (got, want)) in zn.iter().zip(&expected).enumerate() {
        if got != want {
            return Err(Error::Invalid(format!(
                "the proof's {} differs from the claim",
                NAMES[i]
            )));
        }
    }
    Ok(Verified {
        claim: claim.clone(),
        system,
        model_checked,
        input_checked,
    })
}

/// Verifies a proof file. Returns the claim if the proof holds; [`Error::Invalid`] otherwise.
pub fn verify(proof: &ProofFile, opts: &VerifyOptions) -> Result<Verified> {
    let system = System::from_id(&proof.system)
        .ok_or_else(|| Error::Invalid(format!("unknown proof system '{}'", proof.system)))?;
    match system {
        System::Bn254Ipa => verify_with::<Bn254Ipa>(proof, opts, system),
        System::Bn254Kzg => verify_with::<Bn254Kzg>(proof, opts, system),
        System::PastaIpa => verify_with::<PastaIpa>(proof, opts, system),
    }
}

/// The model commitment of a public model under `system`: what a model publisher announces.
pub fn public_model_commitment(model: &QuantizedModel, system: System) -> Result<String> {
    let arch = Architecture::compile(model)?;
    Ok(match system {
        System::Bn254Ipa => fe_hex(&commit::model_commitment::<Scalar<Bn254Ipa>>(
            &arch,
            model,
            &[],
        )),
        System::Bn254Kzg => fe_hex(&commit::model_commitment::<Scalar<Bn254Kzg>>(
            &arch,
            model,
            &[],
        )),
        System::PastaIpa => fe_hex(&commit::model_commitment::<Scalar<PastaIpa>>(
            &arch,
            model,
            &[],
        )),
    })
}
