//! The one prove/verify pipeline of every statement: the folds (each step's witness built on a
//! second thread, ahead of the folding), a check of the folded instances before compression
//! (naming the first failing step and constraint when it fails), the zero-knowledge compression,
//! and verification of a compressed proof (docs/DESIGN.md §1).

use super::backend::{decode, encode, Backend, PpOf, Scalar, SnarkOf, VkOf};
use super::params::{self, ParamsStore, Srs};
use crate::{Error, Result};
use kerafold_step_circuits::cs::CheckingCS;
use nova_snark::nova::RecursiveSNARK;
use nova_snark::traits::circuit::StepCircuit;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Timings and sizes of one proof.
#[derive(Clone, Debug, Default)]
pub struct ProveStats {
    /// Time to load or set up the public parameters.
    pub setup: Duration,
    /// The public parameters came from the cache.
    pub params_cached: bool,
    /// Duration of each fold.
    pub steps: Vec<Duration>,
    /// Time to set up the compression keys and compress.
    pub compress: Duration,
    /// Constraints of Nova's augmented primary circuit.
    pub primary_constraints: usize,
    /// Constraints of Nova's augmented secondary circuit.
    pub secondary_constraints: usize,
    /// Constraints of the step circuit alone.
    pub step_constraints: usize,
    /// Peak resident memory of the process when folding ended, before compression, MB. Folding
    /// is what grows with the number of steps; compression proves one folded instance whatever
    /// the count, and its parallel temporaries peak differently from run to run.
    pub fold_peak_rss_mb: f64,
}

/// Progress events while proving.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// Loading or setting up the public parameters (the first steps' witnesses are built
    /// meanwhile).
    Setup,
    /// Folding step `step` of `of`.
    Fold {
        /// Index of the step, from 0.
        step: usize,
        /// Number of steps.
        of: usize,
        /// The step's name, as in errors.
        name: &'a str,
    },
    /// Compressing into the zero-knowledge CompressedSNARK.
    Compress,
}

/// Synthesizes a step circuit (with its witness) from state `z` into a checking constraint
/// system: the next state and the constraint count, or the first unsatisfied constraint.
pub(crate) fn check_circuit<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    circuit: &C,
    z: &[F],
) -> Result<(Vec<F>, usize)> {
    let (zn, cs) = checked_synthesis(circuit, z)?;
    Ok((zn, cs.num_constraints()))
}

