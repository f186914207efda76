//! Element-wise steps: the merges of the step's input with the saved tensor, and `Identity`.
//!
//! Per output `j` (namespace `out{j}`), with `a`, `b` the operands in Keras' order:
//! - **Add** / **Subtract**: `v = a ± b` range-checked to `B` bits (`v/bit{i}`, `v/recompose`,
//!   `B + 1` constraints), which also gives its sign.
//! - **Multiply**: `a·b + 2^(fa−1) = 2^fa·q + r` (`product`), `q` in `B` bits (`q/bit{i}`,
//!   offset, also its sign), `r` in `fa` bits (`r/bit{i}`): `B + fa + 1` constraints.
//! - **Average**: `a + b = 2·q + r` (`halve`), `q` in `B` bits, `r` one bit (`r/bit0`):
//!   `B + 2` constraints, floor division as average pooling.
//! - **Maximum** / **Minimum**: a variable `m` with `m − a`, `m − b` (for the minimum `a − m`,
//!   `b − m`) range-checked to `B` bits (`da/…`, `db/…`) and their product zero (`is_one_of`):
//!   `m` is one of the operands, hence in range; `2B + 3` constraints, no sign bit.
//!
//! **Concatenate**: the operands' values in the output's order, no constraint.
//!
//! **Swap** (a branch point): the saved tensor's values, no constraint; the input is only set
//! aside (the layer circuit pushes its commitment).
//!
//! **Identity**: `y = x`, no constraint; an activation other than Linear range-checks `x` for
//! its sign.

use crate::field::{from_i64, pow2, Field};
use crate::linear::twin_err;
use crate::native;
use crate::range::{
    alloc_bits, bits_lc, offset_value, one, range_check, signed_from_bits, signed_range_check,
    unsat, value_i64, Signed,
};
use crate::spec::{ConcatSpec, FixedPoint, Merge};
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

/// The merge of the step's input `x` with the saved tensor `skip` (the first operand if
/// `saved_first`), range-checked.
pub fn merge<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    merge: Merge,
    saved_first: bool,
    x: &[AllocatedNum<F>],
    skip: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    if x.len() != skip.len() {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "{}: {} values and {} saved values",
            merge.keras_name(),
            x.len(),
            skip.len()
        )));
    }
    if merge == Merge::Multiply && fp.fa == 0 {
        return Err(unsat("multiply needs fa ≥ 1 to requantize its product"));
    }
    x.iter()
        .zip(skip)
        .enumerate()
        .map(|(j, (x, s))| {
            let (a, b) = if saved_first { (s, x) } else { (x, s) };
            merge_one(&mut cs.namespace(|| format!("out{j}")), merge, a, b, fp, j)
        })
        .collect()
}

fn merge_one<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    merge: Merge,
    a: &AllocatedNum<F>,
    b: &AllocatedNum<F>,
    fp: &FixedPoint,
    j: usize,
) -> Result<Signed<F>, SynthesisError> {
    let out = match (value_i64(a)?, value_i64(b)?) {
        (Some(av), Some(bv)) => Some(native::merge_one(merge, av, bv, fp, j).map_err(twin_err)?),
        _ => None,
    };
    let (qv, rv) = (out.map(|o| o.0), out.map(|o| o.1 as u128));
    let (a_lc, b_lc) = (
        LinearCombination::from_variable(a.get_variable()),
        LinearCombination::from_variable(b.get_variable()),
    );
    match merge {
        Merge::Add => signed_range_check(&mut cs.namespace(|| "v"), &(a_lc + &b_lc), qv, fp),
        Merge::Subtract => signed_range_check(&mut cs.namespace(|| "v"), &(a_lc - &b_lc), qv, fp),
        Merge::Multiply | Merge::Average => {
            let u = alloc_bits(
                &mut cs.namespace(|| "q"),
                qv.map(|q| offset_value(fp, q)).transpose()?,
                fp.bits,
            )?;
            let shift = if merge == Merge::Multiply { fp.fa } else { 1 };
            let r = alloc_bits(&mut cs.namespace(|| "r"), rv, shift)?;
            let q = signed_from_bits::<F>(u, qv, fp);
            let rhs = bits_lc::<F>(&r) + (pow2::<F>(shift), &q.lc);
            if merge == Merge::Multiply {
                // a·b = 2^fa·q + r − 2^(fa−1)
                let rhs = rhs - (pow2::<F>(fp.fa - 1), one());
                cs.enforce(|| "product", |lc| lc + &a_lc, |lc| lc + &b_lc, |_| rhs);
            } else {
                // (a + b)·1 = 2·q + r
                cs.enforce(|| "halve", |_| a_lc + &b_lc, |lc| lc + one(), |_| rhs);
            }
            Ok(q)
        }
        Merge::Maximum | Merge::Minimum => {
            let m = AllocatedNum::alloc(cs.namespace(|| "m"), || {
                qv.map(from_i64).ok_or(SynthesisError::AssignmentMissing)
            })?;
            let m_lc = LinearCombination::from_variable(m.get_variable());
            let (av, bv) = (value_i64(a)?, value_i64(b)?);
            let mut diffs = vec![];
            for (name, o_lc, ov) in [("da", &a_lc, av), ("db", &b_lc, bv)] {
                // the maximum is above each operand, the minimum below
                let (d, dv) = if merge == Merge::Maximum {
                    (
                        m_lc.clone() - o_lc,
                        qv.zip(ov).map(|(m, o)| m as i128 - o as i128),
                    )
                } else {
                    (
                        o_lc.clone() - &m_lc,
                        qv.zip(ov).map(|(m, o)| o as i128 - m as i128),
                    )
                };
                let dv = dv
                    .map(|v| u128::try_from(v).map_err(|_| unsat("merge: operand past the bound")))
                    .transpose()?;
                range_check(&mut cs.namespace(|| name), &d, dv, fp.bits)?;
                diffs.push(d);
            }
            cs.enforce(
                || "is_one_of",
                |lc| lc + &diffs[0],
                |lc| lc + &diffs[1],
                |lc| lc,
            );
            Ok(Signed {
                lc: m_lc,
                value: qv,
                num: Some(m),
                sign: None,
            })
        }
    }
}

/// Concatenation of the step's input `x` and the saved tensor `skip`: the operands' values
/// themselves, reordered (no constraint; no sign bit yet).
pub fn concat<F: Field>(
    spec: &ConcatSpec,
    x: &[AllocatedNum<F>],
    skip: &[AllocatedNum<F>],
) -> Result<Vec<Signed<F>>, SynthesisError> {
    if x.len() != spec.x.len() || skip.len() != spec.saved.len() {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "concatenate: {} + {} values, expected {} + {}",
            x.len(),
            skip.len(),
            spec.x.len(),
            spec.saved.len()
        )));
    }
    spec.gather(x, skip).iter().map(Signed::from_num).collect()
}

/// Identity: the inputs themselves (no constraint; no sign bit yet).
pub fn identity<F: Field>(x: &[AllocatedNum<F>]) -> Result<Vec<Signed<F>>, SynthesisError> {
    x.iter().map(Signed::from_num).collect()
}
