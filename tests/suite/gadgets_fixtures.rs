//! Every step gadget, on every layer of every real-Keras fixture, reproduces the integer
//! reference trace exactly and satisfies its constraints (nova's test constraint system).

use crate::common;

use common::{Fixture, Format, MODELS};
use ff::PrimeField;
use kerafold::model;
use kerafold_step_circuits::field::{from_i64, to_i64};
use kerafold_step_circuits::packing;
use kerafold_step_circuits::step;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::test_cs::TestConstraintSystem;
use nova_snark::frontend::ConstraintSystem;
use nova_snark::provider::Bn256EngineIPA;
use nova_snark::traits::Engine;

type F = <Bn256EngineIPA as Engine>::Scalar;

fn alloc_all<CS: ConstraintSystem<F>>(cs: &mut CS, name: &str, v: &[F]) -> Vec<AllocatedNum<F>> {
    v.iter()
        .enumerate()
        .map(|(i, x)| {
            AllocatedNum::alloc(cs.namespace(|| format!("{name}{i}")), || Ok(*x)).unwrap()
        })
        .collect()
}

#[test]
fn gadgets_reproduce_the_integer_reference_on_every_fixture_layer() {
    let mut checked = 0;
    for name in MODELS {
        let fx = Fixture::load(name);
        let graph = model::load(&common::model_path(name, Format::Keras)).unwrap();
        let program = model::lower(&graph).unwrap();
        let (q, _) = model::calibrate(&program, &fx.inputs).unwrap();
        // two samples per model: the first and one from the middle
        for sample in [0, fx.inputs.len() / 2] {
            let x = q.quantize_input(&fx.inputs[sample], Some(sample)).unwrap();
            let trace = q.trace(&x, Some(sample)).unwrap();
            for (s, st) in q.steps.iter().zip(&trace.steps) {
                let mut cs = TestConstraintSystem::<F>::new();
                let xs: Vec<F> = st.input.iter().map(|&v| from_i64(v)).collect();
                let xa = alloc_all(&mut cs, "x", &xs);
                let skip = st.skip.as_ref().map(|sk| {
                    let v: Vec<F> = sk.iter().map(|&v| from_i64(v)).collect();
                    alloc_all(&mut cs, "skip", &v)
                });
                let p = packing::pack::<F>(&s.op, &s.weights, &q.fp);
                let wa = alloc_all(&mut cs, "w", &p.w);
                let ba = alloc_all(&mut cs, "b", &p.b);
                let out = step(
                    &mut cs.namespace(|| "step"),
                    &s.op,
                    &s.act,
                    &s.views,
                    &xa,
                    skip.as_deref(),
                    &wa,
                    &ba,
                    &q.fp,
                )
                .unwrap_or_else(|e| panic!("{name} step '{}': {e:?}", s.name));
                assert!(
                    cs.is_satisfied(),
                    "{name} step '{}': {:?}",
                    s.name,
                    cs.which_is_unsatisfied()
                );
                let y: Vec<i64> = out
                    .y
                    .iter()
                    .map(|v| to_i64(&v.get_value().unwrap()).unwrap())
                    .collect();
                assert_eq!(
                    y, st.y,
                    "{name} step '{}' differs from the reference",
                    s.name
                );
                if let Some(idx) = out.argmax {
                    assert_eq!(
                        idx.get_value().unwrap(),
                        F::from_u128(trace.class as u128),
                        "{name}: ArgMax"
                    );
                }
                checked += 1;
            }
        }
    }
    println!("{checked} step gadgets matched the integer reference");
    assert!(checked > 100);
}
