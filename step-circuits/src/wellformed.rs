//! Well-formed weights: the bound the packed linear gadgets rely on, proven for weights the
//! verifier does not know (a private model).
//!
//! [`crate::linear`] is sound only if, for every output lane, every value the weights allow for
//! in-range inputs stays below `2^(S−1)` in magnitude (`S = fp.lane_bits()`), so that no lane
//! carries into its neighbour or wraps the field:
//!
//! ```text
//! Σ_taps |w|·2^(B−1) + |b| + OFF  ≤  2^(S−1) − 1          OFF = 2^(fw−1) + 2^(fw+B−1)
//! ```
//!
//! For a public model the verifier recomputes the commitment from weights it quantized itself, so
//! the bound holds by construction (the quantizer sizes `guard` with [`output_bounds`]). Private
//! weights are only committed: without this gadget a prover could use lane values that wrap, so
//! that the proven outputs are those of no integer model (issue "Verification that trusts
//! nothing…", path 2).
//!
//! **What [`enforce`] proves.** Every packed kernel element is `Σ_j (d_j − H)·2^(S·j)` over its
//! real lanes with `d_j` a `W`-bit number (`W = fw + guard + 1`, `H = 2^(W−1)`), so each weight
//! lies in `[−2^(fw+guard), 2^(fw+guard))` — the largest magnitude the bound admits — and lanes
//! past the group's real outputs are zero. Every packed bias element likewise, with `S`-bit digits
//! and `H = 2^(S−1)`. Then `|w| = (2t − 1)·(d − H)` with `t` the digit's top bit, and for each
//! output the slack `2^(S−1) − 1 − OFF − 2^(B−1)·Σ|w| − |b|` is an `S`-bit number, i.e. not
//! negative. The digit sums are integers below `2^(k·S) ≤ 2^248 < p`, so the decomposition of a
//! packed element is unique and nothing wraps.
//!
//! **Witness.** Synthesis never fails on values that break the bound (forged or garbage, as a
//! decryption with a wrong key gives): the digits that do not exist are assigned 0, so the
//! recomposition or the slack check is the unsatisfied constraint. Honest provers check the bound
//! natively first ([`check`]), with a message naming the output.
//!
//! Cost: per kernel weight `W + 1` constraints, per bias `S + 1`, per packed element 1, per output
//! `S + 1`. Constraint names: `k{e}/l{j}/bit{i}` and `k{e}/l{j}/abs` for lane `j` of kernel
//! element `e`, `k{e}/recompose`; `b{e}/…` for bias elements; `out{o}/slack/bit{i}`,
//! `out{o}/slack/recompose`.

use crate::field::{pow2, to_i128};
use crate::native::Weights;
use crate::packing;
use crate::range::{alloc_bits, bits_lc, range_check};
use crate::spec::{FixedPoint, Op};
use ff::{PrimeField, PrimeFieldBits};
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

/// How a linear op's weights are laid out: a kernel grid and a bias grid (rows packed in groups
/// of `lanes` columns, [`crate::packing`]) and, per output, the kernel rows, bias row and column
/// that feed it.
struct Grids {
    lanes: usize,
    cols: usize,
    kernel_rows: usize,
    bias_rows: usize,
    /// Per output: (kernel rows, bias row, column).
    outputs: Vec<(Vec<usize>, usize, usize)>,
}

