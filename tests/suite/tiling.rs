//! Bounded steps (docs/DESIGN.md §7): Dense layers cut into tiles, and several steps to a fold.
//! A tiled model proves and verifies with the untiled model's outputs, and a skipped, repeated or
//! reordered tile, a tile reading another block, or a forged tiling in the claim is rejected;
//! packed folds prove and verify, and a packed step swapped, skipped or turned off, or a forged
//! number of steps a fold in the claim is rejected. Release mode, BN254 with HyperKZG over a random
//! tau (the subject is the steps, not the commitment scheme; it compresses several times faster
//! than IPA).

use crate::common;

use common::scratch_dir;
use kerafold::bench::synth::{Kind, SynthSpec};
use kerafold::fold::commit::arch_chain;
use kerafold::fold::{Architecture, Srs, System, Tiling};
use kerafold::inference::circuit::{check_fold, check_private_step, check_step};
use kerafold::inference::{self, public_initial_state, public_step_witness};
use kerafold::inference::{ProveOptions, VerifyOptions};
use kerafold::model::QuantizedModel;
use kerafold_step_circuits::commit::block_len;
use nova_snark::provider::Bn256EngineIPA;
use nova_snark::traits::Engine;
use std::path::Path;
use std::sync::Arc;

type F = <Bn256EngineIPA as Engine>::Scalar;

/// Proving on BN254 with HyperKZG over a random tau drawn into `params`.
fn kzg_prove(params: &Path) -> ProveOptions {
    ProveOptions {
        params_dir: params.to_path_buf(),
        system: System::Bn254Kzg,
        srs: Srs::InsecureRandomTau,
        ..ProveOptions::default()
    }
}

/// Verifying what [`kzg_prove`] proves: its tau, read as powers of tau.
fn kzg_verify(params: &Path) -> VerifyOptions {
    VerifyOptions {
        params_dir: params.to_path_buf(),
        srs: Some(common::random_tau(params)),
        ..VerifyOptions::default()
    }
}

/// Two Dense 130→130 + ReLU layers and the ArgMax, 16-bit activations (60 values a block).
fn model() -> (QuantizedModel, Vec<i64>) {
    let spec = SynthSpec::new(Kind::Dense, 130, 0, 2);
    (spec.model().unwrap(), spec.input())
}

/// One block of rows × one block of outputs: 3 row tiles × 3 output blocks (60, 60, 10) a layer.
fn tiling(m: &QuantizedModel) -> Tiling {
    let l = block_len(m.fp.bits);
    assert_eq!(l, 60);
    Tiling {
        rows: l,
        outputs: l,
        bands: true,
    }
}

/// Folds `arch`'s steps through the checking constraint system; the final state, or the first
/// step whose constraints fail.
fn fold_checked(
    arch: &Architecture,
    m: &QuantizedModel,
    x: &[i64],
    edit: impl Fn(usize, &mut inference::circuit::StepWitness<F>),
) -> Result<Vec<F>, (usize, String)> {
    fold_trace(arch, m, &m.trace(x, None).unwrap(), edit)
}

/// [`fold_checked`] over a given trace (which may not be the model's on any input).
fn fold_trace(
    arch: &Architecture,
    m: &QuantizedModel,
    trace: &kerafold::model::Trace,
    edit: impl Fn(usize, &mut inference::circuit::StepWitness<F>),
) -> Result<Vec<F>, (usize, String)> {
    let arch = Arc::new(arch.clone());
    let trace = trace.clone();
    let mut z = public_initial_state::<F>(&arch, &trace);
    for i in 0..arch.steps.len() {
        let mut w = public_step_witness::<F>(&arch, m, &trace, i);
        edit(i, &mut w);
        z = check_step(&arch, &Arc::new(w), &z)
            .map_err(|e| (i, e.to_string()))?
            .0;
    }
    Ok(z)
}

