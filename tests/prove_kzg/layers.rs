//! Every layer kind beyond the first plan's, proven end to end from its fixture (real Keras,
//! `tests/fixtures/make_fixtures.py`): the proof gives Keras' class and verifies against the
//! model file.

use crate::common::{quantized_fixture, shared_dir};
use kerafold::fold::params::RANDOM_TAU_DIR;
use kerafold::fold::{Srs, System};
use kerafold::inference::{self, Opening, ProveOptions, VerifyOptions};

/// Normalization (adapted) and Rescaling inside the model (the `preprocess` fixture) run as one
/// affine step before the MLP: the proof gives Keras' class and verifies against the model file.
#[test]
fn preprocessing_layers_prove_and_verify() {
    let (q, _) = quantized_fixture("preprocess");
    assert!(
        matches!(q.steps[0].op, kerafold_step_circuits::spec::Op::Affine(_)),
        "{:?}",
        q.steps[0].op
    );
    proves_keras_class("preprocess", 17);
}

/// Augmentation layers inside the model (the `augment` fixture: RandomFlip, RandomRotation,
/// RandomZoom, RandomTranslation), ActivityRegularization and Identity are identities at
/// inference and no steps: the proof gives Keras' class and verifies.
#[test]
fn augmentation_layers_are_identities_that_prove_and_verify() {
    let (q, _) = quantized_fixture("augment");
    let names: Vec<&str> = q.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["conv", "pool", "out", "argmax"]);
    proves_keras_class("augment", 7);
}

/// Smooth activations as `activation=` of convolutions (swish on a Conv2D, tanh on a
/// DepthwiseConv2D, gelu on a Conv1D), a Dense on the last axis of an image (a 1×1
/// convolution) and a Concatenate along the width axis (the `pixelwise` fixture): the proof
/// gives Keras' class and verifies.
#[test]
fn smooth_convolutions_and_a_pixelwise_dense_prove_and_verify() {
    use kerafold_step_circuits::spec::Op;
    let (q, _) = quantized_fixture("pixelwise");
    let pixel = q.steps.iter().find(|s| s.name == "pixel_dense").unwrap();
    assert!(matches!(pixel.op, Op::Conv(_)), "{:?}", pixel.op);
    let cat = q.steps.iter().find(|s| s.name == "cat_width").unwrap();
    assert!(
        matches!(&cat.op, Op::Concat(c) if c.axis == 1),
        "{:?}",
        cat.op
    );
    proves_keras_class("pixelwise", 5);
}

/// PReLU (the `prelu` fixture) imports as the graph it computes: its slopes scale an affine
/// step (one per value without `shared_axes`, one per channel with it; negated first where a
/// slope exceeds 1) and an Add joins it to the input. The proof gives Keras' class and verifies.
#[test]
fn prelu_slopes_are_an_affine_step_and_an_add_that_prove_and_verify() {
    use kerafold_step_circuits::spec::{Merge, Op};
    let (q, _) = quantized_fixture("prelu");
    let op = |name: &str| {
        &q.steps
            .iter()
            .find(|s| s.name.split('+').next() == Some(name))
            .unwrap_or_else(|| panic!("no step {name}: {:?}", q.steps))
            .op
    };
    // trained, prelu1's slopes reach 1.6 and prelu2's stay below 0.1
    assert!(
        matches!(op("prelu1/negate"), Op::Affine(a) if a.channels == 6 * 6 * 4),
        "{:?}",
        op("prelu1/negate")
    );
    assert!(matches!(op("prelu1/slope"), Op::Affine(a) if a.channels == 6 * 6 * 4));
    assert!(matches!(op("prelu2/slope"), Op::Affine(a) if a.channels == 4));
    assert!(!q.steps.iter().any(|s| s.name.starts_with("prelu2/negate")));
    assert!(matches!(op("prelu3/negate"), Op::Affine(a) if a.channels == 8));
    for name in ["prelu1", "prelu2", "prelu3"] {
        assert!(
            matches!(
                op(name),
                Op::Merge {
                    merge: Merge::Add,
                    ..
                }
            ),
            "{name}: {:?}",
            op(name)
        );
    }
    proves_keras_class("prelu", 3);
}

