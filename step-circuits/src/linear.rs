//! Linear layers (Dense, Conv, Depthwise, Affine) with packed weight lanes and fused
//! requantization (docs/DESIGN.md §3).
//!
//! Let `B = fp.bits`, `S = fp.lane_bits() = fw + B + guard` the lane width and
//! `k = packing::lanes(fp)`. The outputs of a layer are split into *groups* of at most `k`
//! outputs that read the same inputs (the layout of [`crate::packing`]). For one group with taps
//! `t` (input `x_t`, packed weight element `E_t`) and packed bias `E_bias`, the circuit enforces
//!
//! ```text
//! Σ_t x_t·E_t + E_bias + Σ_j OFF·2^(S·j) = Σ_j (r_j + 2^fw·u_j)·2^(S·j)     (grp{g}/lane_sum)
//! ```
//!
//! with `OFF = 2^(fw−1) + 2^(fw+B−1)` summed over the group's real lanes `j`, every `r_j` a
//! `fw`-bit and every `u_j` a `B`-bit decomposition (`out{o}/r/bit{i}`, `out{o}/u/bit{i}`). Each
//! product `x_t·E_t` but the last is one constraint (`grp{g}/mul{t}`, variable `grp{g}/p{t}`);
//! the last product is the multiplication of the lane-sum constraint itself. Padding taps and
//! inputs that are the views' constant zero contribute nothing.
//!
//! **What this proves.** The right-hand side is an integer below `2^(k·S) ≤ 2^248 < p` whose
//! base-`2^S` digits lie in `[0, 2^(fw+B))`; the `guard ≥ 1` top bits of every lane are zero. The
//! quantizer sizes the guard so that every lane value `acc_j + OFF` the weights allow for
//! in-range inputs is below `2^(S−1)` in magnitude; both sides are then equal as integers and,
//! balanced base-`2^S` digits being unique, lane `j` is exactly `acc_j + OFF = u_j·2^fw + r_j`
//! with `acc_j = Σ x·w + b`: half-up requantization `acc + 2^(fw−1) = q·2^fw + r`,
//! `0 ≤ r < 2^fw`, `q = u − 2^(B−1)` in the `B`-bit range, all enforced by the constraint system.
//! An activation out of range leaves the system without a solution (no carry between lanes).
//!
//! **Witness.** The gadget decodes the weights from the packed elements' values
//! ([`crate::packing::unpack`]), runs the native twin ([`crate::native::dense`] …) on the inputs'
//! values, and takes `q`, `r` from it. A twin error or weights that are not a valid packing
//! are returned as a `SynthesisError`.
//!
//! Cost per group of `P` (non-padding) taps: `P` constraints; per output: `fw + B` bit
//! constraints (the recompositions are folded into the lane sum).

use crate::field::{pow2, Field};
use crate::native::{self, Linear, NativeError, Weights};
use crate::packing::{self, groups};
use crate::range::{alloc_bits, offset_value, signed_from_bits, unsat, values_i64, Signed};
use crate::spec::{AffineSpec, ConvSpec, DenseSpec, DepthwiseSpec, FixedPoint, Op};
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError, Variable,
};

/// The outputs of one lane group and the (input, weight element) pairs they share.
struct Group {
    taps: Vec<(usize, usize)>,
    bias: usize,
    outputs: Vec<usize>,
}

pub(crate) fn twin_err(e: NativeError) -> SynthesisError {
    unsat(format!("native twin: {e}"))
}

