//! Nova configurations and the generic prove/verify over them.
//!
//! Every (E1, E2, S1, S2) combination costs about a minute of release codegen, so exactly three
//! exist, each behind one type: [`Bn254Ipa`] (default, transparent), [`Bn254Kzg`] (HyperKZG with
//! powers of tau: faster compression) and [`PastaIpa`] (Pallas/Vesta, transparent).

use super::check::CheckingCS;
use super::params::{self, ParamsStore, Srs};
use crate::{Error, Result};
use nova_snark::nova::{CompressedSNARK, PublicParams, RecursiveSNARK, VerifierKey};
use nova_snark::provider::{
    hyperkzg, ipa_pc, Bn256EngineIPA, Bn256EngineKZG, GrumpkinEngine, PallasEngine, VestaEngine,
};
use nova_snark::spartan::snark::RelaxedR1CSSNARK;
use nova_snark::traits::circuit::StepCircuit;
use nova_snark::traits::snark::RelaxedR1CSSNARKTrait;
use nova_snark::traits::Engine;
use serde::{de::DeserializeOwned, Serialize};
use std::time::{Duration, Instant};

/// One Nova configuration.
pub trait Backend: 'static {
    type E1: Engine<Base = <Self::E2 as Engine>::Scalar>;
    type E2: Engine<Base = <Self::E1 as Engine>::Scalar>;
    type S1: RelaxedR1CSSNARKTrait<Self::E1>;
    type S2: RelaxedR1CSSNARKTrait<Self::E2>;
    /// Stable identifier, used in proof files and the parameter cache.
    const ID: &'static str;
    /// Builds the public parameters of a step circuit.
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>>;
}

/// The primary scalar field of a backend.
pub type Scalar<B> = <<B as Backend>::E1 as Engine>::Scalar;
/// Public parameters of a backend for step circuit `C`.
pub type PpOf<B, C> = PublicParams<<B as Backend>::E1, <B as Backend>::E2, C>;
/// Verifier key of a backend for step circuit `C`.
pub type VkOf<B, C> =
    VerifierKey<<B as Backend>::E1, <B as Backend>::E2, C, <B as Backend>::S1, <B as Backend>::S2>;
/// Compressed proof of a backend for step circuit `C`.
pub type SnarkOf<B, C> = CompressedSNARK<
    <B as Backend>::E1,
    <B as Backend>::E2,
    C,
    <B as Backend>::S1,
    <B as Backend>::S2,
>;

fn nova_err(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Prover(format!("{what}: {e:?}"))
}

fn transparent_only(srs: &Srs, id: &str) -> Result<()> {
    match srs {
        Srs::Transparent => Ok(()),
        _ => Err(Error::Usage(format!(
            "{id} uses transparent IPA commitments; --ptau and --insecure-random-tau apply to bn254 with HyperKZG only"
        ))),
    }
}

/// BN254/Grumpkin with IPA on both curves: transparent, the default.
pub struct Bn254Ipa;
impl Backend for Bn254Ipa {
    type E1 = Bn256EngineIPA;
    type E2 = GrumpkinEngine;
    type S1 = RelaxedR1CSSNARK<Bn256EngineIPA, ipa_pc::EvaluationEngine<Bn256EngineIPA>>;
    type S2 = RelaxedR1CSSNARK<GrumpkinEngine, ipa_pc::EvaluationEngine<GrumpkinEngine>>;
    const ID: &'static str = "bn254-ipa";
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>> {
        transparent_only(srs, Self::ID)?;
        PublicParams::setup(circuit, &*Self::S1::ck_floor(), &*Self::S2::ck_floor())
            .map_err(|e| nova_err("parameter setup", e))
    }
}

