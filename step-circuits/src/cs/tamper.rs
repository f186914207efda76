//! A tamper harness for soundness tests: a [`ConstraintSystem`] that forwards everything to
//! nova-snark's [`TestConstraintSystem`], tracks namespace paths, and replaces the assigned value
//! of chosen variables by path.
//!
//! A soundness test synthesizes a gadget twice: once honestly (to read the honest witness with
//! [`TamperCs::value`]), then with overrides that a cheating prover would use, and asserts that
//! the system is unsatisfied at exactly the expected constraint ([`TamperCs::unsatisfied`] lists
//! every failing constraint; [`TamperCs::which_is_unsatisfied`] is the first, as
//! `TestConstraintSystem` reports it).
//!
//! An override changes only the value assigned to the variable in the constraint system; the
//! gadget's own view of the value (`AllocatedNum::get_value`) stays honest, so witness values
//! that the gadget derives from it stay honest too unless they are overridden as well. That is
//! what a tamper test wants: it forges exactly the variables it names.
//!
//! Paths are those of `TestConstraintSystem`: namespaces and the annotation joined by `/`.
//! Nova's `AllocatedNum::alloc` names its variable `num` inside the namespace it is given, so
//! `AllocatedNum::alloc(cs.namespace(|| "x3"), ..)` is the path `x3/num`.

use ff::PrimeField;
use nova_snark::frontend::{
    test_cs::TestConstraintSystem, ConstraintSystem, LinearCombination, SynthesisError, Variable,
};
use std::collections::{HashMap, HashSet};

type Constraint<F> = (
    LinearCombination<F>,
    LinearCombination<F>,
    LinearCombination<F>,
    String,
);

/// A test constraint system whose variable assignments can be overridden by path.
pub struct TamperCs<F: PrimeField> {
    inner: TestConstraintSystem<F>,
    ns: Vec<String>,
    overrides: HashMap<String, F>,
    used: HashSet<String>,
    inputs: Vec<F>,
    aux: Vec<F>,
    paths: HashMap<String, Variable>,
    constraints: Vec<Constraint<F>>,
}

impl<F: PrimeField> Default for TamperCs<F> {
    fn default() -> Self {
        Self {
            inner: TestConstraintSystem::new(),
            ns: Vec::new(),
            overrides: HashMap::new(),
            used: HashSet::new(),
            inputs: vec![F::ONE],
            aux: Vec::new(),
            paths: HashMap::new(),
            constraints: Vec::new(),
        }
    }
}

impl<F: PrimeField> TamperCs<F> {
    /// An empty system with no overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, the variable allocated at `path` is assigned `value` instead of the value its
    /// gadget computes. Call before synthesis.
    pub fn override_value(&mut self, path: impl Into<String>, value: F) -> &mut Self {
        self.overrides.insert(path.into(), value);
        self
    }

    /// Overrides the bits `{prefix}/b0 … {prefix}/b{n−1}` (as allocated by
    /// [`crate::range::alloc_bits`]) with the binary digits of `value`.
    pub fn override_bits(&mut self, prefix: &str, value: u128, n: u32) -> &mut Self {
        for i in 0..n {
            let bit = if (value >> i) & 1 == 1 {
                F::ONE
            } else {
                F::ZERO
            };
            self.override_value(format!("{prefix}/b{i}"), bit);
        }
        self
    }

    /// The overrides that no allocation used (a misspelt path, usually).
    pub fn unused_overrides(&self) -> Vec<String> {
        let mut v: Vec<_> = self
            .overrides
            .keys()
            .filter(|k| !self.used.contains(*k))
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// The value assigned to the variable at `path`.
    pub fn value(&self, path: &str) -> Option<F> {
        self.paths.get(path).map(|v| self.assigned(*v))
    }

    /// Paths of all variables whose path starts with `prefix`, sorted.
    pub fn vars_under(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<_> = self
            .paths
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        v.sort();
        v
    }

    fn assigned(&self, v: Variable) -> F {
        match v.get_unchecked() {
            nova_snark::frontend::Index::Input(i) => self.inputs[i],
            nova_snark::frontend::Index::Aux(i) => self.aux[i],
        }
    }

    fn eval(&self, lc: &LinearCombination<F>) -> F {
        lc.eval(&self.inputs, &self.aux)
    }

    /// The first unsatisfied constraint, as nova's `TestConstraintSystem` reports it.
    pub fn which_is_unsatisfied(&self) -> Option<&str> {
        self.inner.which_is_unsatisfied()
    }

    /// Every unsatisfied constraint, in synthesis order.
    pub fn unsatisfied(&self) -> Vec<&str> {
        self.constraints
            .iter()
            .filter(|(a, b, c, _)| self.eval(a) * self.eval(b) != self.eval(c))
            .map(|(_, _, _, p)| p.as_str())
            .collect()
    }

    /// Whether every constraint holds.
    pub fn is_satisfied(&self) -> bool {
        self.which_is_unsatisfied().is_none()
    }

    /// Number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.constraints.len()
    }

    /// Number of auxiliary (witness) variables.
    pub fn num_aux(&self) -> usize {
        self.aux.len()
    }

