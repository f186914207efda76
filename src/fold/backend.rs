//! Nova configurations and the generic prove/verify over them.
//!
//! Every (E1, E2, S1, S2) combination costs about a minute of release codegen, so exactly three
//! exist, each behind one type: [`Bn254Ipa`] (default, transparent), [`Bn254Kzg`] (HyperKZG with
//! powers of tau: faster compression) and [`PastaIpa`] (Pallas/Vesta, transparent).

use super::arch::Architecture;
use super::check::CheckingCS;
use super::circuit::{LayerStep, StepWitness};
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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the primary curve's commitment key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Srs {
    /// Pedersen generators by hashing to the curve (IPA): transparent.
    Transparent,
    /// HyperKZG powers of tau from snarkjs / PPOT `.ptau` files in this directory.
    Ptau(PathBuf),
    /// HyperKZG with a random tau drawn on this machine. Whoever ran the setup could forge
    /// proofs: for tests and demos only.
    InsecureRandomTau,
}

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
/// Public parameters of the layer-by-layer circuit.
pub type Pp<B> = PpOf<B, LayerStep<Scalar<B>>>;
/// Verifier key of the layer-by-layer circuit.
pub type Vk<B> = VkOf<B, LayerStep<Scalar<B>>>;
/// Compressed proof of the layer-by-layer circuit.
pub type Snark<B> = SnarkOf<B, LayerStep<Scalar<B>>>;

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
            Srs::InsecureRandomTau => {
                PublicParams::setup(circuit, h1, h2).map_err(|e| nova_err("parameter setup", e))
            }
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

/// Cache of public parameters and verifier keys, one directory per (backend, architecture).
#[derive(Clone, Debug)]
pub struct ParamsStore {
    pub dir: PathBuf,
}

impl ParamsStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory for one architecture under one backend.
    pub fn entry(&self, id: &str, arch_digest: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{id}-{}", hex::encode(&arch_digest[..16])))
    }

    pub(crate) fn read(path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// Stores the architecture next to its parameters (verifiers of private models read it).
    pub fn save_arch(&self, id: &str, arch: &Architecture) -> Result<()> {
        let path = self.entry(id, &arch.digest()).join("arch.json");
        let json = serde_json::to_vec_pretty(arch).expect("architecture serializes");
        Self::write(&path, &json)
    }

    /// Loads an architecture by digest.
    pub fn load_arch(&self, id: &str, digest: &[u8; 32]) -> Result<Option<Architecture>> {
        let path = self.entry(id, digest).join("arch.json");
        let Some(bytes) = Self::read(&path)? else {
            return Ok(None);
        };
        let arch: Architecture = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(&path, format!("not an architecture file: {e}")))?;
        if &arch.digest() != digest {
            return Err(Error::format(
                &path,
                "architecture does not match its digest",
            ));
        }
        Ok(Some(arch))
    }
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

/// Loads the cached public parameters of step circuit `shape` (cache key `digest`), or sets
/// them up and caches them. `arch_json` is stored next to them for verifiers.
pub fn load_or_setup_circuit<B: Backend, C: StepCircuit<Scalar<B>>>(
    store: &ParamsStore,
    digest: &[u8; 32],
    shape: &C,
    srs: &Srs,
    arch_json: &[u8],
) -> Result<(PpOf<B, C>, bool)> {
    let dir = store.entry(B::ID, digest);
    let path = dir.join("pp.bin");
    if let Some(bytes) = ParamsStore::read(&path)? {
        if let Ok(pp) = decode::<PpOf<B, C>>(&bytes, "public parameters") {
            return Ok((pp, true));
        }
    }
    let pp = B::setup(shape, srs)?;
    ParamsStore::write(&path, &encode(&pp)?)?;
    ParamsStore::write(&dir.join("arch.json"), arch_json)?;
    Ok((pp, false))
}

fn load_or_setup<B: Backend>(
    store: &ParamsStore,
    arch: &Arc<Architecture>,
    srs: &Srs,
) -> Result<(Pp<B>, bool)> {
    let json = serde_json::to_vec_pretty(&**arch).expect("architecture serializes");
    load_or_setup_circuit::<B, _>(
        store,
        &arch.digest(),
        &LayerStep::shape(arch.clone()),
        srs,
        &json,
    )
}

