//! The packed form of a linear layer's weights: the form the circuits multiply with and the model
//! commitment hashes.
//!
//! Weights that share an input value are packed as lanes of `fw + bits` bits into one field
//! element (`field::pack_lanes`), so one constraint `x · E` computes up to `lanes` products. The
//! lanes of the accumulated sum are then split by bit decomposition into remainder and quotient
//! of the requantization, which both range-checks and rescales every output (docs/DESIGN.md §3).
//!
//! Grouping (k = `lanes(fp)`):
//! - Dense: `w[i·G + g]` packs `W[i][g·k .. g·k+k]`, `b[g]` packs `b[g·k ..]`, `G = ⌈n_out/k⌉`.
//! - Conv: `w[((ky·kw + kx)·c_in + ci)·G + g]` packs `W[ky][kx][ci][g·k ..]`, `G = ⌈c_out/k⌉`.
//! - Depthwise: `w[((ky·kw + kx)·c + ch)·G + g]` packs `W[ky][kx][ch][g·k ..]`, `b[ch·G + g]`
//!   packs `b[ch·mult + g·k ..]`, `G = ⌈mult/k⌉`.
//! - Affine: one lane; `w = a`, `b = b`.
//! - Recurrent: its cell's Dense maps ([`Op::linear_parts`]) packed as Dense layers, one after
//!   the other (kernels, then biases).

use crate::field::{from_i64, pack_lanes, pow2, to_i64, PACK_CAPACITY};
use crate::native::Weights;
use crate::spec::{FixedPoint, Op};
use ff::{PrimeField, PrimeFieldBits};

/// Lanes per packed weight element.
pub fn lanes(fp: &FixedPoint) -> usize {
    (PACK_CAPACITY / fp.lane_bits()) as usize
}

/// Number of lane groups for `n` outputs sharing an input.
pub fn groups(n: usize, lanes: usize) -> usize {
    n.div_ceil(lanes)
}

/// A linear step's packed weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed<F> {
    /// Packed kernel elements.
    pub w: Vec<F>,
    /// Packed bias elements.
    pub b: Vec<F>,
}

/// Number of packed kernel and bias elements of `op` (zero for ops without weights).
pub fn packed_lens(op: &Op, fp: &FixedPoint) -> (usize, usize) {
    let k = lanes(fp);
    match op {
        Op::Dense(d) => {
            let g = groups(d.n_out, k);
            (d.n_in * g, g)
        }
        Op::Conv(c) => {
            let g = groups(c.c_out, k);
            (c.window.kh * c.window.kw * c.window.input.c * g, g)
        }
        Op::Depthwise(d) => {
            let g = groups(d.mult, k);
            let taps = d.window.kh * d.window.kw * d.window.input.c;
            (taps * g, d.window.input.c * g)
        }
        Op::Affine(a) => (a.channels, a.channels),
        Op::Recurrent(_) => op.linear_parts().iter().fold((0, 0), |(w, b), p| {
            let (pw, pb) = packed_lens(p, fp);
            (w + pw, b + pb)
        }),
        _ => (0, 0),
    }
}

/// One linear part of an op's weights: the part, its kernels, its biases.
pub(crate) type Part<'a, T> = (Op, &'a [T], &'a [T]);

/// Kernels `w` and biases `b` cut into those of `parts` (an op's [`Op::linear_parts`]), each
/// part's lengths given by `lens` (its weight lengths, or its packed lengths): `None` unless they
/// add up to `w` and `b` exactly.
pub(crate) fn split_parts<'a, T>(
    parts: Vec<Op>,
    w: &'a [T],
    b: &'a [T],
    lens: impl Fn(&Op) -> (usize, usize),
) -> Option<Vec<Part<'a, T>>> {
    let (mut w, mut b) = (w, b);
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let (wl, bl) = lens(&p);
        if wl > w.len() || bl > b.len() {
            return None;
        }
        let ((pw, rw), (pb, rb)) = (w.split_at(wl), b.split_at(bl));
        out.push((p, pw, pb));
        (w, b) = (rw, rb);
    }
    (w.is_empty() && b.is_empty()).then_some(out)
}