/// [`check_circuit`], returning the whole checking system (the state `z` is its first
/// `z.len()` witness variables).
pub(crate) fn checked_synthesis<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    circuit: &C,
    z: &[F],
) -> Result<(Vec<F>, CheckingCS<F>)> {
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    let mut cs = CheckingCS::<F>::new();
    let zv = z
        .iter()
        .enumerate()
        .map(|(i, v)| AllocatedNum::alloc(cs.namespace(|| format!("z{i}")), || Ok(*v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::synthesis("allocating state", e))?;
    let out = circuit
        .synthesize(&mut cs, &zv)
        .map_err(|e| Error::synthesis("witness generation", e))?;
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
    Ok((zn, cs))
}

/// Number of constraints of a step circuit alone (without Nova's augmentation).
pub(crate) fn circuit_constraints<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    shape: &C,
) -> Result<usize> {
    Ok(circuit_size(shape)?.0)
}

/// Numbers of constraints and variables of a step circuit alone (without Nova's augmentation).
pub(crate) fn circuit_size<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    shape: &C,
) -> Result<(usize, usize)> {
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::ConstraintSystem;
    let mut cs = kerafold_step_circuits::cs::CountingCs::<F>::new();
    let zv = (0..shape.arity())
        .map(|i| AllocatedNum::<F>::alloc(cs.namespace(|| format!("z{i}")), || Ok(F::ZERO)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::synthesis("allocating state", e))?;
    shape
        .synthesize(&mut cs, &zv)
        .map_err(|e| Error::synthesis("synthesis", e))?;
    Ok((cs.num_constraints(), cs.num_aux()))
}

/// The identity on a state of `arity` elements: a step circuit with no constraints of its own.
#[derive(Clone)]
struct Identity {
    arity: usize,
}

impl<F: ff::PrimeField> StepCircuit<F> for Identity {
    fn arity(&self) -> usize {
        self.arity
    }
    fn synthesize<CS: nova_snark::frontend::ConstraintSystem<F>>(
        &self,
        _cs: &mut CS,
        z: &[nova_snark::frontend::num::AllocatedNum<F>],
    ) -> std::result::Result<
        Vec<nova_snark::frontend::num::AllocatedNum<F>>,
        nova_snark::frontend::SynthesisError,
    > {
        Ok(z.to_vec())
    }
}

/// Nova's own constraints in every fold of a step circuit with a state of `arity` elements:
/// `(its augmentation of the primary circuit, the secondary circuit)`. Measured by setting up a
/// step circuit that is the identity (Nova's circuits depend on the arity only).
pub fn nova_overhead<B: Backend>(arity: usize) -> Result<(usize, usize)> {
    let pp = B::setup(&Identity { arity }, &Srs::Transparent)?;
    Ok(pp.num_constraints())
}

/// Public parameters as [`params::load_or_setup`] hands them out: shared with its memory.
type SharedPp<B, C> = Arc<PpOf<B, C>>;

/// What [`fold_verified`] produced.
pub(crate) struct Folded<B: Backend, C: StepCircuit<Scalar<B>>> {
    /// The public parameters.
    pub pp: SharedPp<B, C>,
    /// The parameters came from the cache.
    pub cached: bool,
    /// Time to load or set up the parameters.
    pub setup: Duration,
    /// The recursive SNARK after all folds.
    pub rs: RecursiveSNARK<B::E1, B::E2, C>,
    /// The final state the folds verified to.
    pub z: Vec<Scalar<B>>,
    /// Duration of each fold.
    pub folds: Vec<Duration>,
}

/// Folds steps `0..n` of `circuit`, then checks the folded instances before anything is
/// compressed.
///
/// `prove_step` checks nothing, and checking every step natively before folding it costs a
/// second synthesis per step (about as much CPU as the witness part of the fold itself). So the
/// folds run unchecked, with a second thread building step i + 1's circuit (its witness) while
/// step i folds, through a channel that holds one step; then `RecursiveSNARK::verify` checks the
/// running instances, which an unsatisfied step leaves unsatisfied. Only when that fails are the
/// steps checked one by one in a checking constraint system ([`check_circuit`]), to report the
/// first failing step as `what(i)` with the constraint it breaks. At most three steps' witnesses
/// are alive at once whatever the depth.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fold_verified<B: Backend, C: StepCircuit<Scalar<B>> + Send>(
    n: usize,
    circuit: &(dyn Fn(usize) -> C + Sync),
    z0: &[Scalar<B>],
    shape_constraints: usize,
    what: &(dyn Fn(usize) -> String + Sync),
    setup: &mut dyn FnMut() -> Result<(SharedPp<B, C>, bool)>,
    on_fold: &mut dyn FnMut(usize),
) -> Result<Folded<B, C>> {
    if n == 0 {
        return Err(Error::Usage("nothing to prove: no steps".into()));
    }
    let (pp, cached, setup, rs, folds) = std::thread::scope(|scope| {
        let (built, next_built) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for i in 0..n {
                if built.send(circuit(i)).is_err() {
                    break; // the prover stopped (its own error is reported)
                }
            }
        });
        let t = Instant::now();
        let (pp, cached) = setup()?;
        let setup = t.elapsed();
        let mut rs = None;
        let mut folds = Vec::with_capacity(n);
        for i in 0..n {
            let c = next_built.recv().expect("the builder sends every step");
            on_fold(i);
            let t = Instant::now();
            let r = match rs.take() {
                Some(r) => r,
                None => RecursiveSNARK::<B::E1, B::E2, C>::new(&pp, &c, z0)
                    .map_err(|e| Error::nova("first step", e))?,
            };
            rs.insert(r)
                .prove_step(&pp, &c)
                .map_err(|e| Error::nova(format!("folding {}", what(i)), e))?;
            folds.push(t.elapsed());
        }
        let rs = rs.expect("n > 0 steps were folded");
        Ok::<_, Error>((pp, cached, setup, rs, folds))
    })?;
    let z = rs
        .verify(&pp, n, z0)
        .map_err(|e| first_failing_step(n, circuit, z0, shape_constraints, what, e))?;
    Ok(Folded {
        pp,
        cached,
        setup,
        rs,
        z,
        folds,
    })
}

