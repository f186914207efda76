//! Soundness: what a cheating prover would try, and the exact constraint that stops it.
//!
//! Each test synthesizes a step honestly, forges a consistent set of variables through the tamper
//! harness (so that everything else still holds) and asserts the exact list of unsatisfied
//! constraints. "Bits" below are the variables `…/b{i}` of a decomposition; `…/bit{i}` is the
//! booleanity constraint of bit `i`.

use crate::common::*;
use ff::Field as _;
use ff::PrimeField as _;
use kerafold_step_circuits::commit::{commit_native, open};
use kerafold_step_circuits::cs::TamperCs;
use kerafold_step_circuits::field::{from_i64, Field};
use kerafold_step_circuits::spec::*;
use kerafold_step_circuits::step::alloc_i64s;
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem};

const FP: FixedPoint = FixedPoint {
    fa: 4,
    fw: 5,
    bits: 12,
    guard: 1,
};
const B: u32 = FP.bits;
const FW: u32 = FP.fw;

/// The integer encoded by the bits `{prefix}/b0..b{n−1}` in `cs`.
fn bits_of<F: Field>(cs: &TamperCs<F>, prefix: &str, n: u32) -> u128 {
    (0..n).fold(0u128, |acc, i| {
        let b = cs.value(&format!("{prefix}/b{i}")).expect("bit");
        acc | (((b == F::ONE) as u128) << i)
    })
}

/// One bit replaced by an arbitrary field value (the others as in `value`).
fn bits_with<F: Field>(prefix: &str, value: u128, n: u32, i: u32, bit: F) -> Vec<(String, F)> {
    let mut v = bits::<F>(prefix, value, n);
    v[i as usize].1 = bit;
    v
}

fn pow2<F: Field>(k: u32) -> F {
    kerafold_step_circuits::field::pow2(k)
}

/// Dense 2 → 3: q = [16, −20, 61], r = [22, 23, 15].
fn dense(act: Act) -> Case {
    Case::new(
        Op::Dense(DenseSpec { n_in: 2, n_out: 3 }),
        act,
        vec![100, -37],
        FP,
    )
    .weights(vec![7, -3, 12, 5, 9, -20], vec![3, 0, 11])
}

fn honest<F: Field>(case: &Case) -> TamperCs<F> {
    check::<F>(case).expect("honest case in range")
}

fn assert_fails<F: Field>(case: &Case, forged: Vec<(String, F)>, expected: &[&str]) {
    let cs = tampered::<F>(case, &forged);
    assert_eq!(cs.unsatisfied(), expected, "forged {forged:?}");
    assert_eq!(cs.which_is_unsatisfied(), expected.first().copied());
}

// ---------------------------------------------------------------------------------------------
// Requantization (the circomlib-ml 2.x attack: quotient ± 1, remainder compensating)

fn requant_forgery<F: Field>(dq: i64) {
    let case = dense(Act::Linear);
    let cs = honest::<F>(&case);
    let (o, q) = (1usize, -20i64);
    let r = bits_of(&cs, "op/out1/r", FW);
    let u = bits_of(&cs, "op/out1/u", B);
    assert_eq!((u as i64 - (1 << (B - 1)), r), (q, 23));
    // q' = q + dq and r' = r − dq·2^fw keep the lane sum; r' is not a fw-bit number, so the
    // prover has to put a non-boolean value on some bit to recompose it
    let mut forged = bits::<F>(&format!("op/out{o}/u"), (u as i64 + dq) as u128, B);
    let b0 = F::from((r & 1) as u64) - from_i64::<F>(dq) * pow2::<F>(FW);
    forged.extend(bits_with::<F>(&format!("op/out{o}/r"), r, FW, 0, b0));
    forged.push((format!("act/out{o}/y/num"), from_i64(q + dq)));
    assert_fails(&case, forged, &["op/out1/r/bit0"]);

    // with booleans only (r unchanged) the lane sum breaks
    let mut forged = bits::<F>(&format!("op/out{o}/u"), (u as i64 + dq) as u128, B);
    forged.push((format!("act/out{o}/y/num"), from_i64(q + dq)));
    assert_fails(&case, forged, &["op/grp0/lane_sum"]);
}

#[test]
fn quotient_plus_one_with_compensating_remainder_fails_at_the_remainder_bits() {
    requant_forgery::<Fb>(1);
    requant_forgery::<Fp>(1);
}

#[test]
fn quotient_minus_one_with_compensating_remainder_fails_at_the_remainder_bits() {
    requant_forgery::<Fb>(-1);
    requant_forgery::<Fp>(-1);
}

#[test]
fn remainder_of_2_pow_fw_or_more_fails_at_its_top_bit() {
    // r' = r + 2^fw, q' = q − 1: the top remainder bit would have to be 3 (= 1 + 2)
    let case = dense(Act::Linear);
    let cs = honest::<Fb>(&case);
    let r = bits_of(&cs, "op/out2/r", FW);
    let u = bits_of(&cs, "op/out2/u", B);
    let top = ((r >> (FW - 1)) & 1) as u64;
    let mut forged = bits_with::<Fb>("op/out2/r", r, FW, FW - 1, Fb::from(top + 2));
    forged.extend(bits::<Fb>("op/out2/u", u - 1, B));
    forged.push(("act/out2/y/num".into(), from_i64(61 - 1)));
    assert_fails(&case, forged, &["op/out2/r/bit4"]);
}

#[test]
fn carry_between_lanes_fails_at_the_quotient_top_bit() {
    // lane 0 gains 2^lane_bits and lane 1 loses 1: the packed sum is unchanged, but lane 0's
    // quotient would need 2^(B+guard) more, i.e. its top bit 1 + 2^(guard+1)
    let case = dense(Act::Linear);
    let cs = honest::<Fb>(&case);
    let u0 = bits_of(&cs, "op/out0/u", B);
    let r1 = bits_of(&cs, "op/out1/r", FW);
    assert!(r1 >= 1);
    let top = ((u0 >> (B - 1)) & 1) as u64;
    let g = FP.guard;
    let mut forged = bits_with::<Fb>("op/out0/u", u0, B, B - 1, Fb::from(top + (2 << g)));
    forged.extend(bits::<Fb>("op/out1/r", r1 - 1, FW));
    forged.push(("act/out0/y/num".into(), from_i64(16 + (1 << (B + g)))));
    assert_fails(&case, forged, &["op/out0/u/bit11"]);
}

// ---------------------------------------------------------------------------------------------
// ReLU sign aliasing

