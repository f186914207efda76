//! A constraint system that only counts: the shape of a gadget without its witness.
//!
//! Like nova's `ShapeCS`, it never calls value closures, so every value a gadget sees is `None`
//! (the gadgets must not depend on witness values for their shape). Unlike `ShapeCS` it is
//! generic over the field rather than the engine, keeps no matrices, and can tally constraints
//! by their path with indices stripped (`op/grp/mul`, `op/out/r/bit`), which is how the
//! constraint table attributes cost to multiply-accumulates, requantization and activations.

use ff::PrimeField;
use nova_snark::frontend::{ConstraintSystem, Index, LinearCombination, SynthesisError, Variable};
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// Counts constraints and variables; optionally tallies constraints by normalised path.
pub struct CountingCs<F: PrimeField> {
    constraints: usize,
    aux: usize,
    inputs: usize,
    ns: Vec<String>,
    tally: Option<BTreeMap<String, usize>>,
    _f: PhantomData<F>,
}

impl<F: PrimeField> Default for CountingCs<F> {
    fn default() -> Self {
        Self {
            constraints: 0,
            aux: 0,
            inputs: 1,
            ns: Vec::new(),
            tally: None,
            _f: PhantomData,
        }
    }
}

/// A path segment with its trailing digits removed (`out12` → `out`, `bit3` → `bit`).
fn normalise(segment: &str) -> &str {
    segment.trim_end_matches(|c: char| c.is_ascii_digit())
}

impl<F: PrimeField> CountingCs<F> {
    /// A counter without tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// A counter that also tallies constraints by normalised path.
    pub fn with_tally() -> Self {
        Self {
            tally: Some(BTreeMap::new()),
            ..Self::default()
        }
    }

    /// Number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.constraints
    }

    /// Number of auxiliary variables.
    pub fn num_aux(&self) -> usize {
        self.aux
    }

    /// Constraints per normalised path (empty unless built with [`CountingCs::with_tally`]).
    pub fn tally(&self) -> BTreeMap<String, usize> {
        self.tally.clone().unwrap_or_default()
    }

    /// Constraints whose normalised path satisfies `pred`.
    pub fn count_where(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.tally
            .iter()
            .flatten()
            .filter(|(k, _)| pred(k))
            .map(|(_, v)| v)
            .sum()
    }
}

impl<F: PrimeField> ConstraintSystem<F> for CountingCs<F> {
    type Root = Self;

    fn alloc<FN, A, AR>(&mut self, _: A, _: FN) -> Result<Variable, SynthesisError>
    where
        FN: FnOnce() -> Result<F, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.aux += 1;
        Ok(Variable::new_unchecked(Index::Aux(self.aux - 1)))
    }

    fn alloc_input<FN, A, AR>(&mut self, _: A, _: FN) -> Result<Variable, SynthesisError>
    where
        FN: FnOnce() -> Result<F, SynthesisError>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inputs += 1;
        Ok(Variable::new_unchecked(Index::Input(self.inputs - 1)))
    }

    fn enforce<A, AR, LA, LB, LC>(&mut self, annotation: A, _: LA, _: LB, _: LC)
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
        LA: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
        LB: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
        LC: FnOnce(LinearCombination<F>) -> LinearCombination<F>,
    {
        self.constraints += 1;
        if let Some(t) = &mut self.tally {
            let name: String = annotation().into();
            let mut key: Vec<&str> = self.ns.iter().map(|s| normalise(s)).collect();
            key.push(normalise(&name));
            *t.entry(key.join("/")).or_default() += 1;
        }
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        if self.tally.is_some() {
            self.ns.push(name_fn().into());
        }
    }

    fn pop_namespace(&mut self) {
        self.ns.pop();
    }

    fn get_root(&mut self) -> &mut Self::Root {
        self
    }
}
