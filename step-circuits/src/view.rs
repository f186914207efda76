//! Views (UpSampling, ZeroPadding; Flatten and Reshape are the identity): constant wiring.
//!
//! The chain of views is composed into one gather map ([`crate::spec::compose_views`]); every
//! output is one of the input variables, or the one shared zero (`zero/num`, constrained by
//! `zero_is_zero`, allocated only if some output is padding).

use crate::field::Field;
use crate::range::one;
use crate::spec::{compose_views, ViewOp};
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError, Variable};

/// The length of the input a chain of views expects, given the length `n` it must produce
/// (`n` itself when there are no views).
pub fn chain_input_len(views: &[ViewOp], n: usize) -> usize {
    views.first().map_or(n, |v| v.input_len())
}

/// Checks that each view's input is the previous view's output and that the chain produces
/// `out_len` values from `in_len`.
pub fn check_chain(views: &[ViewOp], in_len: usize, out_len: usize) -> Result<(), SynthesisError> {
    let mut len = in_len;
    for (i, v) in views.iter().enumerate() {
        if v.input_len() != len {
            return Err(SynthesisError::IncompatibleLengthVector(format!(
                "view {i} expects {} values, gets {len}",
                v.input_len()
            )));
        }
        len = v.output_shape().len();
    }
    if len != out_len {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "views produce {len} values, the op expects {out_len}"
        )));
    }
    Ok(())
}

/// Applies `views` to `x`. Returns the viewed values and, if padding was introduced, the zero
/// variable (so that linear ops can skip its products).
pub fn apply_views<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    views: &[ViewOp],
    x: &[AllocatedNum<F>],
    out_len: usize,
) -> Result<(Vec<AllocatedNum<F>>, Option<Variable>), SynthesisError> {
    check_chain(views, x.len(), out_len)?;
    if views.is_empty() {
        return Ok((x.to_vec(), None));
    }
    let map = compose_views(views, x.len());
    let zero = if map.iter().any(Option::is_none) {
        let z = AllocatedNum::alloc(cs.namespace(|| "zero"), || Ok(F::ZERO))?;
        cs.enforce(
            || "zero_is_zero",
            |lc| lc + z.get_variable(),
            |lc| lc + one(),
            |lc| lc,
        );
        Some(z)
    } else {
        None
    };
    let out = map
        .iter()
        .map(|src| match (src, &zero) {
            (Some(i), _) => Ok(x[*i].clone()),
            (None, Some(z)) => Ok(z.clone()),
            (None, None) => Err(SynthesisError::AssignmentMissing),
        })
        .collect::<Result<_, _>>()?;
    Ok((out, zero.map(|z| z.get_variable())))
}
