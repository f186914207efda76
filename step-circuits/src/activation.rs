//! Activations on a range-checked value `q` with sign bit `s` (`1` ⟺ `q ≥ 0`), docs/DESIGN.md §3.
//!
//! | act | constraints | names (under the caller's `out{o}` namespace) |
//! |---|---|---|
//! | Linear | 0 if `q` is a variable, else 1 | `y_eq` |
//! | ReLU | 1: `y = q·s` | `relu` |
//! | Clip(hi) | B + 4: `c = [q ≤ hi]` = top bit of `hi − q + 2^B` in B+1 bits, `m = hi + c·(q − hi)`, `y = s·m` | `clip/bit{i}`, `clip/recompose`, `clip/select`, `relu` |
//! | Leaky(k, m) | m + B + 2: `k·q + 2^(m−1) = q2·2^m + r2`, `r2` in m bits, `q2` in B bits (offset), `y = q2 + s·(q − q2)` | `leaky/r/bit{i}`, `leaky/q2/bit{i}`, `leaky/requant`, `leaky/select` |
//! | Poly(c) | fa + B + 2: `q·q + c·q + 2^(fa−1) = q2·2^fa + r2`, `r2` in fa bits, `q2` in B bits, `y = q2` | `poly/r/bit{i}`, `poly/q2/bit{i}`, `poly/square`, `poly/y_eq` |
//!
//! | Pwl(S segments) | S + 3B + sh + 5: selector bits `e_i` with `Σ e_i = 1`; `q − from` and `last − q` of the selected segment in B bits each; `(Σ e_i·slope_i)·q + Σ e_i·offset_i + 2^(sh−1) = q2·2^sh + r2`, `r2` in sh bits, `q2` in B bits, `y = q2` | `pwl/seg/bit{i}`, `pwl/one_hot`, `pwl/lo/…`, `pwl/hi/…`, `pwl/r/bit{i}`, `pwl/q2/bit{i}`, `pwl/line`, `pwl/y_eq` |
//!
//! A Pwl's selector picks the segment's bounds, slope and offset as linear combinations, and the
//! two range checks hold only for the segment that contains `q` (a difference below zero wraps to
//! a field element far above `2^B`), so the prover cannot pick another line.
//!
//! `q2` is always a bit decomposition: with `r2` alone range-checked, another `r2` would make `q2`
//! a wild field element. If `q` carries no sign bit yet (max pooling, identity), it is
//! range-checked first (`sign/bit{i}`, `sign/recompose`, B + 1 constraints).
//!
//! Every output is in the `B`-bit range: `0`, `q`, `hi`, or a range-checked `q2`.

use crate::field::{from_i64, pow2, Field};
use crate::native;
use crate::range::{
    alloc_bits, bits_lc, offset_value, one, range_check, signed_num, unsat, Signed,
};
use crate::spec::{Act, FixedPoint, Pwl};
use nova_snark::frontend::{
    num::AllocatedNum, AllocatedBit, ConstraintSystem, LinearCombination, SynthesisError,
};

/// Whether `act` needs the sign bit of its input.
pub fn needs_sign(act: &Act) -> bool {
    matches!(act, Act::Relu | Act::Clip { .. } | Act::Leaky { .. })
}

/// Checks an activation's parameters ([`Act::validate`]).
pub fn check_act(act: &Act, fp: &FixedPoint) -> Result<(), SynthesisError> {
    act.validate(fp).map_err(unsat)
}

fn alloc_y<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    y: Option<i64>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    AllocatedNum::alloc(cs.namespace(|| "y"), || {
        y.map(from_i64).ok_or(SynthesisError::AssignmentMissing)
    })
}

