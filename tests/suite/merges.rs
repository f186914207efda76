//! Merges and the stack of saved tensors (docs/DESIGN.md §4.2): a step saving its input pushes
//! its commitment, a merge pops the last one. On the `merges` fixture (an outer skip around six
//! inner merges, two saved tensors alive at once), folded step by step through the checking
//! constraint system: the honest steps end with nothing saved, and a merge that opens any tensor
//! but the last saved one, or pretends to pop while keeping the stack, is unsatisfiable; the
//! accuracy circuits (a sample per fold, a layer per fold) keep the same stack. On the `branches`
//! fixture (forks whose branches both have layers), a swap step resumes exactly the tensor saved
//! at the fork and sets the branch it leaves aside for the merge. On the `rereads` fixture (one
//! tensor read by two merges and a layer), the merges that keep it leave the stack as it was.
//! On the `crossed` fixture (the stem's tensor merged before the first block's, saved after
//! it), the block's save goes under the stem's tensor; a forged entry under the top, a save on
//! top instead, or an architecture without the depth fails. On the `crossings` fixture a merge
//! that keeps its operand moves it under the tensor merged sooner, and swaps drop or set aside
//! tensors at depth; forging the move fails the insert. On the `unet` fixture merges read
//! views (an upsampling through the merge's own step, an upsampling and a crop through identity
//! steps of their own): the fold ends with nothing saved, and the Concatenate opening another
//! crop than the one saved fails its pop.
//! Release mode, BN254/IPA.

use crate::common::{datasets, fold_fixture, quantized_fixture, random_tau, scratch_dir};
use kerafold::accuracy::{prove_shard, verify_shards, AccuracyCheck, FoldUnit, ShardSpec};
use kerafold::data::cid::cid_of_bytes;
use kerafold::fold::Architecture;
use kerafold::fold::Srs;
use kerafold::inference::circuit::{check_step, LayerStep, StepWitness};
use kerafold::inference::{public_initial_state, public_step_witness};
use kerafold::model::{QuantizedModel, Trace};
use kerafold_step_circuits::commit::commit_native;
use kerafold_step_circuits::cs::TamperCs;
use kerafold_step_circuits::spec::Op;
use kerafold_step_circuits::step::alloc_num;
use nova_snark::provider::Bn256EngineIPA;
use nova_snark::traits::circuit::StepCircuit;
use nova_snark::traits::Engine;
use std::sync::Arc;

type F = <Bn256EngineIPA as Engine>::Scalar;

/// Folds every step of the `merges` fixture on its sample 0, `edit` changing step witnesses:
/// the final state, or the first failing step and its error.
fn fold(
    edit: impl Fn(usize, &QuantizedModel, &Trace, &mut StepWitness<F>),
) -> Result<Vec<F>, (usize, String)> {
    fold_fixture("merges", edit)
}

/// The first inner merge (a Subtract) and the outer Add, the last merge.
fn merge_steps(q: &QuantizedModel) -> (usize, usize) {
    let merges: Vec<usize> = (0..q.steps.len())
        .filter(|&i| q.steps[i].op.reads_saved())
        .collect();
    (merges[0], *merges.last().unwrap())
}

