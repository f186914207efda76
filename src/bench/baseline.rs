//! The raw-Nova baseline: a synthetic step circuit of the same size as kerafold's step, folded
//! with nova-snark directly (`PublicParams::setup`, `RecursiveSNARK::new`, `prove_step`), with
//! none of kerafold's work around it (no model, no trace, no native check, no witness building
//! beyond filling an array).
//!
//! "Same size" means the same [`WitnessProfile`]: the same number of constraints, of witness
//! variables and of non-zero matrix entries, the same state arity (so Nova's own verifier
//! circuit is identical), and witness values of the same sizes (zeros, bits, small integers,
//! full field elements in the same proportions), because Nova's commitment cost depends on them.
//! The constraints are linear identities `(Σ v)·1 = Σ v` over the witness, which hold for any
//! values, plus one `z' = z + v` per state element.
//!
//! Every curve cycle instantiated costs release codegen, so there is exactly one instantiation per
//! curve: [`run`] on BN254/Grumpkin and on Pallas/Vesta.

use super::profile::{WitnessProfile, CLASSES};
use super::synth::SplitMix64;
use crate::fold::System;
use crate::inference::circuit::ARITY;
use crate::{Error, Result};
use ff::Field as _;
use kerafold_step_circuits::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{ConstraintSystem, SynthesisError};
use nova_snark::nova::{PublicParams, RecursiveSNARK};
use nova_snark::provider::{Bn256EngineIPA, GrumpkinEngine, PallasEngine, VestaEngine};
use nova_snark::traits::circuit::StepCircuit;
use nova_snark::traits::snark::default_ck_hint;
use nova_snark::traits::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The synthetic step circuit.
#[derive(Clone, Debug)]
pub struct BaselineCircuit<F> {
    cons: usize,
    /// Variables per linear row.
    terms: usize,
    /// This step's witness values (`aux − ARITY` of them).
    values: Arc<Vec<F>>,
}

impl<F: Field> BaselineCircuit<F> {
    /// The circuit for fold `step` of a baseline matching `p`; values drawn from `step`'s seed.
    pub fn new(p: &WitnessProfile, step: u64) -> Result<Self> {
        if p.constraints <= ARITY || p.aux <= ARITY {
            return Err(Error::Usage(format!(
                "baseline needs more than {ARITY} constraints and variables"
            )));
        }
        let n_values = p.aux - ARITY;
        let rows = p.constraints - ARITY;
        // output rows have 4 entries each; a linear row over k variables has 2k + 1
        let per_row = p.nnz.saturating_sub(4 * ARITY) as f64 / rows as f64;
        let terms = (((per_row - 1.0) / 2.0).round() as usize).max(1);
        // the outputs z + v are full-field: take them from the largest classes
        let mut counts = p.classes;
        let mut left = ARITY;
        for c in (0..counts.len()).rev() {
            let take = counts[c].min(left);
            counts[c] -= take;
            left -= take;
        }
        let mut g = SplitMix64::derive(0xba5e, &[step]);
        let mut values = Vec::with_capacity(n_values);
        for (c, &count) in counts.iter().enumerate() {
            for _ in 0..count {
                values.push(match CLASSES[c].1 {
                    0 => F::ZERO,
                    1 => F::ONE,
                    256 => g.field(),
                    bits => {
                        // a value of this class: more bits than the class below
                        let lo = CLASSES[c - 1].1 + 1;
                        let b = lo + (g.next_u64() % (bits - lo + 1) as u64) as u32;
                        F::from(g.bits(b))
                    }
                });
            }
        }
        // interleave the classes as a real witness does
        for i in (1..values.len()).rev() {
            let j = (g.next_u64() % (i as u64 + 1)) as usize;
            values.swap(i, j);
        }
        Ok(Self {
            cons: p.constraints,
            terms,
            values: Arc::new(values),
        })
    }
}

