//! Property tests: random small shapes, windows, strides, dilations, padding, views, values,
//! weights and activations. For every case the honest witness satisfies the constraint system
//! and the outputs equal the native twin's (or, when the twin rejects the case as out of range,
//! synthesis fails), and the shape equals `count_constraints`. BN254 and Pallas.

use crate::common::*;
use kerafold_step_circuits::spec::*;
use proptest::prelude::*;

const FPS: [FixedPoint; 3] = [
    FixedPoint {
        fa: 3,
        fw: 4,
        bits: 10,
        guard: 1,
    },
    FixedPoint {
        fa: 4,
        fw: 5,
        bits: 12,
        guard: 1,
    },
    FixedPoint {
        fa: 6,
        fw: 7,
        bits: 14,
        guard: 1,
    },
];

/// Deterministic integers in `[lo, hi]` from a seed.
fn ints(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (s % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

fn act_strategy() -> impl Strategy<Value = (u8, i64, u32)> {
    (0u8..5, 0i64..1 << 20, 1u32..9)
}

fn make_act((kind, p, m): (u8, i64, u32), fp: &FixedPoint) -> Act {
    match kind {
        0 => Act::Linear,
        1 => Act::Relu,
        2 => Act::Clip {
            hi: p % (fp.max() + 1),
        },
        3 => Act::Leaky {
            k: 1 + p % ((1 << m) - 1).max(1),
            m,
        },
        _ => Act::Poly { c: p % 129 - 64 },
    }
}

/// A pooling/convolution window: input, kernel, strides, dilations, "same" padding.
type WindowCase = (Shape3, (usize, usize), (usize, usize), (usize, usize), bool);

fn window_strategy() -> impl Strategy<Value = WindowCase> {
    (
        (1usize..6, 1usize..6, 1usize..4),
        (1usize..4, 1usize..4),
        (1usize..3, 1usize..3),
        (1usize..3, 1usize..3),
        any::<bool>(),
    )
        .prop_map(|((h, w, c), k, s, d, same)| (Shape3::new(h, w, c), k, s, d, same))
}

fn window((input, k, s, d, same): WindowCase) -> Option<Window> {
    let pad = if same { Padding::Same } else { Padding::Valid };
    Window::keras(input, k, s, d, pad).ok()
}

/// Weights that keep a good share of outputs in range: `|w| ≤ 2^(fw−1)`, inputs `|x| ≤ 2^(B−3)`.
fn linear_case(op: Op, act: Act, fp: FixedPoint, seed: u64) -> Case {
    let small = 1i64 << (fp.bits - 3);
    let wm = 1i64 << (fp.fw - 1);
    let (wl, bl) = op.weight_lens();
    Case::new(op, act, ints(op.input_len(), seed, -small, small), fp).weights(
        ints(wl, seed ^ 0x55, -wm, wm),
        ints(bl, seed ^ 0xaa, -(small << fp.fw), small << fp.fw),
    )
}

fn full_range(n: usize, seed: u64, fp: &FixedPoint) -> Vec<i64> {
    ints(n, seed, fp.min(), fp.max())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dense(n_in in 1usize..7, n_out in 1usize..24, fpi in 0usize..3, a in act_strategy(), seed: u64, pallas: bool) {
        let fp = FPS[fpi];
        let case = linear_case(Op::Dense(DenseSpec { n_in, n_out }), make_act(a, &fp), fp, seed);
        if pallas { check::<Fp>(&case); } else { check::<Fb>(&case); }
    }

    #[test]
    fn conv(ws in window_strategy(), c_out in 1usize..5, fpi in 0usize..3, a in act_strategy(), seed: u64, pallas: bool) {
        let fp = FPS[fpi];
        let Some(window) = window(ws) else { return Ok(()); };
        let case = linear_case(Op::Conv(ConvSpec { window, c_out }), make_act(a, &fp), fp, seed);
        if pallas { check::<Fp>(&case); } else { check::<Fb>(&case); }
    }

    #[test]
    fn depthwise(ws in window_strategy(), mult in 1usize..4, fpi in 0usize..3, a in act_strategy(), seed: u64) {
        let fp = FPS[fpi];
        let Some(window) = window(ws) else { return Ok(()); };
        let case = linear_case(Op::Depthwise(DepthwiseSpec { window, mult }), make_act(a, &fp), fp, seed);
        check::<Fb>(&case);
    }

    #[test]
    fn affine(channels in 1usize..5, reps in 1usize..5, fpi in 0usize..3, a in act_strategy(), seed: u64) {
        let fp = FPS[fpi];
        let op = Op::Affine(AffineSpec { n: channels * reps, channels });
        let case = linear_case(op, make_act(a, &fp), fp, seed);
        check::<Fp>(&case);
    }

    #[test]
    fn pooling(ws in window_strategy(), max: bool, fpi in 0usize..3, a in act_strategy(), seed: u64, pallas: bool) {
        let fp = FPS[fpi];
        let (input, k, s, _, same) = ws;
        // pooling has no dilation
        let Some(window) = window((input, k, s, (1, 1), same)) else { return Ok(()); };
        let spec = PoolSpec { window };
        let op = if max { Op::MaxPool(spec) } else { Op::AvgPool(spec) };
        let case = Case::new(op, make_act(a, &fp), full_range(input.len(), seed, &fp), fp);
        if pallas { check::<Fp>(&case); } else { check::<Fb>(&case); }
    }

    #[test]
    fn merge_identity_argmax(n in 1usize..12, which in 0u8..3, m in 0usize..6, saved_first: bool, fpi in 0usize..3, a in act_strategy(), seed: u64, narrow: bool) {
        let fp = FPS[fpi];
        let act = make_act(a, &fp);
        // narrow values make ties frequent for argmax
        let x = if narrow { ints(n, seed, -3, 3) } else { full_range(n, seed, &fp) };
        let case = match which {
            0 => {
                let merge = Merge::ALL[m];
                let saved_first = saved_first && merge.ordered();
                let op = Op::Merge {
                    merge,
                    n,
                    saved_first,
                    keep: false,
                };
                Case::new(op, act, x, fp).skip(full_range(n, seed ^ 7, &fp))
            }
            1 => Case::new(Op::Identity { n }, act, x, fp),
            _ => Case::new(Op::ArgMax { n }, act, x, fp),
        };
        check::<Fb>(&case);
    }

    #[test]
    fn views_then_op(
        (h, w, c) in (1usize..4, 1usize..4, 1usize..3),
        (sy, sx) in (1usize..3, 1usize..3),
        pads in (0usize..2, 0usize..2, 0usize..2, 0usize..2),
        upsample_first: bool,
        which in 0u8..4,
        fpi in 0usize..3, a in act_strategy(), seed: u64,
    ) {
        let fp = FPS[fpi];
        let input = Shape3::new(h, w, c);
        let mut views = Vec::new();
        let mut shape = input;
        let up = |shape: Shape3| ViewOp::UpSample { input: shape, sy, sx };
        let pad = |shape: Shape3| ViewOp::ZeroPad { input: shape, top: pads.0, bottom: pads.1, left: pads.2, right: pads.3 };
        for first in [upsample_first, !upsample_first] {
            let v = if first { up(shape) } else { pad(shape) };
            shape = v.output_shape();
            views.push(v);
        }
        let act = make_act(a, &fp);
        let pool_window = Window::keras(shape, (2, 2), (2, 2), (1, 1), Padding::Same).unwrap();
        let op = match which {
            0 => Op::Conv(ConvSpec { window: Window::keras(shape, (2, 2), (1, 1), (1, 1), Padding::Same).unwrap(), c_out: 2 }),
            1 => Op::MaxPool(PoolSpec { window: pool_window }),
            2 => Op::AvgPool(PoolSpec { window: pool_window }),
            _ => Op::ArgMax { n: shape.len() },
        };
        let mut case = if op.is_linear() {
            linear_case(op, act, fp, seed)
        } else {
            Case::new(op, act, vec![], fp)
        };
        case.x = full_range(input.len(), seed ^ 3, &fp);
        if op.is_linear() {
            case.x = ints(input.len(), seed ^ 3, -(1 << (fp.bits - 3)), 1 << (fp.bits - 3));
        }
        check::<Fb>(&case.views(views));
    }
}