/// An Embedding with `mask_zero = true` (the `masked_text` fixture): its token ids travel as a
/// last column of the embedded sequence into the Bidirectional LSTM, whose masked cells keep
/// the state on padding, and with its output sequence into the Bidirectional GRU stacked on
/// it. The proof of a padded sample gives Keras' class and verifies.
#[test]
fn a_masked_embedding_into_stacked_bidirectional_layers_proves_and_verifies() {
    let masked = [
        "bilstm/forward",
        "bilstm/backward",
        "bigru/forward",
        "bigru/backward",
    ];
    proves_padded_sample("masked_text", &masked, 1, 0.0);
}

/// A Masking layer (the `masking` fixture: padding timesteps of −1): its mask column, computed
/// from the input by two Dense steps, travels with the sequence into the LSTM and the SimpleRNN
/// stacked on it, whose masked cells keep the state on padding. The proof of a padded sample
/// gives Keras' class and verifies.
#[test]
fn a_masking_layer_into_stacked_recurrent_layers_proves_and_verifies() {
    proves_padded_sample("masking", &["lstm", "rnn"], 2, -1.0);
}

/// Fixture `name`'s masked recurrent steps are `masked`, its sample 0 has a padding timestep
/// (a row of `row` values, all `pad`), and its proof gives Keras' class and verifies.
fn proves_padded_sample(name: &str, masked: &[&str], row: usize, pad: f32) {
    use kerafold_step_circuits::spec::Op;
    let (q, fx) = quantized_fixture(name);
    let found: Vec<&str> = q
        .steps
        .iter()
        .filter(|s| matches!(s.op, Op::Recurrent(r) if r.cell.masked))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(found, masked);
    assert!(
        fx.inputs[0]
            .chunks(row)
            .any(|t| t.iter().all(|&v| v == pad)),
        "sample 0 is padded"
    );
    proves_keras_class(name, 0);
}

/// GroupNormalization (the `groupnorm` fixture): a layer normalization of each group read
/// through a permutation that makes the group's channels at every position one run (none for
/// a vector), then γ and β as an affine step reading it back in Keras' order (an identity step
/// for instance normalization without scale and offset). The proof gives Keras' class and
/// verifies.
#[test]
fn group_normalizations_prove_and_verify() {
    use kerafold_step_circuits::spec::{Op, ViewOp};
    let (q, _) = quantized_fixture("groupnorm");
    let step = |name: &str| {
        q.steps
            .iter()
            .find(|s| s.name.split('+').next() == Some(name))
            .unwrap_or_else(|| panic!("no step {name}: {:?}", q.steps))
    };
    let gn = step("gn/normalize");
    assert!(matches!(gn.op, Op::LayerNorm(n) if (n.groups, n.n) == (4, 6 * 6 * 2)));
    assert!(
        matches!(
            gn.views[..],
            [ViewOp::Permute {
                axes: [1, 0, 2],
                ..
            }]
        ),
        "{:?}",
        gn.views
    );
    let instance = step("instance/normalize");
    assert!(matches!(instance.op, Op::LayerNorm(n) if (n.groups, n.n) == (4, 4 * 4)));
    // without scale and offset, its permutation back is a step of its own
    assert!(matches!(
        step("instance").views[..],
        [ViewOp::Permute {
            axes: [1, 0, 2],
            ..
        }]
    ));
    assert!(step("hidden").views.is_empty());
    let vec = step("gn_vec/normalize");
    assert!(matches!(vec.op, Op::LayerNorm(n) if (n.groups, n.n) == (2, 4)));
    assert!(vec.views.is_empty());
    proves_keras_class("groupnorm", 6);
}

/// CenterCrop on the model input and Cropping2D after a convolution (the `crop` fixture) are
/// views the next step reads through: the proof gives Keras' class and verifies.
#[test]
fn cropping_views_prove_and_verify() {
    let (q, _) = quantized_fixture("crop");
    assert!(
        matches!(
            q.steps[0].views[..],
            [kerafold_step_circuits::spec::ViewOp::Crop { .. }]
        ),
        "{:?}",
        q.steps[0].views
    );
    proves_keras_class("crop", 9);
}