#[test]
fn relu_cannot_zero_a_positive_value_by_flipping_its_sign_bit() {
    {
        let case = dense(Act::Relu);
        let cs = honest::<Fb>(&case);
        let u = bits_of(&cs, "op/out0/u", B);
        assert_eq!(cs.value("act/out0/y/num"), Some(Fb::from(16)));
        // sign bit 1 → 0, compensated on bit 0: same value, so the lane sum holds
        let mut forged = bits::<Fb>("op/out0/u", u, B);
        forged[(B - 1) as usize].1 = Fb::ZERO;
        forged[0].1 = Fb::from((u & 1) as u64) + pow2::<Fb>(B - 1);
        forged.push(("act/out0/y/num".into(), Fb::ZERO));
        assert_fails(&case, forged, &["op/out0/u/bit0"]);
    }
}

/// The low `n` bits of `v + p` (the alias of `v`).
fn alias_bits<F: Field>(v: u128, n: u32) -> u128 {
    let m1 = (-F::ONE).to_le_bits(); // p − 1
    let p_low = (0..n).fold(0u128, |a, i| a | ((m1[i as usize] as u128) << i)) + 1;
    (v + p_low) & ((1u128 << n) - 1)
}

fn identity_relu_alias<F: Field>() {
    let case = Case::new(Op::Identity { n: 2 }, Act::Relu, vec![700, -3], FP);
    let cs = honest::<F>(&case);
    let u = bits_of(&cs, "act/out0/sign", B);
    assert_eq!(u, 700 + (1 << (B - 1)));
    // (a) flipped sign bit, compensated by a non-boolean bit
    let mut forged = bits::<F>("act/out0/sign", u, B);
    forged[(B - 1) as usize].1 = F::ZERO;
    forged[0].1 = F::from((u & 1) as u64) + pow2::<F>(B - 1);
    forged.push(("act/out0/y/num".into(), F::ZERO));
    assert_fails(&case, forged, &["act/out0/sign/bit0"]);
    // (b) the bits of v + p: only B of them exist, so they cannot recompose to v
    let a = alias_bits::<F>(u, B);
    let s = (a >> (B - 1)) & 1;
    let mut forged = bits::<F>("act/out0/sign", a, B);
    forged.push(("act/out0/y/num".into(), F::from(700 * s as u64)));
    assert_fails(&case, forged, &["act/out0/sign/recompose"]);
}

#[test]
fn relu_sign_has_no_alias_decomposition() {
    identity_relu_alias::<Fb>();
    identity_relu_alias::<Fp>();
}