#[test]
fn a_tiled_model_proves_and_verifies_the_untiled_outputs() {
    let (m, x) = model();
    let t = tiling(&m);
    let arch = Architecture::compile_tiled(&m, Some(t)).unwrap();
    assert_eq!(arch.steps.len(), 2 * 9 + 1);
    assert_eq!(arch.width, 130); // the ArgMax reads the logits; a tile reads 60 rows
    let params = scratch_dir("tiling-prove");
    let opts = ProveOptions {
        tiling: Some(t),
        ..kzg_prove(&params)
    };
    let (proof, stats) = inference::prove(&m, &x, &opts, &mut |_| {}).unwrap();
    let untiled = Architecture::compile(&m).unwrap();
    println!(
        "tiled: {} steps of {} constraints (untiled: {} steps)",
        proof.claim.steps,
        stats.step_constraints,
        untiled.steps.len()
    );
    let reference = m.trace(&x, None).unwrap();
    assert_eq!(proof.claim.class, reference.class);
    assert_eq!(proof.claim.tiling, Some(t));
    let vopts = VerifyOptions {
        model: Some(m.clone()),
        input: Some(x.clone()),
        ..kzg_verify(&params)
    };
    let v = inference::verify(&proof, &vopts).unwrap();
    assert!(v.model_checked && v.input_checked);

    // a claim naming another tiling names another architecture
    let mut forged = proof.clone();
    forged.claim.tiling = Some(Tiling {
        rows: 120,
        outputs: 60,
        bands: false,
    });
    let e = inference::verify(&forged, &vopts).unwrap_err();
    assert!(e.to_string().contains("differs from the proof's"), "{e}");
    forged.claim.tiling = None;
    assert!(inference::verify(&forged, &vopts).is_err());
    // hostile tilings are refused before any key is derived: no rows, rows that are not whole
    // blocks, a tile wider than any bus
    for rows in [0, 7, 60 << 30] {
        forged.claim.tiling = Some(Tiling {
            rows,
            outputs: 60,
            bands: false,
        });
        let e = inference::verify(&forged, &vopts).unwrap_err();
        assert!(matches!(e, kerafold::Error::Usage(_)), "{rows} rows: {e}");
    }
}

#[test]
fn honest_tiles_fold_to_the_public_state() {
    let (m, x) = model();
    let arch = Architecture::compile_tiled(&m, Some(tiling(&m))).unwrap();
    let z = fold_checked(&arch, &m, &x, |_, _| {}).unwrap();
    // the tile state is empty after the last layer, the class is the reference's
    assert_eq!(z.len(), 9);
    assert_eq!(&z[6..], &[F::from(0); 3]);
    assert_eq!(z[5], F::from(m.trace(&x, None).unwrap().class as u64));
}

#[test]
fn a_tile_reading_another_block_is_unsatisfiable() {
    let (m, x) = model();
    let arch = Architecture::compile_tiled(&m, Some(tiling(&m))).unwrap();
    // step 1 is the second row tile of the first output block: give it the first block's rows
    let trace = m.trace(&x, None).unwrap();
    let first_rows = trace.steps[0].input[..60].to_vec();
    let err = fold_checked(&arch, &m, &x, |i, w| {
        if i == 1 {
            w.x[..60].copy_from_slice(&first_rows);
        }
    })
    .unwrap_err();
    // the re-hash no longer equals the input's commitment on the block's last tile
    assert_eq!(err.0, 2, "{}", err.1);
}

#[test]
fn forged_carried_sums_are_unsatisfiable() {
    let (m, x) = model();
    let arch = Architecture::compile_tiled(&m, Some(tiling(&m))).unwrap();
    let err = fold_checked(&arch, &m, &x, |i, w| {
        if i == 2 {
            w.acc_in[0] += F::from(1);
        }
    })
    .unwrap_err();
    assert_eq!(err.0, 2, "{}", err.1);
}