/// Permute, UpSampling1D and RepeatVector (the `views` fixture) are views the next step reads
/// through, chained where they meet: the proof gives Keras' class and verifies.
#[test]
fn permute_and_repeat_views_prove_and_verify() {
    use kerafold_step_circuits::spec::ViewOp;
    let (q, _) = quantized_fixture("views");
    let views: Vec<&[ViewOp]> = q.steps.iter().map(|s| &s.views[..]).collect();
    assert!(
        views.iter().any(|v| matches!(
            v,
            [
                ViewOp::Permute { .. },
                ViewOp::UpSample { sy: 1, sx: 2, .. }
            ]
        )),
        "{views:?}"
    );
    assert!(
        views.iter().any(|v| matches!(
            v,
            [
                ViewOp::UpSample { sy: 1, sx: 3, .. },
                ViewOp::Permute {
                    axes: [0, 2, 1],
                    ..
                }
            ]
        )),
        "{views:?}"
    );
    proves_keras_class("views", 5);
}

/// A causal dilated Conv1D, a DepthwiseConv1D and a SeparableConv1D (the `seq_convs` fixture):
/// the causal window pads only before the sequence; the proof gives Keras' class and verifies.
#[test]
fn causal_depthwise_and_separable_1d_convolutions_prove_and_verify() {
    use kerafold_step_circuits::spec::Op;
    let (q, _) = quantized_fixture("seq_convs");
    let Op::Conv(c) = q.steps[0].op else {
        panic!("{:?}", q.steps[0].op)
    };
    // kernel 3, dilation 2: 4 zeros before the sequence, none after, one output per input
    assert_eq!((c.window.pad_left, c.window.out_w), (4, c.window.input.w));
    assert!(
        q.steps.iter().any(|s| matches!(s.op, Op::Depthwise(_))),
        "{:?}",
        q.steps
    );
    proves_keras_class("seq_convs", 11);
}