#[test]
fn an_8_bit_range_check_has_exactly_one_boolean_decomposition() {
    // exhaustive: of all 256 boolean assignments only the honest one recomposes
    let fp = FixedPoint {
        fa: 2,
        fw: 2,
        bits: 8,
        guard: 1,
    };
    let case = Case::new(Op::Identity { n: 1 }, Act::Relu, vec![37], fp);
    honest::<Fp>(&case);
    for pattern in 0u128..256 {
        let mut forged = bits::<Fp>("act/out0/sign", pattern, 8);
        let s = (pattern >> 7) as u64;
        forged.push(("act/out0/y/num".into(), Fp::from(37 * s)));
        let cs = tampered::<Fp>(&case, &forged);
        if pattern == 37 + 128 {
            assert!(cs.is_satisfied());
        } else {
            assert_eq!(cs.unsatisfied(), ["act/out0/sign/recompose"]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Max pooling

fn maxpool() -> Case {
    let window =
        Window::keras(Shape3::new(2, 2, 1), (2, 2), (2, 2), (1, 1), Padding::Valid).unwrap();
    Case::new(
        Op::MaxPool(PoolSpec { window }),
        Act::Linear,
        vec![5, -3, 9, 2],
        FP,
    )
}

/// Overrides for a max pool output claiming the maximum `m` of `xs`.
fn forge_max(xs: &[i64], m: i64, keep_honest: &[usize]) -> Vec<(String, Fb)> {
    let mut f = vec![("op/out0/m/num".to_string(), from_i64::<Fb>(m))];
    for (i, x) in xs.iter().enumerate() {
        if !keep_honest.contains(&i) {
            f.extend(bits::<Fb>(&format!("op/out0/d{i}"), (m - x) as u128, B));
        }
    }
    let d = |i: usize| from_i64::<Fb>(m - xs[i]);
    f.push(("op/out0/c1/num".into(), d(0) * d(1)));
    f.push(("op/out0/c2/num".into(), d(0) * d(1) * d(2)));
    f
}

#[test]
fn a_max_that_is_not_an_input_fails_the_product() {
    let case = maxpool();
    honest::<Fb>(&case);
    // 10 is above every input: all differences are valid, their product is not zero
    assert_fails(&case, forge_max(&case.x, 10, &[]), &["op/out0/is_one_of"]);
}

#[test]
fn a_max_below_an_input_fails_that_inputs_range_check() {
    let case = maxpool();
    honest::<Fb>(&case);
    // 5 is an input but below 9: m − 9 = −4 has no B-bit decomposition
    assert_fails(
        &case,
        forge_max(&case.x, 5, &[2]),
        &["op/out0/d2/recompose"],
    );
    let mut forged = forge_max(&case.x, 5, &[2]);
    forged.extend(bits_with::<Fb>("op/out0/d2", 0, B, 0, from_i64(-4)));
    assert_fails(&case, forged, &["op/out0/d2/bit0"]);
}

// ---------------------------------------------------------------------------------------------
// ArgMax

fn forge_argmax(xs: &[i64], idx: usize) -> Vec<(String, Fb)> {
    let m = xs[idx];
    let mut f = vec![("argmax/idx/num".to_string(), Fb::from(idx as u64))];
    for (j, &x) in xs.iter().enumerate() {
        f.push((format!("argmax/e/b{j}"), Fb::from((j == idx) as u64)));
        f.push((
            format!("argmax/sel/p{j}"),
            from_i64(if j == idx { x } else { 0 }),
        ));
        let c = m - x - (j < idx) as i64;
        if c >= 0 {
            f.extend(bits::<Fb>(&format!("argmax/cmp{j}"), c as u128, B));
        }
    }
    f
}

#[test]
fn argmax_rejects_a_later_tie() {
    let case = Case::new(Op::ArgMax { n: 4 }, Act::Linear, vec![1, 5, 5, 2], FP);
    let cs = honest::<Fb>(&case);
    assert_eq!(cs.value("argmax/idx/num"), Some(Fb::from(1)));
    // index 2 holds the maximum too, but index 1 comes first: 5 > 5 fails
    assert_fails(&case, forge_argmax(&case.x, 2), &["argmax/cmp1/recompose"]);
}

#[test]
fn one_logit_is_class_one_only_if_positive() {
    // a binary classifier's logit: class [x > 0], the first maximum of (0, x)
    for (x, class) in [(-3i64, 0u64), (0, 0), (7, 1)] {
        let case = Case::new(Op::ArgMax { n: 1 }, Act::Linear, vec![x], FP);
        let cs = honest::<Fb>(&case);
        assert_eq!(cs.value("argmax/idx/num"), Some(Fb::from(class)), "x = {x}");
        if class == 1 {
            continue;
        }
        // claiming class 1 needs x > 0: x − 0 − 1 ≥ 0 has no decomposition
        let mut forged = forge_argmax(&[0, x], 1);
        forged.retain(|(name, _)| name != "argmax/sel/p0");
        assert_fails(&case, forged, &["argmax/cmp0/recompose"]);
    }
}

#[test]
fn argmax_rejects_a_non_maximum() {
    let case = Case::new(Op::ArgMax { n: 4 }, Act::Linear, vec![1, 5, 5, 2], FP);
    honest::<Fb>(&case);
    assert_fails(
        &case,
        forge_argmax(&case.x, 3),
        &["argmax/cmp1/recompose", "argmax/cmp2/recompose"],
    );
    // claiming two indices at once breaks the one-hot sum
    let mut forged = forge_argmax(&case.x, 1);
    forged.push(("argmax/e/b2".into(), Fb::ONE));
    forged.push(("argmax/sel/p2".into(), Fb::from(5)));
    let cs = tampered::<Fb>(&case, &forged);
    assert_eq!(cs.which_is_unsatisfied(), Some("argmax/one_hot"));
}

// ---------------------------------------------------------------------------------------------
// Out-of-range activations

#[test]
fn an_out_of_range_sum_fails_its_range_check() {
    let case = Case::new(Op::merge(Merge::Add, 1), Act::Linear, vec![2046], FP).skip(vec![1]);
    honest::<Fb>(&case);
    // x = 2047 makes x + skip = 2048 = 2^(B−1): one past the top of the range
    let mut forged = vec![
        ("x0/num".to_string(), Fb::from(2047)),
        ("act/out0/y/num".to_string(), Fb::from(2048)),
    ];
    assert_fails(&case, forged.clone(), &["op/out0/v/recompose"]);
    // offset form 4096 = 2^B: bit 0 would have to be 2 (honest bits of 4095 are all ones)
    forged.extend(bits_with::<Fb>("op/out0/v", 4095, B, 0, Fb::from(2)));
    assert_fails(&case, forged, &["op/out0/v/bit0"]);
}

#[test]
fn opening_rejects_an_out_of_range_value() {
    let values = [3i64, -2048, 2047, 100];
    let blind = Fb::from(77);
    let expected = commit_native::<Fb>(&values, B, blind);
    let run = |forged: &[(String, Fb)]| {
        let mut cs = TamperCs::<Fb>::new();
        for (p, v) in forged {
            cs.override_value(p.clone(), *v);
        }
        let x = alloc_i64s(&mut cs, "x", &values).unwrap();
        let bl = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(blind)).unwrap();
        let e = AllocatedNum::alloc(cs.namespace(|| "expected"), || Ok(expected)).unwrap();
        let opened = open(&mut cs, &x, &bl, B, &e).unwrap();
        assert_eq!(
            opened.values[1].sign.as_ref().unwrap().get_value(),
            Some(false)
        );
        cs
    };
    assert!(run(&[]).is_satisfied());
    // 2048 is one past the range: its offset 4096 has no 12-bit decomposition
    let cs = run(&[("x2/num".into(), Fb::from(2048))]);
    assert_eq!(cs.which_is_unsatisfied(), Some("range2/recompose"));
    let mut forged = vec![("x2/num".to_string(), Fb::from(2048))];
    forged.extend(bits_with::<Fb>("range2", 4095, B, 0, Fb::from(2)));
    let cs = run(&forged);
    assert_eq!(cs.which_is_unsatisfied(), Some("range2/bit0"));
    // honest out-of-range witnesses are a synthesis error, not a panic
    let mut cs = TamperCs::<Fb>::new();
    let x = alloc_i64s(&mut cs, "x", &[2048]).unwrap();
    let bl = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(blind)).unwrap();
    assert!(open(&mut cs, &x, &bl, B, &bl).is_err());
}

#[test]
fn a_wrong_opening_fails_the_equality() {
    let values = [3i64, -7, 0, 1000, -2048];
    let blind = Fp::from(123456789);
    for (vals, bl) in [
        (vec![3i64, -7, 0, 1001, -2048], blind),
        (values.to_vec(), blind + Fp::ONE),
        (vec![-7i64, 3, 0, 1000, -2048], blind),
    ] {
        let wrong = commit_native::<Fp>(&vals, B, bl);
        let mut cs = TamperCs::<Fp>::new();
        let x = alloc_i64s(&mut cs, "x", &values).unwrap();
        let b = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(blind)).unwrap();
        let e = AllocatedNum::alloc(cs.namespace(|| "expected"), || Ok(wrong)).unwrap();
        open(&mut cs, &x, &b, B, &e).unwrap();
        assert_eq!(cs.unsatisfied(), ["eq"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Average pooling

#[test]
fn avg_remainder_of_cnt_or_more_fails() {
    let w3 = Window::keras(Shape3::new(1, 3, 1), (1, 3), (1, 1), (1, 1), Padding::Valid).unwrap();
    let case = Case::new(
        Op::AvgPool(PoolSpec { window: w3 }),
        Act::Linear,
        vec![4, 5, 6],
        FP,
    );
    let cs = honest::<Fb>(&case);
    assert_eq!(bits_of(&cs, "op/out0/r", 2), 0);
    // sum 15 = 4·3 + 3: r = 3 fits in 2 bits, but cnt − 1 − r = −1 does not
    let off = 1u128 << (B - 1);
    let mut forged = bits::<Fb>("op/out0/q", 4 + off, B);
    forged.extend(bits::<Fb>("op/out0/r", 3, 2));
    forged.push(("act/out0/y/num".into(), Fb::from(4)));
    assert_fails(&case, forged, &["op/out0/rc/recompose"]);

    // a power-of-two count has r in log2(cnt) bits: r = 4 needs bit 1 = 2
    let w4 = Window::keras(Shape3::new(1, 4, 1), (1, 4), (1, 1), (1, 1), Padding::Valid).unwrap();
    let case = Case::new(
        Op::AvgPool(PoolSpec { window: w4 }),
        Act::Linear,
        vec![4, 5, 6, 1],
        FP,
    );
    honest::<Fb>(&case);
    let mut forged = bits::<Fb>("op/out0/q", 3 + off, B);
    forged.extend(bits_with::<Fb>("op/out0/r", 0, 2, 1, Fb::from(2)));
    forged.push(("act/out0/y/num".into(), Fb::from(3)));
    assert_fails(&case, forged, &["op/out0/r/bit1"]);
}

// ---------------------------------------------------------------------------------------------
// Second requantizations: LeakyReLU and the polynomial

/// Forges `q2 ± …` of a second requantization at `{ns}`: `(q2 + dq, r2 − dq·2^shift)` with the
/// remainder compensated on bit 0, or a wild `q2 = q2 − dr/2^shift` with `r2 + dr`.
fn second_requant(case: &Case, ns: &str, shift: u32) {
    let cs = honest::<Fb>(case);
    let r2 = bits_of(&cs, &format!("{ns}/r"), shift);
    let u2 = bits_of(&cs, &format!("{ns}/q2"), B);
    let q2 = u2 as i64 - (1 << (B - 1));
    let y = format!("{ns}/y/num");

    let mut forged = bits::<Fb>(&format!("{ns}/q2"), u2 + 1, B);
    let b0 = Fb::from((r2 & 1) as u64) - pow2::<Fb>(shift);
    forged.extend(bits_with::<Fb>(&format!("{ns}/r"), r2, shift, 0, b0));
    forged.push((y.clone(), from_i64(q2 + 1)));
    assert_fails(case, forged, &[&format!("{ns}/r/bit0")]);

    // another remainder makes q2 a non-integer field element: its bits cannot express it
    assert!(r2 + 1 < 1 << shift);
    let delta = pow2::<Fb>(shift).invert().unwrap();
    let mut forged = bits::<Fb>(&format!("{ns}/r"), r2 + 1, shift);
    let b0 = Fb::from((u2 & 1) as u64) - delta;
    forged.extend(bits_with::<Fb>(&format!("{ns}/q2"), u2, B, 0, b0));
    forged.push((y, from_i64::<Fb>(q2) - delta));
    assert_fails(case, forged, &[&format!("{ns}/q2/bit0")]);
}

#[test]
fn leaky_q2_cannot_be_forged() {
    // output 1 is negative (−20), so y = q2 = round(13·(−20)/128) = −2
    let case = dense(Act::Leaky { k: 13, m: 7 });
    let cs = honest::<Fb>(&case);
    assert_eq!(cs.value("act/out1/leaky/y/num"), Some(from_i64(-2)));
    second_requant(&case, "act/out1/leaky", 7);
}

#[test]
fn poly_q2_cannot_be_forged() {
    let case = dense(Act::Poly { c: 8 });
    second_requant(&case, "act/out1/poly", FP.fa);
}

/// Three segments on the 12-bit range: `0` below −16, `q/2 + 8` on [−16, 15], `16` from 16 up.
fn pwl() -> Act {
    let seg = |from, slope, offset| Segment {
        from,
        slope,
        offset,
    };
    Act::Pwl(Pwl {
        label: "test".into(),
        shift: 16,
        segments: vec![
            seg(FP.min(), 0, 0),
            seg(-16, 1 << 15, 8 << 16),
            seg(16, 0, 16 << 16),
        ],
    })
}

#[test]
fn pwl_q2_cannot_be_forged() {
    let case = dense(pwl());
    let cs = honest::<Fb>(&case);
    // q = [16, −20, 61] → segments 2, 0, 2 → y = [16, 0, 16]
    for (o, y) in [(0, 16), (1, 0), (2, 16)] {
        assert_eq!(
            cs.value(&format!("act/out{o}/pwl/y/num")),
            Some(from_i64(y))
        );
    }
    second_requant(&case, "act/out1/pwl", 16);
}

#[test]
fn pwl_segment_cannot_be_switched() {
    // q = −20 lies in segment 0 (y = 0); segment 1's line gives −20/2 + 8 = −2, with every
    // other variable consistent, but q − (−16) = −4 has no 12-bit decomposition
    let case = dense(pwl());
    honest::<Fb>(&case);
    let ns = "act/out1/pwl";
    let mut forged = bits::<Fb>(&format!("{ns}/seg"), 0b010, 3);
    forged.extend(bits_with::<Fb>(&format!("{ns}/lo"), 0, B, 0, from_i64(-4)));
    forged.extend(bits::<Fb>(&format!("{ns}/hi"), 15 + 20, B));
    // −20·2^15 + 8·2^16 + 2^15 = −1.5·2^16: q2 = −2, r2 = 2^15
    forged.extend(bits::<Fb>(&format!("{ns}/r"), 1 << 15, 16));
    forged.extend(bits::<Fb>(
        &format!("{ns}/q2"),
        (-2 + (1 << (B - 1))) as u128,
        B,
    ));
    forged.push((format!("{ns}/y/num"), from_i64(-2)));
    assert_fails(&case, forged, &[&format!("{ns}/lo/bit0")]);
}

#[test]
fn pwl_selector_must_be_one_hot() {
    // selecting segments 0 and 1 at once adds their bounds and lines: −20 lies in the summed
    // bounds [−2064, −2] and the summed line is segment 1's, so only the one-hot sum fails
    let case = dense(pwl());
    honest::<Fb>(&case);
    let ns = "act/out1/pwl";
    let mut forged = bits::<Fb>(&format!("{ns}/seg"), 0b011, 3);
    forged.extend(bits::<Fb>(
        &format!("{ns}/lo"),
        (-20 + 2048 + 16) as u128,
        B,
    ));
    forged.extend(bits::<Fb>(&format!("{ns}/hi"), (-2 + 20) as u128, B));
    forged.extend(bits::<Fb>(&format!("{ns}/r"), 1 << 15, 16));
    forged.extend(bits::<Fb>(
        &format!("{ns}/q2"),
        (-2 + (1 << (B - 1))) as u128,
        B,
    ));
    forged.push((format!("{ns}/y/num"), from_i64(-2)));
    assert_fails(&case, forged, &[&format!("{ns}/one_hot")]);
}

#[test]
fn transposed_convolution_zeros_cannot_be_filled() {
    // a Conv2DTranspose runs as a conv over its input dilated by its stride and padded: the
    // inserted zeros are one shared variable, and giving it a value breaks `zero_is_zero` (the
    // conv skips its products, so nothing else reads it)
    let input = Shape3::new(2, 2, 1);
    let dil = ViewOp::Dilate {
        input,
        sy: 2,
        sx: 2,
    };
    let pad = ViewOp::ZeroPad {
        input: dil.output_shape(),
        top: 1,
        bottom: 1,
        left: 1,
        right: 1,
    };
    let window = Window::keras(pad.output_shape(), (2, 2), (1, 1), (1, 1), Padding::Valid).unwrap();
    let case = Case::new(
        Op::Conv(ConvSpec { window, c_out: 1 }),
        Act::Linear,
        vec![3, -5, 7, 2],
        FP,
    )
    .weights(vec![4, -2, 1, 3], vec![0])
    .views(vec![dil, pad]);
    let cs = honest::<Fb>(&case);
    assert_eq!(cs.value("views/zero/num"), Some(Fb::ZERO));
    assert_fails(
        &case,
        vec![("views/zero/num".into(), Fb::from(9))],
        &["views/zero_is_zero"],
    );
}

#[test]
fn clip_flag_cannot_be_flipped() {
    // q = 61 > hi = 48: the flag c = [q ≤ hi] is 0; claiming 1 would output 61
    let case = dense(Act::Clip { hi: 48 });
    let cs = honest::<Fb>(&case);
    assert_eq!(cs.value("act/out2/y/num"), Some(Fb::from(48)));
    let v = bits_of(&cs, "act/out2/clip", B + 1);
    assert_eq!(v, (48 - 61 + (1 << B)) as u128);
    let mut forged = bits::<Fb>("act/out2/clip", v, B + 1);
    forged[B as usize].1 = Fb::ONE;
    forged[0].1 = Fb::from((v & 1) as u64) - pow2::<Fb>(B);
    forged.push(("act/out2/clip/m/num".into(), Fb::from(61)));
    forged.push(("act/out2/y/num".into(), Fb::from(61)));
    assert_fails(&case, forged, &["act/out2/clip/bit0"]);
}

#[test]
fn weights_are_bound_to_their_variables() {
    // a different kernel element with the same outputs' bits breaks the lane sum: the circuit
    // uses the committed weights, not the prover's choice
    let case = dense(Act::Linear);
    honest::<Fb>(&case);
    let w0 = kerafold_step_circuits::field::pack_lanes::<Fb, i64>(&[8, -3, 12], FP.lane_bits());
    assert_fails(&case, vec![("w0/num".into(), w0)], &["op/grp0/mul0"]);
}

// ---------------------------------------------------------------------------------------------
// Overflow: a lane whose activation leaves the range has no decomposition at all

#[test]
fn an_overflowing_lane_cannot_carry_into_its_neighbour() {
    // Dense 1 → 2, w = [100, 0]. The quantizer sizes the guard for any in-range input:
    // Σ|w|·2^(B−1) + OFF = 100·2048 + 65552 < 2^18, so lanes are 19 bits (guard 2). With the
    // input forged to 1000 (lane 0 accumulates 100000, requantized 3125: out of the 12-bit
    // range), the old "carry" solution (lane 0 keeps its low bits, lane 1 absorbs the carry) no
    // longer adds up: the carry would land in lane 0's guard bits, which do not exist.
    let fp = FixedPoint { guard: 2, ..FP };
    let case = Case::new(
        Op::Dense(DenseSpec { n_in: 1, n_out: 2 }),
        Act::Linear,
        vec![1],
        fp,
    )
    .weights(vec![100, 0], vec![0, 0]);
    honest::<Fb>(&case);
    let s = fp.lane_bits();
    let off = (1i64 << (FW - 1)) + (1i64 << (FW + B - 1));
    let lane0 = 100_000 + off;
    assert!(lane0 >= 1 << (FW + B) && lane0 < 1 << (s - 1));
    let (d0, d1) = (lane0 - (1 << (FW + B)), off + 1);
    let mut forged = vec![("x0/num".to_string(), Fb::from(1000))];
    forged.extend(bits::<Fb>("op/out0/r", (d0 & 31) as u128, FW));
    forged.extend(bits::<Fb>("op/out0/u", (d0 >> FW) as u128, B));
    forged.extend(bits::<Fb>("op/out1/r", (d1 & 31) as u128, FW));
    forged.extend(bits::<Fb>("op/out1/u", (d1 >> FW) as u128, B));
    forged.push((
        "act/out0/y/num".into(),
        from_i64((d0 >> FW) - (1 << (B - 1))),
    ));
    forged.push((
        "act/out1/y/num".into(),
        from_i64((d1 >> FW) - (1 << (B - 1))),
    ));
    let cs = tampered::<Fb>(&case, &forged);
    assert_eq!(cs.unsatisfied(), vec!["op/grp0/lane_sum"]);
}

#[test]
fn an_overflowing_lane_has_no_boolean_decomposition_exhaustively() {
    // Tiny parameters so every assignment can be tried: fw = 2, B = 4, w = [7, 0], guard as the
    // quantizer sizes it (Σ|w|·2^3 + OFF = 56 + 34 < 2^7 → lanes of 8 bits, guard 2). The input
    // is forged to 7 (in range): acc = 49 requantizes to 12 > 7, an overflow. No boolean
    // assignment of the 12 remainder/quotient bits of the two lanes satisfies the lane sum.
    let fp = FixedPoint {
        fa: 1,
        fw: 2,
        bits: 4,
        guard: 2,
    };
    let case = Case::new(
        Op::Dense(DenseSpec { n_in: 1, n_out: 2 }),
        Act::Linear,
        vec![1],
        fp,
    )
    .weights(vec![7, 0], vec![0, 0]);
    honest::<Fb>(&case);
    assert!(kerafold_step_circuits::native::dense(
        &DenseSpec { n_in: 1, n_out: 2 },
        &[7],
        &[7, 0],
        &[0, 0],
        &fp
    )
    .is_err());
    for v in 0u128..(1 << 12) {
        let mut forged = vec![("x0/num".to_string(), Fb::from(7))];
        forged.extend(bits::<Fb>("op/out0/r", v & 3, 2));
        forged.extend(bits::<Fb>("op/out0/u", (v >> 2) & 15, 4));
        forged.extend(bits::<Fb>("op/out1/r", (v >> 6) & 3, 2));
        forged.extend(bits::<Fb>("op/out1/u", (v >> 8) & 15, 4));
        let cs = tampered::<Fb>(&case, &forged);
        assert!(
            cs.unsatisfied().contains(&"op/grp0/lane_sum"),
            "assignment {v:#x} satisfies the lane sum"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Private weights that wrap (security issue, path 2): the packed linear gadget relies on the
// guard bound; for weights the verifier never sees, `wellformed::enforce` proves it.

/// The issue's witness: Dense 1→2, fw = 5, B = 12, guard = 2 (S = 19), w = [65536, 0], b = 0.
/// The lane is a valid packing, but 8·65536 = 2^19 carries into lane 1. With x0 = 8 and
/// r1 = 17 the lane sum holds, although the twin rejects these weights on this input.
#[test]
fn wrapping_private_weights_satisfy_linear_alone_and_fail_the_wellformedness_check() {
    use kerafold_step_circuits::packing;
    use kerafold_step_circuits::wellformed;
    let fp = FixedPoint {
        fa: 4,
        fw: 5,
        bits: 12,
        guard: 2,
    };
    let op = Op::Dense(DenseSpec { n_in: 1, n_out: 2 });
    let bad = kerafold_step_circuits::native::Weights {
        w: vec![65536, 0],
        b: vec![0, 0],
    };
    assert!(kerafold_step_circuits::native::dense(
        &DenseSpec { n_in: 1, n_out: 2 },
        &[8],
        &bad.w,
        &bad.b,
        &fp
    )
    .is_err());
    let e: Fb = packing::pack::<Fb>(&op, &bad, &fp).w[0];
    assert_eq!(
        packing::unpack::<Fb>(&op, &[e], &packing::pack::<Fb>(&op, &bad, &fp).b, &fp),
        Some(bad.clone())
    );
    // honest synthesis of in-bound weights on x = [8], then the forger's values
    let case = Case::new(op, Act::Linear, vec![8], fp).weights(vec![1, 0], vec![0, 0]);
    honest::<Fb>(&case);
    let mut forged = vec![("w0/num".to_string(), e)];
    forged.extend(bits::<Fb>("op/out0/r", 16, 5));
    forged.extend(bits::<Fb>("op/out1/r", 17, 5));
    let cs = tampered::<Fb>(&case, &forged);
    assert_eq!(
        cs.unsatisfied(),
        Vec::<&str>::new(),
        "the attack: linear alone accepts wrapping lanes"
    );

    // the same forgery, with the weights' well-formedness enforced on the very same variables
    let mut cs = TamperCs::<Fb>::new();
    for (p, v) in &forged {
        cs.override_value(p.clone(), *v);
    }
    let p = packing::pack::<Fb>(&op, &case.weights, &fp);
    let x = alloc_i64s(&mut cs, "x", &case.x).unwrap();
    let w = kerafold_step_circuits::step::alloc_nums(&mut cs, "w", &[Some(p.w[0])]).unwrap();
    let b = kerafold_step_circuits::step::alloc_nums(&mut cs, "b", &[Some(p.b[0])]).unwrap();
    kerafold_step_circuits::step::step(&mut cs, &op, &Act::Linear, &[], &x, None, &w, &b, &fp)
        .unwrap();
    wellformed::enforce(&mut cs.namespace(|| "wf"), &op, &w, &b, &fp).unwrap();
    assert!(cs.unused_overrides().is_empty());
    assert_eq!(cs.unsatisfied(), vec!["wf/k0/recompose"]);
}

// ---------------------------------------------------------------------------------------------
// Merges with the saved tensor

/// The offset form `v + 2^(B−1)` of an activation, as range checks decompose it.
fn offset(v: i64) -> u128 {
    (v + (1 << (B - 1))) as u128
}

#[test]
fn a_subtraction_cannot_swap_its_operands() {
    // Keras' Subtract([saved, x]) is s − x; the prover may not output x − s instead
    let op = Op::Merge {
        merge: Merge::Subtract,
        n: 1,
        saved_first: true,
        keep: false,
    };
    let case = Case::new(op, Act::Linear, vec![5], FP).skip(vec![3]);
    let cs = honest::<Fb>(&case);
    assert_eq!(val(&cs, "act/out0/y/num"), -2);
    // the output is the checked difference itself: claiming x − s = 2 fails it
    let forged = vec![("act/out0/y/num".to_string(), Fb::from(2))];
    assert_fails(&case, forged, &["act/out0/y_eq"]);
    // and a decomposition of x − s is not one of s − x
    let mut forged = bits::<Fb>("op/out0/v", offset(2), B);
    forged.push(("act/out0/y/num".into(), Fb::from(2)));
    assert_fails(&case, forged, &["op/out0/v/recompose", "act/out0/y_eq"]);
}

#[test]
fn a_product_cannot_be_requantized_off_by_one() {
    // 40·(−20) = −800 at scale 2^8; + 8 = −792 = 16·(−50) + 8: q = −50, r = 8
    let case = Case::new(Op::merge(Merge::Multiply, 1), Act::Linear, vec![40], FP).skip(vec![-20]);
    let cs = honest::<Fb>(&case);
    assert_eq!(val(&cs, "act/out0/y/num"), -50);
    for dq in [-1i64, 1] {
        // the remainder compensates by ∓16, which leaves its 4 bits
        let mut forged = bits::<Fb>("op/out0/q", offset(-50 + dq), B);
        forged.push(("act/out0/y/num".into(), fe(-50 + dq)));
        assert_fails(&case, forged, &["op/out0/product"]);
    }
}

#[test]
fn an_average_floors_and_cannot_round_the_other_way() {
    // (4 + 3) / 2 = 3 remainder 1
    let case = Case::new(Op::merge(Merge::Average, 1), Act::Linear, vec![4], FP).skip(vec![3]);
    let cs = honest::<Fb>(&case);
    assert_eq!(val(&cs, "act/out0/y/num"), 3);
    // q = 4 needs the remainder −1: a field element that is not a bit
    let mut forged = bits::<Fb>("op/out0/q", offset(4), B);
    forged.push(("op/out0/r/b0".into(), fe(-1)));
    forged.push(("act/out0/y/num".into(), Fb::from(4)));
    assert_fails(&case, forged.clone(), &["op/out0/r/bit0"]);
    forged.pop();
    forged.pop();
    forged.push(("op/out0/r/b0".into(), Fb::ZERO));
    forged.push(("act/out0/y/num".into(), Fb::from(4)));
    assert_fails(&case, forged, &["op/out0/halve"]);
}

#[test]
fn a_maximum_is_one_of_its_operands_and_above_both() {
    let case = Case::new(Op::merge(Merge::Maximum, 1), Act::Linear, vec![-7], FP).skip(vec![9]);
    let cs = honest::<Fb>(&case);
    assert_eq!(val(&cs, "op/out0/m/num"), 9);
    // the smaller operand: 9 − (−7)… claimed m = −7 leaves m − s = −16 with no decomposition
    let mut forged = vec![("op/out0/m/num".to_string(), fe(-7))];
    forged.extend(bits::<Fb>("op/out0/da", 0, B));
    assert_fails(&case, forged, &["op/out0/db/recompose"]);
    // a value above both: 10 − (−7) = 17, 10 − 9 = 1, both in range, product not zero
    let mut forged = vec![("op/out0/m/num".to_string(), Fb::from(10))];
    forged.extend(bits::<Fb>("op/out0/da", 17, B));
    forged.extend(bits::<Fb>("op/out0/db", 1, B));
    assert_fails(&case, forged, &["op/out0/is_one_of"]);
}

#[test]
fn a_minimum_is_one_of_its_operands_and_below_both() {
    let case = Case::new(Op::merge(Merge::Minimum, 1), Act::Linear, vec![-7], FP).skip(vec![9]);
    let cs = honest::<Fb>(&case);
    assert_eq!(val(&cs, "op/out0/m/num"), -7);
    // the larger operand: s − m = 0 but x − m = −16 has no decomposition
    let mut forged = vec![("op/out0/m/num".to_string(), Fb::from(9))];
    forged.extend(bits::<Fb>("op/out0/db", 0, B));
    assert_fails(&case, forged, &["op/out0/da/recompose"]);
    // a value below both: product of two positive differences
    let mut forged = vec![("op/out0/m/num".to_string(), fe(-8))];
    forged.extend(bits::<Fb>("op/out0/da", 1, B));
    forged.extend(bits::<Fb>("op/out0/db", 17, B));
    assert_fails(&case, forged, &["op/out0/is_one_of"]);
}

#[test]
fn a_concatenation_keeps_its_operand_order() {
    // (x ++ s) along the channels: x = [1, 2], s = [7]; saved first gives [7, 1, 2]
    let spec = |saved_first| ConcatSpec {
        x: Shape3::vector(2),
        saved: Shape3::vector(1),
        axis: 2,
        saved_first,
        keep: false,
    };
    let first = Case::new(Op::Concat(spec(true)), Act::Linear, vec![1, 2], FP).skip(vec![7]);
    let second = Case::new(Op::Concat(spec(false)), Act::Linear, vec![1, 2], FP).skip(vec![7]);
    assert_eq!(first.native().unwrap().y, [7, 1, 2]);
    assert_eq!(second.native().unwrap().y, [1, 2, 7]);
    // the outputs are the operands' own variables, in the spec's order: no free output to
    // forge, and an output changed is an input changed (which its opening commits to)
    let mut cs = TamperCs::<Fb>::new();
    let out = synth(&mut cs, &first).unwrap();
    let vars: Vec<_> = out.y.iter().map(|y| y.get_variable()).collect();
    let mut cs2 = TamperCs::<Fb>::new();
    let x = alloc_i64s(&mut cs2, "x", &first.x).unwrap();
    let s = alloc_i64s(&mut cs2, "skip", first.skip.as_ref().unwrap()).unwrap();
    assert_eq!(
        vars,
        [
            s[0].get_variable(),
            x[0].get_variable(),
            x[1].get_variable()
        ]
    );
    assert_eq!(cs.num_constraints(), 0);
}

// ---------------------------------------------------------------------------------------------
// One-hot encoding (an Embedding's lookup)

/// Two tokens over a vocabulary of 4 at `fa = 4`: ids 2 and 0 are the inputs 32 and 0, one-hot
/// rows `[0, 0, 16, 0]` and `[16, 0, 0, 0]`.
fn tokens() -> Case {
    Case::new(Op::OneHot { n: 2, vocab: 4 }, Act::Linear, vec![32, 0], FP)
}

fn hot(j: usize, i: usize) -> String {
    format!("op/tok{j}/hot{i}/num")
}

#[test]
fn a_one_hot_row_is_exactly_the_token() {
    let case = tokens();
    assert_eq!(case.native().unwrap().y, [0, 0, 16, 0, 16, 0, 0, 0]);
    let cs = honest::<Fb>(&case);
    assert_eq!(cs.value(&hot(0, 2)), Some(Fb::from(16)));
    // another token: the hot entry moved (id 3 for the input of id 2)
    let forged = vec![(hot(0, 2), Fb::ZERO), (hot(0, 3), Fb::from(16))];
    assert_fails(&case, forged, &["op/tok0/index"]);
    // two entries hot: a sum of two rows of the table
    let forged = vec![(hot(0, 0), Fb::from(16))];
    assert_fails(&case, forged, &["op/tok0/one"]);
    // no entry hot (a zero row for token id 0)
    let forged = vec![(hot(1, 0), Fb::ZERO)];
    assert_fails(&case, forged, &["op/tok1/one"]);
    // half of ids 1 and 3 (their mean is id 2, their sum one): an average of two rows
    let forged = vec![
        (hot(0, 1), Fb::from(8)),
        (hot(0, 2), Fb::ZERO),
        (hot(0, 3), Fb::from(8)),
    ];
    assert_fails(
        &case,
        forged,
        &["op/tok0/hot1_is_0_or_1", "op/tok0/hot3_is_0_or_1"],
    );
}

#[test]
fn a_value_that_is_not_a_token_id_has_no_one_hot_row() {
    // half an id, a negative id, an id past the vocabulary: the twin refuses, naming the token
    for x in [vec![8, 0], vec![-16, 0], vec![0, 64]] {
        let case = Case::new(Op::OneHot { n: 2, vocab: 4 }, Act::Linear, x.clone(), FP);
        let err = case.native().unwrap_err().to_string();
        assert!(err.contains("not a token id below 4"), "{x:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Layer normalization

/// The three forms of normalization.
const NORM_KINDS: [NormKind; 3] = [NormKind::Standard, NormKind::RmsScaling, NormKind::Rms];

/// Two groups of four at `fa = 4`; the second is constant (its standard outputs are 0).
fn layer_norm_case() -> Case {
    norm_case(NormKind::Standard)
}

/// [`layer_norm_case`] of another form.
fn norm_case(kind: NormKind) -> Case {
    let spec = NormSpec {
        groups: 2,
        n: 4,
        eps: NormSpec::eps_fixed(1e-3).unwrap(),
        kind,
    };
    Case::new(
        Op::LayerNorm(spec),
        Act::Linear,
        vec![10, -3, 7, 0, 5, 5, 5, 5],
        FP,
    )
}

/// Overrides that make group 0 use `r` instead of the honest inverse square root: its products,
/// its `below`/`above` bits where they have any, and every output of the group with its
/// remainder, so that only the constraint that pins `r` can fail.
fn layer_norm_with_r(case: &Case, r: u128) -> Vec<(String, Fb)> {
    let Op::LayerNorm(spec) = case.op else {
        unreachable!()
    };
    let k = spec.shift(&FP).unwrap();
    let s = k - FP.fa;
    let honest = kerafold_step_circuits::native::layer_norm(&spec, &case.x, &FP).unwrap();
    let g = &honest.groups[0];
    let ns = "op/grp0";
    let mut forged = bits::<Fb>(&format!("{ns}/r"), r, k + 1);
    forged.push((format!("{ns}/rr/num"), Fb::from_u128(r * r)));
    forged.push((format!("{ns}/rrv/num"), Fb::from_u128(r * r * g.v)));
    forged.push((format!("{ns}/rv/num"), Fb::from_u128(r * g.v)));
    let top = 1i128 << (2 * k);
    let below = top - (r * r * g.v) as i128;
    let above = ((r + 1) * (r + 1) * g.v) as i128 - top - 1;
    if below >= 0 {
        forged.extend(bits::<Fb>(&format!("{ns}/below"), below as u128, 2 * k + 2));
    }
    if above >= 0 {
        forged.extend(bits::<Fb>(&format!("{ns}/above"), above as u128, 2 * k + 2));
    }
    let n = spec.n as i128;
    let sum: i128 = case.x[..spec.n].iter().map(|&v| v as i128).sum();
    for i in 0..spec.n {
        // the output's n·x_i, about the mean or not
        let m = n * case.x[i] as i128 - if spec.kind.centers_output() { sum } else { 0 };
        let z = m * n * r as i128 + (1i128 << (s - 1));
        let q = z >> s;
        forged.extend(bits::<Fb>(
            &format!("{ns}/out{i}/q"),
            (q + (1 << (B - 1))) as u128,
            B,
        ));
        forged.extend(bits::<Fb>(
            &format!("{ns}/out{i}/rem"),
            (z - (q << s)) as u128,
            s,
        ));
        forged.push((format!("act/out{i}/y/num"), from_i64(q as i64)));
    }
    forged
}

/// Every form is its float formula within a unit: `(x − mean)/√(var + ε)`, `x/√(var + ε)`
/// (Keras' `rms_scaling`), `x/√(mean(x²) + ε)` (RMSNormalization).
#[test]
fn layer_normalization_is_the_normalized_group() {
    for kind in NORM_KINDS {
        let case = norm_case(kind);
        let y = case.native().unwrap().y;
        for (g, x) in case.x.chunks(4).enumerate() {
            let x: Vec<f64> = x.iter().map(|&v| v as f64 / 16.0).collect();
            let mean = x.iter().sum::<f64>() / 4.0;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            let mean_square = x.iter().map(|v| v * v).sum::<f64>() / 4.0;
            for (i, v) in x.iter().enumerate() {
                let want = 16.0
                    * match kind {
                        NormKind::Standard => (v - mean) / (var + 1e-3).sqrt(),
                        NormKind::RmsScaling => v / (var + 1e-3).sqrt(),
                        NormKind::Rms => v / (mean_square + 1e-3).sqrt(),
                    };
                let got = y[4 * g + i] as f64;
                assert!(
                    (got - want).abs() <= 1.0,
                    "{kind:?} {g}/{i}: {got} vs {want}"
                );
            }
        }
        honest::<Fb>(&case);
    }
    assert_eq!(layer_norm_case().native().unwrap().y[4..], [0, 0, 0, 0]);
}

/// A form's outputs cannot be another's: the outputs of the standard form claimed for an RMS
/// normalization of the same values (and the reverse) fail their requantization.
#[test]
fn a_normalization_cannot_take_another_forms_outputs() {
    for (kind, other) in [
        (NormKind::Rms, NormKind::Standard),
        (NormKind::Standard, NormKind::RmsScaling),
        (NormKind::RmsScaling, NormKind::Rms),
    ] {
        let case = norm_case(kind);
        let Op::LayerNorm(spec) = case.op else {
            unreachable!()
        };
        let theirs = kerafold_step_circuits::native::layer_norm(
            &NormSpec {
                kind: other,
                ..spec
            },
            &case.x,
            &FP,
        )
        .unwrap();
        let q = theirs.q[0];
        let forged = vec![("act/out0/y/num".to_string(), from_i64(q))]
            .into_iter()
            .chain(bits::<Fb>(
                "op/grp0/out0/q",
                (q + (1 << (B - 1))) as u128,
                B,
            ))
            .chain(bits::<Fb>(
                "op/grp0/out0/rem",
                theirs.rem[0] as u128,
                spec.shift(&FP).unwrap() - FP.fa,
            ))
            .collect();
        assert_fails(&case, forged, &["op/grp0/out0/requant"]);
    }
}

#[test]
fn the_inverse_square_root_is_pinned_from_both_sides() {
    for kind in NORM_KINDS {
        inverse_square_root_pinned(norm_case(kind));
    }
}

fn inverse_square_root_pinned(case: Case) {
    let cs = honest::<Fb>(&case);
    let Op::LayerNorm(spec) = case.op else {
        unreachable!()
    };
    let r = bits_of(&cs, "op/grp0/r", spec.shift(&FP).unwrap() + 1);
    // the forgeries themselves are consistent: with the honest r they are the honest witness
    assert_eq!(
        tampered::<Fb>(&case, &layer_norm_with_r(&case, r)).which_is_unsatisfied(),
        None
    );
    // a larger r scales every output up: r²·V passes 2^(2k)
    assert_fails(
        &case,
        layer_norm_with_r(&case, r + 1),
        &["op/grp0/below/recompose"],
    );
    // a smaller one scales them down: (r+1)²·V no longer passes 2^(2k)
    assert_fails(
        &case,
        layer_norm_with_r(&case, r - 1),
        &["op/grp0/above/recompose"],
    );
}

#[test]
fn a_normalized_value_cannot_be_moved_or_its_square_forged() {
    let case = layer_norm_case();
    let cs = honest::<Fb>(&case);
    let q = val(&cs, "act/out0/y/num");
    // an output one unit higher: its remainder would have to be negative
    let forged = vec![("act/out0/y/num".to_string(), from_i64(q + 1))]
        .into_iter()
        .chain(bits::<Fb>(
            "op/grp0/out0/q",
            (q + 1 + (1 << (B - 1))) as u128,
            B,
        ))
        .collect();
    assert_fails(&case, forged, &["op/grp0/out0/requant"]);
    // a smaller square of a centred value makes the variance smaller (every output larger):
    // its own constraint fails, and so do the products of the V it changes
    let sq = val(&cs, "op/grp0/sq0/num");
    let cs = tampered::<Fb>(&case, &[("op/grp0/sq0/num".into(), fe::<Fb>(sq - 1))]);
    assert_eq!(cs.which_is_unsatisfied(), Some("op/grp0/square0"));
}

#[test]
fn layer_normalization_outside_its_limits_is_refused() {
    // 2^20 values a group at 24 bits would need 2^(2k) past 128 bits
    let spec = NormSpec {
        groups: 1,
        n: 1 << 20,
        eps: 0,
        kind: NormKind::Standard,
    };
    let fp = FixedPoint {
        fa: 8,
        fw: 8,
        bits: 24,
        guard: 1,
    };
    let err = spec.shift(&fp).unwrap_err();
    assert!(err.contains("at most 2^62"), "{err}");
    assert!(NormSpec::eps_fixed(-1.0).is_err());
}
