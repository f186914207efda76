//! Max and average pooling (2-D, 1-D with `h = 1`, global as a whole-input window).
//!
//! **Max** per output, over its `n` valid taps (padding is −∞, so padded taps are skipped): a
//! variable `m` (`out{o}/m/num`), for each tap `d_i = m − x_i` range-checked to `B` bits
//! (`out{o}/d{i}/bit{j}`, `out{o}/d{i}/recompose`), so `m ≥ x_i`, and `Π d_i = 0` by a product
//! chain (`out{o}/mul{i}` for the partial products `out{o}/c{i}/num`, and `out{o}/is_one_of` for
//! the last), so `m` equals one of the taps and is therefore in range. `n·(B+1) + n − 1`
//! constraints; a one-tap window is the tap itself (no constraint). The sign bit for an
//! activation other than Linear costs a further `B + 1` range check of `m` (done by the
//! activation): cheaper schemes would need the inputs' sign bits, which the step does not get.
//!
//! **Average** per output with `cnt` valid taps: `sum = Σ x_i` is linear; `sum = q·cnt + r`
//! (`out{o}/div`), `q` in `B` bits (offset; `out{o}/q/bit{i}`, also its sign), `r` in
//! `⌈log2 cnt⌉` bits (`out{o}/r/bit{i}`) and, unless `cnt` is a power of two, `cnt − 1 − r` in
//! as many bits (`out{o}/rc/bit{i}`, `out{o}/rc/recompose`): floor division, enforced.

use crate::field::{from_i64, Field};
use crate::linear::twin_err;
use crate::native;
use crate::range::{
    alloc_bits, bits_lc, ceil_log2, offset_value, one, range_check, signed_from_bits, values_i64,
    Signed,
};
use crate::spec::{FixedPoint, PoolSpec};
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

fn check_len<F: ff::PrimeField>(
    spec: &PoolSpec,
    x: &[AllocatedNum<F>],
) -> Result<(), SynthesisError> {
    if x.len() != spec.window.input.len() {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "pooling: {} inputs, expected {}",
            x.len(),
            spec.window.input.len()
        )));
    }
    Ok(())
}

/// The flat input indices of the valid taps of every output, in output order.
fn taps(spec: &PoolSpec) -> Result<Vec<Vec<usize>>, SynthesisError> {
    let win = &spec.window;
    let mut out = Vec::with_capacity(win.out_h * win.out_w * win.input.c);
    for oy in 0..win.out_h {
        for ox in 0..win.out_w {
            let pos: Vec<(usize, usize)> = native::pool_taps(spec, oy, ox).collect();
            if pos.is_empty() {
                return Err(crate::range::unsat("pooling window with no valid tap"));
            }
            for ch in 0..win.input.c {
                out.push(
                    pos.iter()
                        .map(|&(y, x)| win.input.index(y, x, ch))
                        .collect(),
                );
            }
        }
    }
    Ok(out)
}

/// Max pooling. Outputs are the window maxima (variables, no sign bit yet).
pub fn max_pool<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &PoolSpec,
    x: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    check_len(spec, x)?;
    let taps = taps(spec)?;
    let xs = values_i64(x)?;
    let ms = xs
        .as_ref()
        .map(|xs| native::max_pool(spec, xs))
        .transpose()
        .map_err(twin_err)?;
    let mut outs = Vec::with_capacity(taps.len());
    for (o, t) in taps.iter().enumerate() {
        if t.len() == 1 {
            outs.push(Signed::from_num(&x[t[0]])?);
            continue;
        }
        let mut ns = cs.namespace(|| format!("out{o}"));
        let mv = ms.as_ref().map(|m| m[o]);
        let m = AllocatedNum::alloc(ns.namespace(|| "m"), || {
            mv.map(from_i64).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let mut ds = Vec::with_capacity(t.len());
        for (i, &xi) in t.iter().enumerate() {
            let d = LinearCombination::from_variable(m.get_variable()) - x[xi].get_variable();
            let dv = match (&xs, mv) {
                (Some(xs), Some(m)) => Some(m as i128 - xs[xi] as i128),
                _ => None,
            };
            let dv_u = dv
                .map(|v| u128::try_from(v).map_err(|_| crate::range::unsat("max below a tap")))
                .transpose()?;
            range_check(&mut ns.namespace(|| format!("d{i}")), &d, dv_u, fp.bits)?;
            ds.push(d);
        }
        // Π d_i = 0: c1 = d0·d1, c_i = c_{i−1}·d_i, last product = 0.
        let n = ds.len();
        let mut acc = ds[0].clone();
        for (i, d) in ds.iter().enumerate().skip(1) {
            if i == n - 1 {
                ns.enforce(|| "is_one_of", |lc| lc + &acc, |lc| lc + d, |lc| lc);
            } else {
                let c = AllocatedNum::alloc(ns.namespace(|| format!("c{i}")), || {
                    // the product of B-bit differences may exceed 64 bits: compute in the field
                    match (&xs, mv) {
                        (Some(xs), Some(mv)) => Ok(t[..=i]
                            .iter()
                            .map(|&xj| from_i64::<F>(mv) - from_i64::<F>(xs[xj]))
                            .product()),
                        _ => Err(SynthesisError::AssignmentMissing),
                    }
                })?;
                ns.enforce(
                    || format!("mul{i}"),
                    |lc| lc + &acc,
                    |lc| lc + d,
                    |lc| lc + c.get_variable(),
                );
                acc = LinearCombination::from_variable(c.get_variable());
            }
        }
        outs.push(Signed {
            lc: LinearCombination::from_variable(m.get_variable()),
            value: mv,
            num: Some(m),
            sign: None,
        });
    }
    Ok(outs)
}

/// Average pooling with floor division by the number of valid taps. Outputs carry sign bits.
pub fn avg_pool<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &PoolSpec,
    x: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    check_len(spec, x)?;
    let taps = taps(spec)?;
    let xs = values_i64(x)?;
    let res = xs
        .as_ref()
        .map(|xs| native::avg_pool(spec, xs, fp))
        .transpose()
        .map_err(twin_err)?;
    let mut outs = Vec::with_capacity(taps.len());
    for (o, t) in taps.iter().enumerate() {
        let mut ns = cs.namespace(|| format!("out{o}"));
        let cnt = t.len();
        let nb = ceil_log2(cnt);
        let (qv, rv) = match &res {
            Some(r) => (Some(r.q[o]), Some(r.r[o])),
            None => (None, None),
        };
        let u = alloc_bits(
            &mut ns.namespace(|| "q"),
            qv.map(|q| offset_value(fp, q)).transpose()?,
            fp.bits,
        )?;
        let r = alloc_bits(&mut ns.namespace(|| "r"), rv.map(|r| r as u128), nb)?;
        let rlc = bits_lc::<F>(&r);
        if !cnt.is_power_of_two() {
            let rc = LinearCombination::zero() + (F::from(cnt as u64 - 1), one()) - &rlc;
            let rcv = rv.map(|r| (cnt as i64 - 1 - r) as u128);
            range_check(&mut ns.namespace(|| "rc"), &rc, rcv, nb)?;
        }
        let q = signed_from_bits::<F>(u, qv, fp);
        // sum − cnt·q − r = 0
        let mut sum = LinearCombination::zero();
        for &xi in t {
            sum = sum + x[xi].get_variable();
        }
        let eq = sum - (F::from(cnt as u64), &q.lc) - &rlc;
        ns.enforce(|| "div", |lc| lc + one(), |_| eq, |lc| lc);
        outs.push(q);
    }
    Ok(outs)
}
