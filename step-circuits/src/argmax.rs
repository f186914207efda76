//! ArgMax: the first index of the maximum, enforced with strict and non-strict comparisons.
//!
//! One-hot bits `e_j` (`e/bit{j}`) with `Σ e_j = 1` (`one_hot`); `m = Σ e_j·x_j` (products
//! `sel/mul{j}`); `idx = Σ j·e_j` (`idx_eq`, the returned variable `idx/num`);
//! `b_j = Σ_{i>j} e_i` (1 iff `j < idx`, linear) and `m − x_j − b_j` range-checked to `B` bits for
//! every `j` (`cmp{j}/bit{i}`, `cmp{j}/recompose`): `m > x_j` before the index, `m ≥ x_j` after.
//! Since `m = x_idx`, this holds exactly when `idx` is the first index of the maximum.
//! `n·(B + 3) + 2` constraints.
//!
//! One logit is a binary classifier's (Keras: a final `sigmoid` on one unit, class
//! `sigmoid(x) > 0.5`): its class is `[x > 0]`, the ArgMax of `(0, x)` with a zero allocated as
//! `zero/num` (`zero_eq`), `2·(B + 3) + 3` constraints.

use crate::field::{from_i64, Field};
use crate::native;
use crate::range::{alloc_bit, one, range_check, unsat, values_i64};
use crate::spec::FixedPoint;
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError, Variable,
};

/// ArgMax of `x` (range-checked by the caller). Returns the index as a variable.
pub fn argmax<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    x: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<AllocatedNum<F>, SynthesisError> {
    argmax_with_zero(cs, x, fp, None)
}

/// [`argmax`], skipping the products of inputs that are the constant-zero variable `zero`.
pub(crate) fn argmax_with_zero<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    x: &[AllocatedNum<F>],
    fp: &FixedPoint,
    zero: Option<Variable>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    if let [logit] = x {
        let z = AllocatedNum::alloc(cs.namespace(|| "zero"), || Ok(F::ZERO))?;
        cs.enforce(
            || "zero_eq",
            |lc| lc + one(),
            |lc| lc + z.get_variable(),
            |lc| lc,
        );
        let pair = [z.clone(), logit.clone()];
        return argmax_with_zero(cs, &pair, fp, Some(z.get_variable()));
    }
    let n = x.len();
    let xs = values_i64(x)?;
    let idx_v = xs.as_ref().map(|v| native::argmax(v));
    let idx = AllocatedNum::alloc(cs.namespace(|| "idx"), || {
        idx_v
            .map(|i| F::from(i as u64))
            .ok_or(SynthesisError::AssignmentMissing)
    })?;
    if n == 0 {
        // native::argmax of nothing is 0
        cs.enforce(
            || "idx_eq",
            |lc| lc + one(),
            |lc| lc + idx.get_variable(),
            |lc| lc,
        );
        return Ok(idx);
    }
    let e: Vec<_> = {
        let mut ns = cs.namespace(|| "e");
        (0..n)
            .map(|j| alloc_bit(&mut ns, j, idx_v.map(|i| i == j)))
            .collect::<Result<_, _>>()?
    };
    let sum_e = e
        .iter()
        .fold(LinearCombination::zero(), |lc, b| lc + b.get_variable());
    cs.enforce(|| "one_hot", |lc| lc + one(), |_| sum_e, |lc| lc + one());
    let mut m = LinearCombination::<F>::zero();
    {
        let mut ns = cs.namespace(|| "sel");
        for (j, (ej, xj)) in e.iter().zip(x).enumerate() {
            if Some(xj.get_variable()) == zero {
                continue;
            }
            let pv = match (idx_v, &xs) {
                (Some(i), Some(xs)) => Some(if i == j { xs[j] } else { 0 }),
                _ => None,
            };
            let p = ns.alloc(
                || format!("p{j}"),
                || pv.map(from_i64).ok_or(SynthesisError::AssignmentMissing),
            )?;
            ns.enforce(
                || format!("mul{j}"),
                |lc| lc + ej.get_variable(),
                |lc| lc + xj.get_variable(),
                |lc| lc + p,
            );
            m = m + p;
        }
    }
    let idx_lc = e
        .iter()
        .enumerate()
        .fold(LinearCombination::zero(), |lc, (j, b)| {
            lc + (F::from(j as u64), b.get_variable())
        });
    cs.enforce(
        || "idx_eq",
        |lc| lc + one(),
        |_| idx_lc,
        |lc| lc + idx.get_variable(),
    );
    // after[j] = Σ_{i>j} e_i, built from the back
    let mut after = vec![LinearCombination::<F>::zero(); n];
    for j in (0..n.saturating_sub(1)).rev() {
        after[j] = after[j + 1].clone() + e[j + 1].get_variable();
    }
    for j in 0..n {
        let v = m.clone() - x[j].get_variable() - &after[j];
        let vv = match (idx_v, &xs) {
            (Some(i), Some(xs)) => {
                let d = xs[i] as i128 - xs[j] as i128 - (j < i) as i128;
                Some(u128::try_from(d).map_err(|_| unsat("argmax: not the first maximum"))?)
            }
            _ => None,
        };
        range_check(&mut cs.namespace(|| format!("cmp{j}")), &v, vv, fp.bits)?;
    }
    Ok(idx)
}