/// Smooth activations (the `smooth`, `smooth2` and `smooth3` fixtures: sigmoid, tanh, GELU, SiLU,
/// softplus, ELU, SELU, softsign, hard sigmoid, hard SiLU, exponential, mish, log-sigmoid,
/// tanh-shrink, squareplus, sparse-plus, sparse-sigmoid; hard tanh, hard and soft shrink; celu,
/// which is ELU) are proven as piecewise-linear approximations, fused into Dense layers or as
/// steps of their own; the proof gives Keras' class.
#[test]
fn smooth_activations_prove_and_verify() {
    use kerafold_step_circuits::spec::Act;
    for (name, want) in [
        (
            "smooth",
            &["sigmoid", "tanh", "gelu", "silu", "softplus", "elu"][..],
        ),
        (
            "smooth2",
            &[
                "selu",
                "softsign",
                "hard_sigmoid",
                "hard_silu",
                "elu",
                "exponential",
            ],
        ),
        (
            "smooth3",
            &[
                "mish",
                "log_sigmoid",
                "tanh_shrink",
                "squareplus",
                "sparse_plus",
                "sparse_sigmoid",
                "hard_tanh",
                "hard_shrink",
                "soft_shrink",
                "elu",
            ],
        ),
    ] {
        let (q, _) = quantized_fixture(name);
        let labels: Vec<&str> = q
            .steps
            .iter()
            .filter_map(|s| match &s.act {
                Act::Pwl(p) => Some(p.label.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(labels, want, "{name}");
        proves_keras_class(name, 3);
    }
}

/// Recurrent layers (the `rnn`, `gru` and `lstm_seq` fixtures: SimpleRNN, GRU either way and
/// LSTM, sequences and last states) are proven as one step a layer, the cell unrolled over the
/// timesteps with sigmoid and tanh as piecewise-linear approximations; the proof gives Keras'
/// class. `rnn` and `gru` prove a step a layer, `lstm_seq` in steps: a step a timestep, the
/// state carried in the folded state (docs/DESIGN.md §7.4, "Recurrent layers in bands").
#[test]
fn recurrent_layers_prove_and_verify() {
    use kerafold_step_circuits::spec::{Act, Op};
    for (name, step_size) in [("rnn", None), ("gru", None), ("lstm_seq", Some(16))] {
        let (q, _) = quantized_fixture(name);
        let cells = q
            .steps
            .iter()
            .filter(|s| matches!((&s.op, &s.act), (Op::Recurrent(_), Act::Cell { .. })))
            .count();
        assert_eq!(cells, 2, "{name}");
        proves_keras_class_in_steps(name, 1, step_size);
    }
}

/// Conv2DTranspose (the `transpose` fixture: `same` and `valid`, stride 2) runs as a convolution
/// over its input dilated by the stride and padded — constant wiring — with the kernel turned
/// half a circle; the proof gives Keras' class.
#[test]
fn transposed_convolutions_prove_and_verify() {
    use kerafold_step_circuits::spec::{Op, ViewOp};
    let (q, _) = quantized_fixture("transpose");
    let dilated: Vec<&str> = q
        .steps
        .iter()
        .filter(|s| matches!(s.op, Op::Conv(_)))
        .filter(|s| {
            s.views
                .iter()
                .any(|v| matches!(v, ViewOp::Dilate { sy: 2, sx: 2, .. }))
        })
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(dilated, ["up", "up_valid"]);
    proves_keras_class("transpose", 6);
}

/// Resizing with nearest interpolation (the `resize` fixture: 6 → 9 and 7 → 3×4) is constant
/// wiring: rows and columns copied by TensorFlow's half-pixel rule; the proof gives Keras' class.
#[test]
fn nearest_resizing_proves_and_verifies() {
    use kerafold_step_circuits::spec::ViewOp;
    let (q, _) = quantized_fixture("resize");
    let resized = q
        .steps
        .iter()
        .flat_map(|s| &s.views)
        .filter(|v| matches!(v, ViewOp::Resize { .. }))
        .count();
    assert_eq!(resized, 2);
    proves_keras_class("resize", 9);
}

/// Every element-wise merge (the `merges` fixture: Subtract with the saved tensor first and
/// second, Multiply, Average, Maximum, Minimum, each of a Dense branch with the tensor it started
/// from, nested in an outer skip that closes last) is one step popping the last saved tensor;
/// two saved tensors are alive at once, and the proof gives Keras' class.
#[test]
fn element_wise_merges_prove_and_verify() {
    use kerafold_step_circuits::spec::{Merge, Op};
    let (q, _) = quantized_fixture("merges");
    let merges: Vec<(Merge, bool)> = q
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::Merge {
                merge, saved_first, ..
            } => Some((merge, saved_first)),
            _ => None,
        })
        .collect();
    assert_eq!(
        merges,
        [
            (Merge::Subtract, true),
            (Merge::Multiply, false),
            (Merge::Average, false),
            (Merge::Maximum, false),
            (Merge::Minimum, false),
            (Merge::Subtract, false),
            (Merge::Add, false),
        ]
    );
    let (mut depth, mut deepest) = (0usize, 0);
    for s in &q.steps {
        depth += s.save_input as usize;
        deepest = deepest.max(depth);
        depth -= s.op.reads_saved() as usize;
    }
    assert_eq!((depth, deepest), (0, 2));
    proves_keras_class("merges", 3);
}

/// Concatenations (the `concat` fixture, a small U-Net: along channels with the current tensor
/// first, along rows with the saved encoder tensor first, and of two vectors) are steps reading
/// the saved tensor, whose length differs from the step's input; the proof gives Keras' class.
#[test]
fn concatenations_prove_and_verify() {
    use kerafold_step_circuits::spec::Op;
    let (q, _) = quantized_fixture("concat");
    let cats: Vec<(usize, bool, usize, usize)> = q
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::Concat(c) => Some((c.axis, c.saved_first, c.x.len(), c.saved.len())),
            _ => None,
        })
        .collect();
    assert_eq!(
        cats,
        [(2, false, 36, 27), (0, true, 108, 108), (2, false, 8, 216)]
    );
    proves_keras_class("concat", 4);
}