/// Applies `act` to `q` (output number `index`, for error messages) and returns `y`.
pub fn activate<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    act: &Act,
    q: &Signed<F>,
    fp: &FixedPoint,
    index: usize,
) -> Result<AllocatedNum<F>, SynthesisError> {
    check_act(act, fp)?;
    if let Act::Cell { .. } = act {
        return Err(unsat(
            "a recurrent cell's activations apply inside its layer, not to an output",
        ));
    }
    let out = q
        .value
        .map(|v| native::activation(act, v, fp, index))
        .transpose()
        .map_err(crate::linear::twin_err)?;
    let yv = out.map(|o| o.y);
    let bb = fp.bits;

    if let Act::Linear = act {
        if let Some(n) = &q.num {
            return Ok(n.clone());
        }
        let y = alloc_y(cs, yv)?;
        cs.enforce(
            || "y_eq",
            |lc| lc + one(),
            |lc| lc + &q.lc,
            |lc| lc + y.get_variable(),
        );
        return Ok(y);
    }
    if let Act::Pwl(p) = act {
        return pwl(&mut cs.namespace(|| "pwl"), p, q, fp, out, yv);
    }
    if let Act::Poly { c } = *act {
        let mut ns = cs.namespace(|| "poly");
        let fa = fp.fa;
        let r2 = alloc_bits(&mut ns.namespace(|| "r"), out.map(|o| o.r2 as u128), fa)?;
        let u2v = out.map(|o| offset_value(fp, o.q2)).transpose()?;
        let u2 = alloc_bits(&mut ns.namespace(|| "q2"), u2v, bb)?;
        let q2 = q2_lc::<F>(&u2, bb);
        // q·q = r2 + 2^fa·q2 − c·q − 2^(fa−1)
        let rhs = bits_lc::<F>(&r2) + (pow2::<F>(fa), &q2)
            - (from_i64::<F>(c), &q.lc)
            - (pow2::<F>(fa - 1), one());
        ns.enforce(|| "square", |lc| lc + &q.lc, |lc| lc + &q.lc, |_| rhs);
        let y = alloc_y(&mut ns, yv)?;
        ns.enforce(
            || "y_eq",
            |lc| lc + one(),
            |_| q2,
            |lc| lc + y.get_variable(),
        );
        return Ok(y);
    }

    // The remaining activations need the sign of q.
    let q = match &q.sign {
        Some(_) => q.clone(),
        None => {
            let n = q
                .num
                .as_ref()
                .ok_or_else(|| unsat("internal: value with neither sign bit nor variable"))?;
            signed_num(&mut cs.namespace(|| "sign"), n, fp)?
        }
    };
    let s: AllocatedBit = q
        .sign
        .clone()
        .ok_or_else(|| unsat("internal: sign bit missing"))?;
    match *act {
        Act::Relu => relu(cs, &q.lc, &s, yv),
        Act::Clip { hi } => {
            // hi ≥ 2^(B−1) − 1 clips nothing more than the range does.
            let hi = hi.min(fp.max());
            let mut ns = cs.namespace(|| "clip");
            let le = q.value.map(|v| v <= hi);
            // v = hi − q + 2^B ∈ (2^(B−1), 2^(B+1)); bit B = [q ≤ hi]
            let v = LinearCombination::zero() + (from_i64::<F>(hi) + pow2::<F>(bb), one()) - &q.lc;
            let vv = q
                .value
                .map(|x| (hi as i128 - x as i128 + (1i128 << bb)) as u128);
            let bits = range_check(&mut ns, &v, vv, bb + 1)?;
            let c = bits[bb as usize].get_variable();
            let mv = q.value.map(|x| if le == Some(true) { x } else { hi });
            let m = AllocatedNum::alloc(ns.namespace(|| "m"), || {
                mv.map(from_i64).ok_or(SynthesisError::AssignmentMissing)
            })?;
            let hi_f = from_i64::<F>(hi);
            ns.enforce(
                || "select",
                |lc| lc + c,
                |lc| lc + &q.lc - (hi_f, one()),
                |lc| lc + m.get_variable() - (hi_f, one()),
            );
            drop(ns);
            let mlc = LinearCombination::from_variable(m.get_variable());
            relu(cs, &mlc, &s, yv)
        }
        Act::Leaky { k, m } => {
            let mut ns = cs.namespace(|| "leaky");
            let r2 = alloc_bits(&mut ns.namespace(|| "r"), out.map(|o| o.r2 as u128), m)?;
            let u2v = out.map(|o| offset_value(fp, o.q2)).transpose()?;
            let u2 = alloc_bits(&mut ns.namespace(|| "q2"), u2v, bb)?;
            let q2 = q2_lc::<F>(&u2, bb);
            // k·q + 2^(m−1) − 2^m·q2 − r2 = 0
            let eq =
                LinearCombination::zero() + (from_i64::<F>(k), &q.lc) + (pow2::<F>(m - 1), one())
                    - (pow2::<F>(m), &q2)
                    - &bits_lc::<F>(&r2);
            ns.enforce(|| "requant", |lc| lc + one(), |_| eq, |lc| lc);
            let y = alloc_y(&mut ns, yv)?;
            // s·(q − q2) = y − q2
            ns.enforce(
                || "select",
                |lc| lc + s.get_variable(),
                |lc| lc + &q.lc - &q2,
                |lc| lc + y.get_variable() - &q2,
            );
            Ok(y)
        }
        Act::Linear | Act::Poly { .. } | Act::Pwl(_) | Act::Cell { .. } => {
            unreachable!("handled above")
        }
    }
}

