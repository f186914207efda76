//! Layer normalization over the last axis, without its scale and offset (which follow as an
//! affine step): `(x − mean) / √(variance + ε)` in range-checked integer arithmetic
//! ([`NormSpec`] states the integer form), or an uncentered form
//! ([`NormKind`](crate::spec::NormKind): RMS).
//!
//! Per group `g` (namespace `grp{g}`), with `D_i = n·x_i − Σ x` linear in the inputs (`n·x_i`
//! where the kind does not center; the output's `D_i` likewise):
//! - `square{i}`: `D_i·D_i = sq_i`, so `V = n·Σ sq_i + E` is linear;
//! - `r`: `k + 1` bits; `r_squared`: `r·r = rr`; `r_squared_v`: `rr·V = rrv`; `r_v`: `r·V = rv`;
//! - `below`: `2^(2k) − rrv` in `2k + 2` bits (`r²·V ≤ 2^(2k)`), and `above`:
//!   `rrv + 2·rv + V − 2^(2k) − 1` in `2k + 2` bits (`(r+1)²·V > 2^(2k)`). Every term is far below
//!   the field's size, so these are integer facts and `r = ⌊2^k/√V⌋` is the only assignment;
//! - per value `out{i}`: `q` (`B` bits, offset form: the output's range check), `rem` (`k − fa`
//!   bits) and `requant`: `D_i·(n·r) = q·2^(k−fa) + rem − 2^(k−fa−1)`, half-up rounding.
//!
//! `n + 3 + 2(2k+2) + (k+1)` constraints a group, `B + k − fa + 2` a value (the constraint table
//! in the crate's README).

use crate::field::{from_i128, pow2, Field};
use crate::linear::twin_err;
use crate::native;
use crate::range::{
    alloc_bits, bits_lc, offset_value, one, range_check, signed_from_bits, unsat, values_i64,
    Signed,
};
use crate::spec::{FixedPoint, NormSpec};
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

/// The normalized values of `x` (`groups·n` of them, group-major).
pub fn layer_norm<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &NormSpec,
    x: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    let n = spec.n;
    if x.len() != spec.groups * n {
        return Err(unsat(format!(
            "layer normalization: {} inputs, expected {}",
            x.len(),
            spec.groups * n
        )));
    }
    let k = spec.shift(fp).map_err(unsat)?;
    let e = spec.epsilon_term(fp).map_err(unsat)?;
    let s = k - fp.fa;
    let res = values_i64(x)?
        .map(|xs| native::layer_norm(spec, &xs, fp))
        .transpose()
        .map_err(twin_err)?;
    let nf = F::from(n as u64);
    let mut outs = Vec::with_capacity(x.len());
    for (g, xs) in x.chunks(n).enumerate() {
        let mut cs = cs.namespace(|| format!("grp{g}"));
        let grp = res.as_ref().map(|r| &r.groups[g]);
        let sum = xs.iter().fold(LinearCombination::<F>::zero(), |lc, xi| {
            lc + xi.get_variable()
        });
        // n·x_i, about the mean or not
        let about = |centered: bool, i: usize| {
            let lc = LinearCombination::zero() + (nf, xs[i].get_variable());
            if centered {
                lc - &sum
            } else {
                lc
            }
        };
        let d = |i: usize| about(spec.kind.centers_variance(), i);
        let mut v = LinearCombination::zero() + (F::from_u128(e), one());
        for i in 0..n {
            let sq = AllocatedNum::alloc(cs.namespace(|| format!("sq{i}")), || {
                grp.map(|g| from_i128::<F>(g.d[i] * g.d[i]))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            cs.enforce(
                || format!("square{i}"),
                |_| d(i),
                |_| d(i),
                |lc| lc + sq.get_variable(),
            );
            v = v + (nf, sq.get_variable());
        }
        let r_bits = alloc_bits(&mut cs.namespace(|| "r"), grp.map(|g| g.r), k + 1)?;
        let r = bits_lc::<F>(&r_bits);
        // r ≤ 2^k/√V and V < 2^(2k), so r²·V ≤ 2^(2k) and r·V < 2^(2k): all within u128
        let rr = product(&mut cs, "rr", "r_squared", &r, &r, grp.map(|g| g.r * g.r))?;
        let rrv = product(
            &mut cs,
            "rrv",
            "r_squared_v",
            &LinearCombination::from_variable(rr.get_variable()),
            &v,
            grp.map(|g| g.r * g.r * g.v),
        )?;
        let rv = product(&mut cs, "rv", "r_v", &r, &v, grp.map(|g| g.r * g.v))?;
        let top = pow2::<F>(2 * k);
        let below = LinearCombination::zero() + (top, one()) - rrv.get_variable();
        range_check(
            &mut cs.namespace(|| "below"),
            &below,
            grp.map(|g| (1u128 << (2 * k)) - g.r * g.r * g.v),
            2 * k + 2,
        )?;
        let above = v.clone() + rrv.get_variable() + (F::from(2), rv.get_variable())
            - (top, one())
            - (F::ONE, one());
        range_check(
            &mut cs.namespace(|| "above"),
            &above,
            grp.map(|g| (g.r + 1) * (g.r + 1) * g.v - (1u128 << (2 * k)) - 1),
            2 * k + 2,
        )?;
        let nr = LinearCombination::zero() + (nf, &r);
        for i in 0..n {
            let mut cs = cs.namespace(|| format!("out{i}"));
            let at = g * n + i;
            let qv = res.as_ref().map(|r| r.q[at]);
            let u = alloc_bits(
                &mut cs.namespace(|| "q"),
                qv.map(|q| offset_value(fp, q)).transpose()?,
                fp.bits,
            )?;
            let q = signed_from_bits::<F>(u, qv, fp);
            let rem = alloc_bits(
                &mut cs.namespace(|| "rem"),
                res.as_ref().map(|r| r.rem[at] as u128),
                s,
            )?;
            let rhs = LinearCombination::zero() + (pow2::<F>(s), &q.lc) + &bits_lc::<F>(&rem)
                - (pow2::<F>(s - 1), one());
            let m = about(spec.kind.centers_output(), i);
            cs.enforce(|| "requant", |_| m, |_| nr.clone(), |_| rhs);
            outs.push(q);
        }
    }
    Ok(outs)
}

/// A variable `name` constrained to `a·b` by the constraint `constraint`.
fn product<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    constraint: &str,
    a: &LinearCombination<F>,
    b: &LinearCombination<F>,
    value: Option<u128>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let p = AllocatedNum::alloc(cs.namespace(|| name.to_string()), || {
        value
            .map(F::from_u128)
            .ok_or(SynthesisError::AssignmentMissing)
    })?;
    cs.enforce(
        || constraint.to_string(),
        |_| a.clone(),
        |_| b.clone(),
        |lc| lc + p.get_variable(),
    );
    Ok(p)
}