/// BN254/Grumpkin with HyperKZG on BN254 (powers of tau) and IPA on Grumpkin.
pub struct Bn254Kzg;
impl Backend for Bn254Kzg {
    type E1 = Bn256EngineKZG;
    type E2 = GrumpkinEngine;
    type S1 = RelaxedR1CSSNARK<Bn256EngineKZG, hyperkzg::EvaluationEngine<Bn256EngineKZG>>;
    type S2 = RelaxedR1CSSNARK<GrumpkinEngine, ipa_pc::EvaluationEngine<GrumpkinEngine>>;
    const ID: &'static str = "bn254-kzg";
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>> {
        let (h1, h2) = (&*Self::S1::ck_floor(), &*Self::S2::ck_floor());
        match srs {
            Srs::Ptau(dir) => PublicParams::setup_with_ptau_dir(circuit, h1, h2, dir).map_err(|e| {
                nova_err(
                    &format!(
                        "loading powers of tau from {} (needs ppot_pruned_NN.ptau or ppot_0080_NN.ptau files large enough for the circuit)",
                        dir.display()
                    ),
                    e,
                )
            }),
            Srs::InsecureRandomTau => Err(Error::Usage(
                "the random tau is drawn into a .ptau file first (params::prover_srs)".into(),
            )),
            Srs::Transparent => Err(Error::Usage(
                "HyperKZG needs powers of tau: pass --ptau DIR (or --insecure-random-tau for tests)"
                    .into(),
            )),
        }
    }
}

/// Pallas/Vesta with IPA on both curves: transparent.
pub struct PastaIpa;
impl Backend for PastaIpa {
    type E1 = PallasEngine;
    type E2 = VestaEngine;
    type S1 = RelaxedR1CSSNARK<PallasEngine, ipa_pc::EvaluationEngine<PallasEngine>>;
    type S2 = RelaxedR1CSSNARK<VestaEngine, ipa_pc::EvaluationEngine<VestaEngine>>;
    const ID: &'static str = "pasta-ipa";
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>> {
        transparent_only(srs, Self::ID)?;
        PublicParams::setup(circuit, &*Self::S1::ck_floor(), &*Self::S2::ck_floor())
            .map_err(|e| nova_err("parameter setup", e))
    }
}

/// Serializes with bincode (the format nova-snark itself uses).
pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(v, bincode::config::legacy())
        .map_err(|e| Error::Prover(format!("serialization: {e}")))
}