/// The piecewise-linear map `p` on `q` (module docs).
fn pwl<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    p: &Pwl,
    q: &Signed<F>,
    fp: &FixedPoint,
    out: Option<native::ActOut>,
    yv: Option<i64>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let bb = fp.bits;
    let seg = q.value.map(|v| p.segment(v));
    let e = alloc_bits(
        &mut cs.namespace(|| "seg"),
        seg.map(|i| 1u128 << i),
        p.segments.len() as u32,
    )?;
    let pick = |f: &dyn Fn(usize) -> i64| {
        e.iter()
            .enumerate()
            .fold(LinearCombination::<F>::zero(), |lc, (i, b)| {
                lc + (from_i64::<F>(f(i)), b.get_variable())
            })
    };
    cs.enforce(
        || "one_hot",
        |lc| lc + one(),
        |_| pick(&|_| 1),
        |lc| lc + one(),
    );
    let from = pick(&|i| p.segments[i].from);
    let last = pick(&|i| p.last(i, fp));
    let below = |v: i64, s: usize| (v as i128 - p.segments[s].from as i128) as u128;
    let lo = q.value.zip(seg).map(|(v, s)| below(v, s));
    range_check(&mut cs.namespace(|| "lo"), &(q.lc.clone() - &from), lo, bb)?;
    let hi = q
        .value
        .zip(seg)
        .map(|(v, s)| (p.last(s, fp) as i128 - v as i128) as u128);
    range_check(&mut cs.namespace(|| "hi"), &(last - &q.lc), hi, bb)?;
    let sh = p.shift;
    let r2 = alloc_bits(&mut cs.namespace(|| "r"), out.map(|o| o.r2 as u128), sh)?;
    let u2v = out.map(|o| offset_value(fp, o.q2)).transpose()?;
    let u2 = alloc_bits(&mut cs.namespace(|| "q2"), u2v, bb)?;
    let q2 = q2_lc::<F>(&u2, bb);
    // slope·q = 2^sh·q2 + r2 − offset − 2^(sh−1)
    let rhs = (bits_lc::<F>(&r2) + (pow2::<F>(sh), &q2))
        - &pick(&|i| p.segments[i].offset)
        - (pow2::<F>(sh - 1), one());
    cs.enforce(
        || "line",
        |_| pick(&|i| p.segments[i].slope),
        |lc| lc + &q.lc,
        |_| rhs,
    );
    let y = alloc_y(cs, yv)?;
    cs.enforce(
        || "y_eq",
        |lc| lc + one(),
        |_| q2,
        |lc| lc + y.get_variable(),
    );
    Ok(y)
}

/// `q2 = Σ b_i·2^i − 2^(B−1)` from the offset bits.
fn q2_lc<F: Field>(bits: &[AllocatedBit], bb: u32) -> LinearCombination<F> {
    bits_lc::<F>(bits) - (pow2::<F>(bb - 1), one())
}

/// `y = v·s` (constraint `relu`).
fn relu<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: &LinearCombination<F>,
    s: &AllocatedBit,
    yv: Option<i64>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let y = alloc_y(cs, yv)?;
    cs.enforce(
        || "relu",
        |lc| lc + v,
        |lc| lc + s.get_variable(),
        |lc| lc + y.get_variable(),
    );
    Ok(y)
}
