//! A constraint system that checks every constraint as it is added.
//!
//! nova-snark's `prove_step` checks nothing: a wrong witness is only found when the final proof
//! fails to verify. The prover therefore synthesizes each step into [`CheckingCS`] first, which
//! evaluates each constraint on the spot and remembers the first one that fails (with its
//! namespace path), and counts constraints so a step whose shape differs from the parameters'
//! is caught too. It also counts the non-zero matrix entries and keeps the witness values, which
//! is all the benchmark's profile of a step needs (one synthesis for both).

use ff::PrimeField;
use nova_snark::frontend::{ConstraintSystem, Index, LinearCombination, SynthesisError, Variable};

/// Checks constraints while they are synthesized.
pub struct CheckingCS<F: PrimeField> {
    inputs: Vec<F>,
    aux: Vec<F>,
    namespace: Vec<String>,
    constraints: usize,
    nnz: usize,
    failure: Option<String>,
}

impl<F: PrimeField> Default for CheckingCS<F> {
    fn default() -> Self {
        Self {
            inputs: vec![F::ONE],
            aux: vec![],
            namespace: vec![],
            constraints: 0,
            nnz: 0,
            failure: None,
        }
    }
}

impl<F: PrimeField> CheckingCS<F> {
    /// An empty system (the constant one is its only input).
    pub fn new() -> Self {
        Self::default()
    }
    /// Path of the first unsatisfied constraint.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
    /// Constraints added so far.
    pub fn num_constraints(&self) -> usize {
        self.constraints
    }
    /// Non-zero entries of A, B and C over the constraints added so far (terms of each linear
    /// combination, as nova-snark's shape stores them).
    pub fn nnz(&self) -> usize {
        self.nnz
    }
    /// Values of the witness variables, in allocation order.
    pub fn aux_values(&self) -> &[F] {
        &self.aux
    }
    /// Value of an allocated variable.
    pub fn value(&self, v: Variable) -> F {
        match v.get_unchecked() {
            Index::Input(i) => self.inputs[i],
            Index::Aux(i) => self.aux[i],
        }
    }
}

impl<F: PrimeField> ConstraintSystem<F> for CheckingCS<F> {
    type Root = Self;

    fn alloc<Fn_, A, AR>(&mut self, _: A, f: Fn_) -> Result<Variable, SynthesisError>
    where
        Fn_: FnOnce() -> Result<F, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.aux.push(f()?);
        Ok(Variable::new_unchecked(Index::Aux(self.aux.len() - 1)))
    }

    fn alloc_input<Fn_, A, AR>(&mut self, _: A, f: Fn_) -> Result<Variable, SynthesisError>
    where
        Fn_: FnOnce() -> Result<F, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inputs.push(f()?);
        Ok(Variable::new_unchecked(Index::Input(self.inputs.len() - 1)))
    }

    fn enforce<A, AR, LA, LB, LC>(&mut self, annotation: A, a: LA, b: LB, c: LC)
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
        LA: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
        LB: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
        LC: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
    {
        self.constraints += 1;
        let (a, b, c) = (
            a(LinearCombination::zero()),
            b(LinearCombination::zero()),
            c(LinearCombination::zero()),
        );
        self.nnz += a.len() + b.len() + c.len();
        if self.failure.is_some() {
            return;
        }
        let eval = |lc: LinearCombination<F>| lc.eval(&self.inputs, &self.aux);
        if eval(a) * eval(b) != eval(c) {
            let mut path = self.namespace.join("/");
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&annotation().into());
            self.failure = Some(path);
        }
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        self.namespace.push(name_fn().into());
    }

    fn pop_namespace(&mut self) {
        self.namespace.pop();
    }

    fn get_root(&mut self) -> &mut Self::Root {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;
    type Fp = <PallasEngine as Engine>::Scalar;

    #[test]
    fn counts_non_zeros_keeps_the_witness_and_names_the_first_failure() {
        let mut cs = CheckingCS::<Fp>::new();
        let x = cs.alloc(|| "x", || Ok(Fp::from(3))).unwrap();
        let y = cs.alloc(|| "y", || Ok(Fp::from(9))).unwrap();
        // x · x = y: three terms
        cs.enforce(|| "square", |lc| lc + x, |lc| lc + x, |lc| lc + y);
        assert_eq!((cs.num_constraints(), cs.nnz(), cs.failure()), (1, 3, None));
        cs.push_namespace(|| "layer");
        // (x + 1) · 1 = y fails: 2 + 1 + 1 terms
        cs.enforce(
            || "affine",
            |lc| lc + x + CheckingCS::<Fp>::one(),
            |lc| lc + CheckingCS::<Fp>::one(),
            |lc| lc + y,
        );
        cs.pop_namespace();
        // counted after a failure too, so a failing step's shape is still measured
        cs.enforce(|| "again", |lc| lc + x, |lc| lc + x, |lc| lc + y);
        assert_eq!(cs.num_constraints(), 3);
        assert_eq!(cs.nnz(), 10);
        assert_eq!(cs.failure(), Some("layer/affine"));
        assert_eq!(cs.aux_values(), &[Fp::from(3), Fp::from(9)]);
        assert_eq!(cs.value(y), Fp::from(9));
    }
}
