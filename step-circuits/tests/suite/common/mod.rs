//! Shared test helpers: a step case, honest synthesis into the tamper harness, and the check
//! against the native twin.
#![allow(dead_code)]

use kerafold_step_circuits::cs::TamperCs;
use kerafold_step_circuits::field::{from_i64, to_i64, Field};
use kerafold_step_circuits::native::{self, Weights};
use kerafold_step_circuits::packing;
use kerafold_step_circuits::spec::{compose_views, Act, FixedPoint, Op, ViewOp};
use kerafold_step_circuits::step::{alloc_i64s, alloc_nums, count_constraints, step, StepOut};
use nova_snark::frontend::{ConstraintSystem, SynthesisError};
use nova_snark::provider::{Bn256EngineKZG, PallasEngine};
use nova_snark::traits::Engine;

/// BN254 scalar field.
pub type Fb = <Bn256EngineKZG as Engine>::Scalar;
/// Pallas scalar field.
pub type Fp = <PallasEngine as Engine>::Scalar;

/// One step with concrete values.
#[derive(Clone, Debug)]
pub struct Case {
    pub op: Op,
    pub act: Act,
    pub views: Vec<ViewOp>,
    /// The chain input (before the views).
    pub x: Vec<i64>,
    pub skip: Option<Vec<i64>>,
    pub weights: Weights,
    pub fp: FixedPoint,
}

impl Case {
    pub fn new(op: Op, act: Act, x: Vec<i64>, fp: FixedPoint) -> Self {
        Self {
            op,
            act,
            views: vec![],
            x,
            skip: None,
            weights: Weights::default(),
            fp,
        }
    }
    pub fn weights(mut self, w: Vec<i64>, b: Vec<i64>) -> Self {
        self.weights = Weights { w, b };
        self
    }
    pub fn skip(mut self, s: Vec<i64>) -> Self {
        self.skip = Some(s);
        self
    }
    pub fn views(mut self, v: Vec<ViewOp>) -> Self {
        self.views = v;
        self
    }
    /// The input after the views.
    pub fn viewed(&self) -> Vec<i64> {
        compose_views(&self.views, self.x.len())
            .into_iter()
            .map(|s| s.map_or(0, |i| self.x[i]))
            .collect()
    }
    /// The native twin's result.
    pub fn native(&self) -> Result<native::StepOut, native::NativeError> {
        native::apply(
            &self.op,
            &self.act,
            &self.viewed(),
            self.skip.as_deref(),
            &self.weights,
            &self.fp,
        )
    }
}

/// Synthesizes the case honestly into `cs` (inputs `x{i}/num`, `skip{i}/num`, packed weights
/// `w{i}/num`, `b{i}/num`; the step at the root: `op/…`, `act/…`).
pub fn synth<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    case: &Case,
) -> Result<StepOut<F>, SynthesisError> {
    let x = alloc_i64s(cs, "x", &case.x)?;
    let skip = case
        .skip
        .as_ref()
        .map(|s| alloc_i64s(cs, "skip", s))
        .transpose()?;
    let (pw, pb) = if case.op.is_linear() {
        let p = packing::pack::<F>(&case.op, &case.weights, &case.fp);
        (p.w, p.b)
    } else {
        (vec![], vec![])
    };
    let w = alloc_nums(cs, "w", &pw.into_iter().map(Some).collect::<Vec<_>>())?;
    let b = alloc_nums(cs, "b", &pb.into_iter().map(Some).collect::<Vec<_>>())?;
    step(
        cs,
        &case.op,
        &case.act,
        &case.views,
        &x,
        skip.as_deref(),
        &w,
        &b,
        &case.fp,
    )
}

/// The integer value of an output variable as the constraint system holds it.
pub fn int<F: Field>(v: &nova_snark::frontend::num::AllocatedNum<F>) -> i64 {
    to_i64(&v.get_value().expect("value")).expect("small integer")
}

/// Runs the case: if the twin accepts, the honest witness satisfies the system, the outputs
/// equal the twin's and the shape has `count_constraints` constraints; if the twin rejects,
/// synthesis returns an error. Returns the system (for satisfiable cases).
pub fn check<F: Field>(case: &Case) -> Option<TamperCs<F>> {
    let mut cs = TamperCs::<F>::new();
    let res = synth(&mut cs, case);
    match case.native() {
        Err(e) => {
            assert!(
                res.is_err(),
                "twin rejects ({e}) but the gadget synthesized: {case:?}"
            );
            None
        }
        Ok(want) => {
            let out = res.unwrap_or_else(|e| panic!("synthesis failed: {e} for {case:?}"));
            assert_eq!(
                cs.which_is_unsatisfied(),
                None,
                "honest witness unsatisfied: {case:?}"
            );
            let got: Vec<i64> = out.y.iter().map(int).collect();
            assert_eq!(got, want.y, "outputs differ from the twin: {case:?}");
            if let Op::ArgMax { .. } = case.op {
                let idx = native::argmax(&case.viewed()) as i64;
                assert_eq!(out.argmax.as_ref().map(int), Some(idx));
            } else {
                assert!(out.argmax.is_none());
            }
            let free: Vec<String> = cs
                .unconstrained()
                .into_iter()
                .filter(|p| {
                    !(p.starts_with('x')
                        || p.starts_with('w')
                        || p.starts_with('b')
                        || p.starts_with("skip"))
                })
                .collect();
            assert!(
                free.is_empty(),
                "unconstrained gadget variables {free:?}: {case:?}"
            );
            let n = count_constraints(&case.op, &case.act, &case.views, &case.fp)
                .expect("count constraints");
            assert_eq!(
                n,
                cs.num_constraints(),
                "shape depends on the witness: {case:?}"
            );
            Some(cs)
        }
    }
}

/// The value of a variable as a signed integer.
pub fn val<F: Field>(cs: &TamperCs<F>, path: &str) -> i64 {
    let v = cs
        .value(path)
        .unwrap_or_else(|| panic!("no variable {path}"));
    to_i64(&v).expect("small")
}

/// Synthesizes the case with the given overrides and returns the system.
pub fn tampered<F: Field>(case: &Case, overrides: &[(String, F)]) -> TamperCs<F> {
    let mut cs = TamperCs::<F>::new();
    for (p, v) in overrides {
        cs.override_value(p.clone(), *v);
    }
    synth(&mut cs, case).expect("honest synthesis with overrides");
    assert!(
        cs.unused_overrides().is_empty(),
        "unused overrides {:?}",
        cs.unused_overrides()
    );
    cs
}

/// `(path, value)` overrides for the bits `{prefix}/b{i}` of `value` (`n` bits).
pub fn bits<F: Field>(prefix: &str, value: u128, n: u32) -> Vec<(String, F)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}/b{i}"),
                if (value >> i) & 1 == 1 {
                    F::ONE
                } else {
                    F::ZERO
                },
            )
        })
        .collect()
}

/// A field element from a signed integer.
pub fn fe<F: Field>(v: i64) -> F {
    from_i64(v)
}