fn pack_rows<F: PrimeField>(rows: &[i64], row_len: usize, k: usize, lane_bits: u32) -> Vec<F> {
    let mut out = Vec::new();
    for row in rows.chunks(row_len) {
        for group in row.chunks(k) {
            out.push(pack_lanes(group, lane_bits));
        }
    }
    out
}

/// Packs `weights` for `op`. Panics if the weight lengths do not match the op (the quantizer
/// guarantees they do).
pub fn pack<F: PrimeField>(op: &Op, weights: &Weights, fp: &FixedPoint) -> Packed<F> {
    let k = lanes(fp);
    let s = fp.lane_bits();
    let (wl, bl) = op.weight_lens();
    assert_eq!(
        (weights.w.len(), weights.b.len()),
        (wl, bl),
        "weights do not match {op:?}"
    );
    match op {
        Op::Dense(d) => Packed {
            w: pack_rows(&weights.w, d.n_out, k, s),
            b: pack_rows(&weights.b, d.n_out, k, s),
        },
        Op::Conv(c) => Packed {
            w: pack_rows(&weights.w, c.c_out, k, s),
            b: pack_rows(&weights.b, c.c_out, k, s),
        },
        Op::Depthwise(d) => Packed {
            w: pack_rows(&weights.w, d.mult, k, s),
            b: pack_rows(&weights.b, d.mult, k, s),
        },
        Op::Affine(_) => Packed {
            w: weights.w.iter().map(|&v| from_i64(v)).collect(),
            b: weights.b.iter().map(|&v| from_i64(v)).collect(),
        },
        Op::Recurrent(_) => {
            let parts = split_parts(op.linear_parts(), &weights.w, &weights.b, Op::weight_lens)
                .expect("lengths checked");
            let mut out = Packed {
                w: vec![],
                b: vec![],
            };
            for (p, w, b) in parts {
                let (w, b) = (w.to_vec(), b.to_vec());
                let one = pack::<F>(&p, &Weights { w, b }, fp);
                out.w.extend(one.w);
                out.b.extend(one.b);
            }
            out
        }
        _ => Packed {
            w: vec![],
            b: vec![],
        },
    }
}

/// Inverse of [`pack_lanes`] for `n` lanes of `lane_bits` bits whose values lie in
/// `[−2^(lane_bits−1), 2^(lane_bits−1))`: `None` if `e` is not such a packing (or a lane does not
/// fit in `i64`).
pub fn unpack_lanes<F: PrimeFieldBits>(e: &F, n: usize, lane_bits: u32) -> Option<Vec<i64>> {
    let s = lane_bits as usize;
    if n * s > PACK_CAPACITY as usize || lane_bits > 120 {
        return None;
    }
    let half = pow2::<F>(lane_bits - 1);
    let step = pow2::<F>(lane_bits);
    // Shift every lane by 2^(S−1) so that each becomes a digit in [0, 2^S).
    let (mut shifted, mut scale) = (*e, F::ONE);
    for _ in 0..n {
        shifted += half * scale;
        scale *= step;
    }
    let bits = shifted.to_le_bits();
    if bits.iter().skip(n * s).any(|b| *b) {
        return None;
    }
    (0..n)
        .map(|j| {
            let digit = (0..s).fold(0u128, |acc, i| acc | ((bits[j * s + i] as u128) << i));
            i64::try_from(digit as i128 - (1i128 << (lane_bits - 1))).ok()
        })
        .collect()
}

fn unpack_rows<F: PrimeFieldBits>(
    elems: &[F],
    rows: usize,
    row_len: usize,
    k: usize,
    lane_bits: u32,
) -> Option<Vec<i64>> {
    let g = groups(row_len, k);
    if elems.len() != rows * g {
        return None;
    }
    let mut out = Vec::with_capacity(rows * row_len);
    for r in 0..rows {
        for gi in 0..g {
            let n = k.min(row_len - gi * k);
            out.extend(unpack_lanes(&elems[r * g + gi], n, lane_bits)?);
        }
    }
    Some(out)
}