/// Loads (or derives and caches) the verifier key of step circuit `shape`.
pub fn verifier_key_circuit<B: Backend, C: StepCircuit<Scalar<B>>>(
    store: &ParamsStore,
    digest: &[u8; 32],
    shape: &C,
    srs: &Srs,
    arch_json: &[u8],
) -> Result<VkOf<B, C>> {
    let dir = store.entry(B::ID, digest);
    if let Some(bytes) = ParamsStore::read(&dir.join("vk.bin"))? {
        return decode::<VkOf<B, C>>(&bytes, "verifier key").map_err(|e| match e {
            Error::Invalid(m) => Error::format(dir.join("vk.bin"), m),
            e => e,
        });
    }
    if *srs == Srs::InsecureRandomTau {
        return Err(Error::Usage(format!(
            "no verifier key for this architecture in {}: a random-tau proof verifies only with the parameters its prover made",
            store.dir.display()
        )));
    }
    let (pp, _) = load_or_setup_circuit::<B, C>(store, digest, shape, srs, arch_json)?;
    let (_, vk) = SnarkOf::<B, C>::setup(&pp).map_err(|e| nova_err("verifier key", e))?;
    ParamsStore::write(&dir.join("vk.bin"), &encode(&vk)?)?;
    Ok(vk)
}

/// Writes a verifier key to the cache if it is not there yet.
pub fn cache_verifier_key<B: Backend, C: StepCircuit<Scalar<B>>>(
    store: &ParamsStore,
    digest: &[u8; 32],
    vk: &VkOf<B, C>,
) -> Result<()> {
    let path = store.entry(B::ID, digest).join("vk.bin");
    if !path.exists() {
        ParamsStore::write(&path, &encode(vk)?)?;
    }
    Ok(())
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

/// Synthesizes one step with its witness into a checking constraint system.
pub fn check_step<F: kerafold_step_circuits::Field>(
    arch: &Arc<Architecture>,
    witness: &Arc<StepWitness<F>>,
    z: &[F],
) -> Result<(Vec<F>, usize)> {
    check_circuit(
        &LayerStep {
            arch: arch.clone(),
            witness: Some(witness.clone()),
        },
        z,
    )
}

/// Number of constraints of a step circuit alone (without Nova's augmentation).
pub fn circuit_constraints<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    shape: &C,
) -> Result<usize> {
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
    Ok(cs.num_constraints())
}

/// Number of constraints of the layer step circuit alone (without Nova's augmentation).
pub fn step_constraints<F: kerafold_step_circuits::Field>(
    arch: &Arc<Architecture>,
) -> Result<usize> {
    circuit_constraints::<F, _>(&LayerStep::<F>::shape(arch.clone()))
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

/// Proves every step of a layer-by-layer proof ([`fold_checked`]), compresses, and returns the
/// serialized compressed SNARK and the final state.
pub fn prove<B: Backend>(
    store: &ParamsStore,
    srs: &Srs,
    arch: &Arc<Architecture>,
    witness: &(dyn Fn(usize) -> StepWitness<Scalar<B>> + Sync),
    z0: &[Scalar<B>],
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<u8>, Vec<Scalar<B>>, ProveStats)> {
    let n = arch.steps.len();
    let mut stats = ProveStats {
        step_constraints: step_constraints::<Scalar<B>>(arch)?,
        ..Default::default()
    };
    let circuit = |i: usize| LayerStep {
        arch: arch.clone(),
        witness: Some(Arc::new(witness(i))),
    };
    let what = |i: usize| format!("step {i} ('{}')", arch.steps[i].name);
    progress(Progress::Setup);
    let f = fold_checked::<B, _>(
        n,
        &circuit,
        z0,
        stats.step_constraints,
        &what,
        &mut || load_or_setup::<B>(store, arch, srs),
        &mut |i| {
            progress(Progress::Fold {
                step: i,
                of: n,
                name: &arch.steps[i].name,
            })
        },
    )?;
    stats.setup = f.setup;
    stats.params_cached = f.cached;
    stats.steps = f.folds;
    (stats.primary_constraints, stats.secondary_constraints) = f.pp.num_constraints();
    progress(Progress::Compress);
    let t = Instant::now();
    let (pk, vk) = Snark::<B>::setup(&f.pp).map_err(|e| nova_err("compression keys", e))?;
    cache_verifier_key::<B, _>(store, &arch.digest(), &vk)?;
    let snark = Snark::<B>::prove(&f.pp, &pk, &f.rs).map_err(|e| nova_err("compression", e))?;
    stats.compress = t.elapsed();
    Ok((encode(&snark)?, f.z, stats))
}

/// Loads (or derives) the verifier key for an architecture.
pub fn verifier_key<B: Backend>(
    store: &ParamsStore,
    arch: &Arc<Architecture>,
    srs: &Srs,
) -> Result<Vk<B>> {
    let json = serde_json::to_vec_pretty(&**arch).expect("architecture serializes");
    verifier_key_circuit::<B, _>(
        store,
        &arch.digest(),
        &LayerStep::shape(arch.clone()),
        srs,
        &json,
    )
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