/// The lane groups of `op`, and its lane count (`1` for Affine).
fn plan(op: &Op, fp: &FixedPoint) -> Result<(Vec<Group>, usize), SynthesisError> {
    let k = packing::lanes(fp);
    let lanes = |n: usize, g: usize, base: usize| -> Vec<usize> {
        (g * k..n.min(g * k + k)).map(|o| base + o).collect()
    };
    let mut out = Vec::new();
    match op {
        Op::Dense(d) => {
            let gs = groups(d.n_out, k);
            for g in 0..gs {
                out.push(Group {
                    taps: (0..d.n_in).map(|i| (i, i * gs + g)).collect(),
                    bias: g,
                    outputs: lanes(d.n_out, g, 0),
                });
            }
            Ok((out, k))
        }
        Op::Conv(c) => {
            let win = &c.window;
            let gs = groups(c.c_out, k);
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    let base = (oy * win.out_w + ox) * c.c_out;
                    for g in 0..gs {
                        let mut taps = Vec::new();
                        for ky in 0..win.kh {
                            for kx in 0..win.kw {
                                let Some((iy, ix)) = win.tap(oy, ox, ky, kx) else {
                                    continue;
                                };
                                for ci in 0..win.input.c {
                                    taps.push((
                                        win.input.index(iy, ix, ci),
                                        ((ky * win.kw + kx) * win.input.c + ci) * gs + g,
                                    ));
                                }
                            }
                        }
                        out.push(Group {
                            taps,
                            bias: g,
                            outputs: lanes(c.c_out, g, base),
                        });
                    }
                }
            }
            Ok((out, k))
        }
        Op::Depthwise(d) => {
            let win = &d.window;
            let (c, mult) = (win.input.c, d.mult);
            let gs = groups(mult, k);
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    for ch in 0..c {
                        let base = (oy * win.out_w + ox) * c * mult + ch * mult;
                        for g in 0..gs {
                            let mut taps = Vec::new();
                            for ky in 0..win.kh {
                                for kx in 0..win.kw {
                                    if let Some((iy, ix)) = win.tap(oy, ox, ky, kx) {
                                        taps.push((
                                            win.input.index(iy, ix, ch),
                                            ((ky * win.kw + kx) * c + ch) * gs + g,
                                        ));
                                    }
                                }
                            }
                            out.push(Group {
                                taps,
                                bias: ch * gs + g,
                                outputs: lanes(mult, g, base),
                            });
                        }
                    }
                }
            }
            Ok((out, k))
        }
        Op::Affine(a) => {
            if a.channels == 0 || !a.n.is_multiple_of(a.channels) {
                return Err(unsat(format!(
                    "affine: {} values do not split into {} channels",
                    a.n, a.channels
                )));
            }
            for j in 0..a.n {
                out.push(Group {
                    taps: vec![(j, j % a.channels)],
                    bias: j % a.channels,
                    outputs: vec![j],
                });
            }
            Ok((out, 1))
        }
        _ => Err(unsat(format!("{} is not a linear op", op.kind()))),
    }
}

fn twin(op: &Op, x: &[i64], wt: &Weights, fp: &FixedPoint) -> Result<Linear, NativeError> {
    match op {
        Op::Dense(s) => native::dense(s, x, &wt.w, &wt.b, fp),
        Op::Conv(s) => native::conv(s, x, &wt.w, &wt.b, fp),
        Op::Depthwise(s) => native::depthwise(s, x, &wt.w, &wt.b, fp),
        Op::Affine(s) => native::affine(s, x, &wt.w, &wt.b, fp),
        _ => Err(NativeError::Shape(format!("{} is not linear", op.kind()))),
    }
}

/// Checks the lengths of a linear op's inputs and packed weights.
pub(crate) fn check_lens<F: ff::PrimeField>(
    op: &Op,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<(), SynthesisError> {
    let (wl, bl) = packing::packed_lens(op, fp);
    if x.len() != op.input_len() || w.len() != wl || b.len() != bl {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "{}: {} inputs, {} + {} packed weights; expected {}, {} + {}",
            op.kind(),
            x.len(),
            w.len(),
            b.len(),
            op.input_len(),
            wl,
            bl
        )));
    }
    Ok(())
}

/// Any linear op (`Dense`, `Conv`, `Depthwise`, `Affine`): inputs `x` (range-checked by the
/// caller), packed weights `w` and `b` in the [`crate::packing`] layout. Returns the requantized
/// outputs `q` (range-checked, with sign bits) in the op's output order.
pub fn linear<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    op: &Op,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    linear_with_zero(cs, op, x, w, b, fp, None)
}

/// [`linear`], skipping the products of inputs that are the variable `zero` (constrained to 0 by
/// the caller).
pub(crate) fn linear_with_zero<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    op: &Op,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
    zero: Option<Variable>,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    check_lens(op, x, w, b, fp)?;
    let (plan, k) = plan(op, fp)?;
    let lin = witness(op, x, w, b, fp)?;
    let mut outs: Vec<Option<Signed<F>>> = vec![None; op.output_len()];

    for (gi, group) in plan.iter().enumerate() {
        debug_assert!(group.outputs.len() <= k);
        // Right-hand side: Σ_j (r_j + 2^fw·u_j)·2^(S·j), minus the constants.
        let qr: Option<Vec<(i64, i64)>> = lin
            .as_ref()
            .map(|l| group.outputs.iter().map(|&o| (l.q[o], l.r[o])).collect());
        let (mut rhs, offsets, ys) = lane_digits(cs, &group.outputs, qr.as_deref(), fp)?;
        for (&o, y) in group.outputs.iter().zip(ys) {
            outs[o] = Some(y);
        }
        let mut ns = cs.namespace(|| format!("grp{gi}"));
        let one = crate::range::one();
        rhs = rhs - b[group.bias].get_variable() - (offsets, one);
        let taps: Vec<(usize, usize)> = group
            .taps
            .iter()
            .copied()
            .filter(|&(xi, _)| Some(x[xi].get_variable()) != zero)
            .collect();
        match taps.split_last() {
            Some((&(xl, wl), rest)) => {
                for (t, &(xi, wi)) in rest.iter().enumerate() {
                    let (xa, wa) = (&x[xi], &w[wi]);
                    let p = ns.alloc(
                        || format!("p{t}"),
                        || {
                            Ok(xa.get_value().ok_or(SynthesisError::AssignmentMissing)?
                                * wa.get_value().ok_or(SynthesisError::AssignmentMissing)?)
                        },
                    )?;
                    ns.enforce(
                        || format!("mul{t}"),
                        |lc| lc + xa.get_variable(),
                        |lc| lc + wa.get_variable(),
                        |lc| lc + p,
                    );
                    rhs = rhs - p;
                }
                ns.enforce(
                    || "lane_sum",
                    |lc| lc + x[xl].get_variable(),
                    |lc| lc + w[wl].get_variable(),
                    |_| rhs,
                );
            }
            None => ns.enforce(|| "lane_sum", |lc| lc + one, |_| rhs, |lc| lc),
        }
    }
    outs.into_iter()
        .map(|o| o.ok_or_else(|| unsat("internal: output not covered by a lane group")))
        .collect()
}