#[test]
fn honest_merges_fold_to_an_empty_stack() {
    let z = fold(|_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
}

#[test]
fn a_merge_opens_only_the_last_saved_tensor() {
    // the inner Subtract opening the outer skip's tensor (the stem's output) instead: a tensor
    // that was saved, but not last
    let err = fold(|i, q, t, w| {
        let (inner, _) = merge_steps(q);
        if i == inner {
            let outer_saver = q.steps.iter().position(|s| s.save_input).unwrap();
            let outer = &t.steps[outer_saver].input;
            w.skip[..outer.len()].copy_from_slice(outer);
            w.skip_top = commit_native(outer, q.fp.bits, F::from(0));
            // the stack below the outer tensor is empty
            w.skip_rest = F::from(0);
        }
    })
    .unwrap_err();
    assert!(err.1.contains("stack_pop"), "{err:?}");
}

#[test]
fn a_merge_cannot_keep_the_stack_it_pops() {
    // the outer Add claiming the stack below its tensor is the stack itself (nothing popped)
    let err = fold(|i, q, _, w| {
        let (_, outer) = merge_steps(q);
        if i == outer {
            w.skip_rest = w.skip_top;
        }
    })
    .unwrap_err();
    assert!(err.1.contains("stack_pop"), "{err:?}");
}

/// Folds fixture `name` (sample 0) under the architecture of its model with `unkeep` applied to
/// one keeping step's op, opening at step `at` the tensor it reads honestly over a stack said to
/// be empty below it: the step that fails and its error. The dropping architecture has another
/// digest (the keeping step runs a slot of its own), so other keys and another model seed: the
/// verifier's own compilation refuses it anyway; the fold shows the circuit does too.
fn fold_dropping(
    name: &str,
    keeping: usize,
    unkeep: impl Fn(&mut Op),
    at: usize,
) -> (usize, String) {
    let (q, fx) = quantized_fixture(name);
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let trace = q.trace(&x, Some(0)).unwrap();
    let mut dropping = q.clone();
    unkeep(&mut dropping.steps[keeping].op);
    assert!(!dropping.steps[keeping].op.keeps_saved());
    let honest = Architecture::compile(&q).unwrap();
    let arch = Arc::new(Architecture::compile(&dropping).unwrap());
    assert_ne!(honest.digest(), arch.digest());
    let mut z = public_initial_state::<F>(&arch, &trace);
    for i in 0..arch.steps.len() {
        let mut w = public_step_witness::<F>(&arch, &q, &trace, i);
        if i == at {
            let saved = trace.steps[i].skip.clone().unwrap();
            w.skip_top = commit_native(&saved, q.fp.bits, F::from(0));
            w.skip_blocks = kerafold_step_circuits::commit::num_blocks(saved.len(), q.fp.bits);
            w.skip = saved;
            w.skip.resize(arch.width, 0);
            w.skip_rest = F::from(0);
        }
        match check_step(&arch, &Arc::new(w), &z) {
            Ok((next, _)) => z = next,
            Err(e) => return (i, e.to_string()),
        }
    }
    panic!("{name}: the dropped tensor was read again")
}

/// The steps of fixture `name` that read a saved tensor: index, kind, whether it keeps it.
fn saved_readers(name: &str) -> Vec<(usize, &'static str, bool)> {
    let (q, _) = quantized_fixture(name);
    (0..q.steps.len())
        .filter(|&i| q.steps[i].op.reads_saved())
        .map(|i| (i, q.steps[i].op.kind(), q.steps[i].op.keeps_saved()))
        .collect()
}

/// On the `rereads` fixture (one tensor read by a concatenation, an Add and a layer), the honest
/// merges keep it saved and the fold ends with nothing saved; an architecture whose first merge
/// drops it leaves the next merge nothing to pop.
#[test]
fn a_merge_that_keeps_its_operand_leaves_the_stack() {
    let z = fold_fixture("rereads", |_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
    let readers = saved_readers("rereads");
    let [(concat, "concatenate", true), (add, "add", true), ..] = readers[..] else {
        panic!("a keeping concatenation, then a keeping Add: {readers:?}");
    };
    let unkeep = |op: &mut Op| match op {
        Op::Concat(c) => c.keep = false,
        op => panic!("not a concatenation: {op:?}"),
    };
    let (at, err) = fold_dropping("rereads", concat, unkeep, add);
    assert_eq!(at, add);
    assert!(err.contains("stack_pop"), "{err}");
}

/// On the `crossed` fixture the first block's output is saved one deep, under the stem's output
/// that the Add merges first, and the fold ends with nothing saved. A witness whose insert
/// opens a forged entry fails the opening (`insert/above1`); one that saves on top (depth 0
/// against the architecture's 1) leaves the Add the block's tensor on top (`stack_pop`); so
/// does an architecture that saves on top, whose chain and digest differ besides.
#[test]
fn a_crossed_skip_saves_under_the_tensor_merged_sooner() {
    let z = fold_fixture("crossed", |_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
    let (q, fx) = quantized_fixture("crossed");
    let saves: Vec<usize> = q.steps.iter().filter_map(|s| s.save()).collect();
    assert_eq!(saves, [0, 1], "the stem on top, the block under it");
    let deep = q.steps.iter().position(|s| s.save_depth == 1).unwrap();
    let add = (0..q.steps.len())
        .find(|&i| q.steps[i].op.reads_saved())
        .unwrap();

    let (at, err) = fold_fixture("crossed", |i, _, _, w| {
        if i == deep {
            w.stack[0] += F::from(1);
        }
    })
    .unwrap_err();
    assert_eq!(at, deep);
    assert!(err.contains("insert/above1"), "{err}");

    let (at, err) = fold_fixture("crossed", |i, _, _, w| {
        if i == deep {
            w.save_depth = 0;
        }
    })
    .unwrap_err();
    assert_eq!(at, add);
    assert!(err.contains("stack_pop"), "{err}");

    let honest = Architecture::compile(&q).unwrap();
    let mut on_top = honest.clone();
    on_top.steps[deep].save_depth = 0;
    assert_ne!(honest.digest(), on_top.digest());
    assert_ne!(
        kerafold::fold::commit::arch_chain::<F>(&honest),
        kerafold::fold::commit::arch_chain::<F>(&on_top)
    );
    let (at, err) = fold_under(on_top, &q, &fx.inputs[0])
        .expect("a save on top leaves the Add the wrong tensor");
    assert_eq!(at, add);
    assert!(err.contains("stack_pop"), "{err}");
}

/// Folds `q` on `input` under the architecture `arch` (a variant of its own): the first step
/// that fails and its error.
fn fold_under(arch: Architecture, q: &QuantizedModel, input: &[f32]) -> Option<(usize, String)> {
    let arch = Arc::new(arch);
    let x = q.quantize_input(input, Some(0)).unwrap();
    let trace = q.trace(&x, Some(0)).unwrap();
    let mut z = public_initial_state::<F>(&arch, &trace);
    (0..arch.steps.len()).find_map(|i| {
        let w = public_step_witness::<F>(&arch, q, &trace, i);
        match check_step(&arch, &Arc::new(w), &z) {
            Ok((next, _)) => {
                z = next;
                None
            }
            Err(e) => Some((i, e.to_string())),
        }
    })
}

/// On the `crossings` fixture the Add that merges the stem's output and keeps it for a later
/// Add moves it one under the first block's output, which the Subtract between them merges; a
/// swap drops the fork's tensor that the second branch saves again two deep; another swap sets
/// its branch aside one deep. The fold ends with nothing saved. At the moving Add, a forged
/// entry under the top fails the insert's opening (`insert/above1`), inserting anything but the
/// tensor it opened fails `insert_item_eq` (into anything but the stack under it,
/// `insert_into_eq`), and a witness or an architecture that leaves the
/// stem on top leaves the Subtract the wrong tensor (`stack_pop`).
#[test]
fn a_kept_tensor_moves_under_the_tensor_merged_sooner() {
    let z = fold_fixture("crossings", |_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
    let (q, fx) = quantized_fixture("crossings");
    let placed: Vec<(&str, bool, bool, usize)> = q
        .steps
        .iter()
        .filter(|s| s.save_depth > 0 || s.op.keeps_saved())
        .map(|s| {
            let keeps = s.op.keeps_saved();
            (s.name.as_str(), s.save_input, keeps, s.save_depth)
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("b2", true, false, 1),
            ("add_stem_keep", false, true, 1),
            ("g1", true, false, 2),
            ("h2/branch", true, false, 1),
        ]
    );
    let step = |name: &str| q.steps.iter().position(|s| s.name == name).unwrap();
    let (moving, sub) = (step("add_stem_keep"), step("sub_b1"));

    let (at, err) = fold_fixture("crossings", |i, _, _, w| {
        if i == moving {
            w.stack[0] += F::from(1);
        }
    })
    .unwrap_err();
    assert_eq!(at, moving);
    assert!(err.contains("insert/above1"), "{err}");

    let (at, err) = fold_fixture("crossings", |i, _, _, w| {
        if i == moving {
            w.save_depth = 0;
        }
    })
    .unwrap_err();
    assert_eq!(at, sub);
    assert!(err.contains("stack_pop"), "{err}");

    // the insert fed another tensor, or another stack, than the ones the merge opened
    let arch = Arc::new(Architecture::compile(&q).unwrap());
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let trace = q.trace(&x, Some(0)).unwrap();
    let mut z = public_initial_state::<F>(&arch, &trace);
    for i in 0..moving {
        let w = public_step_witness::<F>(&arch, &q, &trace, i);
        z = check_step(&arch, &Arc::new(w), &z).unwrap().0;
    }
    let w = Arc::new(public_step_witness::<F>(&arch, &q, &trace, moving));
    for (forged, fails) in [
        ("insert_item/num", "insert_item_eq"),
        ("insert_into/num", "insert_into_eq"),
    ] {
        let circuit = LayerStep {
            arch: arch.clone(),
            private_weights: false,
            witness: Some(w.clone()),
        };
        let mut cs = TamperCs::<F>::new();
        cs.override_value(forged, F::from(12345));
        let zv: Vec<_> = z
            .iter()
            .enumerate()
            .map(|(k, v)| alloc_num(&mut cs, &format!("z{k}"), Some(*v)).unwrap())
            .collect();
        circuit.synthesize(&mut cs, &zv).unwrap();
        assert!(
            cs.unused_overrides().is_empty(),
            "{:?}",
            cs.unused_overrides()
        );
        assert_eq!(cs.which_is_unsatisfied(), Some(fails), "{forged}");
    }

    let honest = Architecture::compile(&q).unwrap();
    let mut on_top = honest.clone();
    on_top.steps[moving].save_depth = 0;
    assert_ne!(honest.digest(), on_top.digest());
    let (at, err) = fold_under(on_top, &q, &fx.inputs[0])
        .expect("a kept stem left on top leaves the Subtract the wrong tensor");
    assert_eq!(at, sub);
    assert!(err.contains("stack_pop"), "{err}");
}

/// On the `inception_resnet` fixture (the stem's output forks into two branches, concatenated,
/// then read again by the residual Add around the block), the swap that resumes the stem for the
/// second branch keeps it saved under the first branch, and the fold ends with nothing saved; an
/// architecture whose swap drops it leaves the residual Add, after the concatenation popped the
/// first branch, an empty stack.
#[test]
fn a_swap_that_keeps_the_fork_leaves_it_under_the_branch() {
    let z = fold_fixture("inception_resnet", |_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
    let readers = saved_readers("inception_resnet");
    let [(swap, "swap", true), (_, "concatenate", false), (residual, "add", false)] = readers[..]
    else {
        panic!("a keeping swap, the concatenation and the residual Add: {readers:?}");
    };
    let unkeep = |op: &mut Op| match op {
        Op::Swap { keep, .. } => *keep = false,
        op => panic!("not a swap: {op:?}"),
    };
    let (at, err) = fold_dropping("inception_resnet", swap, unkeep, residual);
    assert_eq!(at, residual);
    assert!(err.contains("stack_pop"), "{err}");
}

#[test]
fn accuracy_proofs_keep_the_stack_per_sample_and_by_layer() {
    let params = scratch_dir("merges-accuracy");
    let (q, _) = quantized_fixture("merges");
    // 4 samples of 16 features, 10 classes: two a shard, so each fold unit goes from one
    // sample to the next
    let data = datasets::dataset("shards_4");
    let correct = |range: std::ops::Range<usize>| {
        range
            .filter(|&i| {
                let t = q.trace(&data.quantized_input(i, q.fp.fa), Some(i)).unwrap();
                t.class == data.sample(i).1 as usize
            })
            .count()
    };
    let check = AccuracyCheck {
        cid: Some(cid_of_bytes(data.as_bytes()).to_string()),
        min_correct: None,
        model: Some(q.clone()),
        arch: None,
        srs: Some(random_tau(&params)),
    };
    // a public model: the verifier recomputes its commitment from the model
    let blinds = vec![];
    // two shards: the first a fold per sample, the second a fold per layer
    let halves: Vec<_> = [FoldUnit::Sample, FoldUnit::Layer { tiling: None }]
        .into_iter()
        .enumerate()
        .map(|(i, unit)| {
            let spec = ShardSpec::nth(i + 1, 2, data.len()).unwrap();
            prove_shard(
                &q,
                &data,
                &blinds,
                &spec,
                unit,
                &Srs::InsecureRandomTau,
                &params,
                &mut |_| {},
            )
            .unwrap()
            .0
        })
        .collect();
    let joined = verify_shards(&halves, &params, &check).unwrap();
    assert_eq!(joined.correct, correct(0..data.len()));
}

/// The attack a free block count would allow: the `concat` fixture's last concatenation pops a
/// 216-value tensor (four blocks); the prover opens only its last three blocks, passing the
/// chain value after the first off as the blinding. The chain ends where the pushed commitment
/// does (the opening accepts it: the failing constraint is the count), but the values read are
/// shifted by a block: the popped tensor's count is the step's.
#[test]
fn a_saved_tensor_cannot_be_opened_from_the_middle() {
    use kerafold_step_circuits::commit::{absorb_block_native, block_len, num_blocks};
    let (q, fx) = quantized_fixture("concat");
    let x = q.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    let arch = Arc::new(Architecture::compile(&q).unwrap());
    let trace = q.trace(&x, Some(0)).unwrap();
    let at = (0..q.steps.len())
        .rfind(|&i| q.steps[i].op.reads_saved())
        .unwrap();
    let mut z = public_initial_state::<F>(&arch, &trace);
    for i in 0..at {
        let w = public_step_witness::<F>(&arch, &q, &trace, i);
        z = check_step(&arch, &Arc::new(w), &z).unwrap().0;
    }
    let mut w = public_step_witness::<F>(&arch, &q, &trace, at);
    let saved = trace.steps[at].skip.clone().unwrap();
    let (bits, l) = (q.fp.bits, block_len(q.fp.bits));
    assert_eq!((saved.len(), w.skip_blocks), (216, num_blocks(216, bits)));
    assert!(w.skip_blocks >= 2);
    w.r_skip = absorb_block_native(F::from(0), &saved[..l], bits);
    w.skip = saved[l..].to_vec();
    w.skip.resize(arch.width, 0);
    w.skip_blocks -= 1;
    let err = check_step(&arch, &Arc::new(w), &z).unwrap_err().to_string();
    assert!(err.contains("skip_count"), "{err}");
}

/// The swap steps of a fixture, and the merge or concatenation after each that pops what it set
/// aside.
fn swaps_and_joins(q: &QuantizedModel) -> Vec<(usize, usize)> {
    let mut depth = 0usize;
    let mut open: Vec<(usize, usize)> = vec![]; // (swap, stack depth after it)
    let mut out = vec![];
    for (i, s) in q.steps.iter().enumerate() {
        if s.op.reads_saved() {
            if let Some(&(swap, d)) = open.last() {
                if d == depth && !matches!(s.op, Op::Swap { .. }) {
                    out.push((swap, i));
                    open.pop();
                }
            }
            depth -= 1;
        }
        if s.save_input {
            depth += 1;
        }
        if matches!(s.op, Op::Swap { .. }) {
            open.push((i, depth));
        }
    }
    out
}

#[test]
fn honest_branches_fold_to_an_empty_stack() {
    let (q, _) = quantized_fixture("branches");
    assert_eq!(swaps_and_joins(&q).len(), 2);
    let z = fold_fixture("branches", |_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
}

#[test]
fn a_swap_resumes_exactly_the_saved_tensor() {
    let (q, _) = quantized_fixture("branches");
    let (swap, _) = swaps_and_joins(&q)[0];
    let resumed = |w: &StepWitness<F>| {
        let n = q.steps[swap].op.output_len();
        let mut v = w.skip[..n].to_vec();
        v[0] += 1;
        v
    };
    // the first swap outputs other values than the tensor saved at the fork, under its
    // commitment
    let err = fold_fixture("branches", |i, _, _, w| {
        if i == swap {
            let v = resumed(w);
            w.skip[..v.len()].copy_from_slice(&v);
        }
    })
    .unwrap_err();
    assert_eq!(err.0, swap);
    assert!(err.1.contains("open_skip"), "{err:?}");
    // or under their own commitment, claimed to be on top: the stack does not open to it
    let err = fold_fixture("branches", |i, q, _, w| {
        if i == swap {
            let v = resumed(w);
            w.skip[..v.len()].copy_from_slice(&v);
            w.skip_top = commit_native(&v, q.fp.bits, F::from(0));
        }
    })
    .unwrap_err();
    assert_eq!(err.0, swap);
    assert!(err.1.contains("stack_pop"), "{err:?}");
}

#[test]
fn a_swap_cannot_drop_the_branch_it_sets_aside() {
    // the first swap pops without pushing its input (as if the first branch were discarded):
    // the merge joining the branches then finds the fork's stack, not the branch, and fails
    let (q, _) = quantized_fixture("branches");
    let (swap, join) = swaps_and_joins(&q)[0];
    let err = fold_fixture("branches", |i, _, _, w| {
        if i == swap {
            w.save_input = false;
        }
    })
    .unwrap_err();
    assert_eq!(err.0, join, "{err:?}");
    assert!(err.1.contains("stack_pop"), "{err:?}");
}

#[test]
fn accuracy_proofs_follow_branches_and_kept_tensors() {
    // a sample per fold on the `rereads` fixture: the accuracy circuit's stack of wires keeps
    // the stem's output through two merges, then pops it and pushes the chain at a swap
    let params = scratch_dir("rereads-accuracy");
    let (q, _) = quantized_fixture("rereads");
    assert!(q.steps.iter().any(|s| s.op.keeps_saved()));
    assert!(q.steps.iter().any(|s| matches!(s.op, Op::Swap { .. })));
    let features = datasets::xorshift_bytes(2 * 12, 7, 255);
    let data = kerafold::data::Dataset::pack(&features, &[1, 3], &[12], 10, 8).unwrap();
    let correct = (0..data.len())
        .filter(|&i| {
            let t = q.trace(&data.quantized_input(i, q.fp.fa), Some(i)).unwrap();
            t.class == data.sample(i).1 as usize
        })
        .count();
    let check = AccuracyCheck {
        cid: Some(cid_of_bytes(data.as_bytes()).to_string()),
        min_correct: None,
        model: Some(q.clone()),
        arch: None,
        srs: Some(random_tau(&params)),
    };
    let whole = ShardSpec::whole(&data);
    let (p, _) = prove_shard(
        &q,
        &data,
        &[],
        &whole,
        FoldUnit::Sample,
        &Srs::InsecureRandomTau,
        &params,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(p.claim.correct, correct);
    let verified = verify_shards(std::slice::from_ref(&p), &params, &check).unwrap();
    assert_eq!(verified.correct, correct);
}

/// On the `unet` fixture the Concatenate right after an upsampling applies it as its step's
/// view, and the upsampling set aside for the residual path and the encoder's crop read by the
/// last Concatenate are identity steps whose outputs are saved (the crop's step also saves the
/// uncropped tensor the pooling reads). The fold ends with nothing saved; the last
/// Concatenate opening a forged crop (one value changed, its commitment recomputed) fails its
/// pop (`stack_pop`).
#[test]
fn merges_of_views_fold_and_open_only_the_saved_view() {
    let z = fold_fixture("unet", |_, _, _, _| {}).unwrap();
    assert_eq!(z[2], F::from(0), "every saved tensor is merged");
    let (q, _) = quantized_fixture("unet");
    let step = |name: &str| q.steps.iter().position(|s| s.name == name).unwrap();
    let (crop, cat) = (step("crop_skip"), step("cat_skip"));
    assert!(matches!(q.steps[crop].op, Op::Identity { .. }) && q.steps[crop].save_input);
    assert!(!q.steps[step("cat_up2")].views.is_empty());
    let (at, err) = fold_fixture("unet", |i, q, t, w| {
        if i == cat {
            let mut forged = t.steps[cat].skip.clone().unwrap();
            assert_eq!(forged, t.steps[crop].y, "the saved crop");
            forged[0] += 1;
            w.skip[..forged.len()].copy_from_slice(&forged);
            w.skip_top = commit_native(&forged, q.fp.bits, F::from(0));
        }
    })
    .unwrap_err();
    assert_eq!(at, cat);
    assert!(err.contains("stack_pop"), "{err}");
}
