//! Several steps to a fold (docs/DESIGN.md §7.2): a step circuit that runs `per_fold` copies of
//! an inner step circuit one after the other, so Nova's fixed cost per fold (its ~11.5k-constraint
//! augmentation and the secondary circuit) is paid once for `per_fold` narrow steps.
//!
//! The last fold may hold fewer real steps. Its remaining copies are *off*: an off copy leaves the
//! state unchanged (`out = in`), and its inner circuit replays the fold's first step from the
//! fold's input state, so it is satisfiable without a witness of its own. Soundness: every copy
//! either applies the inner step or is the identity on the state, so a proof of `m` folds shows a
//! run of at most `m · per_fold` inner steps from `z0` to `zn`. The statements packed here bind
//! their whole run in the state (a step count and hash chains of the architecture and model), so
//! turning a real step off (skipping it) changes the final state the verifier compares.

use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{AllocatedBit, ConstraintSystem, SynthesisError};
use nova_snark::traits::circuit::StepCircuit;

/// The most steps a fold may pack: a bound on the circuit a claim can make the verifier derive.
pub const MAX_PER_FOLD: usize = 64;

/// Number of folds that prove `steps` steps at `per_fold` a fold.
pub fn folds(steps: usize, per_fold: usize) -> usize {
    steps.div_ceil(per_fold.max(1))
}

/// `per_fold` copies of a step circuit in one fold (module docs).
#[derive(Clone, Debug)]
pub struct Packed<C> {
    /// Copies of the inner circuit per fold.
    pub per_fold: usize,
    /// The fold's real steps, in order (1 ..= `per_fold`); for the circuit's shape, one shape.
    pub steps: Vec<C>,
}

impl<C> Packed<C> {
    /// The packed circuit's shape from the inner circuit's.
    pub fn shape(per_fold: usize, inner: C) -> Self {
        Self {
            per_fold,
            steps: vec![inner],
        }
    }

    /// The digest that keys the packed circuit's parameters, from the inner circuit's: the same
    /// digest for one step a fold (the circuit is then the inner one, unchanged).
    pub fn digest(&self, inner: [u8; 32]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        if self.per_fold <= 1 {
            return inner;
        }
        Sha256::new()
            .chain_update(b"kerafold packed steps")
            .chain_update((self.per_fold as u64).to_le_bytes())
            .chain_update(inner)
            .finalize()
            .into()
    }
}

impl<F: ff::PrimeField, C: StepCircuit<F>> StepCircuit<F> for Packed<C> {
    fn arity(&self) -> usize {
        self.steps[0].arity()
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        self.synthesize_fed(cs, z, Feed::Honest)
    }
}

/// Which values the prover assigns to a copy's input and output (tests assign dishonest ones).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// Copy `j` starts where copy `j − 1` ended and ends where its inner circuit does.
    Honest,
    /// Copy `j` (on) starts from the fold's input state instead.
    #[cfg(test)]
    Restart(usize),
    /// Copy `j` (on) claims the state unchanged.
    #[cfg(test)]
    Keep(usize),
}

/// A new variable assigned `v`'s value (constrained by the caller).
fn copy_of<F: ff::PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    v: &AllocatedNum<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    AllocatedNum::alloc(cs.namespace(|| "v"), || {
        v.get_value().ok_or(SynthesisError::AssignmentMissing)
    })
}

impl Feed {
    fn restarts(self, _j: usize) -> bool {
        match self {
            #[cfg(test)]
            Feed::Restart(k) => k == _j,
            _ => false,
        }
    }

    fn keeps(self, _j: usize) -> bool {
        match self {
            #[cfg(test)]
            Feed::Keep(k) => k == _j,
            _ => false,
        }
    }
}

