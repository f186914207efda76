//! The gadgets in nova-snark's own machinery: the shape from `ShapeCS`, the witness from
//! `SatisfyingAssignment` (what `prove_step` uses), checked against the R1CS matrices
//! (`A·z ∘ B·z = C·z` with `z = [W | 1 | X]`).

use crate::common::*;
use kerafold_step_circuits::spec::*;
use kerafold_step_circuits::step::count_constraints;
use nova_snark::frontend::r1cs::NovaShape;
use nova_snark::frontend::shape_cs::ShapeCS;
use nova_snark::frontend::solver::SatisfyingAssignment;
use nova_snark::frontend::ConstraintSystem;
use nova_snark::provider::{Bn256EngineKZG, PallasEngine};
use nova_snark::traits::Engine;

const FP: FixedPoint = FixedPoint {
    fa: 4,
    fw: 5,
    bits: 12,
    guard: 1,
};

fn r1cs_sat<E: Engine>(case: &Case)
where
    E::Scalar: kerafold_step_circuits::Field,
{
    let mut scs = ShapeCS::<E>::new();
    synth(&mut scs, case).expect("shape");
    let shape = scs.r1cs_shape().expect("r1cs shape");
    assert_eq!(
        shape.num_cons(),
        count_constraints(&case.op, &case.act, &case.views, &case.fp).unwrap()
    );
    let mut wcs = SatisfyingAssignment::<E>::new();
    let out = synth(&mut wcs, case).expect("witness");
    let mut z = wcs.aux_assignment().to_vec();
    assert!(z.len() <= shape.num_vars());
    z.resize(shape.num_vars(), E::Scalar::from(0));
    z.extend_from_slice(wcs.input_assignment()); // [1, X…]
    let (a, b, c) = (
        shape.A().multiply_vec(&z),
        shape.B().multiply_vec(&z),
        shape.C().multiply_vec(&z),
    );
    assert_eq!(a.len(), shape.num_cons());
    for i in 0..a.len() {
        assert_eq!(a[i] * b[i], c[i], "constraint {i} unsatisfied");
    }
    // the check is not vacuous: changing any witness value breaks some constraint
    for j in [0, z.len() / 3, shape.num_vars() - 1] {
        let mut bad = z.clone();
        bad[j] += E::Scalar::from(1);
        let (a, b, c) = (
            shape.A().multiply_vec(&bad),
            shape.B().multiply_vec(&bad),
            shape.C().multiply_vec(&bad),
        );
        assert!(
            (0..a.len()).any(|i| a[i] * b[i] != c[i]),
            "variable {j} unconstrained"
        );
    }
    let y: Vec<i64> = out.y.iter().map(int).collect();
    assert_eq!(y, case.native().unwrap().y);
}

#[test]
fn steps_are_satisfied_in_novas_r1cs() {
    let window =
        Window::keras(Shape3::new(4, 4, 2), (3, 3), (1, 1), (1, 1), Padding::Same).unwrap();
    let conv = Case::new(
        Op::Conv(ConvSpec { window, c_out: 3 }),
        Act::Relu,
        (0..32).map(|i| (i * 37 % 200) - 100).collect(),
        FP,
    )
    .weights(
        (0..54).map(|i| (i * 13 % 33) - 16).collect(),
        vec![100, -50, 0],
    );
    let pool = PoolSpec {
        window: Window::keras(Shape3::new(4, 4, 2), (2, 2), (2, 2), (1, 1), Padding::Valid)
            .unwrap(),
    };
    let max = Case::new(
        Op::MaxPool(pool),
        Act::Leaky { k: 3, m: 4 },
        conv.x.clone(),
        FP,
    );
    let avg = Case::new(Op::AvgPool(pool), Act::Poly { c: 4 }, conv.x.clone(), FP);
    let arg = Case::new(
        Op::ArgMax { n: 5 },
        Act::Clip { hi: 40 },
        vec![4, 90, -3, 90, 7],
        FP,
    );
    for case in [&conv, &max, &avg, &arg] {
        r1cs_sat::<Bn256EngineKZG>(case);
        r1cs_sat::<PallasEngine>(case);
    }
}
