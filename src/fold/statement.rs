//! A statement proven by folding, and the one verifier of every such statement
//! (docs/DESIGN.md §5).
//!
//! A [`Statement`] supplies its claim type, its step circuit, the names of its state, and how the
//! verifier derives — from an architecture it trusts and a claim — the circuit whose key it
//! derives and the public state `(z0, zn)`. [`verify`] does the rest for every statement: the
//! architecture ([`claimed_architecture`]), a public model's commitment, the SRS, the key
//! (`params::verifier_key`, derived, never read), the SNARK, and the comparison of the folded
//! state with the claimed one, element by named element.

use super::arch::{Architecture, Tiling};
use super::backend::{Backend, Bn254Ipa, Bn254Kzg, PastaIpa, Scalar};
use super::params::{ParamsStore, Srs};
use super::pipeline;
use super::proof::{fe_from_hex, ProofFile};
use super::{commit, ModelClaim, System, Visibility};
use crate::model::QuantizedModel;
use crate::{Error, Result};
use kerafold_step_circuits::Field;
use nova_snark::traits::circuit::StepCircuit;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// What the verifier derives for one claim.
pub struct Derived<F, C> {
    /// The step circuit (shape only) whose key the verifier derives.
    pub circuit: C,
    /// Its cache digest.
    pub digest: [u8; 32],
    /// The number of folds the claim states.
    pub folds: usize,
    /// The initial state.
    pub z0: Vec<F>,
    /// The final state the claim implies.
    pub zn: Vec<F>,
}

/// A statement proven by folding (module docs).
pub trait Statement {
    /// The proof file's `kind`.
    const KIND: &'static str;
    /// The proof systems it can be proven on.
    const SYSTEMS: &'static [System];
    /// The names of the state's elements, for errors.
    const STATE: &'static [&'static str];
    /// What a proof of it states.
    type Claim: Clone + std::fmt::Debug + Serialize + DeserializeOwned;
    /// Its step circuit.
    type Circuit<F: Field>: StepCircuit<F> + 'static;

    /// The claim's model part.
    fn model(claim: &Self::Claim) -> &ModelClaim;
    /// How the claim's architecture tiles Dense layers (the verifier compiles a model file with
    /// it); `None` for statements that never tile.
    fn tiling(_claim: &Self::Claim) -> Option<Tiling> {
        None
    }
    /// Checks the claim against the architecture and derives the circuit and the public state.
    fn derive<F: Field>(
        arch: &Arc<Architecture>,
        claim: &Self::Claim,
    ) -> Result<Derived<F, Self::Circuit<F>>>;
}

/// What the verifier trusts, besides the proof.
#[derive(Clone, Debug)]
pub struct VerifyContext<'a> {
    /// The parameter cache (keys are derived; cached ones are used only if this user tagged
    /// them).
    pub params_dir: &'a Path,
    /// The SRS the verifier names (HyperKZG proofs need it; IPA is transparent).
    pub srs: Option<&'a Srs>,
    /// A public model's quantized model: the architecture is rebuilt from it and its commitment
    /// recomputed.
    pub model: Option<&'a QuantizedModel>,
    /// The architecture, for a model the verifier does not have.
    pub arch: Option<&'a Architecture>,
}

/// What [`verify`] established besides the claim.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The proof system.
    pub system: System,
    /// The architecture the proof was checked against.
    pub arch: Arc<Architecture>,
    /// The model commitment was recomputed from the verifier's model file.
    pub model_checked: bool,
}

/// The architecture a proof claims (digest `digest_hex`), from what the verifier trusts: rebuilt
/// from its model file, or given (an `arch.json`), or read from the parameter directory; in
/// every case its digest must be the claimed one and it must validate. A model file for a
/// private-model proof is an error: its weights cannot be checked against a blinded commitment.
pub fn claimed_architecture(
    system: &str,
    digest_hex: &str,
    visibility: Visibility,
    model: Option<(&QuantizedModel, Option<Tiling>)>,
    given: Option<&Architecture>,
    store: &ParamsStore,
) -> Result<Architecture> {
    let digest: [u8; 32] = hex::decode(digest_hex)
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| Error::Invalid("the architecture digest is not 32 bytes of hex".into()))?;
    if model.is_some() && visibility == Visibility::Private {
        return Err(Error::Usage(
            "the proof's model is private: a model file cannot be checked against its blinded commitment; verify with its architecture instead".into(),
        ));
    }
    let arch = match (model, given) {
        (Some((m, tiling)), _) => Architecture::compile_tiled(m, tiling)?,
        (None, Some(a)) => a.clone(),
        (None, None) => store
            .load_arch(system, &digest, Architecture::digest)?
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
        .map_err(|e| Error::Malformed(format!("the architecture: {e}")))?;
    Ok(arch)
}

