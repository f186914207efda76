//! The shape of one kerafold step as Nova sees it: constraints, witness variables, non-zero
//! matrix entries, and how large the witness values are.
//!
//! Nova's cost per fold depends on more than the constraint count: committing to the fresh
//! witness is a multi-scalar multiplication whose cost depends on the size of each scalar
//! (nova-snark's MSM sorts scalars into 0, ±1, ≤8, ≤16, ≤32, ≤64-bit and full-field groups), and
//! the cross term costs one multiply-add per non-zero matrix entry. The raw-Nova baseline
//! ([`super::baseline`]) reproduces all four numbers, so the overhead ratio measures kerafold,
//! not a different circuit.

use crate::fold::arch::Architecture;
use crate::fold::packed::Packed;
use crate::fold::pipeline::checked_synthesis;
use crate::fold::{Stepping, System};
use crate::inference::circuit::{arity, LayerStep};
use crate::model::QuantizedModel;
use crate::Result;
use ff::PrimeFieldBits;
use kerafold_step_circuits::Field;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Value classes, as nova-snark's MSM groups scalars: zero, ±1, then by bit length of the smaller
/// of `v` and `p − v`.
pub const CLASSES: [(&str, u32); 7] = [
    ("zero", 0),
    ("unit", 1),
    ("8-bit", 8),
    ("16-bit", 16),
    ("32-bit", 32),
    ("64-bit", 64),
    ("full", 256),
];

/// The class of a field element (index into [`CLASSES`]).
pub(crate) fn class_of<F: PrimeFieldBits>(v: &F) -> usize {
    let bits = |x: &F| {
        x.to_le_bits()
            .iter()
            .rposition(|b| *b)
            .map_or(0, |i| i as u32 + 1)
    };
    let b = bits(v).min(bits(&-*v));
    CLASSES
        .iter()
        .position(|&(_, max)| b <= max)
        .unwrap_or(CLASSES.len() - 1)
}

/// One step circuit's shape and witness sizes (averaged over the profiled steps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessProfile {
    /// Constraints of the step circuit (without Nova's augmentation).
    pub constraints: usize,
    /// Witness variables it allocates (the state `z` excluded).
    pub aux: usize,
    /// Non-zero entries of A, B and C together.
    pub nnz: usize,
    /// Witness variables per value class ([`CLASSES`]); sums to `aux`.
    pub classes: [usize; 7],
}

/// Profiles the first `count` folds of `model` on `input` (the fold with the ArgMax step only if
/// nothing else is left) and averages them.
pub fn profile<F: Field>(
    model: &QuantizedModel,
    input: &[i64],
    count: usize,
    stepping: Stepping,
    system: System,
) -> Result<WitnessProfile> {
    let arch = Arc::new(Architecture::compile_tiled(
        model,
        crate::inference::resolve_tiling(
            model,
            system,
            crate::fold::Visibility::Public,
            stepping.step_size,
        )?,
    )?);
    let inner = LayerStep::<F>::shape(arch.clone());
    let per_fold = match stepping.steps_per_fold {
        Some(k) => k,
        None => crate::inference::default_steps_per_fold(
            system,
            crate::fold::pipeline::circuit_constraints::<F, _>(&inner)?,
            arch.steps.len(),
        ),
    };
    crate::inference::check_steps_per_fold(per_fold, arch.steps.len())?;
    let trace = model.trace(input, None)?;
    let n = arch.steps.len();
    let full_folds = n.saturating_sub(1) / per_fold;
    let count = count.clamp(1, full_folds.max(1));
    let mut z: Vec<F> = crate::inference::public_initial_state(&arch, &trace);
    let mut total = WitnessProfile {
        constraints: 0,
        aux: 0,
        nnz: 0,
        classes: [0; 7],
    };
    for i in 0..count {
        let steps = (i * per_fold..((i + 1) * per_fold).min(n))
            .map(|j| LayerStep {
                witness: Some(Arc::new(crate::inference::public_step_witness::<F>(
                    &arch, model, &trace, j,
                ))),
                ..inner.clone()
            })
            .collect();
        let circuit = Packed { per_fold, steps };
        let (next, cs) = checked_synthesis(&circuit, &z)?;
        debug_assert_eq!(next.len(), arity(&arch));
        // the state is Nova's, not the step's
        let witness = &cs.aux_values()[z.len()..];
        total.constraints = cs.num_constraints();
        total.aux += witness.len();
        total.nnz += cs.nnz();
        for v in witness {
            total.classes[class_of(v)] += 1;
        }
        z = next;
    }
    let avg = |v: usize| (v as f64 / count as f64).round() as usize;
    let mut classes = total.classes.map(avg);
    let aux = avg(total.aux);
    // keep Σ classes == aux after rounding: adjust the largest class
    let sum: usize = classes.iter().sum();
    let big = (0..classes.len())
        .max_by_key(|&i| classes[i])
        .expect("seven classes");
    classes[big] = (classes[big] + aux).saturating_sub(sum);
    Ok(WitnessProfile {
        constraints: total.constraints,
        aux,
        nnz: avg(total.nnz),
        classes,
    })
}