fn grids(op: &Op, fp: &FixedPoint) -> Option<Grids> {
    let k = packing::lanes(fp);
    let dense = |rows: usize, cols: usize| Grids {
        lanes: k,
        cols,
        kernel_rows: rows,
        bias_rows: 1,
        outputs: (0..cols).map(|c| ((0..rows).collect(), 0, c)).collect(),
    };
    match op {
        Op::Dense(d) => Some(dense(d.n_in, d.n_out)),
        Op::Conv(c) => Some(dense(c.window.kh * c.window.kw * c.window.input.c, c.c_out)),
        Op::Depthwise(d) => {
            let ch = d.window.input.c;
            let rows = d.window.kh * d.window.kw * ch;
            Some(Grids {
                lanes: k,
                cols: d.mult,
                kernel_rows: rows,
                bias_rows: ch,
                outputs: (0..ch)
                    .flat_map(|c| {
                        (0..d.mult).map(move |m| ((c..rows).step_by(ch).collect::<Vec<_>>(), c, m))
                    })
                    .collect(),
            })
        }
        Op::Affine(a) => Some(Grids {
            lanes: 1,
            cols: 1,
            kernel_rows: a.channels,
            bias_rows: a.channels,
            outputs: (0..a.channels).map(|c| (vec![c], c, 0)).collect(),
        }),
        _ => None,
    }
}

/// `OFF = 2^(fw−1) + 2^(fw+B−1)`, the offset every lane carries.
fn offset(fp: &FixedPoint) -> u128 {
    (1u128 << (fp.fw - 1)) + (1u128 << (fp.fw + fp.bits - 1))
}

/// Per output of `op`: `Σ|w|·2^(B−1) + |b| + OFF`, the largest lane magnitude `weights` allow for
/// in-range inputs (saturating). Empty for an op without weights. The quantizer sizes `guard` so
/// that every bound is below `2^(lane_bits−1)`; [`check`] and [`enforce`] require it.
pub fn output_bounds(op: &Op, weights: &Weights, fp: &FixedPoint) -> Vec<u128> {
    if let Op::Recurrent(_) = op {
        // lengths that do not add up have no bound (the callers check them first)
        let parts =
            packing::split_parts(op.linear_parts(), &weights.w, &weights.b, Op::weight_lens);
        return parts
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(p, w, b)| {
                let (w, b) = (w.to_vec(), b.to_vec());
                output_bounds(&p, &Weights { w, b }, fp)
            })
            .collect();
    }
    let Some(g) = grids(op, fp) else {
        return vec![];
    };
    let amax = 1u128 << (fp.bits - 1);
    g.outputs
        .iter()
        .map(|(rows, brow, col)| {
            let sw: u128 = rows
                .iter()
                .map(|r| weights.w[r * g.cols + col].unsigned_abs() as u128)
                .sum();
            let b = weights.b[brow * g.cols + col].unsigned_abs() as u128;
            sw.saturating_mul(amax)
                .saturating_add(b)
                .saturating_add(offset(fp))
        })
        .collect()
}

/// The native twin of [`enforce`]: whether `weights` (unpacked, the op's own layout) satisfy the
/// bound under `fp`. The error names the first output that does not.
pub fn check(op: &Op, weights: &Weights, fp: &FixedPoint) -> Result<(), String> {
    check_share(op, weights, fp, 1)
}

/// The part of the bound one of `parts` pieces of a layer may use: `⌊(2^(S−1) − 1 − OFF) /
/// parts⌋` for `2^(B−1)·Σ|w| + |b|` of each output. A Dense layer cut into `R ≤ parts` row tiles
/// whose tiles each stay within their part stays within the whole bound: no partial sum of any
/// lane, carried from tile to tile, and no final sum can leave its lane.
pub fn share_limit(fp: &FixedPoint, parts: u32) -> u128 {
    ((1u128 << (fp.lane_bits() - 1)) - 1 - offset(fp)) / u128::from(parts.max(1))
}