/// Branches with layers on both sides (the `branches` fixture: a ResNet block with a projection
/// shortcut, an Inception-like pair of convolutions concatenated): a swap step at each branch
/// point sets the first branch's output aside and resumes the fork's tensor; the proof gives
/// Keras' class and leaves nothing saved.
#[test]
fn branches_with_layers_on_both_sides_prove_and_verify() {
    use kerafold_step_circuits::spec::Op;
    let (q, _) = quantized_fixture("branches");
    let swaps: Vec<(usize, usize)> = q
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::Swap { n, saved, .. } => Some((n, saved)),
            _ => None,
        })
        .collect();
    // the shortcut's output (4×4×6) set aside for the block (the stem's 8×8×4 resumed); one
    // Inception branch (4×4×3) set aside for the other (the block's 4×4×6 resumed)
    assert_eq!(swaps.len(), 2, "{swaps:?}");
    assert!(
        swaps.contains(&(96, 256)) && swaps.contains(&(48, 96)),
        "{swaps:?}"
    );
    proves_keras_class("branches", 2);
}

/// One tensor read by several merges and a layer (the `rereads` fixture: the stem's output
/// concatenated with a branch, added to the next, then read by a layer of its own): the first two
/// merges keep it saved, the swap before the layer resumes it; the proof gives Keras' class.
#[test]
fn a_tensor_read_by_several_merges_proves_and_verifies() {
    let (q, _) = quantized_fixture("rereads");
    assert_eq!(
        saved_readers(&q),
        [
            ("cat_keep", "concatenate", true),
            ("add_keep", "add", true),
            ("e/branch", "swap", false),
            ("sub", "subtract", false)
        ]
    );
    proves_keras_class("rereads", 3);
}

/// A fork read again after its branches merge (the `inception_resnet` fixture: the stem's output
/// forks into a 1×1 branch and a 1×1-then-3×3 branch, concatenated and projected, then added
/// back to the stem): the swap that resumes the stem keeps it saved under the first branch; the
/// proof gives Keras' class.
#[test]
fn a_fork_read_again_after_its_branches_merge_proves_and_verifies() {
    let (q, _) = quantized_fixture("inception_resnet");
    assert_eq!(
        saved_readers(&q),
        [
            ("b2_1x1/branch", "swap", true),
            ("mixed", "concatenate", false),
            ("residual+block_relu", "add", false)
        ]
    );
    proves_keras_class("inception_resnet", 0);
}

/// Forks of three branches joined by one merge (the `inception` fixture: an Inception block of a
/// 1×1 convolution, a 3×3 convolution and a pooled 1×1 convolution concatenated, then three Dense
/// heads added): the fork's tensor is saved again after each swap that resumes it while a branch
/// still reads it, and the three-way merge is a chain of two pairwise steps popping the branches;
/// the proof gives Keras' class.
/// Crossed skips (the `crossed` fixture: the stem's output merged before the first block's,
/// which is saved after it, one deep under it): proves and verifies Keras' class.
#[test]
fn crossed_skips_prove_and_verify() {
    let (q, _) = quantized_fixture("crossed");
    let saves: Vec<usize> = q.steps.iter().filter_map(|s| s.save()).collect();
    assert_eq!(saves, [0, 1]);
    proves_keras_class("crossed", 2);
}

/// Crossings through a kept tensor and through branch points (the `crossings` fixture: a merge
/// that keeps the stem's output moves it under the block's, a swap drops the fork's tensor for
/// the second branch to save two deep, another sets its branch aside one deep): proves and
/// verifies Keras' class.
#[test]
fn crossings_through_kept_tensors_and_branch_points_prove_and_verify() {
    let (q, _) = quantized_fixture("crossings");
    let deep: Vec<(&str, usize)> = q
        .steps
        .iter()
        .filter(|s| s.save_depth > 0)
        .map(|s| (s.name.as_str(), s.save_depth))
        .collect();
    assert_eq!(
        deep,
        [("b2", 1), ("add_stem_keep", 1), ("g1", 2), ("h2/branch", 1)]
    );
    proves_keras_class("crossings", 1);
}

