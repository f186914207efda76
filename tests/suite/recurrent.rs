//! Recurrent layers in the layer circuit (docs/DESIGN.md §7.5 item 3): on the `rnn`, `gru` and
//! `lstm_seq` fixtures (two recurrent layers each, then a Dense head), folded step by step
//! through the checking constraint system. Release mode, BN254/IPA.

use crate::common::{quantized_fixture, RECURRENT};
use kerafold::fold::Architecture;
use kerafold::inference::circuit::{check_step, StepWitness};
use kerafold::inference::{public_initial_state, public_step_witness};
use kerafold::model::Trace;
use kerafold_step_circuits::commit::commit_native;
use kerafold_step_circuits::spec::Op;
use nova_snark::provider::Bn256EngineIPA;
use nova_snark::traits::Engine;
use std::sync::Arc;

type F = <Bn256EngineIPA as Engine>::Scalar;

/// Folds every step of fixture `name` on its sample 0, `edit` changing step witnesses (given
/// the step's op): after each step, the state's current tensor against the commitment of the
/// step's output in the integer trace; the first failing step and its error otherwise.
fn fold_fixture(
    name: &str,
    edit: impl Fn(usize, &Op, &mut StepWitness<F>),
) -> Result<Trace, (usize, String)> {
    let (q, fx) = quantized_fixture(name);
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let arch = Arc::new(Architecture::compile(&q).unwrap());
    let trace = q.trace(&x, Some(0)).unwrap();
    let mut z = public_initial_state::<F>(&arch, &trace);
    for i in 0..arch.steps.len() {
        let mut w = public_step_witness::<F>(&arch, &q, &trace, i);
        edit(i, &q.steps[i].op, &mut w);
        z = check_step(&arch, &Arc::new(w), &z)
            .map_err(|e| (i, e.to_string()))?
            .0;
        // z[1] is the current tensor's commitment (unblinded in a public witness)
        let want = commit_native::<F>(&trace.steps[i].y, q.fp.bits, F::from(0));
        if i + 1 < arch.steps.len() && z[1] != want {
            return Err((i, "the output is not the trace's".into()));
        }
    }
    Ok(trace)
}

/// Every recurrent fixture folds through its two recurrent steps and its head, each step's
/// output the integer trace's.
#[test]
fn recurrent_fixtures_fold_step_by_step() {
    for name in RECURRENT {
        let trace = fold_fixture(name, |_, _, _| {}).unwrap();
        assert_eq!(
            trace.steps.len(),
            4,
            "{name}: two cells, the head, the argmax"
        );
    }
}

/// The sequence one recurrent layer hands to the next is the committed tensor: a second layer
/// that reads one forged value of it (any timestep) fails the opening of its input.
#[test]
fn a_forged_sequence_between_recurrent_layers_fails_its_opening() {
    for name in RECURRENT {
        for at in [0, 7] {
            let err = fold_fixture(name, |i, _, w| {
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

/// A recurrent step computes with the weights in its slot: zeros there give another output than
/// the trace's (and fold into another model commitment).
#[test]
fn zero_weights_in_a_recurrent_slot_change_its_output() {
    for name in RECURRENT {
        let err = fold_fixture(name, |i, op, w| {
            if i == 0 {
                assert!(matches!(op, Op::Recurrent(_)), "{name}");
                let slot = w.slot;
                for v in w.weights[slot].w.iter_mut() {
                    *v = F::from(0);
                }
            }
        })
        .unwrap_err();
        assert_eq!(err, (0, "the output is not the trace's".into()), "{name}");
    }
}
