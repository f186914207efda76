//! Honest witnesses: every gadget on hand-picked shapes satisfies the constraint system and
//! reproduces its native twin exactly, on BN254 and Pallas; zero inputs with zero weights are
//! always satisfiable; the shape never depends on the witness.

use crate::common::*;
use kerafold_step_circuits::cs::TamperCs;
use kerafold_step_circuits::spec::*;
use kerafold_step_circuits::step::{alloc_i64s, step};
use nova_snark::frontend::ConstraintSystem;

const FP: FixedPoint = FixedPoint {
    fa: 4,
    fw: 5,
    bits: 12,
    guard: 1,
};
/// 16-bit activations, 9 lanes of 25 bits.
const FP16: FixedPoint = FixedPoint {
    fa: 8,
    fw: 8,
    bits: 16,
    guard: 1,
};

/// Deterministic pseudo-random integers in `[lo, hi]`.
fn ints(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

fn acts(fp: &FixedPoint) -> Vec<Act> {
    vec![
        Act::Linear,
        Act::Relu,
        Act::Clip { hi: 6 << fp.fa },
        Act::Leaky { k: 13, m: 7 },
        Act::Poly {
            c: 3 << (fp.fa - 1),
        },
        // four segments, slopes 0 to 3/4, outputs within |q| + 2^fa
        Act::Pwl(Pwl {
            label: "gadgets".into(),
            shift: 12,
            segments: vec![
                Segment {
                    from: fp.min(),
                    slope: 0,
                    offset: -(1 << (fp.fa + 12)),
                },
                Segment {
                    from: -(2 << fp.fa),
                    slope: 1 << 11,
                    offset: 0,
                },
                Segment {
                    from: 0,
                    slope: 3 << 10,
                    offset: 5,
                },
                Segment {
                    from: 3 << fp.fa,
                    slope: 1 << 10,
                    offset: 1 << (fp.fa + 12),
                },
            ],
        }),
    ]
}

fn win(
    input: Shape3,
    k: (usize, usize),
    s: (usize, usize),
    d: (usize, usize),
    p: Padding,
) -> Window {
    Window::keras(input, k, s, d, p).unwrap()
}

/// A set of cases covering every op, with weights that keep most outputs in range.
fn cases(fp: FixedPoint, seed: u64) -> Vec<Case> {
    let small = (1i64 << (fp.bits - 4)) - 1;
    let wmax = 1i64 << (fp.fw - 1);
    let mut v = Vec::new();
    // Dense 7 -> 23 (several lane groups when k < 23)
    let dense = Op::Dense(DenseSpec { n_in: 7, n_out: 23 });
    v.push(
        Case::new(dense, Act::Linear, ints(7, seed, -small, small), fp).weights(
            ints(7 * 23, seed + 1, -wmax, wmax),
            ints(23, seed + 2, -(small << fp.fw), small << fp.fw),
        ),
    );
    // Conv 5x6x3 -> 3x3 kernel, stride (2,1), same padding, 4 filters
    let w1 = win(Shape3::new(5, 6, 3), (3, 3), (2, 1), (1, 1), Padding::Same);
    let conv = Op::Conv(ConvSpec {
        window: w1,
        c_out: 4,
    });
    v.push(
        Case::new(conv, Act::Linear, ints(90, seed + 3, -small, small), fp).weights(
            ints(3 * 3 * 3 * 4, seed + 4, -wmax / 2, wmax / 2),
            ints(4, seed + 5, -(small << fp.fw), small << fp.fw),
        ),
    );
    // Conv1D with dilation, valid
    let w2 = win(Shape3::new(1, 9, 2), (1, 3), (1, 1), (1, 2), Padding::Valid);
    let conv1 = Op::Conv(ConvSpec {
        window: w2,
        c_out: 3,
    });
    v.push(
        Case::new(conv1, Act::Linear, ints(18, seed + 6, -small, small), fp).weights(
            ints(3 * 2 * 3, seed + 7, -wmax, wmax),
            ints(3, seed + 8, -100, 100),
        ),
    );
    // Conv1D causal, dilated and strided: (3−1)·2 zeros before the sequence, 5 outputs
    let wc = win(
        Shape3::new(1, 9, 2),
        (1, 3),
        (1, 2),
        (1, 2),
        Padding::Causal,
    );
    assert_eq!((wc.pad_left, wc.out_w, wc.pad_top, wc.out_h), (4, 5, 0, 1));
    assert_eq!(wc.tap(0, 1, 0, 2), Some((0, 2)));
    assert_eq!(wc.tap(0, 1, 0, 0), None);
    let causal = Op::Conv(ConvSpec {
        window: wc,
        c_out: 2,
    });
    v.push(
        Case::new(causal, Act::Linear, ints(18, seed + 30, -small, small), fp).weights(
            ints(3 * 2 * 2, seed + 31, -wmax, wmax),
            ints(2, seed + 32, -100, 100),
        ),
    );
    // Depthwise 4x4x2, mult 3, 2x2 stride 1 same
    let w3 = win(Shape3::new(4, 4, 2), (2, 2), (1, 1), (1, 1), Padding::Same);
    let dw = Op::Depthwise(DepthwiseSpec {
        window: w3,
        mult: 3,
    });
    v.push(
        Case::new(dw, Act::Linear, ints(32, seed + 9, -small, small), fp).weights(
            ints(2 * 2 * 2 * 3, seed + 10, -wmax, wmax),
            ints(6, seed + 11, -1000, 1000),
        ),
    );
    // Affine over 12 values, 3 channels
    let aff = Op::Affine(AffineSpec { n: 12, channels: 3 });
    v.push(
        Case::new(aff, Act::Linear, ints(12, seed + 12, -small, small), fp).weights(
            ints(3, seed + 13, -2 * wmax, 2 * wmax),
            ints(3, seed + 14, -(small << fp.fw), small << fp.fw),
        ),
    );
    // Max and average pooling 5x5x2, 2x2 stride 2 same (border windows of 1, 2 and 4 taps), and a
    // 3x3 stride 1 valid average (9 taps: not a power of two)
    let big = (1i64 << (fp.bits - 1)) - 1;
    let w4 = win(Shape3::new(5, 5, 2), (2, 2), (2, 2), (1, 1), Padding::Same);
    let w5 = win(Shape3::new(5, 5, 2), (3, 3), (1, 1), (1, 1), Padding::Valid);
    for w in [w4, w5] {
        let xs = ints(50, seed + 15, -big - 1, big);
        v.push(Case::new(
            Op::MaxPool(PoolSpec { window: w }),
            Act::Linear,
            xs.clone(),
            fp,
        ));
        v.push(Case::new(
            Op::AvgPool(PoolSpec { window: w }),
            Act::Linear,
            xs,
            fp,
        ));
    }
    // Global average pooling 3x3x2 (9 taps)
    let w6 = win(Shape3::new(3, 3, 2), (3, 3), (1, 1), (1, 1), Padding::Valid);
    v.push(Case::new(
        Op::AvgPool(PoolSpec { window: w6 }),
        Act::Linear,
        ints(18, seed + 16, -big - 1, big),
        fp,
    ));
    // Add, identity, argmax
    let half = (1i64 << (fp.bits - 2)) - 1;
    // concatenations along each axis, the saved tensor first or second
    for axis in 0..3 {
        let x = Shape3::new(2, 3, 2);
        let mut d = [2, 3, 2];
        d[axis] = 1 + axis;
        let saved = Shape3::new(d[0], d[1], d[2]);
        let op = Op::Concat(ConcatSpec {
            x,
            saved,
            axis,
            saved_first: axis == 1,
            keep: false,
        });
        v.push(
            Case::new(
                op,
                Act::Relu,
                ints(x.len(), seed + 40 + axis as u64, -big - 1, big),
                fp,
            )
            .skip(ints(saved.len(), seed + 50 + axis as u64, -big - 1, big)),
        );
    }
    for (k, merge) in Merge::ALL.into_iter().enumerate() {
        // a product of values below 2^(B/2 + fa/2) stays in range after requantization
        let (lo, hi) = if merge == Merge::Multiply {
            let h = 1i64 << ((fp.bits - 1 + fp.fa) / 2 - 1);
            (-h, h)
        } else {
            (-half, half)
        };
        v.push(
            Case::new(
                Op::Merge {
                    merge,
                    n: 9,
                    saved_first: merge.ordered(),
                    keep: false,
                },
                Act::Linear,
                ints(9, seed + 17 + 100 * k as u64, lo, hi),
                fp,
            )
            .skip(ints(9, seed + 18 + 100 * k as u64, lo, hi)),
        );
    }
    v.push(Case::new(
        Op::Identity { n: 9 },
        Act::Linear,
        ints(9, seed + 19, -big - 1, big),
        fp,
    ));
    v.push(Case::new(
        Op::ArgMax { n: 10 },
        Act::Linear,
        vec![3, -7, 12, 12, -2048, 12, 0, 5, 11, 12],
        fp,
    ));
    v.push(Case::new(
        Op::ArgMax { n: 6 },
        Act::Linear,
        ints(6, seed + 20, -4, 4),
        fp,
    ));
    v
}

fn run_all<F: kerafold_step_circuits::Field>(fp: FixedPoint) {
    let (mut ok, mut all) = (0, 0);
    for seed in [1, 2] {
        for case in cases(fp, seed) {
            for act in acts(&fp) {
                let case = Case {
                    act,
                    ..case.clone()
                };
                all += 1;
                ok += check::<F>(&case).is_some() as usize;
            }
        }
    }
    // the cases are chosen to be mostly in range: the twin must accept most of them
    assert!(ok * 10 >= all * 8, "only {ok} of {all} cases in range");
}

#[test]
fn every_op_and_activation_matches_its_twin_bn254() {
    run_all::<Fb>(FP);
}

#[test]
fn every_op_and_activation_matches_its_twin_pallas() {
    run_all::<Fp>(FP);
}

#[test]
fn sixteen_bit_parameters_bn254() {
    run_all::<Fb>(FP16);
}

#[test]
fn dense_uses_all_lanes_and_reproduces_hand_computation() {
    // n_out = 23 with k = 13 lanes (18 bits each, one guard bit): two groups, the second with
    // 10 real lanes
    assert_eq!(kerafold_step_circuits::packing::lanes(&FP), 13);
    let spec = DenseSpec { n_in: 2, n_out: 23 };
    let w: Vec<i64> = (0..46).map(|i| i - 23).collect();
    let b: Vec<i64> = (0..23).map(|i| 32 * i - 300).collect();
    let case = Case::new(Op::Dense(spec), Act::Linear, vec![40, -17], FP).weights(w, b);
    let cs = check::<Fb>(&case).expect("in range");
    // products: n_in per group, the last folded into the lane sum
    let tally = cs.constraint_paths();
    assert_eq!(tally.iter().filter(|p| p.contains("/mul")).count(), 2);
    assert_eq!(tally.iter().filter(|p| p.ends_with("lane_sum")).count(), 2);
}

#[test]
fn zero_inputs_and_zero_weights_are_always_satisfiable() {
    for fp in [FP, FP16] {
        for case in cases(fp, 7) {
            for act in acts(&fp) {
                let mut c = Case {
                    act,
                    ..case.clone()
                };
                c.x = vec![0; c.x.len()];
                c.skip = c.skip.map(|s| vec![0; s.len()]);
                c.weights.w = vec![0; c.weights.w.len()];
                c.weights.b = vec![0; c.weights.b.len()];
                check::<Fb>(&c).expect("zeros are in range");
            }
        }
    }
}

#[test]
fn extreme_inputs_stay_exact() {
    // all inputs at the range ends, weights at the lane range ends where the output stays in range
    let spec = DenseSpec { n_in: 1, n_out: 3 };
    for x in [FP.min(), FP.max()] {
        for (w, b) in [
            (vec![32, -32, 1], vec![0, 0, 0]),
            (vec![-32, 32, 0], vec![-16, 15, 16]),
        ] {
            let case = Case::new(Op::Dense(spec), Act::Relu, vec![x], FP).weights(w, b);
            check::<Fp>(&case);
        }
    }
}

#[test]
fn shape_does_not_depend_on_witness() {
    for case in cases(FP, 3) {
        for act in acts(&FP) {
            let a = Case {
                act,
                ..case.clone()
            };
            let mut z = a.clone();
            z.x = vec![0; z.x.len()];
            z.skip = z.skip.map(|s| vec![0; s.len()]);
            z.weights.w = vec![0; z.weights.w.len()];
            z.weights.b = vec![0; z.weights.b.len()];
            let (Some(ca), Some(cz)) = (check::<Fb>(&a), check::<Fb>(&z)) else {
                continue;
            };
            assert_eq!(ca.constraint_paths(), cz.constraint_paths());
            assert_eq!(ca.num_aux(), cz.num_aux());
        }
    }
}

#[test]
fn views_upsample_and_zero_pad_feed_the_op() {
    let input = Shape3::new(2, 3, 2);
    let up = ViewOp::UpSample {
        input,
        sy: 2,
        sx: 1,
    };
    let pad = ViewOp::ZeroPad {
        input: up.output_shape(),
        top: 1,
        bottom: 0,
        left: 2,
        right: 1,
    };
    let viewed = pad.output_shape();
    let x = ints(12, 5, -100, 100);
    let w = win(viewed, (2, 2), (1, 1), (1, 1), Padding::Valid);
    let conv = Op::Conv(ConvSpec {
        window: w,
        c_out: 3,
    });
    let c = Case::new(conv, Act::Relu, x.clone(), FP)
        .weights(ints(2 * 2 * 2 * 3, 9, -16, 16), vec![5, -5, 0])
        .views(vec![up, pad]);
    let with_views = check::<Fb>(&c).expect("in range");
    // zero taps from padding cost no products: fewer constraints than the same conv on an
    // explicit input of the viewed size
    let mut plain = c.clone();
    plain.views = vec![];
    plain.x = c
        .viewed()
        .iter()
        .map(|v| if *v == 0 { 1 } else { *v })
        .collect();
    let plain = check::<Fb>(&plain).expect("in range");
    assert!(with_views.num_constraints() < plain.num_constraints());
    // pooling, identity and argmax through views
    for op in [
        Op::MaxPool(PoolSpec {
            window: win(viewed, (2, 2), (2, 2), (1, 1), Padding::Same),
        }),
        Op::AvgPool(PoolSpec {
            window: win(viewed, (3, 2), (1, 2), (1, 1), Padding::Same),
        }),
        Op::Identity { n: viewed.len() },
        Op::ArgMax { n: viewed.len() },
    ] {
        for act in acts(&FP) {
            check::<Fp>(&Case::new(op, act, x.clone(), FP).views(vec![up, pad]));
        }
    }
}

/// Dilation (a transposed convolution's input) puts input (y, x) at (y·sy, x·sx) and zeros
/// between: its gather map is the hand-written one, and a conv over it, padded, is the
/// transposed convolution's scatter (checked against the float reference on the `transpose`
/// fixture).
#[test]
fn views_dilate_feeds_the_op() {
    let input = Shape3::new(2, 3, 2);
    let dil = ViewOp::Dilate {
        input,
        sy: 2,
        sx: 3,
    };
    let out = dil.output_shape();
    assert_eq!(out, Shape3::new(3, 7, 2));
    let mut by_hand = vec![];
    for y in 0..3 {
        for x in 0..7 {
            for ch in 0..2 {
                by_hand.push((y % 2 == 0 && x % 3 == 0).then(|| input.index(y / 2, x / 3, ch)));
            }
        }
    }
    assert_eq!(dil.gather(), by_hand);
    dil.validate().unwrap();
    let bad = ViewOp::Dilate {
        input,
        sy: 0,
        sx: 1,
    };
    assert!(bad.validate().unwrap_err().contains("positive"));
    let pad = ViewOp::ZeroPad {
        input: out,
        top: 2,
        bottom: 2,
        left: 2,
        right: 2,
    };
    let viewed = pad.output_shape();
    let conv = Op::Conv(ConvSpec {
        window: win(viewed, (3, 3), (1, 1), (1, 1), Padding::Valid),
        c_out: 2,
    });
    for act in acts(&FP) {
        let c = Case::new(conv, act, ints(12, 8, -100, 100), FP)
            .weights(ints(3 * 3 * 2 * 2, 3, -16, 16), vec![5, -5])
            .views(vec![dil, pad]);
        check::<Fb>(&c).expect("in range");
    }
}

/// Nearest resizing copies rows and columns by TensorFlow's half-pixel rule: 3 → 5 repeats
/// rows 0, 0, 1, 2, 2 (⌊(y + ½)·0.6⌋), 4 → 2 keeps columns 1 and 3 (⌊(x + ½)·2⌋); a conv reads it.
#[test]
fn views_resize_feeds_the_op() {
    let input = Shape3::new(3, 4, 1);
    let r = ViewOp::Resize {
        input,
        out_h: 5,
        out_w: 2,
    };
    let rows = [0, 0, 1, 2, 2];
    let cols = [1, 3];
    let by_hand: Vec<Option<usize>> = rows
        .iter()
        .flat_map(|&y| cols.iter().map(move |&x| Some(input.index(y, x, 0))))
        .collect();
    assert_eq!(r.gather(), by_hand);
    r.validate().unwrap();
    let empty = ViewOp::Resize {
        input,
        out_h: 0,
        out_w: 2,
    };
    assert!(empty.validate().is_err());
    let conv = Op::Conv(ConvSpec {
        window: win(r.output_shape(), (2, 2), (1, 1), (1, 1), Padding::Valid),
        c_out: 2,
    });
    let c = Case::new(conv, Act::Relu, ints(12, 4, -100, 100), FP)
        .weights(ints(2 * 2 * 2, 5, -16, 16), vec![1, -1])
        .views(vec![r]);
    check::<Fb>(&c).expect("in range");
}

/// Reversing a sequence (a Bidirectional wrapper's backward layer) reads its timesteps from
/// the last: its gather map is the hand-written reversal, twice is the identity, and a
/// Conv1D reads it.
#[test]
fn views_reverse_feeds_the_op() {
    let input = Shape3::new(1, 5, 3);
    let rev = ViewOp::Reverse { input };
    assert_eq!(rev.output_shape(), input);
    let by_hand: Vec<Option<usize>> = (0..5)
        .rev()
        .flat_map(|t| (0..3).map(move |ch| Some(input.index(0, t, ch))))
        .collect();
    assert_eq!(rev.gather(), by_hand);
    rev.validate().unwrap();
    let id: Vec<Option<usize>> = (0..input.len()).map(Some).collect();
    assert_eq!(
        kerafold_step_circuits::spec::compose_views(&[rev, rev], input.len()),
        id
    );
    let conv = Op::Conv(ConvSpec {
        window: win(input, (1, 2), (1, 1), (1, 1), Padding::Valid),
        c_out: 2,
    });
    let c = Case::new(conv, Act::Relu, ints(15, 9, -100, 100), FP)
        .weights(ints(2 * 3 * 2, 4, -16, 16), vec![1, -1])
        .views(vec![rev]);
    check::<Fb>(&c).expect("in range");
}

/// Cropping (Cropping1D/2D, CenterCrop) keeps the rows and columns inside its margins: its
/// gather map is the hand-written crop, it composes after padding, and a conv reads it.
#[test]
fn views_crop_feeds_the_op() {
    let input = Shape3::new(4, 5, 2);
    let crop = ViewOp::Crop {
        input,
        top: 1,
        bottom: 0,
        left: 2,
        right: 1,
    };
    assert_eq!(crop.output_shape(), Shape3::new(3, 2, 2));
    let mut by_hand = vec![];
    for y in 1..4 {
        for x in 2..4 {
            for ch in 0..2 {
                by_hand.push(Some(input.index(y, x, ch)));
            }
        }
    }
    assert_eq!(crop.gather(), by_hand);
    crop.validate().unwrap();
    let all = ViewOp::Crop {
        input,
        top: 2,
        bottom: 2,
        left: 0,
        right: 0,
    };
    assert!(all.validate().unwrap_err().contains("nothing"));
    // padding then cropping the padding away is the identity
    let pad = ViewOp::ZeroPad {
        input,
        top: 1,
        bottom: 2,
        left: 0,
        right: 3,
    };
    let unpad = ViewOp::Crop {
        input: pad.output_shape(),
        top: 1,
        bottom: 2,
        left: 0,
        right: 3,
    };
    let id: Vec<Option<usize>> = (0..input.len()).map(Some).collect();
    assert_eq!(
        kerafold_step_circuits::spec::compose_views(&[pad, unpad], input.len()),
        id
    );
    let viewed = crop.output_shape();
    let x = ints(input.len(), 7, -100, 100);
    let conv = Op::Conv(ConvSpec {
        window: win(viewed, (2, 2), (1, 1), (1, 1), Padding::Same),
        c_out: 2,
    });
    let c = Case::new(conv, Act::Relu, x, FP)
        .weights(ints(2 * 2 * 2 * 2, 3, -16, 16), vec![1, -1])
        .views(vec![crop]);
    check::<Fb>(&c).expect("in range");
}

#[test]
fn invalid_steps_are_errors_not_panics() {
    use kerafold_step_circuits::step::count_constraints;
    let dense = Op::Dense(DenseSpec { n_in: 4, n_out: 2 });
    // views that do not chain
    let v = ViewOp::UpSample {
        input: Shape3::new(1, 3, 1),
        sy: 1,
        sx: 1,
    };
    assert!(count_constraints(&dense, &Act::Linear, &[v], &FP).is_err());
    assert!(count_constraints(&dense, &Act::Clip { hi: -1 }, &[], &FP).is_err());
    assert!(count_constraints(&dense, &Act::Leaky { k: 1, m: 0 }, &[], &FP).is_err());
    let bad_fp = FixedPoint {
        fa: 0,
        fw: 5,
        bits: 12,
        guard: 1,
    };
    assert!(count_constraints(&dense, &Act::Linear, &[], &bad_fp).is_err());
    // wrong number of packed weights
    let mut cs = TamperCs::<Fb>::new();
    let x = alloc_i64s::<Fb, _>(&mut cs, "x", &[1, 2, 3, 4]).unwrap();
    let w = alloc_i64s::<Fb, _>(&mut cs, "w", &[0; 3]).unwrap();
    let b = alloc_i64s::<Fb, _>(&mut cs, "b", &[0; 1]).unwrap();
    assert!(step(&mut cs, &dense, &Act::Linear, &[], &x, None, &w, &b, &FP).is_err());
    // add without its saved tensor
    let add = Op::merge(Merge::Add, 4);
    let mut ns = cs.namespace(|| "second");
    assert!(step(&mut ns, &add, &Act::Linear, &[], &x, None, &[], &[], &FP).is_err());
    // output out of range: twin error, synthesis error
    let big = Case::new(dense, Act::Linear, vec![2047, 2047, 2047, 2047], FP)
        .weights(vec![32; 8], vec![0; 2]);
    assert!(check::<Fb>(&big).is_none());
}

/// Permute (a sequence's transpose, an image's axes reordered) copies each value to its permuted
/// place: its gather map is the hand-written transpose, a non-permutation is refused, permuting
/// back is the identity, and a conv reads a permuted image.
#[test]
fn views_permute_feeds_the_op() {
    let input = Shape3::new(3, 4, 2);
    // (h, w, c) → (c, h, w)
    let perm = ViewOp::Permute {
        input,
        axes: [2, 0, 1],
    };
    assert_eq!(perm.output_shape(), Shape3::new(2, 3, 4));
    let mut by_hand = vec![];
    for ch in 0..2 {
        for y in 0..3 {
            for x in 0..4 {
                by_hand.push(Some(input.index(y, x, ch)));
            }
        }
    }
    assert_eq!(perm.gather(), by_hand);
    perm.validate().unwrap();
    for axes in [[0, 0, 1], [0, 1, 3]] {
        let bad = ViewOp::Permute { input, axes };
        assert!(
            bad.validate().unwrap_err().contains("not a permutation"),
            "{axes:?}"
        );
    }
    // (c, h, w) → (h, w, c) undoes it
    let back = ViewOp::Permute {
        input: perm.output_shape(),
        axes: [1, 2, 0],
    };
    let id: Vec<Option<usize>> = (0..input.len()).map(Some).collect();
    assert_eq!(
        kerafold_step_circuits::spec::compose_views(&[perm, back], input.len()),
        id
    );
    // a sequence [length 5, channels 3] is one row: Permute((2, 1)) is its transpose
    let seq = Shape3::new(1, 5, 3);
    let t = ViewOp::Permute {
        input: seq,
        axes: [0, 2, 1],
    };
    assert_eq!(t.output_shape(), Shape3::new(1, 3, 5));
    assert_eq!(t.gather()[1], Some(seq.index(0, 1, 0)));
    let viewed = perm.output_shape();
    let x = ints(input.len(), 11, -100, 100);
    let conv = Op::Conv(ConvSpec {
        window: win(viewed, (2, 2), (1, 1), (1, 1), Padding::Valid),
        c_out: 2,
    });
    let c = Case::new(conv, Act::Relu, x, FP)
        .weights(ints(2 * 2 * 4 * 2, 5, -16, 16), vec![2, -3])
        .views(vec![perm]);
    check::<Fb>(&c).expect("in range");
}