impl<F: Field> StepCircuit<F> for BaselineCircuit<F> {
    fn arity(&self) -> usize {
        ARITY
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> std::result::Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let v = self
            .values
            .iter()
            .enumerate()
            .map(|(i, x)| AllocatedNum::alloc(cs.namespace(|| format!("v{i}")), || Ok(*x)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let n = v.len();
        let rows = self.cons - ARITY;
        for r in 0..rows {
            let lc = |mut lc: nova_snark::frontend::LinearCombination<F>| {
                for t in 0..self.terms {
                    lc = lc + v[(r * self.terms + t) % n].get_variable();
                }
                lc
            };
            cs.enforce(|| format!("row{r}"), lc, |lc| lc + CS::one(), lc);
        }
        z.iter()
            .enumerate()
            .map(|(i, zi)| {
                let out = AllocatedNum::alloc(cs.namespace(|| format!("z{i}")), || {
                    Ok(zi.get_value().ok_or(SynthesisError::AssignmentMissing)?
                        + v[i].get_value().ok_or(SynthesisError::AssignmentMissing)?)
                })?;
                cs.enforce(
                    || format!("z{i}_next"),
                    |lc| lc + zi.get_variable() + v[i].get_variable(),
                    |lc| lc + CS::one(),
                    |lc| lc + out.get_variable(),
                );
                Ok(out)
            })
            .collect()
    }
}

/// What the baseline measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineResult {
    /// The profile it reproduces.
    pub profile: WitnessProfile,
    /// Primary and secondary constraints of Nova's augmented circuits.
    pub primary_constraints: usize,
    /// See `primary_constraints`.
    pub secondary_constraints: usize,
    /// `PublicParams::setup`, seconds.
    pub setup_s: f64,
    /// `RecursiveSNARK::new`, seconds.
    pub new_s: f64,
    /// Every `prove_step`, seconds (the first one only sets the counter).
    pub steps_s: Vec<f64>,
    /// Steady-state seconds per fold: the mean of the `prove_step`s after the second (from the
    /// second real fold on, the running instance is full-field, as in a long proof).
    pub step_s: f64,
    /// Steady-state CPU seconds per fold (user + system, all threads).
    pub step_cpu_s: f64,
    /// `RecursiveSNARK::verify` accepted the folds (the circuit is satisfiable as built).
    pub verified: bool,
}

fn run_with<E1, E2>(p: &WitnessProfile, steady: usize) -> Result<BaselineResult>
where
    E1: Engine<Base = <E2 as Engine>::Scalar>,
    E2: Engine<Base = <E1 as Engine>::Scalar>,
    E1::Scalar: Field,
{
    type C<E> = BaselineCircuit<<E as Engine>::Scalar>;
    let steady = steady.max(1);
    let c0 = C::<E1>::new(p, 0)?;
    let t = Instant::now();
    let pp = PublicParams::<E1, E2, C<E1>>::setup(&c0, &*default_ck_hint(), &*default_ck_hint())
        .map_err(|e| Error::nova("setup", e))?;
    let setup_s = t.elapsed().as_secs_f64();
    let (primary_constraints, secondary_constraints) = pp.num_constraints();
    let z0 = vec![E1::Scalar::ZERO; ARITY];
    let t = Instant::now();
    let mut rs =
        RecursiveSNARK::<E1, E2, C<E1>>::new(&pp, &c0, &z0).map_err(|e| Error::nova("new", e))?;
    let new_s = t.elapsed().as_secs_f64();
    let (mut steps_s, mut cpu_s) = (vec![], vec![]);
    // prove_step 0 is the first circuit again (Nova's convention), then 1 + steady fresh steps
    for i in 0..steady + 2 {
        let c = if i == 0 {
            c0.clone()
        } else {
            C::<E1>::new(p, i as u64)?
        };
        let (t, cpu) = (Instant::now(), super::measure::cpu_seconds());
        rs.prove_step(&pp, &c)
            .map_err(|e| Error::nova("prove_step", e))?;
        steps_s.push(t.elapsed().as_secs_f64());
        cpu_s.push(super::measure::cpu_seconds() - cpu);
    }
    let verified = rs.verify(&pp, steps_s.len(), &z0).is_ok();
    let tail = &steps_s[2..];
    let cpu_tail = &cpu_s[2..];
    Ok(BaselineResult {
        profile: p.clone(),
        primary_constraints,
        secondary_constraints,
        setup_s,
        new_s,
        step_s: tail.iter().sum::<f64>() / tail.len() as f64,
        step_cpu_s: cpu_tail.iter().sum::<f64>() / cpu_tail.len() as f64,
        steps_s,
        verified,
    })
}

/// Folds `2 + steady` steps of the baseline for `p` on `system`'s curve cycle (BN254/Grumpkin
/// for both BN254 systems: folding commits with the same kind of MSM) and reports the
/// steady-state time per step.
pub fn run(system: System, p: &WitnessProfile, steady: usize) -> Result<BaselineResult> {
    match system {
        System::Bn254Ipa | System::Bn254Kzg => {
            run_with::<Bn256EngineIPA, GrumpkinEngine>(p, steady)
        }
        System::PastaIpa => run_with::<PallasEngine, VestaEngine>(p, steady),
    }
}
