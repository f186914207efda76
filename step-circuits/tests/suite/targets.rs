//! The constraint targets of the design hold, measured by real shape synthesis (the same rows
//! as `examples/constraint_table.rs` and the README).

use kerafold_step_circuits::cost::{commit_cost, linear_split, table};
use kerafold_step_circuits::packing::lanes;
use kerafold_step_circuits::spec::{Act, ConvSpec, DenseSpec, Op, Padding, Shape3, Window};
use kerafold_step_circuits::FixedPoint;

const FP16: FixedPoint = FixedPoint {
    fa: 8,
    fw: 8,
    bits: 16,
    guard: 1,
};

#[test]
fn every_target_of_the_table_holds() {
    let rows = table(&FP16).unwrap();
    assert!(rows.len() > 20);
    for r in &rows {
        assert!(r.meets_target(), "{r:?}");
    }
}

#[test]
fn linear_layers_cost_about_one_constraint_per_k_macs() {
    for fp in [
        FP16,
        FixedPoint {
            fa: 10,
            fw: 12,
            bits: 24,
            guard: 1,
        },
    ] {
        let k = lanes(&fp);
        let window =
            Window::keras(Shape3::new(6, 6, 4), (3, 3), (1, 1), (1, 1), Padding::Valid).unwrap();
        for op in [
            Op::Dense(DenseSpec {
                n_in: 50,
                n_out: 40,
            }),
            Op::Dense(DenseSpec { n_in: 30, n_out: 3 }),
            Op::Conv(ConvSpec { window, c_out: 12 }),
        ] {
            let (mac, rest) = linear_split(&op, &Act::Relu, &fp).unwrap();
            let c_out = op.output_shape().c;
            let per_mac = mac as f64 / op.macs() as f64;
            // one constraint per (input, lane group): ⌈c_out/k⌉ / c_out per MAC
            let want = c_out.div_ceil(k) as f64 / c_out as f64;
            assert!((per_mac - want).abs() < 1e-9, "{op:?}: {per_mac} vs {want}");
            assert!(per_mac <= 1.1);
            // requantization + ReLU: fw + B bits and the ReLU product per output
            assert_eq!(rest, op.output_len() * (fp.fw + fp.bits + 1) as usize);
            assert!(rest as f64 / op.output_len() as f64 <= (fp.fw + fp.bits + 4) as f64);
        }
    }
}

#[test]
fn commitments_cost_what_their_blocks_cost() {
    // a chain of narrow-sponge blocks of 4 packed elements: about 317 constraints a block,
    // ≤ 6 a value at B = 16 (15 values a packed element), more where fewer values fit
    for (n, bits, per_value) in [
        (784, 16, 6.0),
        (4096, 16, 6.0),
        (4096, 20, 7.0),
        (4096, 24, 8.0),
    ] {
        let c = commit_cost(n, bits).unwrap();
        assert!(
            c as f64 / n as f64 <= per_value,
            "{n} values of {bits} bits: {c}"
        );
    }
}