/// Merges of views (the `unet` fixture: an upsampling applied by the Concatenate's own step,
/// an upsampling and a crop saved by identity steps of their own): proves and verifies
/// Keras' class.
#[test]
fn merges_of_views_prove_and_verify() {
    proves_keras_class("unet", 3);
}

/// Bidirectional wrappers (the `bidirectional` fixture: LSTM, SimpleRNN and GRU, merged by
/// concat, mul and ave): proves and verifies Keras' class.
#[test]
fn bidirectional_layers_prove_and_verify() {
    proves_keras_class("bidirectional", 2);
}

#[test]
fn forks_of_three_branches_prove_and_verify() {
    use kerafold_step_circuits::spec::Op;
    let (q, _) = quantized_fixture("inception");
    let swaps = q
        .steps
        .iter()
        .filter(|s| matches!(s.op, Op::Swap { .. }))
        .count();
    assert_eq!(swaps, 4, "two swaps a fork of three branches");
    let merges: Vec<(&str, &str)> = q
        .steps
        .iter()
        .filter(|s| s.op.reads_saved() && !matches!(s.op, Op::Swap { .. }))
        .map(|s| (s.name.as_str(), s.op.kind()))
        .collect();
    assert_eq!(
        merges,
        [
            ("mixed/1", "concatenate"),
            ("mixed", "concatenate"),
            ("heads/1", "add"),
            ("heads", "add")
        ]
    );
    proves_keras_class("inception", 0);
}

/// An Embedding (the `embedding` fixture: token ids, an Embedding, a Conv1D, global average
/// pooling): a one-hot step proves each token's row is its id's, the table follows as a 1×1
/// convolution; the proof gives Keras' class.
#[test]
fn embeddings_prove_and_verify() {
    use kerafold_step_circuits::spec::Op;
    let (q, _) = quantized_fixture("embedding");
    assert_eq!(q.steps[0].op, Op::OneHot { n: 10, vocab: 16 });
    assert!(
        matches!(q.steps[1].op, Op::Conv(c) if c.c_out == 4 && c.window.kh == 1 && c.window.kw == 1)
    );
    proves_keras_class("embedding", 1);
}

/// LayerNormalization (the `layernorm` fixture: a convolution over a sequence, a normalization,
/// a position-wise Dense added back, a second normalization of scale only): each normalization is
/// a step proving every position's mean, variance and inverse square root, then `γ`, `β` as a
/// per-channel affine step; the proof gives Keras' class.
#[test]
fn layer_normalizations_prove_and_verify() {
    use kerafold_step_circuits::spec::{AffineSpec, NormSpec, Op};
    let (q, _) = quantized_fixture("layernorm");
    let norms: Vec<(&str, NormSpec)> = q
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::LayerNorm(l) => Some((s.name.as_str(), l)),
            _ => None,
        })
        .collect();
    assert_eq!(norms.len(), 2, "{norms:?}");
    for (name, l) in &norms {
        assert_eq!((l.groups, l.n), (12, 8), "{name}");
    }
    assert_eq!(
        norms[0].1.eps,
        NormSpec::eps_fixed(f64::from(1e-3f32)).unwrap()
    );
    assert_eq!(
        norms[1].1.eps,
        NormSpec::eps_fixed(f64::from(1e-5f32)).unwrap()
    );
    // each followed by its γ (and β) per channel
    for name in ["ln1", "ln2"] {
        let affine = q.steps.iter().find(|s| s.name == name).unwrap();
        assert_eq!(affine.op, Op::Affine(AffineSpec { n: 96, channels: 8 }));
    }
    proves_keras_class("layernorm", 3);
}

