//! Recurrent layers in the layer circuit (docs/DESIGN.md §7.5 item 3): on the `rnn`, `gru` and
//! `lstm_seq` fixtures (two recurrent layers each, then a Dense head), folded step by step
//! through the checking constraint system. Release mode, BN254/IPA.

use crate::common::{fold_fixture, RECURRENT};
use kerafold_step_circuits::spec::Op;

/// Every recurrent fixture folds through its two recurrent steps, its head and its ArgMax; each
/// step opens the previous one's output as the integer trace has it.
#[test]
fn recurrent_fixtures_fold_step_by_step() {
    for name in RECURRENT {
        let mut ops = std::cell::RefCell::new(vec![]);
        fold_fixture(name, |i, q, _, _| {
            ops.borrow_mut().push(q.steps[i].op.kind())
        })
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
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