/// A prover folding the steps of `tampered` cannot end in the state the verifier derives from
/// the honest architecture: whatever witness it finds, the architecture chain it folds is
/// another; and the honest witness for those steps does not even satisfy them.
fn rejected(honest: &Architecture, tampered: &Architecture, m: &QuantizedModel, x: &[i64]) {
    assert_ne!(
        arch_chain::<F>(honest),
        arch_chain::<F>(tampered),
        "the verifier's architecture chain fixes the tiles and their order"
    );
    let want = fold_checked(honest, m, x, |_, _| {}).unwrap();
    match fold_checked(tampered, m, x, |_, _| {}) {
        Err((i, e)) => println!("rejected: step {i} is unsatisfiable: {e}"),
        Ok(z) => {
            println!("rejected: the folds end in another architecture chain");
            assert_ne!(z[3], want[3], "the architecture chain must differ");
        }
    }
}

#[test]
fn skipped_repeated_or_reordered_tiles_are_rejected() {
    let (m, x) = model();
    let honest = Architecture::compile_tiled(&m, Some(tiling(&m))).unwrap();
    // skipped: the middle row tile of the first block
    let mut skipped = honest.clone();
    skipped.steps.remove(1);
    rejected(&honest, &skipped, &m, &x);
    // repeated in its place: the first row tile twice
    let mut repeated = honest.clone();
    repeated.steps[1] = repeated.steps[0].clone();
    rejected(&honest, &repeated, &m, &x);
    // reordered: the second and third row tiles swapped
    let mut reordered = honest.clone();
    reordered.steps.swap(1, 2);
    rejected(&honest, &reordered, &m, &x);
    // reordered output blocks: the first layer's second block before its first
    let mut blocks = honest.clone();
    let (a, b): (Vec<_>, Vec<_>) = (blocks.steps[0..3].to_vec(), blocks.steps[3..6].to_vec());
    blocks.steps.splice(0..6, b.into_iter().chain(a));
    rejected(&honest, &blocks, &m, &x);
}

#[test]
fn tiles_keep_the_untiled_model_commitment_apart() {
    // the tiling is part of the architecture: its digest and the model commitment's seed differ
    let (m, _) = model();
    let untiled = Architecture::compile(&m).unwrap();
    let tiled = Architecture::compile_tiled(&m, Some(tiling(&m))).unwrap();
    assert_ne!(untiled.digest(), tiled.digest());
    // and an untiled architecture's JSON has no tiling fields at all (old digests stand)
    let json = serde_json::to_string(&untiled).unwrap();
    assert!(!json.contains("tile"), "{json}");
}

/// Dense 120→120 + ReLU, Dense 120→10 and the ArgMax, 16-bit activations: each Dense layer in
/// two row tiles of 60, so each tile may use half of its layer's bound on |weights|.
fn private_model() -> (QuantizedModel, Vec<i64>) {
    let spec = SynthSpec::new(Kind::Classifier, 120, 0, 1);
    (spec.model().unwrap(), spec.input())
}

#[test]
fn a_private_model_in_tiles_proves_and_verifies_with_its_architecture() {
    let (m, x) = private_model();
    let t = tiling(&m);
    let arch = Architecture::compile_tiled(&m, Some(t)).unwrap();
    let tile_slot = arch.steps[0].slot;
    assert_eq!(arch.tile_parts()[tile_slot], 2);
    arch.check_tile_shares(&m).unwrap();
    let params = scratch_dir("tiling-private");
    let opts = ProveOptions {
        tiling: Some(t),
        model: kerafold::fold::Visibility::Private,
        ..kzg_prove(&params)
    };
    let (proof, _) = inference::prove(&m, &x, &opts, &mut |_| {}).unwrap();
    assert_eq!(proof.claim.class, m.trace(&x, None).unwrap().class);
    let v = inference::verify(
        &proof,
        &VerifyOptions {
            arch: Some(arch),
            input: Some(x),
            ..kzg_verify(&params)
        },
    )
    .unwrap();
    assert!(!v.model_checked);
}