/// Deserializes bincode, rejecting trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    let (v, used) = bincode::serde::decode_from_slice(bytes, bincode::config::legacy())
        .map_err(|e| Error::Invalid(format!("{what} does not decode: {e}")))?;
    if used != bytes.len() {
        return Err(Error::Invalid(format!(
            "{what} has {} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(v)
}

/// Timings and sizes of one proof.
#[derive(Clone, Debug, Default)]
pub struct ProveStats {
    pub setup: Duration,
    pub params_cached: bool,
    pub steps: Vec<Duration>,
    pub compress: Duration,
    pub primary_constraints: usize,
    pub secondary_constraints: usize,
    pub step_constraints: usize,
}

/// Progress events while proving.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// Loading or setting up the public parameters (the native check of the first steps runs
    /// meanwhile).
    Setup,
    /// Folding step `step` of `of`, already checked natively.
    Fold {
        step: usize,
        of: usize,
        name: &'a str,
    },
    /// Compressing into the zero-knowledge CompressedSNARK.
    Compress,
}

/// Synthesizes a step circuit (with its witness) from state `z` into a checking constraint
/// system: the next state and the constraint count, or the first unsatisfied constraint.
pub fn check_circuit<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    circuit: &C,
    z: &[F],
) -> Result<(Vec<F>, usize)> {
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    let mut cs = CheckingCS::<F>::new();
    let zv = z
        .iter()
        .enumerate()
        .map(|(i, v)| AllocatedNum::alloc(cs.namespace(|| format!("z{i}")), || Ok(*v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| nova_err("allocating state", e))?;
    let out = circuit
        .synthesize(&mut cs, &zv)
        .map_err(|e| Error::Prover(format!("witness generation failed: {e:?}")))?;
    if let Some(path) = cs.failure() {
        return Err(Error::Prover(format!(
            "constraint '{path}' is not satisfied"
        )));
    }
    let zn = out
        .iter()
        .map(|v| {
            v.get_value()
                .ok_or_else(|| Error::Prover("missing output value".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((zn, cs.num_constraints()))
}

/// Number of constraints of a step circuit alone (without Nova's augmentation).
pub fn circuit_constraints<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    shape: &C,
) -> Result<usize> {
    Ok(circuit_size(shape)?.0)
}

/// Numbers of constraints and variables of a step circuit alone (without Nova's augmentation).
pub fn circuit_size<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    shape: &C,
) -> Result<(usize, usize)> {
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    let mut cs = kerafold_step_circuits::count::CountingCs::<F>::new();
    let zv = (0..shape.arity())
        .map(|i| AllocatedNum::<F>::alloc(cs.namespace(|| format!("z{i}")), || Ok(F::ZERO)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| nova_err("allocating state", e))?;
    shape
        .synthesize(&mut cs, &zv)
        .map_err(|e| nova_err("synthesis", e))?;
    Ok((cs.num_constraints(), cs.num_aux()))
}

/// What [`fold_checked`] produced.
pub struct Folded<B: Backend, C: StepCircuit<Scalar<B>>> {
    pub pp: PpOf<B, C>,
    /// The parameters came from the cache.
    pub cached: bool,
    /// Time to load or set up the parameters.
    pub setup: Duration,
    pub rs: RecursiveSNARK<B::E1, B::E2, C>,
    /// The final state, as the native check computed it (equal to the folded one).
    pub z: Vec<Scalar<B>>,
    /// Duration of each fold.
    pub folds: Vec<Duration>,
}

/// Folds steps `0..n` of `circuit`, each checked natively before it is folded.
///
/// `prove_step` checks nothing, so a second thread runs ahead of the folds (and alongside
/// `setup`, which loads or makes the public parameters): it builds step i's circuit with
/// `circuit(i)`, synthesizes it into a checking constraint system from the state the previous
/// steps reached, and only then hands that same circuit to the fold, through a channel that holds
/// one step. So each witness is built once, a fold never starts on an unchecked step, a failing
/// step is reported as `what(i)` with the constraint that fails, and at most three steps'
/// witnesses are alive at once whatever the depth.
#[allow(clippy::too_many_arguments)]
pub fn fold_checked<B: Backend, C: StepCircuit<Scalar<B>> + Send>(
    n: usize,
    circuit: &(dyn Fn(usize) -> C + Sync),
    z0: &[Scalar<B>],
    shape_constraints: usize,
    what: &(dyn Fn(usize) -> String + Sync),
    setup: &mut dyn FnMut() -> Result<(PpOf<B, C>, bool)>,
    on_fold: &mut dyn FnMut(usize),
) -> Result<Folded<B, C>> {
    if n == 0 {
        return Err(Error::Usage("nothing to prove: no steps".into()));
    }
    std::thread::scope(|scope| {
        let (checked, next_checked) = std::sync::mpsc::sync_channel(1);
        let checker = scope.spawn(move || -> Result<Vec<Scalar<B>>> {
            let mut z = z0.to_vec();
            for i in 0..n {
                let c = circuit(i);
                let (next, cons) = check_circuit(&c, &z).map_err(|e| match e {
                    Error::Prover(m) => Error::Prover(format!("{}: {m}", what(i))),
                    e => e,
                })?;
                if cons != shape_constraints {
                    return Err(Error::Prover(format!(
                        "{} synthesizes {cons} constraints, the circuit has {shape_constraints}",
                        what(i)
                    )));
                }
                z = next;
                if checked.send(c).is_err() {
                    break; // the prover stopped (its own error is reported)
                }
            }
            Ok(z)
        });
        let t = Instant::now();
        let (pp, cached) = setup()?;
        let setup = t.elapsed();
        let mut rs = None;
        let mut folds = Vec::with_capacity(n);
        for i in 0..n {
            let Ok(c) = next_checked.recv() else {
                // the checker stopped early: its error names the step
                drop(next_checked);
                return Err(match checker.join().expect("the step checker panicked") {
                    Err(e) => e,
                    Ok(_) => Error::Prover("the step checker stopped early".into()),
                });
            };
            on_fold(i);
            let t = Instant::now();
            let r = match rs.take() {
                Some(r) => r,
                None => RecursiveSNARK::<B::E1, B::E2, C>::new(&pp, &c, z0)
                    .map_err(|e| nova_err("first step", e))?,
            };
            rs.insert(r)
                .prove_step(&pp, &c)
                .map_err(|e| nova_err(&format!("folding {}", what(i)), e))?;
            folds.push(t.elapsed());
        }
        drop(next_checked);
        let z = checker.join().expect("the step checker panicked")?;
        let rs = rs.expect("n > 0 steps were folded");
        if rs.outputs() != z.as_slice() {
            return Err(Error::Prover(
                "folded state differs from the checked state".into(),
            ));
        }
        Ok(Folded {
            pp,
            cached,
            setup,
            rs,
            z,
            folds,
        })
    })
}

/// What [`prove`] folds: `n` steps of a step circuit whose shape is `shape` (cache key
/// `digest`), step `i` built by `circuit(i)` and named `what(i)` in errors.
pub struct Folding<'a, C> {
    pub digest: [u8; 32],
    pub shape: C,
    pub n: usize,
    pub circuit: &'a (dyn Fn(usize) -> C + Sync),
    pub what: &'a (dyn Fn(usize) -> String + Sync),
}

/// Proves every step of `folding` ([`fold_checked`]) from `z0`, with parameters from this user's
/// cache (or set up under `srs`), compresses into the zero-knowledge CompressedSNARK, and returns
/// the serialized SNARK and the final state. The one prove pipeline of every proof kind.
pub fn prove<B: Backend, C: StepCircuit<Scalar<B>> + Send>(
    store: &ParamsStore,
    srs: &Srs,
    folding: &Folding<'_, C>,
    z0: &[Scalar<B>],
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<u8>, Vec<Scalar<B>>, ProveStats)> {
    let n = folding.n;
    let mut stats = ProveStats {
        step_constraints: circuit_constraints::<Scalar<B>, _>(&folding.shape)?,
        ..Default::default()
    };
    let srs = params::prover_srs::<B, C>(store, srs, &folding.shape)?;
    progress(Progress::Setup);
    let f = fold_checked::<B, C>(
        n,
        folding.circuit,
        z0,
        stats.step_constraints,
        folding.what,
        &mut || params::load_or_setup::<B, C>(store, &folding.digest, &folding.shape, &srs),
        &mut |i| {
            let name = (folding.what)(i);
            progress(Progress::Fold {
                step: i,
                of: n,
                name: &name,
            })
        },
    )?;
    stats.setup = f.setup;
    stats.params_cached = f.cached;
    stats.steps = f.folds;
    (stats.primary_constraints, stats.secondary_constraints) = f.pp.num_constraints();
    progress(Progress::Compress);
    let t = Instant::now();
    let (pk, vk) = SnarkOf::<B, C>::setup(&f.pp).map_err(|e| nova_err("compression keys", e))?;
    params::cache_verifier_key::<B, C>(store, &folding.digest, &srs, &vk)?;
    let snark =
        SnarkOf::<B, C>::prove(&f.pp, &pk, &f.rs).map_err(|e| nova_err("compression", e))?;
    stats.compress = t.elapsed();
    Ok((encode(&snark)?, f.z, stats))
}

/// Verifies `snark` (hex) as `steps` folds of `shape` from `z0`, with a verifier key derived from
/// `shape` and `srs` ([`params::verifier_key`]), and returns the final state it proves.
pub fn verify_folded<B: Backend, C: StepCircuit<Scalar<B>>>(
    store: &ParamsStore,
    srs: &Srs,
    digest: &[u8; 32],
    shape: &C,
    snark_hex: &str,
    steps: usize,
    z0: &[Scalar<B>],
) -> Result<Vec<Scalar<B>>> {
    let snark =
        hex::decode(snark_hex).map_err(|_| Error::Invalid("the proof bytes are not hex".into()))?;
    let vk = params::verifier_key::<B, C>(store, digest, shape, srs)?;
    verify::<B, C>(&vk, &snark, steps, z0)
}

/// Verifies a compressed SNARK and returns the final state it proves.
pub fn verify<B: Backend, C: StepCircuit<Scalar<B>>>(
    vk: &VkOf<B, C>,
    snark: &[u8],
    steps: usize,
    z0: &[Scalar<B>],
) -> Result<Vec<Scalar<B>>> {
    let snark: SnarkOf<B, C> = decode(snark, "compressed proof")?;
    snark
        .verify(vk, steps, z0)
        .map_err(|e| Error::Invalid(format!("the compressed proof does not verify ({e:?})")))
}
