//! Element-wise steps: the residual `Add` and `Identity`.
//!
//! **Add**: `v = x + skip` range-checked to `B` bits (`out{j}/v/bit{i}`, `out{j}/v/recompose`,
//! `B + 1` constraints), which also gives its sign. **Identity**: `y = x`, no constraint; an
//! activation other than Linear range-checks `x` for its sign.

use crate::field::Field;
use crate::linear::twin_err;
use crate::native;
use crate::range::{signed_range_check, values_i64, Signed};
use crate::spec::FixedPoint;
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

/// Residual add `x + skip`, range-checked.
pub fn add<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    x: &[AllocatedNum<F>],
    skip: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    if x.len() != skip.len() {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "add: {} values and {} saved values",
            x.len(),
            skip.len()
        )));
    }
    let vs = match (values_i64(x)?, values_i64(skip)?) {
        (Some(a), Some(b)) => Some(native::add(&a, &b, fp).map_err(twin_err)?),
        _ => None,
    };
    x.iter()
        .zip(skip)
        .enumerate()
        .map(|(j, (a, b))| {
            let lc = LinearCombination::from_variable(a.get_variable()) + b.get_variable();
            let mut ns = cs.namespace(|| format!("out{j}"));
            let s = signed_range_check(
                &mut ns.namespace(|| "v"),
                &lc,
                vs.as_ref().map(|v| v[j]),
                fp,
            );
            s
        })
        .collect()
}

/// Identity: the inputs themselves (no constraint; no sign bit yet).
pub fn identity<F: Field>(x: &[AllocatedNum<F>]) -> Result<Vec<Signed<F>>, SynthesisError> {
    x.iter().map(Signed::from_num).collect()
}