/// Inverse of [`pack`]: the native weights of `op` from packed kernel `w` and bias `b`, or `None`
/// if they are not a packing of weights whose every lane lies in `[−2^(S−1), 2^(S−1))`
/// (`S = fw + bits`) or have the wrong length.
pub fn unpack<F: PrimeFieldBits>(op: &Op, w: &[F], b: &[F], fp: &FixedPoint) -> Option<Weights> {
    let k = lanes(fp);
    let s = fp.lane_bits();
    let (w, b) = match op {
        Op::Dense(d) => (
            unpack_rows(w, d.n_in, d.n_out, k, s)?,
            unpack_rows(b, 1, d.n_out, k, s)?,
        ),
        Op::Conv(c) => {
            let win = &c.window;
            (
                unpack_rows(w, win.kh * win.kw * win.input.c, c.c_out, k, s)?,
                unpack_rows(b, 1, c.c_out, k, s)?,
            )
        }
        Op::Depthwise(d) => {
            let win = &d.window;
            (
                unpack_rows(w, win.kh * win.kw * win.input.c, d.mult, k, s)?,
                unpack_rows(b, win.input.c, d.mult, k, s)?,
            )
        }
        Op::Affine(a) => {
            if w.len() != a.channels || b.len() != a.channels {
                return None;
            }
            (
                w.iter().map(to_i64).collect::<Option<Vec<_>>>()?,
                b.iter().map(to_i64).collect::<Option<Vec<_>>>()?,
            )
        }
        Op::Recurrent(_) => {
            let mut out = Weights::default();
            for (p, w, b) in split_parts(op.linear_parts(), w, b, |p| packed_lens(p, fp))? {
                let one = unpack(&p, w, b, fp)?;
                out.w.extend(one.w);
                out.b.extend(one.b);
            }
            return Some(out);
        }
        _ => (vec![], vec![]),
    };
    Some(Weights { w, b })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::DenseSpec;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;
    type F = <PallasEngine as Engine>::Scalar;

    #[test]
    fn dense_packing_groups_outputs() {
        let fp = FixedPoint {
            fa: 8,
            fw: 8,
            bits: 16,
            guard: 8,
        };
        // lanes of 8 + 16 + 8 = 32 bits: 7 per element
        assert_eq!(lanes(&fp), 7);
        let op = Op::Dense(DenseSpec { n_in: 2, n_out: 12 });
        let w: Vec<i64> = (0..24).map(|v| v - 12).collect();
        let b: Vec<i64> = (0..12).collect();
        let p = pack::<F>(&op, &Weights { w: w.clone(), b }, &fp);
        assert_eq!((p.w.len(), p.b.len()), packed_lens(&op, &fp));
        assert_eq!(p.w[0], pack_lanes::<F, i64>(&w[0..7], 32));
        assert_eq!(p.w[1], pack_lanes::<F, i64>(&w[7..12], 32));
        assert_eq!(p.w[2], pack_lanes::<F, i64>(&w[12..19], 32));
    }

    #[test]
    fn unpack_inverts_pack() {
        let fp = FixedPoint {
            fa: 8,
            fw: 8,
            bits: 16,
            guard: 1,
        };
        let half = 1i64 << 23;
        let op = Op::Dense(DenseSpec { n_in: 3, n_out: 13 });
        let w: Vec<i64> = (0..39).map(|v| (v * 7919 % 2001) - 1000).collect();
        let mut b: Vec<i64> = (0..13).map(|v| v * 1000 - 6000).collect();
        b[0] = -half;
        b[9] = half - 1;
        let weights = Weights { w, b };
        let p = pack::<F>(&op, &weights, &fp);
        assert_eq!(unpack(&op, &p.w, &p.b, &fp), Some(weights));
        // a lane value outside the lane range decodes to the equivalent in-range lanes
        assert_eq!(
            unpack_lanes(&pack_lanes::<F, i64>(&[half, 0], 24), 2, 24),
            Some(vec![-half, 1])
        );
        // a nonzero value above the last lane is not a packing of that many lanes
        assert_eq!(
            unpack_lanes(&pack_lanes::<F, i64>(&[0, 0, 1], 24), 2, 24),
            None
        );
        assert_eq!(unpack_lanes(&-<F as ff::Field>::ONE, 1, 24), Some(vec![-1]));
    }
}