impl<C> Packed<C> {
    fn synthesize_fed<F: ff::PrimeField, CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
        feed: Feed,
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError>
    where
        C: StepCircuit<F>,
    {
        if self.per_fold <= 1 {
            return self.steps[0].synthesize(cs, z);
        }
        // the first copy always runs: a fold holds at least one real step
        let mut cur = self.steps[0].synthesize(&mut cs.namespace(|| "step0"), z)?;
        for j in 1..self.per_fold {
            let mut cs = cs.namespace(|| format!("step{j}"));
            let real = self.steps.get(j);
            let on = AllocatedBit::alloc(cs.namespace(|| "on"), Some(real.is_some()))?;
            // an off copy replays the first step from the fold's input state
            let inner = real.unwrap_or(&self.steps[0]);
            let restart = feed.restarts(j);
            let mut input = Vec::with_capacity(cur.len());
            for (a, (c, z0)) in cur.iter().zip(z).enumerate() {
                let v = if real.is_some() && !restart { c } else { z0 };
                let x = copy_of(cs.namespace(|| format!("in{a}")), v)?;
                // on ⇒ the copy starts where the previous one ended
                cs.enforce(
                    || format!("in{a}_chained"),
                    |lc| lc + on.get_variable(),
                    |lc| lc + x.get_variable() - c.get_variable(),
                    |lc| lc,
                );
                input.push(x);
            }
            let y = inner.synthesize(&mut cs.namespace(|| "inner"), &input)?;
            let keep = feed.keeps(j);
            let mut next = Vec::with_capacity(cur.len());
            for (a, (c, y)) in cur.iter().zip(&y).enumerate() {
                let v = if real.is_some() && !keep { y } else { c };
                let o = copy_of(cs.namespace(|| format!("out{a}")), v)?;
                // out = cur + on·(y − cur): the copy's result when on, the state unchanged when off
                cs.enforce(
                    || format!("out{a}"),
                    |lc| lc + on.get_variable(),
                    |lc| lc + y.get_variable() - c.get_variable(),
                    |lc| lc + o.get_variable() - c.get_variable(),
                );
                next.push(o);
            }
            cur = next;
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::backend::{Bn254Ipa, Scalar};
    use crate::fold::pipeline::{check_circuit, circuit_constraints};

    type F = Scalar<Bn254Ipa>;

    /// `z' = (z₀ + 1, 2·z₁ + k)`: a step count and a chain that remembers every step's `k`.
    #[derive(Clone, Debug)]
    struct Tick {
        k: u64,
        /// A cheating witness: the chain element it claims.
        forged: Option<u64>,
    }

    impl StepCircuit<F> for Tick {
        fn arity(&self) -> usize {
            2
        }
        fn synthesize<CS: ConstraintSystem<F>>(
            &self,
            cs: &mut CS,
            z: &[AllocatedNum<F>],
        ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
            let n = AllocatedNum::alloc(cs.namespace(|| "n"), || {
                Ok(z[0].get_value().ok_or(SynthesisError::AssignmentMissing)? + F::from(1))
            })?;
            cs.enforce(
                || "count",
                |lc| lc + z[0].get_variable() + CS::one(),
                |lc| lc + CS::one(),
                |lc| lc + n.get_variable(),
            );
            let h = AllocatedNum::alloc(cs.namespace(|| "h"), || {
                let v = z[1].get_value().ok_or(SynthesisError::AssignmentMissing)?;
                Ok(match self.forged {
                    Some(f) => F::from(f),
                    None => v + v + F::from(self.k),
                })
            })?;
            cs.enforce(
                || "chain",
                |lc| lc + (F::from(2), z[1].get_variable()) + (F::from(self.k), CS::one()),
                |lc| lc + CS::one(),
                |lc| lc + h.get_variable(),
            );
            Ok(vec![n, h])
        }
    }

    fn tick(k: u64) -> Tick {
        Tick { k, forged: None }
    }

    /// Runs `ks` one step a fold, natively: the state the packed folds must reach.
    fn unpacked(ks: &[u64]) -> Vec<F> {
        ks.iter().fold(vec![F::from(0), F::from(0)], |z, &k| {
            check_circuit(&tick(k), &z).unwrap().0
        })
    }

    fn packed(per_fold: usize, ks: &[u64]) -> Vec<F> {
        let shape = circuit_constraints::<F, _>(&Packed::shape(per_fold, tick(0))).unwrap();
        ks.chunks(per_fold)
            .fold(vec![F::from(0), F::from(0)], |z, chunk| {
                let c = Packed {
                    per_fold,
                    steps: chunk.iter().map(|&k| tick(k)).collect(),
                };
                let (zn, n) = check_circuit(&c, &z).unwrap();
                assert_eq!(n, shape, "every fold has the shape's constraints");
                zn
            })
    }

    #[test]
    fn packed_folds_reach_the_state_of_one_step_a_fold() {
        let ks = [3, 1, 4, 1, 5, 9, 2];
        for per_fold in [1, 2, 3, 7] {
            assert_eq!(packed(per_fold, &ks), unpacked(&ks), "{per_fold} a fold");
        }
        assert_eq!(folds(7, 3), 3);
        assert_eq!(folds(6, 3), 2);
    }

    /// An off copy is the identity: the last fold's padding leaves the state as its real steps
    /// left it, and the packed circuit costs per-fold inner circuits plus the chaining.
    #[test]
    fn an_off_copy_leaves_the_state_unchanged() {
        let z = vec![F::from(5), F::from(7)];
        let one = Packed {
            per_fold: 3,
            steps: vec![tick(2)],
        };
        assert_eq!(
            check_circuit(&one, &z).unwrap().0,
            vec![F::from(6), F::from(16)]
        );
        let inner = circuit_constraints::<F, _>(&tick(0)).unwrap();
        let packed = circuit_constraints::<F, _>(&Packed::shape(3, tick(0))).unwrap();
        // per off-able copy: one bit, arity chaining and arity selection constraints
        assert_eq!(packed, 3 * inner + 2 * (1 + 2 + 2));
    }

    /// A packed step's cheating witness is caught by the inner constraint, named by its copy.
    #[test]
    fn a_forged_step_inside_a_fold_names_its_copy() {
        let c = Packed {
            per_fold: 3,
            steps: vec![
                tick(1),
                Tick {
                    k: 2,
                    forged: Some(99),
                },
                tick(3),
            ],
        };
        let err = check_circuit(&c, &[F::from(0), F::from(0)]).unwrap_err();
        assert!(err.to_string().contains("step1/inner/chain"), "{err}");
    }

    /// A fed-in dishonest assignment, through a checking constraint system.
    fn check_fed(c: &Packed<Tick>, feed: Feed) -> String {
        #[derive(Clone)]
        struct Fed<'a>(&'a Packed<Tick>, Feed);
        impl StepCircuit<F> for Fed<'_> {
            fn arity(&self) -> usize {
                2
            }
            fn synthesize<CS: ConstraintSystem<F>>(
                &self,
                cs: &mut CS,
                z: &[AllocatedNum<F>],
            ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
                self.0.synthesize_fed(cs, z, self.1)
            }
        }
        check_circuit(&Fed(c, feed), &[F::from(4), F::from(4)])
            .unwrap_err()
            .to_string()
    }

    /// A copy that starts from another state than the previous copy's output (e.g. two steps'
    /// outputs swapped, or a step run twice from one state) breaks the chaining constraint; a copy
    /// that is on but claims the state unchanged (a step skipped) breaks the selection.
    #[test]
    fn a_copy_cannot_restart_or_skip() {
        let c = Packed {
            per_fold: 3,
            steps: vec![tick(1), tick(2), tick(3)],
        };
        let err = check_fed(&c, Feed::Restart(2));
        assert!(err.contains("step2/in0_chained"), "{err}");
        let err = check_fed(&c, Feed::Keep(1));
        assert!(err.contains("step1/out0"), "{err}");
        assert!(check_circuit(&c, &[F::from(4), F::from(4)]).is_ok());
    }
}