/// Verifies a proof of statement `S` (module docs). Returns what was checked; the claim is the
/// proof file's, now verified.
pub fn verify<S: Statement>(
    proof: &ProofFile<S::Claim>,
    ctx: &VerifyContext,
) -> Result<Verification> {
    if proof.kind != S::KIND {
        return Err(Error::Usage(format!(
            "a proof of kind '{}', not '{}'",
            proof.kind,
            S::KIND
        )));
    }
    let system = System::from_id(&proof.system)
        .ok_or_else(|| Error::Invalid(format!("unknown proof system '{}'", proof.system)))?;
    if !S::SYSTEMS.contains(&system) {
        return Err(Error::Invalid(format!(
            "{} proofs are not made on '{}'",
            S::KIND,
            proof.system
        )));
    }
    match system {
        System::Bn254Ipa => verify_on::<S, Bn254Ipa>(proof, ctx, system),
        System::Bn254Kzg => verify_on::<S, Bn254Kzg>(proof, ctx, system),
        System::PastaIpa => verify_on::<S, PastaIpa>(proof, ctx, system),
    }
}

fn verify_on<S: Statement, B: Backend>(
    proof: &ProofFile<S::Claim>,
    ctx: &VerifyContext,
    system: System,
) -> Result<Verification> {
    let claim = &proof.claim;
    let store = ParamsStore::new(ctx.params_dir);
    let model = S::model(claim);
    let arch = Arc::new(claimed_architecture(
        B::ID,
        &proof.architecture,
        model.visibility,
        ctx.model.map(|m| (m, S::tiling(claim))),
        ctx.arch,
        &store,
    )?);
    // The model file's weights are hashed on a second thread while the key loads and the proof
    // verifies: on deep models the two take about as long each.
    let check_model = || -> Result<bool> {
        let Some(m) = ctx.model else {
            return Ok(false);
        };
        let claimed: Scalar<B> = fe_from_hex(&model.commitment, "model commitment")?;
        if commit::model_commitment::<Scalar<B>>(&arch, m, &[]) != claimed {
            return Err(Error::Invalid(
                "the model file's weights do not match the proof's model commitment".into(),
            ));
        }
        Ok(true)
    };
    let srs = match (system, ctx.srs) {
        (_, Some(srs)) => srs.clone(),
        (System::Bn254Kzg, None) => {
            return Err(Error::Usage(
                "a HyperKZG proof verifies only against powers of tau the verifier names".into(),
            ))
        }
        (_, None) => Srs::Transparent,
    };
    let (model_checked, verified) = std::thread::scope(|scope| {
        let model_check = scope.spawn(check_model);
        let verified = S::derive::<Scalar<B>>(&arch, claim).and_then(|d| {
            let zn = pipeline::verify_folded::<B, _>(
                &store,
                &srs,
                &d.digest,
                &d.circuit,
                &proof.snark,
                d.folds,
                &d.z0,
            )?;
            Ok((d, zn))
        });
        let model_checked = model_check
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (model_checked, verified)
    });
    // a model file that is not the proof's model is the first thing to report
    let model_checked = model_checked?;
    let (d, zn) = verified?;
    if let Some(k) = (0..d.zn.len()).find(|&k| zn.get(k) != Some(&d.zn[k])) {
        return Err(Error::Invalid(format!(
            "the proof's {} differs from the claim",
            S::STATE.get(k).copied().unwrap_or("state")
        )));
    }
    Ok(Verification {
        system,
        arch,
        model_checked,
    })
}
