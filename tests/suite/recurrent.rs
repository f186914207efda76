//! Recurrent layers in the layer circuit (docs/DESIGN.md §7.5 item 3): on the `rnn`, `gru` and
//! `lstm_seq` fixtures (two recurrent layers each, then a Dense head), folded step by step
//! through the checking constraint system. Release mode, BN254/IPA.

use crate::common::{fold_fixture, fold_fixture_in_steps, Fixture, Scalar, RECURRENT};
use kerafold_step_circuits::spec::Op;

/// Keras' class of fixture `name`'s sample 0, the one the folds run on.
fn keras_class(name: &str) -> Scalar {
    Scalar::from(Fixture::load(name).keras_class(0) as u64)
}

/// Every recurrent fixture folds through its two recurrent steps, its head and its ArgMax to
/// Keras' class; each step opens the previous one's output as the integer trace has it.
#[test]
fn recurrent_fixtures_fold_step_by_step() {
    for name in RECURRENT {
        let mut ops = std::cell::RefCell::new(vec![]);
        let z = fold_fixture(name, |i, q, _, _| {
            ops.borrow_mut().push(q.steps[i].op.kind())
        })
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(z[5], keras_class(name), "{name}: the class");
        let kinds = ops.get_mut();
        assert_eq!(kinds.len(), 4, "{name}: {kinds:?}");
        assert!(matches!(kinds[3], "argmax"), "{name}: {kinds:?}");
    }
}

/// The sequence one recurrent layer hands to the next is the committed tensor: a second layer
/// that reads one forged value of it (the first timestep's, the second's) fails the opening of
/// its input.
#[test]
fn a_forged_sequence_between_recurrent_layers_fails_its_opening() {
    for name in RECURRENT {
        for at in [0, 7] {
            let err = fold_fixture(name, |i, _, _, w| {
                if i == 1 {
                    w.x[at] += 1;
                }
            })
            .unwrap_err();
            assert_eq!(
                err,
                (1, "prover: constraint 'open_x/eq' is not satisfied".into())
            );
        }
    }
}

/// A recurrent step computes with the weights in its slot: with zeros there it outputs another
/// sequence, which the next step cannot open as the trace's.
#[test]
fn zero_weights_in_a_recurrent_slot_change_its_output() {
    for name in RECURRENT {
        let err = fold_fixture(name, |i, q, _, w| {
            if i == 0 {
                assert!(matches!(q.steps[0].op, Op::Recurrent(_)), "{name}");
                let slot = w.slot;
                for v in w.weights[slot].w.iter_mut() {
                    *v = 0u64.into();
                }
            }
        })
        .unwrap_err();
        assert_eq!(
            err,
            (1, "prover: constraint 'open_x/eq' is not satisfied".into()),
            "{name}"
        );
    }
}

/// The step size the banded tests compile with: Dense layers in tiles, a recurrent layer in
/// bands of one timestep (whatever the size).
const STEP: usize = 16;

/// The banded architecture of a fixture, and per recurrent layer its band steps in order.
fn banded(name: &str) -> (kerafold::fold::Architecture, Vec<Vec<usize>>) {
    let (q, _) = crate::common::quantized_fixture(name);
    let tiling = kerafold::fold::Tiling::square(STEP, &q.fp).unwrap();
    let arch = kerafold::fold::Architecture::compile_tiled(&q, Some(tiling)).unwrap();
    let mut layers: Vec<Vec<usize>> = vec![];
    for (i, s) in arch.steps.iter().enumerate() {
        let slot = &arch.slots[s.slot];
        if let (Some(b), Op::Recurrent(_)) = (s.band, slot.op) {
            if b.first {
                layers.push(vec![]);
            }
            layers.last_mut().expect("a first band").push(i);
        }
    }
    (arch, layers)
}

/// In steps, a recurrent layer is one fold a timestep of one cell slot: every fixture folds to
/// Keras' class (as its fold by layer does), through as many bands as its layers have timesteps.
#[test]
fn recurrent_fixtures_fold_one_timestep_a_step() {
    for name in RECURRENT {
        let (q, _) = crate::common::quantized_fixture(name);
        let (arch, layers) = banded(name);
        let timesteps: Vec<usize> = q
            .steps
            .iter()
            .filter_map(|s| match s.op {
                Op::Recurrent(r) => Some(r.timesteps),
                _ => None,
            })
            .collect();
        let bands: Vec<usize> = layers.iter().map(Vec::len).collect();
        assert_eq!(bands, timesteps, "{name}: a band a timestep");
        for s in &arch.slots {
            if let (Some(_), Op::Recurrent(r)) = (s.band, s.op) {
                assert_eq!(r.timesteps, 1, "{name}: the slot is one cell");
            }
        }
        let steps = fold_fixture_in_steps(name, Some(STEP), |_, _, _, _| {})
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(steps[5], keras_class(name), "{name}: the class");
    }
}