/// A lane group's packed digits, the lane sum's constant, and the outputs ([`lane_digits`]).
pub(crate) type LaneDigits<F> = (LinearCombination<F>, F, Vec<Signed<F>>);

/// The digits of one lane group's requantized outputs (`outputs`, their `(q, r)` if known):
/// per output `out{o}/r` (`fw` bits) and `out{o}/u` (`B` bits of `q + 2^(B−1)`). Returns the
/// packed digits `Σ_j (r_j + 2^fw·u_j)·2^(S·j)`, the constant `Σ_j OFF·2^(S·j)` the lane sum
/// carries, and the outputs `q` with their sign bits.
pub(crate) fn lane_digits<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    outputs: &[usize],
    qr: Option<&[(i64, i64)]>,
    fp: &FixedPoint,
) -> Result<LaneDigits<F>, SynthesisError> {
    let (fw, bb) = (fp.fw, fp.bits);
    let lane_scale = pow2::<F>(fp.lane_bits());
    let off = pow2::<F>(fw - 1) + pow2::<F>(fw + bb - 1);
    let mut rhs = LinearCombination::<F>::zero();
    let (mut scale, mut offsets) = (F::ONE, F::ZERO);
    let mut ys = Vec::with_capacity(outputs.len());
    for (j, &o) in outputs.iter().enumerate() {
        let mut ns = cs.namespace(|| format!("out{o}"));
        let (q, r) = match qr {
            Some(v) => (Some(v[j].0), Some(v[j].1 as u128)),
            None => (None, None),
        };
        let u = q.map(|q| offset_value(fp, q)).transpose()?;
        let rbits = alloc_bits(&mut ns.namespace(|| "r"), r, fw)?;
        let ubits = alloc_bits(&mut ns.namespace(|| "u"), u, bb)?;
        rhs = crate::range::add_bits(rhs, &rbits, scale);
        rhs = crate::range::add_bits(rhs, &ubits, scale * pow2::<F>(fw));
        offsets += off * scale;
        scale *= lane_scale;
        ys.push(signed_from_bits(ubits, q, fp));
    }
    Ok((rhs, offsets, ys))
}

/// The twin's result on the values of `x`, `w`, `b` (`None` at shape synthesis).
fn witness<F: Field>(
    op: &Op,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Option<Linear>, SynthesisError> {
    let Some(xs) = values_i64(x)? else {
        return Ok(None);
    };
    let wv: Option<Vec<F>> = w.iter().map(|a| a.get_value()).collect();
    let bv: Option<Vec<F>> = b.iter().map(|a| a.get_value()).collect();
    let (Some(wv), Some(bv)) = (wv, bv) else {
        return Ok(None);
    };
    let weights = packing::unpack(op, &wv, &bv, fp).ok_or_else(|| {
        unsat(format!(
            "{}: packed weights are not a valid packing",
            op.kind()
        ))
    })?;
    twin(op, &xs, &weights, fp).map(Some).map_err(twin_err)
}

/// Dense layer; see [`linear`].
pub fn dense<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &DenseSpec,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    linear(cs, &Op::Dense(*spec), x, w, b, fp)
}

/// Convolution (Conv1D/2D, pointwise); see [`linear`].
pub fn conv<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &ConvSpec,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    linear(cs, &Op::Conv(*spec), x, w, b, fp)
}

/// Depthwise convolution; see [`linear`].
pub fn depthwise<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &DepthwiseSpec,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    linear(cs, &Op::Depthwise(*spec), x, w, b, fp)
}

/// Per-channel affine map (BatchNormalization not fused into a linear layer); `w` holds the
/// scales and `b` the offsets, one field element each (one lane). See [`linear`].
pub fn affine<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &AffineSpec,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    linear(cs, &Op::Affine(*spec), x, w, b, fp)
}