/// The uncentered normalizations (the `rmsnorm` fixture): LayerNormalization with
/// `rms_scaling=True` (`γ·x/√(variance + ε)`, no `β`) and RMSNormalization (`x/√(mean(x²) + ε)`
/// times its scale) lower to their own forms of the normalization step, each followed by its
/// scale alone, and prove Keras' class.
#[test]
fn rms_normalizations_prove_and_verify() {
    use kerafold_step_circuits::spec::{NormKind, Op};
    let (q, _) = quantized_fixture("rmsnorm");
    let kinds: Vec<NormKind> = q
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::LayerNorm(l) => Some(l.kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [NormKind::RmsScaling, NormKind::Rms]);
    for name in ["ln_rms", "rms"] {
        let scale = q.steps.iter().find(|s| s.name == name).unwrap();
        assert!(matches!(scale.op, Op::Affine(_)), "{name}: {:?}", scale.op);
        assert!(scale.weights.b.iter().all(|&b| b == 0), "{name}: no offset");
    }
    proves_keras_class("rmsnorm", 3);
}

/// A binary classifier (the `binary` fixture: one sigmoid unit) proves its class exactly as
/// `[logit > 0]`: the sigmoid stays outside the proof, unapproximated, and samples of both classes
/// prove Keras' class.
#[test]
fn a_final_sigmoid_unit_proves_the_binary_class_exactly() {
    use kerafold_step_circuits::spec::{Act, Op};
    let (q, fx) = quantized_fixture("binary");
    assert!(q.sigmoid && !q.softmax);
    let out = q.steps.iter().find(|s| s.name == "out").unwrap();
    assert_eq!(out.act, Act::Linear, "the sigmoid is not approximated");
    assert_eq!(q.steps.last().unwrap().op, Op::ArgMax { n: 1 });
    let zero = (0..fx.inputs.len())
        .find(|&i| fx.keras_class(i) == 0)
        .unwrap();
    let one = (0..fx.inputs.len())
        .find(|&i| fx.keras_class(i) == 1)
        .unwrap();
    proves_keras_class("binary", zero);
    proves_keras_class("binary", one);
}

/// The steps that read a saved tensor: name, kind, whether it keeps it.
fn saved_readers(q: &kerafold::model::QuantizedModel) -> Vec<(&str, &'static str, bool)> {
    q.steps
        .iter()
        .filter(|s| s.op.reads_saved())
        .map(|s| (s.name.as_str(), s.op.kind(), s.op.keeps_saved()))
        .collect()
}

/// Proves `name`'s sample on BN254 with HyperKZG over the binary's random tau (the fixtures'
/// subject is the layers, not the commitment scheme, and HyperKZG compresses several times
/// faster than IPA): Keras' class, the reference logits, and it verifies.
fn proves_keras_class(name: &str, sample: usize) {
    proves_keras_class_in_steps(name, sample, None)
}

/// [`proves_keras_class`] in steps of `step_size` (tiles, bands, a recurrent layer's
/// timesteps), a step per layer without.
fn proves_keras_class_in_steps(name: &str, sample: usize, step_size: Option<usize>) {
    let params = shared_dir("kzg-layers");
    let (q, fx) = quantized_fixture(name);
    let x = q.quantize_input(&fx.inputs[sample], Some(sample)).unwrap();
    let reference = q.trace(&x, Some(sample)).unwrap();
    let opts = ProveOptions {
        system: System::Bn254Kzg,
        srs: Srs::InsecureRandomTau,
        params_dir: params.clone(),
        tiling: step_size.map(|n| kerafold::fold::Tiling::square(n, &q.fp).unwrap()),
        ..ProveOptions::default()
    };
    let (proof, _) = inference::prove(&q, &x, &opts, &mut |_| {}).unwrap();
    assert_eq!(proof.claim.class, fx.keras_class(sample), "sample {sample}");
    assert_eq!(
        proof.claim.output,
        Opening::Public {
            values: reference.logits
        }
    );
    let vopts = VerifyOptions {
        params_dir: params.clone(),
        srs: Some(Srs::Ptau(params.join(RANDOM_TAU_DIR))),
        model: Some(q.clone()),
        arch: None,
        input: Some(x),
    };
    assert!(inference::verify(&proof, &vopts).unwrap().model_checked);
}