/// The state one timestep hands to the next is bound by the folded state: a band that starts
/// from another `h` (or LSTM `c`) than its predecessor's fails the carry check, and a first
/// timestep that starts from a state other than zero fails the first band's.
#[test]
fn a_forged_state_between_timesteps_fails_the_carry() {
    for name in RECURRENT {
        let (q, _) = crate::common::quantized_fixture(name);
        let (_, layers) = banded(name);
        let state_len = q
            .steps
            .iter()
            .find_map(|s| match s.op {
                Op::Recurrent(r) => Some(r.cell.state_len()),
                _ => None,
            })
            .unwrap();
        // the second timestep of the first layer, its h then its last state value (LSTM: c)
        for k in [0, state_len - 1] {
            let at = layers[0][1];
            let err = fold_fixture_in_steps(name, Some(STEP), |i, _, _, w| {
                if i == at {
                    w.state[k] += 1;
                }
            })
            .unwrap_err();
            assert_eq!(
                err,
                (
                    at,
                    "prover: constraint 'band_carry_is_state' is not satisfied".into()
                ),
                "{name}, state value {k}"
            );
        }
        let at = layers[1][0];
        let err = fold_fixture_in_steps(name, Some(STEP), |i, _, _, w| {
            if i == at {
                w.state[0] = 1;
            }
        })
        .unwrap_err();
        assert_eq!(
            err,
            (
                at,
                "prover: constraint 'band_first_carries_nothing' is not satisfied".into()
            ),
            "{name}: a nonzero first state"
        );
    }
}

/// Folded a timestep a step, a sequence of 64 costs 64 folds of the step circuit that runs 8:
/// `lstm_t64` and `lstm_t8` (one LSTM cell and its head over 64 and 8 timesteps, the same
/// weights) compile at the default step size to step circuits of one size, and 64 + 2 steps
/// against 8 + 2 (the head, the ArgMax). Quantized alike (the longer fixture's parameters), the
/// two circuits are the same circuit: the cell slot is the same op.
#[test]
fn the_step_circuit_does_not_grow_with_the_sequence() {
    use kerafold::fold::Architecture;
    use kerafold::inference::circuit::step_constraints;
    let (q64, _) = crate::common::quantized_fixture("lstm_t64");
    let (q8, _) = crate::common::quantized_fixture("lstm_t8");
    let mut same = q64.clone();
    let Op::Recurrent(r) = &mut same.steps[0].op else {
        panic!("lstm_t64 starts with its LSTM")
    };
    r.timesteps = 8;
    same.input_shape = q8.input_shape.clone();
    let mut sizes = vec![];
    for (q, t) in [(&q64, 64), (&same, 8)] {
        let tiling = kerafold::inference::resolve_tiling(
            q,
            kerafold::fold::System::Bn254Ipa,
            kerafold::fold::Visibility::Public,
            kerafold::fold::StepSize::Auto,
        )
        .unwrap();
        assert!(tiling.is_some(), "T = {t}: the default cuts the layer");
        let arch = std::sync::Arc::new(Architecture::compile_tiled(q, tiling).unwrap());
        assert_eq!(arch.steps.len(), t + 2, "T = {t}");
        // what a slot computes (its layer differs: that is only which bands run in it)
        let ops: Vec<_> = arch.slots.iter().map(|s| (s.op, s.act.clone())).collect();
        let n = step_constraints::<crate::common::Scalar>(&arch).unwrap();
        sizes.push((ops, n));
    }
    assert_eq!(sizes[0], sizes[1], "one step circuit whatever T");
}

/// A band's output count is fixed by its rows: an architecture (as a prover may hand one over)
/// whose silent timestep claims outputs, or whose last timestep claims none, is refused.
#[test]
fn an_architecture_with_a_band_that_outputs_other_than_its_rows_is_refused() {
    let (arch, layers) = banded("lstm_seq");
    arch.validate().unwrap();
    // lstm2 outputs h on its last timestep only
    let (silent, last) = (layers[1][0], *layers[1].last().unwrap());
    for (at, n_out) in [(silent, 1), (last, 0)] {
        let mut forged = arch.clone();
        forged.steps[at].n_out = n_out;
        let e = forged.validate().unwrap_err();
        assert!(
            e.contains("outputs other than its rows") || e.contains("outputs from a slot"),
            "step {at}: {e}"
        );
    }
}