/// [`check`] for one of `parts` pieces of a layer ([`share_limit`]).
pub fn check_share(op: &Op, weights: &Weights, fp: &FixedPoint, parts: u32) -> Result<(), String> {
    let (wl, bl) = op.weight_lens();
    if weights.w.len() != wl || weights.b.len() != bl {
        return Err(format!(
            "{} weights and {} biases, the {} needs {wl} and {bl}",
            weights.w.len(),
            weights.b.len(),
            op.kind()
        ));
    }
    let limit = share_limit(fp, parts);
    let off = offset(fp);
    match output_bounds(op, weights, fp)
        .iter()
        .position(|&b| b.saturating_sub(off) > limit)
    {
        None => Ok(()),
        Some(o) if parts <= 1 => Err(format!(
            "output {o}: Σ|w|·2^(bits−1) + |b| + offset reaches 2^{} (guard {} is too small for these weights)",
            fp.lane_bits() - 1,
            fp.guard
        )),
        Some(o) => Err(format!(
            "output {o}: Σ|w|·2^(bits−1) + |b| exceeds this piece's 1/{parts} of the bound 2^{} − 1 − offset",
            fp.lane_bits() - 1,
        )),
    }
}

/// Decomposes packed element `e` into `n` lanes of `digit_bits`-bit digits `d_j = lane_j + H`
/// (`H = 2^(digit_bits−1)`) at lane stride `S`, enforces the recomposition, and returns each
/// lane's absolute value as a variable. `lanes` are the lanes' integer values, if known.
fn lanes_abs<F: PrimeFieldBits, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    e: &AllocatedNum<F>,
    lanes: Option<&[i64]>,
    n: usize,
    digit_bits: u32,
    fp: &FixedPoint,
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    let h = 1i128 << (digit_bits - 1);
    let (stride, mut scale) = (pow2::<F>(fp.lane_bits()), F::ONE);
    let mut sum = LinearCombination::<F>::zero();
    let mut offsets = F::ZERO;
    let mut abs = Vec::with_capacity(n);
    for j in 0..n {
        let mut ns = cs.namespace(|| format!("l{j}"));
        // a lane outside the digit range has no decomposition: assign digit 0, so that the
        // recomposition (not synthesis) fails, as it does for any forged value
        let d = lanes.map(|l| {
            let v = l[j] as i128 + h;
            if (0..1i128 << digit_bits).contains(&v) {
                v as u128
            } else {
                0
            }
        });
        let bits = alloc_bits(&mut ns, d, digit_bits)?;
        let digit = bits_lc::<F>(&bits);
        sum = sum + (scale, &digit);
        offsets += pow2::<F>(digit_bits - 1) * scale;
        // |lane| = (2t − 1)·(d − H), t the top bit (1 ⟺ lane ≥ 0)
        let t = bits.last().expect("digit_bits ≥ 1").clone();
        let a = AllocatedNum::alloc(ns.namespace(|| "abs_value"), || {
            d.map(|d| F::from((d as i128 - h).unsigned_abs() as u64))
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        ns.enforce(
            || "abs",
            |lc| lc + (F::from(2), t.get_variable()) - CS::one(),
            |lc| lc + &digit - (pow2::<F>(digit_bits - 1), CS::one()),
            |lc| lc + a.get_variable(),
        );
        abs.push(a);
        scale *= stride;
    }
    // e + Σ_j H·2^(S·j) = Σ_j d_j·2^(S·j)
    cs.enforce(
        || "recompose",
        |lc| lc + e.get_variable() + (offsets, CS::one()),
        |lc| lc + CS::one(),
        |_| sum,
    );
    Ok(abs)
}

/// The lanes of every packed element of one grid, from the elements' values (`None` at shape
/// synthesis). Errors if an element is not a packing of lanes in the `S`-bit range.
fn grid_values<F: PrimeFieldBits>(
    elems: &[AllocatedNum<F>],
    rows: usize,
    cols: usize,
    k: usize,
    fp: &FixedPoint,
) -> Result<Option<Vec<Vec<i64>>>, SynthesisError> {
    let groups = packing::groups(cols, k);
    let mut out = Vec::with_capacity(elems.len());
    for (i, e) in elems.iter().enumerate() {
        let Some(v) = e.get_value() else {
            return Ok(None);
        };
        let n = k.min(cols - (i % groups) * k);
        let lanes = if k == 1 {
            to_i128(&v)
                .and_then(|x| i64::try_from(x).ok())
                .map(|x| vec![x])
        } else {
            packing::unpack_lanes(&v, n, fp.lane_bits())
        };
        // not a packing of in-range lanes: zeros, so that the recomposition fails
        out.push(lanes.unwrap_or_else(|| vec![0; n]));
    }
    debug_assert_eq!(out.len(), rows * groups);
    Ok(Some(out))
}

/// Enforces the bound (module docs) on the packed weights `w`, `b` of linear `op` (any other op:
/// nothing to check).
pub fn enforce<F: PrimeField + PrimeFieldBits, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    op: &Op,
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<(), SynthesisError> {
    enforce_share(cs, op, w, b, fp, 1)
}

/// [`enforce`] for one of `parts` pieces of a layer: each output's `2^(B−1)·Σ|w| + |b|` stays
/// within [`share_limit`] (the slack is `share_limit − 2^(B−1)·Σ|w| − |b|`, an `S`-bit number).
/// A Dense tile of a layer with at most `parts` row tiles.
pub fn enforce_share<F: PrimeField + PrimeFieldBits, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    op: &Op,
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
    parts: u32,
) -> Result<(), SynthesisError> {
    let (wl, bl) = packing::packed_lens(op, fp);
    if w.len() != wl || b.len() != bl {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "{}: {} + {} packed weights, expected {wl} + {bl}",
            op.kind(),
            w.len(),
            b.len()
        )));
    }
    if let Op::Recurrent(_) = op {
        // each of the cell's Dense maps is bounded as a Dense layer (`part{k}/…`)
        let ps = packing::split_parts(op.linear_parts(), w, b, |p| packing::packed_lens(p, fp))
            .ok_or_else(|| SynthesisError::IncompatibleLengthVector("recurrent weights".into()))?;
        for (k, (p, w, b)) in ps.iter().enumerate() {
            enforce_share(&mut cs.namespace(|| format!("part{k}")), p, w, b, fp, parts)?;
        }
        return Ok(());
    }
    let Some(g) = grids(op, fp) else {
        return Ok(());
    };
    let s = fp.lane_bits();
    let k = g.lanes;
    let groups = packing::groups(g.cols, k);
    // |lane| of every (row, column) of both grids
    let grid_abs = |cs: &mut CS,
                    elems: &[AllocatedNum<F>],
                    rows: usize,
                    digit_bits: u32,
                    tag: &str|
     -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let values = grid_values(elems, rows, g.cols, k, fp)?;
        let mut abs = Vec::with_capacity(rows * g.cols);
        for (e, elem) in elems.iter().enumerate() {
            let n = k.min(g.cols - (e % groups) * k);
            let lanes = values.as_ref().map(|v| v[e].as_slice());
            abs.extend(lanes_abs(
                &mut cs.namespace(|| format!("{tag}{e}")),
                elem,
                lanes,
                n,
                digit_bits,
                fp,
            )?);
        }
        Ok(abs)
    };
    // element e = row·groups + group holds columns group·k .. group·k + n, in order: the lanes
    // come out row-major over (row, column)
    let kabs = grid_abs(cs, w, g.kernel_rows, fp.fw + fp.guard + 1, "k")?;
    let babs = grid_abs(cs, b, g.bias_rows, s, "b")?;
    let amax = pow2::<F>(fp.bits - 1);
    let limit = share_limit(fp, parts);
    for (o, (rows, brow, col)) in g.outputs.iter().enumerate() {
        // slack = limit − 2^(B−1)·Σ|w| − |b|, an S-bit number
        let mut lc = LinearCombination::<F>::zero() + (F::from_u128(limit), CS::one());
        let mut value = Some(limit as i128);
        for r in rows {
            let a = &kabs[r * g.cols + col];
            lc = lc - (amax, a.get_variable());
            value = value
                .zip(a.get_value())
                .and_then(|(v, x)| to_i128(&x).map(|x| v - x * (1i128 << (fp.bits - 1))));
        }
        let a = &babs[brow * g.cols + col];
        lc = lc - a.get_variable();
        value = value
            .zip(a.get_value())
            .and_then(|(v, x)| to_i128(&x).map(|x| v - x));
        // over the bound, the slack is negative and has no S-bit decomposition: assign 0, so that
        // its recomposition fails
        let slack = value.map(|v| u128::try_from(v).unwrap_or(0));
        range_check(
            &mut cs.namespace(|| format!("out{o}")).namespace(|| "slack"),
            &lc,
            slack,
            s,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::spec::{AffineSpec, DenseSpec};
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;
    type F = <PallasEngine as Engine>::Scalar;

    const FP: FixedPoint = FixedPoint {
        fa: 4,
        fw: 5,
        bits: 12,
        guard: 2,
    };

    fn synth(op: &Op, weights: &Weights, fp: &FixedPoint) -> TamperCs<F> {
        synth_share(op, weights, fp, 1)
    }

    fn synth_share(op: &Op, weights: &Weights, fp: &FixedPoint, parts: u32) -> TamperCs<F> {
        let p = packing::pack::<F>(op, weights, fp);
        let mut cs = TamperCs::<F>::new();
        let alloc = |cs: &mut TamperCs<F>, name: String, v: F| {
            AllocatedNum::alloc(cs.namespace(|| name), || Ok(v)).unwrap()
        };
        let w: Vec<_> =
            p.w.iter()
                .enumerate()
                .map(|(i, v)| alloc(&mut cs, format!("w{i}"), *v))
                .collect();
        let b: Vec<_> =
            p.b.iter()
                .enumerate()
                .map(|(i, v)| alloc(&mut cs, format!("bias{i}"), *v))
                .collect();
        enforce_share(&mut cs.namespace(|| "wf"), op, &w, &b, fp, parts).unwrap();
        cs
    }

    /// A tile of a layer cut into two row tiles may use half the bound: exactly half satisfies
    /// it, one unit more fails the slack check natively and in the circuit; the whole bound is
    /// the one-part case.
    #[test]
    fn a_piece_of_a_layer_gets_its_share_of_the_bound() {
        // share_limit(FP, 2) = ⌊196591 / 2⌋ = 98295 = 47·2048 + 2039
        assert_eq!(share_limit(&FP, 1), 196_591);
        assert_eq!(share_limit(&FP, 2), 98_295);
        let op = Op::Dense(DenseSpec { n_in: 2, n_out: 2 });
        let at = Weights {
            w: vec![40, 0, 7, 1],
            b: vec![2039, 0],
        };
        assert!(check_share(&op, &at, &FP, 2).is_ok());
        let cs = synth_share(&op, &at, &FP, 2);
        assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
        let mut over = at.clone();
        over.b[0] += 1;
        let e = check_share(&op, &over, &FP, 2).unwrap_err();
        assert!(e.starts_with("output 0:") && e.contains("1/2"), "{e}");
        // within the whole bound, so a layer of one piece accepts it
        assert!(check(&op, &over, &FP).is_ok());
        assert!(synth(&op, &over, &FP).is_satisfied());
        let cs = synth_share(&op, &over, &FP, 2);
        assert_eq!(cs.which_is_unsatisfied(), Some("wf/out0/slack/recompose"));
    }

    /// A recurrent layer's weights are bounded map by map: a bias over the bound in the GRU's
    /// second map (`h → 3U`) fails that map's slack check natively and in the circuit.
    #[test]
    fn a_recurrent_layer_is_bounded_map_by_map() {
        use crate::spec::{CellKind, CellSpec, RecurrentSpec};
        let op = Op::Recurrent(RecurrentSpec {
            cell: CellSpec {
                kind: CellKind::Gru { reset_after: true },
                features: 1,
                units: 1,
                masked: false,
            },
            timesteps: 2,
            return_sequences: false,
        });
        // x → 3U: 3 weights and biases, then h → 3U: 3 and 3
        let mut weights = Weights {
            w: vec![1, -2, 3, 4, 5, -6],
            b: vec![7; 6],
        };
        assert_eq!(output_bounds(&op, &weights, &FP).len(), 6);
        assert!(check(&op, &weights, &FP).is_ok());
        let cs = synth(&op, &weights, &FP);
        assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
        // Σ|w|·2048 + |b| ≤ 196591 with |w| = 5: |b| ≤ 186351
        weights.b[4] = 186_352;
        let e = check(&op, &weights, &FP).unwrap_err();
        assert!(e.starts_with("output 4:"), "{e}");
        let cs = synth(&op, &weights, &FP);
        assert_eq!(cs.unsatisfied(), ["wf/part1/out1/slack/recompose"]);
    }

    #[test]
    fn weights_exactly_at_the_bound_satisfy_it_and_one_more_unit_does_not() {
        // S = 19, OFF = 65552: Σ|w|·2048 + |b| ≤ 2^18 − 1 − OFF = 196591, i.e. Σ|w| = 95 with
        // |b| = 2031 is exactly at the bound
        let op = Op::Dense(DenseSpec { n_in: 3, n_out: 9 });
        let mut weights = Weights {
            w: vec![0; 27],
            b: vec![0; 9],
        };
        weights.w[0] = 63;
        weights.w[9] = -32;
        weights.b[0] = 2031;
        weights.w[2 * 9 + 8] = -95;
        weights.b[8] = -2031;
        assert!(check(&op, &weights, &FP).is_ok());
        let cs = synth(&op, &weights, &FP);
        assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
        for (i, out) in [(0usize, 0usize), (8, 8)] {
            let mut over = weights.clone();
            over.b[i] += over.b[i].signum();
            let e = check(&op, &over, &FP).unwrap_err();
            assert!(e.starts_with(&format!("output {out}:")), "{e}");
        }
    }

    /// The wrapping witness of the security issue: Dense 1→2, fw = 5, B = 12, guard = 2 (S = 19),
    /// w = [65536, 0]. The lane is a valid packing (|65536| < 2^18) but breaks the bound; with
    /// input 8 its product 2^19 carries into the next lane, which `linear` alone accepts.
    #[test]
    fn a_wrapping_weight_fails_the_digit_decomposition() {
        let op = Op::Dense(DenseSpec { n_in: 1, n_out: 2 });
        let bad = Weights {
            w: vec![65536, 0],
            b: vec![0, 0],
        };
        assert_eq!(
            packing::unpack::<F>(
                &op,
                &packing::pack::<F>(&op, &bad, &FP).w,
                &packing::pack::<F>(&op, &bad, &FP).b,
                &FP
            ),
            Some(bad.clone())
        );
        assert!(check(&op, &bad, &FP).is_err());
        // honest synthesis of an in-bound model, then the element replaced by the wrapping one:
        // whatever digits the prover puts on the lane, the recomposition fails
        let good = Weights {
            w: vec![1, 0],
            b: vec![0, 0],
        };
        let honest = synth(&op, &good, &FP);
        assert!(honest.is_satisfied());
        let mut cs = TamperCs::<F>::new();
        cs.override_value("w0/num", packing::pack::<F>(&op, &bad, &FP).w[0]);
        let p = packing::pack::<F>(&op, &good, &FP);
        let w0 = AllocatedNum::alloc(cs.namespace(|| "w0"), || Ok(p.w[0])).unwrap();
        let b0 = AllocatedNum::alloc(cs.namespace(|| "bias0"), || Ok(p.b[0])).unwrap();
        enforce(&mut cs.namespace(|| "wf"), &op, &[w0], &[b0], &FP).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["wf/k0/recompose"]);
    }

    /// Weights whose digits are in range but whose sum breaks the bound: the slack goes negative,
    /// so its decomposition fails.
    #[test]
    fn a_sum_over_the_bound_fails_the_slack_check() {
        let op = Op::Dense(DenseSpec { n_in: 2, n_out: 1 });
        let good = Weights {
            w: vec![60, 30],
            b: vec![0],
        };
        assert!(check(&op, &good, &FP).is_ok());
        let over = Weights {
            w: vec![60, 40],
            b: vec![0],
        };
        assert!(check(&op, &over, &FP).is_err());
        let honest = synth(&op, &good, &FP);
        assert!(honest.is_satisfied());
        // the prover swaps in the over-bound weight (its digit and |w| consistently) and keeps
        // the honest slack bits: the slack recomposition no longer holds
        let p_over = packing::pack::<F>(&op, &over, &FP);
        let p = packing::pack::<F>(&op, &good, &FP);
        let mut cs = TamperCs::<F>::new();
        cs.override_value("w1/num", p_over.w[1]);
        cs.override_bits("wf/k1/l0", 40 + 128, 8);
        cs.override_value("wf/k1/l0/abs_value/num", F::from(40));
        let w: Vec<_> = p
            .w
            .iter()
            .enumerate()
            .map(|(i, v)| AllocatedNum::alloc(cs.namespace(|| format!("w{i}")), || Ok(*v)).unwrap())
            .collect();
        let b0 = AllocatedNum::alloc(cs.namespace(|| "bias0"), || Ok(p.b[0])).unwrap();
        enforce(&mut cs.namespace(|| "wf"), &op, &w, &[b0], &FP).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["wf/out0/slack/recompose"]);
        // and no slack value in S bits fits: synthesizing `over` itself leaves the slack
        // recomposition unsatisfied
        let cs = synth(&op, &over, &FP);
        assert_eq!(cs.unsatisfied(), vec!["wf/out0/slack/recompose"]);
    }

    /// A lie about |w| (the abs variable) is caught by the abs constraint.
    #[test]
    fn a_false_absolute_value_fails_the_abs_constraint() {
        let op = Op::Affine(AffineSpec { n: 2, channels: 2 });
        let good = Weights {
            w: vec![-50, 7],
            b: vec![3, -4],
        };
        assert!(synth(&op, &good, &FP).is_satisfied());
        let p = packing::pack::<F>(&op, &good, &FP);
        // |w| = 0 instead of 50, and the slack that |w| = 0 gives: only `abs` catches it
        let mut cs = TamperCs::<F>::new();
        cs.override_value("wf/k0/l0/abs_value/num", F::from(0));
        cs.override_bits("wf/out0/slack", 196591 - 3, 19);
        let alloc = |cs: &mut TamperCs<F>, name: String, v: F| {
            AllocatedNum::alloc(cs.namespace(|| name), || Ok(v)).unwrap()
        };
        let w: Vec<_> = (0..2)
            .map(|i| alloc(&mut cs, format!("w{i}"), p.w[i]))
            .collect();
        let b: Vec<_> = (0..2)
            .map(|i| alloc(&mut cs, format!("bias{i}"), p.b[i]))
            .collect();
        enforce(&mut cs.namespace(|| "wf"), &op, &w, &b, &FP).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["wf/k0/l0/abs"]);
    }

    #[test]
    fn native_bounds_match_the_quantizer_formula() {
        let op = Op::Dense(DenseSpec { n_in: 2, n_out: 2 });
        let w = Weights {
            w: vec![3, -4, -5, 6],
            b: vec![-7, 8],
        };
        let off = 16 + 65536;
        assert_eq!(
            output_bounds(&op, &w, &FP),
            vec![(3 + 5) * 2048 + 7 + off, (4 + 6) * 2048 + 8 + off]
        );
    }
}