/// Weights within their layer's bound but all in the first row tile: the whole layer could not
/// wrap, but the tile takes more than its half, so the prover is told which tile and the
/// private circuit fails that tile's slack check; the same step of the honest model satisfies
/// it. (A tile may not borrow another's share: the circuit cannot see the other tiles' weights,
/// and the carried sums must not leave their lanes whatever they hold.)
#[test]
fn a_private_tile_over_its_share_is_refused_and_unsatisfiable() {
    let (m, _) = private_model();
    let t = tiling(&m);
    let fp = m.fp;
    let x = vec![0i64; 120]; // the bound does not depend on the input
    let amax = 1i64 << (fp.bits - 1);
    let whole = kerafold_step_circuits::wellformed::share_limit(&fp, 1) as i64;
    // output 0 of the first layer: 3/4 of the whole bound on rows 0..60, nothing on 60..120
    let c = (3 * whole / 4) / (60 * amax);
    assert!(c < 1 << (fp.fw + fp.guard), "a representable weight");
    let mut heavy = m.clone();
    let n_out = 120;
    for r in 0..120 {
        heavy.steps[0].weights.w[r * n_out] = if r < 60 { c } else { 0 };
    }
    heavy.steps[0].weights.b[0] = 0;
    let layer0 = &heavy.steps[0];
    kerafold_step_circuits::wellformed::check(&layer0.op, &layer0.weights, &fp)
        .expect("within the whole layer's bound");

    let arch = Architecture::compile_tiled(&heavy, Some(t)).unwrap();
    let e = arch.check_tile_shares(&heavy).unwrap_err();
    assert!(matches!(e, kerafold::Error::Usage(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("input rows 0..60") && msg.contains("outputs 0..60") && msg.contains("1/2"),
        "{msg}"
    );

    let step0 = |model: &QuantizedModel| {
        let arch = Arc::new(Architecture::compile_tiled(model, Some(t)).unwrap());
        let trace = model.trace(&x, None).unwrap();
        let z = public_initial_state::<F>(&arch, &trace);
        let w = public_step_witness::<F>(&arch, model, &trace, 0);
        check_private_step(&arch, &Arc::new(w), &z)
    };
    step0(&m).expect("the honest tile is within its share");
    let e = step0(&heavy).unwrap_err().to_string();
    assert!(e.contains("wf/out0/slack"), "{e}");
}

#[test]
fn a_step_size_is_rounded_up_to_whole_blocks() {
    let (m, _) = model();
    assert_eq!(Tiling::square(1, &m.fp).unwrap(), tiling(&m));
    assert_eq!(Tiling::square(61, &m.fp).unwrap().rows, 120);
    assert!(Tiling::square(0, &m.fp).is_err());
    // tiles narrower than a layer's outputs must be whole blocks
    let odd = Tiling {
        rows: 60,
        outputs: 50,
        bands: false,
    };
    let e = Architecture::compile_tiled(&m, Some(odd)).unwrap_err();
    assert!(e.to_string().contains("multiple of 60"), "{e}");
}

/// Four Dense 16→16 + ReLU layers and the ArgMax: five narrow steps.
fn narrow() -> (QuantizedModel, Vec<i64>) {
    let spec = SynthSpec::new(Kind::Dense, 16, 0, 4);
    (spec.model().unwrap(), spec.input())
}

/// Folds `folds` (each a list of step indices) of `per_fold` steps through the checking
/// constraint system; the final state, or the first fold whose constraints fail.
fn fold_packed(
    m: &QuantizedModel,
    x: &[i64],
    per_fold: usize,
    folds: &[Vec<usize>],
) -> Result<Vec<F>, (usize, String)> {
    let arch = Arc::new(Architecture::compile(m).unwrap());
    let trace = m.trace(x, None).unwrap();
    let mut z = public_initial_state::<F>(&arch, &trace);
    for (f, steps) in folds.iter().enumerate() {
        let w: Vec<_> = steps
            .iter()
            .map(|&i| Arc::new(public_step_witness::<F>(&arch, m, &trace, i)))
            .collect();
        z = check_fold(&arch, &w, per_fold, &z)
            .map_err(|e| (f, e.to_string()))?
            .0;
    }
    Ok(z)
}

#[test]
fn packed_folds_prove_and_verify_and_the_claim_fixes_their_size() {
    let (m, x) = narrow();
    let params = scratch_dir("packing-prove");
    let opts = ProveOptions {
        steps_per_fold: Some(2),
        ..kzg_prove(&params)
    };
    // five steps: two full folds and one with a step and an off copy
    let (proof, stats) = inference::prove(&m, &x, &opts, &mut |_| {}).unwrap();
    assert_eq!((proof.claim.steps, proof.claim.steps_per_fold), (5, 2));
    assert_eq!(stats.steps.len(), 3);
    let one = kerafold::inference::circuit::step_constraints::<F>(&Arc::new(
        Architecture::compile(&m).unwrap(),
    ))
    .unwrap();
    println!(
        "2 steps a fold: {} constraints a fold ({one} a step)",
        stats.step_constraints
    );
    assert!(stats.step_constraints > 2 * one && stats.step_constraints < 2 * one + 100);
    let vopts = VerifyOptions {
        model: Some(m.clone()),
        input: Some(x.clone()),
        ..kzg_verify(&params)
    };
    let v = inference::verify(&proof, &vopts).unwrap();
    assert!(v.model_checked && v.input_checked);
    assert_eq!(v.claim.class, m.trace(&x, None).unwrap().class);

    // another number of steps a fold names another circuit: its key does not verify this SNARK
    let mut forged = proof.clone();
    forged.claim.steps_per_fold = 1;
    let e = inference::verify(&forged, &vopts).unwrap_err();
    assert!(matches!(e, kerafold::Error::Invalid(_)), "{e}");
    // hostile numbers are refused before any key is derived
    for k in [0, 6, 1 << 40] {
        forged.claim.steps_per_fold = k;
        let e = inference::verify(&forged, &vopts).unwrap_err();
        assert!(e.to_string().contains("steps a fold"), "{k}: {e}");
    }
}

#[test]
fn honest_packed_folds_reach_the_unpacked_state() {
    let (m, x) = narrow();
    let arch = Architecture::compile(&m).unwrap();
    let one = fold_checked(&arch, &m, &x, |_, _| {}).unwrap();
    for per_fold in [2, 3, 5] {
        let folds: Vec<Vec<usize>> = (0..5)
            .collect::<Vec<_>>()
            .chunks(per_fold)
            .map(|c| c.to_vec())
            .collect();
        assert_eq!(
            fold_packed(&m, &x, per_fold, &folds).unwrap(),
            one,
            "{per_fold}"
        );
    }
}

#[test]
fn a_packed_layers_output_swapped_is_unsatisfiable() {
    let (m, x) = narrow();
    // the first fold runs layer 1 before layer 0: layer 1 opens an input it was not given
    let err = fold_packed(&m, &x, 2, &[vec![1, 0], vec![2, 3], vec![4]]).unwrap_err();
    assert_eq!(err.0, 0, "{}", err.1);
    // the second fold swaps its two layers
    let err = fold_packed(&m, &x, 2, &[vec![0, 1], vec![3, 2], vec![4]]).unwrap_err();
    assert_eq!(err.0, 1, "{}", err.1);
}

#[test]
fn a_packed_step_turned_off_is_rejected() {
    let (m, x) = narrow();
    let arch = Architecture::compile(&m).unwrap();
    let want = fold_checked(&arch, &m, &x, |_, _| {}).unwrap();
    // layer 1 off (its copy left empty): layer 2 then opens a tensor nobody committed
    let err = fold_packed(&m, &x, 2, &[vec![0], vec![2, 3], vec![4]]).unwrap_err();
    assert_eq!(err.0, 1, "{}", err.1);
    // the ArgMax off: every fold checks, but the state is not the one the verifier derives (the
    // step count, the architecture chain and the class differ)
    let z = fold_packed(&m, &x, 2, &[vec![0, 1], vec![2, 3]]).unwrap();
    assert_ne!(z[0], want[0]);
    assert_ne!(z[3], want[3]);
}

/// The shipped CNN fixture (Conv, MaxPool, Conv, MaxPool, Dense on 12×12×1) and its first input.
fn cnn() -> (QuantizedModel, Vec<i64>) {
    let (m, fx) = common::quantized_fixture("cnn");
    let x = m.quantize_input(&fx.inputs[0], Some(0)).unwrap();
    (m, x)
}

/// Row bands of one output row (a step size of one commitment block).
fn bands(m: &QuantizedModel) -> Tiling {
    Tiling::square(1, &m.fp).unwrap()
}

#[test]
fn convolutions_and_pooling_in_row_bands_prove_and_verify_the_whole_layers_outputs() {
    let (m, x) = cnn();
    let arch = Architecture::compile_tiled(&m, Some(bands(&m))).unwrap();
    let banded: Vec<_> = arch.slots.iter().filter(|s| s.band.is_some()).collect();
    assert!(
        banded.len() >= 2,
        "the CNN's convolutions run in bands: {:?}",
        arch.slots
    );
    assert!(
        arch.steps.len() > m.steps.len() + 4,
        "{} steps",
        arch.steps.len()
    );
    let whole = Architecture::compile(&m).unwrap();
    let (c_banded, c_whole) = (
        inference::circuit::step_constraints::<F>(&Arc::new(arch.clone())).unwrap(),
        inference::circuit::step_constraints::<F>(&Arc::new(whole)).unwrap(),
    );
    println!("step circuit: {c_banded} constraints in bands, {c_whole} a step per layer");
    let z = fold_checked(&arch, &m, &x, |_, _| {}).unwrap();
    let reference = m.trace(&x, None).unwrap();
    assert_eq!(z[5], F::from(reference.class as u64), "the class");
    assert_eq!(
        z[6..],
        [F::from(0u64); 3],
        "nothing carried past the last layer"
    );

    let params = scratch_dir("bands-prove");
    let opts = ProveOptions {
        tiling: Some(bands(&m)),
        ..kzg_prove(&params)
    };
    let (proof, _) = inference::prove(&m, &x, &opts, &mut |_| {}).unwrap();
    assert_eq!(proof.claim.tiling, Some(bands(&m)));
    assert_eq!(proof.claim.class, reference.class);
    let vopts = VerifyOptions {
        model: Some(m.clone()),
        input: Some(x.clone()),
        ..kzg_verify(&params)
    };
    inference::verify(&proof, &vopts).unwrap();
}

#[test]
fn a_band_reading_other_rows_or_carrying_a_forged_tail_is_unsatisfiable() {
    let (m, x) = cnn();
    let arch = Architecture::compile_tiled(&m, Some(bands(&m))).unwrap();
    let second = arch
        .steps
        .iter()
        .position(|s| s.band.is_some_and(|b| !b.first && b.new_blocks > 0))
        .unwrap();
    // the band's new blocks replaced by zeros: its input stream no longer reads the tensor
    let (i, e) = fold_checked(&arch, &m, &x, |i, w| {
        if i == second {
            w.x.iter_mut().for_each(|v| *v = 0);
        }
    })
    .unwrap_err();
    println!("rows: step {i}: {e}");
    assert!(i >= second, "{i}: {e}");
    // a forged tail: its digest is not the state's
    let (i, e) = fold_checked(&arch, &m, &x, |i, w| {
        if i == second {
            w.tail[0] += 1;
        }
    })
    .unwrap_err();
    assert_eq!(i, second);
    assert!(e.contains("band_carry_is_state"), "{e}");
    // forged carried outputs, likewise
    let (i, e) = fold_checked(&arch, &m, &x, |i, w| {
        if i == second {
            w.carried[0] += 1;
        }
    })
    .unwrap_err();
    assert_eq!(i, second);
    assert!(e.contains("band_carry_is_state"), "{e}");
}

/// A prover that runs a banded layer on another tensor than the one committed before it, and
/// streams that tensor consistently through every band (rows, tails and outputs all agree with
/// it), satisfies each band but the layer's last: there the input stream's chain is the forged
/// tensor's commitment, not the state's (`band_read_all`). Both convolutions: the first reads
/// the model's input, the second the pooling's output.
#[test]
fn a_layer_run_on_a_forged_input_through_every_band_fails_the_last_bands_read() {
    let (m, x) = cnn();
    let arch = Architecture::compile_tiled(&m, Some(bands(&m))).unwrap();
    let layers = arch.layers();
    let honest = m.trace(&x, None).unwrap();
    // the same layers traced from another input: what the forged layer runs on, and its outputs
    let other: Vec<i64> = x.iter().map(|v| v / 2 + 1).collect();
    let from_other = m.trace(&other, None).unwrap();
    let convs: Vec<usize> = (0..m.steps.len())
        .filter(|&l| m.steps[l].op.kind() == "conv")
        .collect();
    assert_eq!(convs.len(), 2, "the CNN's convolutions");
    for layer in convs {
        let bands: Vec<usize> = (0..arch.steps.len())
            .filter(|&i| arch.steps[i].band.is_some() && layers[i] == layer)
            .collect();
        assert!(bands.len() >= 2, "layer {layer} in bands: {bands:?}");
        assert_ne!(from_other.steps[layer].input, honest.steps[layer].input);
        let mut forged = honest.clone();
        forged.steps[layer] = from_other.steps[layer].clone();
        let (i, e) = fold_trace(&arch, &m, &forged, |_, _| {}).unwrap_err();
        assert_eq!(i, *bands.last().unwrap(), "layer {layer} ({bands:?}): {e}");
        assert!(e.contains("'band_read_all'"), "layer {layer}: {e}");
    }
    fold_trace(&arch, &m, &honest, |_, _| {}).unwrap();
}

#[test]
fn skipped_repeated_or_reordered_bands_are_rejected() {
    let (m, x) = cnn();
    let honest = Architecture::compile_tiled(&m, Some(bands(&m))).unwrap();
    let b = honest
        .steps
        .iter()
        .position(|s| s.band.is_some_and(|b| !b.first && !b.last))
        .unwrap();
    let mut skipped = honest.clone();
    skipped.steps.remove(b);
    assert!(
        skipped.validate().is_err(),
        "a verifier's own architecture never skips"
    );
    rejected(&honest, &skipped, &m, &x);
    let mut repeated = honest.clone();
    repeated.steps[b] = repeated.steps[b - 1].clone();
    rejected(&honest, &repeated, &m, &x);
    let mut reordered = honest.clone();
    reordered.steps.swap(b, b + 1);
    rejected(&honest, &reordered, &m, &x);
}

#[test]
fn private_weights_in_row_bands_satisfy_the_well_formedness_checks() {
    // a band slot holds its layer's whole kernel: the layer's bound applies as it is
    let (m, x) = cnn();
    let arch = Arc::new(Architecture::compile_tiled(&m, Some(bands(&m))).unwrap());
    let parts = arch.tile_parts();
    for (slot, p) in arch.slots.iter().zip(&parts) {
        assert!(slot.band.is_none() || *p == 1, "a band slot takes no share");
    }
    let trace = m.trace(&x, None).unwrap();
    let mut z = public_initial_state::<F>(&arch, &trace);
    for i in 0..arch.steps.len() {
        let w = Arc::new(public_step_witness::<F>(&arch, &m, &trace, i));
        z = check_private_step(&arch, &w, &z)
            .unwrap_or_else(|e| panic!("step {i}: {e}"))
            .0;
    }
    assert_eq!(z[5], F::from(trace.class as u64));
}