/// Why folded steps do not verify: the first step whose circuit fails in a checking constraint
/// system, named by `what(i)` with its constraint, or (if each step checks on its own) Nova's
/// error.
fn first_failing_step<F: kerafold_step_circuits::Field, C: StepCircuit<F>>(
    n: usize,
    circuit: &(dyn Fn(usize) -> C + Sync),
    z0: &[F],
    shape_constraints: usize,
    what: &(dyn Fn(usize) -> String + Sync),
    folded: nova_snark::errors::NovaError,
) -> Error {
    let mut z = z0.to_vec();
    for i in 0..n {
        let (next, cons) = match check_circuit(&circuit(i), &z) {
            Ok(r) => r,
            Err(Error::Prover(m)) => return Error::Prover(format!("{}: {m}", what(i))),
            Err(e) => return e,
        };
        if cons != shape_constraints {
            return Error::Prover(format!(
                "{} synthesizes {cons} constraints, the circuit has {shape_constraints}",
                what(i)
            ));
        }
        z = next;
    }
    Error::nova("the folded steps (each step checks on its own)", folded)
}

/// What [`prove`] folds: `n` steps of a step circuit whose shape is `shape` (cache key
/// `digest`), step `i` built by `circuit(i)` and named `what(i)` in errors.
pub struct Folding<'a, C> {
    /// Circuit digest, the key of the parameter cache.
    pub digest: [u8; 32],
    /// The step circuit without a witness, for setup and the constraint count.
    pub shape: C,
    /// Number of steps.
    pub n: usize,
    /// Builds step `i`'s circuit with its witness.
    pub circuit: &'a (dyn Fn(usize) -> C + Sync),
    /// Names step `i` in errors and progress.
    pub what: &'a (dyn Fn(usize) -> String + Sync),
}

/// Proves every step of `folding` ([`fold_verified`]) from `z0`, with parameters from this user's
/// cache (or set up under `srs`), compresses into the zero-knowledge CompressedSNARK, and returns
/// the serialized SNARK and the final state. The one prove pipeline of every proof kind.
pub fn prove<B: Backend, C: StepCircuit<Scalar<B>> + Send + 'static>(
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
    progress(Progress::Setup);
    // sizing a random tau sets the parameters up (then the folding finds them held)
    let t = Instant::now();
    let (srs, srs_held) = params::prover_srs::<B, C>(store, srs, &folding.digest, &folding.shape)?;
    let sizing = t.elapsed();
    let f = fold_verified::<B, C>(
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
    stats.setup = sizing + f.setup;
    stats.params_cached = srs_held && f.cached;
    stats.steps = f.folds;
    (stats.primary_constraints, stats.secondary_constraints) = f.pp.num_constraints();
    stats.fold_peak_rss_mb = crate::sys::peak_rss_mb();
    progress(Progress::Compress);
    let t = Instant::now();
    let (pk, vk) = SnarkOf::<B, C>::setup(&f.pp).map_err(|e| Error::nova("compression keys", e))?;
    params::cache_verifier_key::<B, C>(store, &folding.digest, &srs, &vk)?;
    let snark =
        SnarkOf::<B, C>::prove(&f.pp, &pk, &f.rs).map_err(|e| Error::nova("compression", e))?;
    stats.compress = t.elapsed();
    Ok((encode(&snark)?, f.z, stats))
}