    /// Paths of all constraints, in synthesis order (two syntheses have the same shape only if
    /// these agree).
    pub fn constraint_paths(&self) -> Vec<&str> {
        self.constraints.iter().map(|c| c.3.as_str()).collect()
    }

    /// Paths of the auxiliary variables that appear in no constraint (sorted). A gadget's own
    /// variables must never be in this list: an unconstrained witness is a free choice of the
    /// prover.
    pub fn unconstrained(&self) -> Vec<String> {
        let mut used = vec![false; self.aux.len()];
        for (a, b, c, _) in &self.constraints {
            for lc in [a, b, c] {
                for (i, _) in lc.iter_aux() {
                    used[*i] = true;
                }
            }
        }
        let mut v: Vec<String> = self
            .paths
            .iter()
            .filter_map(|(p, var)| match var.get_unchecked() {
                nova_snark::frontend::Index::Aux(i) if !used[i] => Some(p.clone()),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// The wrapped `TestConstraintSystem`.
    pub fn inner(&self) -> &TestConstraintSystem<F> {
        &self.inner
    }

    fn path(&self, name: &str) -> String {
        if self.ns.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.ns.join("/"))
        }
    }

    fn assign(&mut self, path: &str, honest: F) -> F {
        match self.overrides.get(path) {
            Some(v) => {
                self.used.insert(path.to_string());
                *v
            }
            None => honest,
        }
    }
}

impl<F: PrimeField> ConstraintSystem<F> for TamperCs<F> {
    type Root = Self;

    fn alloc<FN, A, AR>(&mut self, annotation: A, f: FN) -> Result<Variable, SynthesisError>
    where
        FN: FnOnce() -> Result<F, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        let name: String = annotation().into();
        let path = self.path(&name);
        let value = self.assign(&path, f()?);
        let var = self.inner.alloc(move || name, || Ok(value))?;
        self.aux.push(value);
        self.paths.insert(path, var);
        Ok(var)
    }

    fn alloc_input<FN, A, AR>(&mut self, annotation: A, f: FN) -> Result<Variable, SynthesisError>
    where
        FN: FnOnce() -> Result<F, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        let name: String = annotation().into();
        let path = self.path(&name);
        let value = self.assign(&path, f()?);
        let var = self.inner.alloc_input(move || name, || Ok(value))?;
        self.inputs.push(value);
        self.paths.insert(path, var);
        Ok(var)
    }

    fn enforce<A, AR, LA, LB, LC>(&mut self, annotation: A, a: LA, b: LB, c: LC)
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
        LA: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
        LB: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
        LC: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
    {
        let name: String = annotation().into();
        let path = self.path(&name);
        let (a, b, c) = (
            a(LinearCombination::zero()),
            b(LinearCombination::zero()),
            c(LinearCombination::zero()),
        );
        let (a2, b2, c2) = (a.clone(), b.clone(), c.clone());
        self.inner
            .enforce(move || name, move |_| a2, move |_| b2, move |_| c2);
        self.constraints.push((a, b, c, path));
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        let name: String = name_fn().into();
        self.inner.push_namespace(|| name.clone());
        self.ns.push(name);
    }

    fn pop_namespace(&mut self) {
        self.inner.pop_namespace();
        self.ns.pop();
    }

    fn get_root(&mut self) -> &mut Self::Root {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;
    type Fq = <PallasEngine as Engine>::Scalar;

    fn square(cs: &mut TamperCs<Fq>) {
        let x = AllocatedNum::alloc(cs.namespace(|| "x"), || Ok(Fq::from(3))).unwrap();
        let y = x.square(cs.namespace(|| "sq")).unwrap();
        cs.enforce(
            || "is nine",
            |lc| lc + y.get_variable(),
            |lc| lc + TamperCs::<Fq>::one(),
            |lc| lc + (Fq::from(9), TamperCs::<Fq>::one()),
        );
    }

    #[test]
    fn override_by_path_breaks_the_named_constraint() {
        let mut cs = TamperCs::new();
        square(&mut cs);
        assert!(cs.is_satisfied());
        assert_eq!(cs.value("x/num"), Some(Fq::from(3)));
        assert!(cs.unsatisfied().is_empty());

        let mut cs = TamperCs::new();
        cs.override_value("sq/squared num", Fq::from(10));
        square(&mut cs);
        assert_eq!(cs.which_is_unsatisfied(), Some("sq/squaring constraint"));
        assert_eq!(cs.unsatisfied(), vec!["sq/squaring constraint", "is nine"]);
        assert!(cs.unused_overrides().is_empty());

        let mut cs = TamperCs::new();
        cs.override_value("nope", Fq::from(1));
        square(&mut cs);
        assert_eq!(cs.unused_overrides(), vec!["nope".to_string()]);
        assert!(cs.unconstrained().is_empty());
        AllocatedNum::alloc(cs.namespace(|| "free"), || Ok(Fq::from(1))).unwrap();
        assert_eq!(cs.unconstrained(), vec!["free/num".to_string()]);
    }
}