/// A Bidirectional wrapper (the `bidirectional` fixture) folds its backward layer on the
/// sequence reversed, a timestep a step, to Keras' class. The
/// reversal is the backward step's view, fixed by the architecture: an architecture without
/// it has another digest, and the backward layer's step, run on the sequence in order under
/// it, no longer gives the next step the tensor it opens.
#[test]
fn a_bidirectional_layer_folds_its_backward_layer_on_the_reversed_sequence() {
    use kerafold::fold::Architecture;
    use kerafold_step_circuits::spec::ViewOp;
    let name = "bidirectional";
    let steps = fold_fixture_in_steps(name, Some(STEP), |_, _, _, _| {})
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert_eq!(steps[5], keras_class(name), "the class");
    let (q, _) = crate::common::quantized_fixture(name);
    let backward = q
        .steps
        .iter()
        .position(|s| s.name == "bi_lstm/backward")
        .unwrap();
    assert!(matches!(
        q.steps[backward].views[..],
        [ViewOp::Reverse { .. }]
    ));
    let mut forward_only = q.clone();
    forward_only.steps[backward].views.clear();
    let honest = Architecture::compile(&q).unwrap();
    let forged = Architecture::compile(&forward_only).unwrap();
    assert_ne!(honest.digest(), forged.digest());
    // the backward layer's witness computed on the sequence in order
    let fx = crate::common::Fixture::load(name);
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let in_order = forward_only.trace(&x, Some(0)).unwrap();
    let err = fold_fixture(name, |i, _, _, w| {
        if i == backward + 1 {
            let y = &in_order.steps[backward].y;
            w.x[..y.len()].copy_from_slice(y);
        }
    })
    .unwrap_err();
    assert_eq!(err.0, backward + 1);
    assert!(err.1.contains("open_x"), "{err:?}");
}

/// An Embedding's mask (the `masked_text` fixture: `mask_zero = true` into a Bidirectional
/// LSTM, on sample 0, which is padded): the masked cells fold to Keras' class a step a layer and
/// a step a timestep; the token ids they read are the committed sequence's, so a padding
/// timestep's token claimed real (to move the state) fails the opening of the layer's input.
#[test]
fn a_masked_sequence_folds_and_its_token_ids_are_the_committed_ones() {
    let name = "masked_text";
    let fx = Fixture::load(name);
    let pad = fx.inputs[0].iter().position(|&t| t == 0.0);
    let pad = pad.expect("sample 0 is padded");
    folds_to_keras_class_both_ways(name);
    // the forward LSTM's rows: the embedding (4 values) and the token id
    forged_mask_column_fails_the_opening(name, "bilstm/forward", 5, pad, true);
}

/// A Masking layer's mask (the `masking` fixture: padding timesteps of −1 before a stacked LSTM
/// and SimpleRNN, on sample 0, which is padded): the masked cells fold to Keras' class a step a
/// layer and a step a timestep. The column the LSTM reads is the one computed from the
/// committed input: a padding timestep's column claimed non-zero (to move the state), or a real
/// timestep's changed, fails the opening of the LSTM step's input.
#[test]
fn a_masking_layers_padding_folds_and_its_mask_column_is_the_computed_one() {
    let name = "masking";
    let fx = Fixture::load(name);
    let timesteps: Vec<&[f32]> = fx.inputs[0].chunks(2).collect();
    let pad = timesteps.iter().position(|t| t == &[-1.0, -1.0]);
    let real = timesteps.iter().position(|t| t != &[-1.0, -1.0]);
    folds_to_keras_class_both_ways(name);
    // the LSTM's rows: 2 features and the column
    let pad = pad.expect("sample 0 is padded");
    forged_mask_column_fails_the_opening(name, "lstm", 3, pad, true);
    let real = real.expect("and not all padding");
    forged_mask_column_fails_the_opening(name, "lstm", 3, real, false);
}

/// Fixture `name`'s sample 0 folds to Keras' class a step a layer and a step a timestep.
fn folds_to_keras_class_both_ways(name: &str) {
    let z = fold_fixture(name, |_, _, _, _| {}).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(z[5], keras_class(name), "a step a layer");
    let z = fold_fixture_in_steps(name, Some(STEP), |_, _, _, _| {})
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(z[5], keras_class(name), "a step a timestep");
}

/// Folding fixture `name` a step a layer, timestep `t`'s mask column (the last of its `row`
/// values; zero if `padding`) raised in the input of step `layer` fails that step's opening of
/// its input. (A band, a step a timestep, reads its rows through the input stream, which later
/// steps check.)
fn forged_mask_column_fails_the_opening(
    name: &str,
    layer: &str,
    row: usize,
    t: usize,
    padding: bool,
) {
    let (q, _) = crate::common::quantized_fixture(name);
    let step = q.steps.iter().position(|s| s.name == layer).unwrap();
    let err = fold_fixture(name, |i, q, _, w| {
        if i == step {
            let column = row * t + row - 1;
            assert_eq!(w.x[column] == 0, padding, "timestep {t}'s mask column");
            w.x[column] += 1 << q.fp.fa;
        }
    })
    .unwrap_err();
    assert_eq!(err.0, step, "timestep {t}: {err:?}");
    assert!(err.1.contains("open_x"), "timestep {t}: {err:?}");
}