/// Verifies `snark` (hex) as `steps` folds of `shape` from `z0`, with a verifier key derived from
/// `shape` and `srs` ([`params::verifier_key`]), and returns the final state it proves.
pub(crate) fn verify_folded<B: Backend, C: StepCircuit<Scalar<B>> + 'static>(
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
        .map_err(|e| Error::Invalid(format!("the compressed proof does not verify ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::backend::Bn254Ipa;
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::{ConstraintSystem, SynthesisError};

    type F = Scalar<Bn254Ipa>;

    /// `z' = z + 1`, with a witness that adds `bump` instead: a prover that cheats by
    /// `bump − 1`.
    #[derive(Clone)]
    struct Increment {
        bump: u64,
    }

    impl StepCircuit<F> for Increment {
        fn arity(&self) -> usize {
            1
        }
        fn synthesize<CS: ConstraintSystem<F>>(
            &self,
            cs: &mut CS,
            z: &[AllocatedNum<F>],
        ) -> std::result::Result<Vec<AllocatedNum<F>>, SynthesisError> {
            let next = AllocatedNum::alloc(cs.namespace(|| "next"), || {
                Ok(z[0].get_value().ok_or(SynthesisError::AssignmentMissing)? + F::from(self.bump))
            })?;
            cs.enforce(
                || "next_is_one_more",
                |lc| lc + z[0].get_variable() + CS::one(),
                |lc| lc + CS::one(),
                |lc| lc + next.get_variable(),
            );
            Ok(vec![next])
        }
    }

    #[test]
    fn an_honest_step_checks_and_gives_the_next_state() {
        let (zn, constraints) = check_circuit(&Increment { bump: 1 }, &[F::from(41)]).unwrap();
        assert_eq!(zn, [F::from(42)]);
        assert_eq!(constraints, 1);
        // one constraint; two witness variables: the state `z` (allocated by the caller) and `next`
        assert_eq!(
            circuit_size::<F, _>(&Increment { bump: 1 }).unwrap(),
            (1, 2)
        );
    }

    /// The checker names the constraint a cheating witness breaks, before anything is folded.
    #[test]
    fn a_cheating_step_is_named_by_its_constraint() {
        let err = check_circuit(&Increment { bump: 2 }, &[F::from(41)]).unwrap_err();
        assert!(err.to_string().contains("next_is_one_more"), "{err}");
    }

    /// Folding does not check a step, the check of the folded instances does: honest steps fold
    /// to their state, and a cheating step among them is named by its index and constraint.
    #[test]
    fn folded_steps_are_verified_and_a_cheating_one_is_named() {
        let steps = |cheat: Option<usize>| {
            move |i: usize| Increment {
                bump: if Some(i) == cheat { 2 } else { 1 },
            }
        };
        let fold = |cheat: Option<usize>| {
            fold_verified::<Bn254Ipa, Increment>(
                4,
                &steps(cheat),
                &[F::from(10)],
                1,
                &|i| format!("step {i}"),
                &mut || {
                    Ok((
                        Arc::new(Bn254Ipa::setup(&Increment { bump: 1 }, &Srs::Transparent)?),
                        false,
                    ))
                },
                &mut |_| {},
            )
        };
        let honest = fold(None).unwrap();
        assert_eq!(honest.z, [F::from(14)]);
        assert_eq!(honest.folds.len(), 4);
        let Some(Error::Prover(msg)) = fold(Some(2)).err() else {
            panic!("a cheating step verified, or failed otherwise");
        };
        assert!(msg.starts_with("step 2: "), "{msg}");
        assert!(msg.contains("next_is_one_more"), "{msg}");
    }
}
