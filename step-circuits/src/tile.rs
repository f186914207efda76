//! One tile of a Dense layer too wide for a step: a block of input rows against a block of
//! outputs, carrying packed partial sums between folds (docs/DESIGN.md §7).
//!
//! A Dense layer `n_in → n_out` is cut into tiles of `c` input rows × `k` outputs. The tiles of one
//! output block run in input order; the partial sums travel between them as the *packed* lane
//! groups of [`crate::linear`] (`G = ⌈k / lanes⌉` field elements, lane `j` of group `g` holding
//! output `g·lanes + j`), so a tile needs no decomposition until the last one. Per group `g`:
//!
//! ```text
//! carried_g = (1 − first)·acc_in_g                                   (grp{g}/carry)
//! 0         = (1 − first)·E_bias_g                                   (grp{g}/bias_first)
//! acc_out_g = carried_g + Σ_t x_t·E_{t,g} + E_bias_g                  (grp{g}/mul{t}, grp{g}/lane_sum)
//! 0         = last·(acc_out_g + Σ_j OFF·2^(S·j) − Σ_j (r_j + 2^fw·u_j)·2^(S·j))   (grp{g}/requant)
//! ```
//!
//! with the `r_j` (`fw` bits, `grp{g}/out{o}/r`) and `u_j` (`B` bits, `grp{g}/out{o}/u`) of [`crate::linear`]. On the last tile the
//! packed sum is the same integer the untiled layer's lane sum holds (integer sums are exact in
//! the field: the quantizer's guard bounds every lane of every partial sum, a sum over a subset of
//! the layer's inputs), so the last constraint is [`crate::linear`]'s lane-sum argument and the
//! outputs `q = u − 2^(B−1)` are the layer's requantized outputs. On other tiles the bits are
//! free and the caller discards `y`. The bias enters on the first tile only.
//!
//! **What the caller binds.** `first`, `last` and the order of tiles come from the tile's
//! descriptor, hashed into the architecture chain; `acc_in` is the previous tile's `acc_out`,
//! carried in the folded state; `x` is the tile's input rows, opened from the layer input's
//! commitment and range-checked. With those bound, a skipped, repeated or reordered tile changes
//! either the architecture chain or the carried sums.
//!
//! Cost per tile: `c·G` products, `3·G` constraints, `k·(fw + B)` bits.

use crate::field::Field;
use crate::packing::{self, groups, unpack_lanes};
use crate::range::{one, unsat, values_i64, Signed};
use crate::spec::{DenseSpec, FixedPoint, Op};
use nova_snark::frontend::{
    num::AllocatedNum, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};

/// What one tile produces.
#[derive(Clone, Debug)]
pub struct TileOut<F: ff::PrimeField> {
    /// The packed partial sums after this tile, one per lane group (`grp{g}/acc`).
    pub acc: Vec<AllocatedNum<F>>,
    /// The requantized outputs: the layer's outputs on the last tile, meaningless otherwise.
    pub y: Vec<Signed<F>>,
}

/// Number of packed partial sums a tile of `spec` carries.
pub fn carried_len(spec: &DenseSpec, fp: &FixedPoint) -> usize {
    groups(spec.n_out, packing::lanes(fp))
}

/// The requantized lanes `(q, r)` of one group's packed sum `acc` holding `n` outputs (`None`
/// at shape synthesis): on the last tile the lanes' requantization, elsewhere a fixed dummy.
fn requantized<F: Field>(
    acc: Option<F>,
    last: Option<bool>,
    n: usize,
    fp: &FixedPoint,
) -> Result<Option<Vec<(i64, i64)>>, SynthesisError> {
    let (Some(acc), Some(last)) = (acc, last) else {
        return Ok(None);
    };
    if !last {
        return Ok(Some(vec![(fp.min(), 0); n]));
    }
    let lanes = unpack_lanes(&acc, n, fp.lane_bits())
        .ok_or_else(|| unsat("dense tile: the partial sums leave their lanes"))?;
    lanes
        .into_iter()
        .map(|acc| {
            let (q, r) = crate::native::requantize(acc as i128, fp.fw);
            i64::try_from(q)
                .ok()
                .filter(|q| fp.in_range(*q))
                .map(|q| (q, r))
                .ok_or_else(|| {
                    unsat(format!(
                        "dense tile: an output ({q}) leaves the {}-bit activation range",
                        fp.bits
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// One tile: inputs `x` (`spec.n_in` rows, range-checked by the caller), the tile's packed
/// weights `w` and bias `b` in the [`crate::packing`] layout of `Op::Dense(spec)`, the previous
/// tile's packed sums `acc_in` ([`carried_len`] of them; ignored on the first tile) and the
/// descriptor bits `first` and `last`.
#[allow(clippy::too_many_arguments)]
pub fn dense_tile<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &DenseSpec,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    acc_in: &[AllocatedNum<F>],
    first: &Boolean,
    last: &Boolean,
    fp: &FixedPoint,
) -> Result<TileOut<F>, SynthesisError> {
    let op = Op::Dense(*spec);
    crate::linear::check_lens(&op, x, w, b, fp)?;
    let k = packing::lanes(fp);
    let gs = groups(spec.n_out, k);
    if acc_in.len() != gs {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "dense tile: {} carried sums for {gs} lane groups",
            acc_in.len()
        )));
    }
    values_i64(x)?; // inputs must be integers
    let not_first = |lc: LinearCombination<F>| lc + one() - &first.lc(one(), F::ONE);

    let mut acc = Vec::with_capacity(gs);
    let mut y = Vec::with_capacity(spec.n_out);
    for g in 0..gs {
        let mut ns = cs.namespace(|| format!("grp{g}"));
        let first_v = first.get_value();
        let carried = AllocatedNum::alloc(ns.namespace(|| "carried"), || {
            let a = acc_in[g]
                .get_value()
                .ok_or(SynthesisError::AssignmentMissing)?;
            Ok(if first_v.ok_or(SynthesisError::AssignmentMissing)? {
                F::ZERO
            } else {
                a
            })
        })?;
        ns.enforce(
            || "carry",
            not_first,
            |lc| lc + acc_in[g].get_variable(),
            |lc| lc + carried.get_variable(),
        );
        ns.enforce(
            || "bias_first",
            not_first,
            |lc| lc + b[g].get_variable(),
            |lc| lc,
        );
        // acc_out = carried + Σ_t x_t·E_{t,g} + E_bias (the last product is the sum's constraint)
        let mut value = carried
            .get_value()
            .zip(b[g].get_value())
            .map(|(c, b)| c + b);
        let mut rest = LinearCombination::<F>::zero();
        for i in 0..spec.n_in - 1 {
            let (xa, wa) = (&x[i], &w[i * gs + g]);
            let p = AllocatedNum::alloc(ns.namespace(|| format!("p{i}")), || {
                Ok(xa.get_value().ok_or(SynthesisError::AssignmentMissing)?
                    * wa.get_value().ok_or(SynthesisError::AssignmentMissing)?)
            })?;
            ns.enforce(
                || format!("mul{i}"),
                |lc| lc + xa.get_variable(),
                |lc| lc + wa.get_variable(),
                |lc| lc + p.get_variable(),
            );
            value = value.zip(p.get_value()).map(|(v, p)| v + p);
            rest = rest + p.get_variable();
        }
        let (xl, wl) = (&x[spec.n_in - 1], &w[(spec.n_in - 1) * gs + g]);
        value = value
            .zip(xl.get_value().zip(wl.get_value()))
            .map(|(v, (x, w))| v + x * w);
        let out = AllocatedNum::alloc(ns.namespace(|| "acc"), || {
            value.ok_or(SynthesisError::AssignmentMissing)
        })?;
        ns.enforce(
            || "lane_sum",
            |lc| lc + xl.get_variable(),
            |lc| lc + wl.get_variable(),
            |lc| lc + out.get_variable() - carried.get_variable() - b[g].get_variable() - &rest,
        );

        // the requantization of the packed sum, enforced on the last tile only
        let outputs = g * k..spec.n_out.min(g * k + k);
        let qr = requantized(out.get_value(), last.get_value(), outputs.len(), fp)?;
        let outputs: Vec<usize> = outputs.collect();
        let (rhs, offsets, ys) = crate::linear::lane_digits(&mut ns, &outputs, qr.as_deref(), fp)?;
        y.extend(ys);
        ns.enforce(
            || "requant",
            |_| last.lc(one(), F::ONE),
            |lc| lc + out.get_variable() + (offsets, one()) - &rhs,
            |lc| lc,
        );
        acc.push(out);
    }
    Ok(TileOut { acc, y })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::field::pack_lanes;
    use crate::native::{self, Weights};
    use crate::step::alloc_i64s;
    use nova_snark::frontend::AllocatedBit;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;

    type Fp = <PallasEngine as Engine>::Scalar;

    /// Per-output sums packed as the tile carries them.
    fn packed(acc: &[i128]) -> Vec<Fp> {
        let fp = fp();
        acc.chunks(packing::lanes(&fp))
            .map(|a| {
                pack_lanes(
                    &a.iter().map(|&v| v as i64).collect::<Vec<_>>(),
                    fp.lane_bits(),
                )
            })
            .collect()
    }

    fn fp() -> FixedPoint {
        FixedPoint {
            fa: 4,
            fw: 6,
            bits: 12,
            guard: 3,
        }
    }

    /// A layer `n_in → n_out` with small weights, and an input.
    fn layer(n_in: usize, n_out: usize) -> (Vec<i64>, Weights) {
        let x = (0..n_in as i64).map(|i| (i * 37 % 61) - 30).collect();
        let w = (0..(n_in * n_out) as i64)
            .map(|i| (i * 53 % 17) - 8)
            .collect();
        let b = (0..n_out as i64).map(|o| o * 5 - 20).collect();
        (x, Weights { w, b })
    }

    /// The rows `rows` of the layer as a tile's weights (bias on the first tile only).
    fn tile_weights(wt: &Weights, n_out: usize, rows: std::ops::Range<usize>) -> Weights {
        Weights {
            w: wt.w[rows.start * n_out..rows.end * n_out].to_vec(),
            b: if rows.start == 0 {
                wt.b.clone()
            } else {
                vec![0; n_out]
            },
        }
    }

    struct Run {
        cs: TamperCs<Fp>,
        out: TileOut<Fp>,
    }

    /// Synthesizes one tile over `rows` of the layer with the given carried sums and flags.
    fn run_tile(
        cs: TamperCs<Fp>,
        x: &[i64],
        wt: &Weights,
        n_out: usize,
        rows: std::ops::Range<usize>,
        acc_in: &[Fp],
        (first, last): (bool, bool),
    ) -> Run {
        let mut cs = cs;
        let fp = fp();
        let spec = DenseSpec {
            n_in: rows.len(),
            n_out,
        };
        let p = packing::pack::<Fp>(
            &Op::Dense(spec),
            &tile_weights(wt, n_out, rows.clone()),
            &fp,
        );
        let xs = alloc_i64s(&mut cs, "x", &x[rows]).unwrap();
        let some = |v: &[Fp]| v.iter().map(|&e| Some(e)).collect::<Vec<_>>();
        let w = crate::step::alloc_nums(&mut cs, "w", &some(&p.w)).unwrap();
        let b = crate::step::alloc_nums(&mut cs, "b", &some(&p.b)).unwrap();
        let a = crate::step::alloc_nums(&mut cs, "acc_in", &some(acc_in)).unwrap();
        let f = Boolean::from(AllocatedBit::alloc(cs.namespace(|| "first"), Some(first)).unwrap());
        let l = Boolean::from(AllocatedBit::alloc(cs.namespace(|| "last"), Some(last)).unwrap());
        let out = dense_tile(
            &mut cs.namespace(|| "tile"),
            &spec,
            &xs,
            &w,
            &b,
            &a,
            &f,
            &l,
            &fp,
        )
        .unwrap();
        Run { cs, out }
    }

    /// Runs the layer as tiles of `c` rows; returns the outputs and the packed sums per tile.
    fn run_layer(n_in: usize, n_out: usize, c: usize) -> (Vec<i64>, Vec<Vec<Fp>>) {
        let (x, wt) = layer(n_in, n_out);
        let gs = carried_len(&DenseSpec { n_in: c, n_out }, &fp());
        let mut acc = vec![Fp::from(0xbad); gs]; // ignored by the first tile
        let mut sums = vec![];
        let mut y = vec![];
        let tiles = n_in.div_ceil(c);
        for t in 0..tiles {
            let rows = t * c..((t + 1) * c).min(n_in);
            let run = run_tile(
                TamperCs::new(),
                &x,
                &wt,
                n_out,
                rows,
                &acc,
                (t == 0, t + 1 == tiles),
            );
            assert!(run.cs.is_satisfied(), "{:?}", run.cs.which_is_unsatisfied());
            acc = run.out.acc.iter().map(|a| a.get_value().unwrap()).collect();
            sums.push(acc.clone());
            y = run.out.y.iter().map(|s| s.value.unwrap()).collect();
        }
        (y, sums)
    }

    #[test]
    fn tiles_in_order_compute_the_untiled_layer() {
        let fp = fp();
        for (n_in, n_out, c) in [(12, 5, 4), (10, 13, 3), (7, 2, 7), (9, 1, 2)] {
            let (x, wt) = layer(n_in, n_out);
            let want = native::dense(&DenseSpec { n_in, n_out }, &x, &wt.w, &wt.b, &fp).unwrap();
            let (y, sums) = run_layer(n_in, n_out, c);
            assert_eq!(y, want.q, "{n_in}→{n_out} in tiles of {c}");
            // after the last tile the carried sums are the layer's packed accumulators
            assert_eq!(sums.last().unwrap(), &packed(&want.acc));
        }
    }

    #[test]
    fn native_twin_equals_the_gadget() {
        let fp = fp();
        let (n_in, n_out, c) = (12, 5, 4);
        let (x, wt) = layer(n_in, n_out);
        let mut acc = vec![0i128; n_out];
        let (_, sums) = run_layer(n_in, n_out, c);
        for (t, sum) in sums.iter().enumerate() {
            let rows = t * c..(t + 1) * c;
            let tw = tile_weights(&wt, n_out, rows.clone());
            let r = native::dense_tile(
                &DenseSpec { n_in: c, n_out },
                &x[rows],
                &tw.w,
                &tw.b,
                &acc,
                (t == 0, t == 2),
                &fp,
            )
            .unwrap();
            acc = r.acc.clone();
            assert_eq!(packed(&acc), *sum);
            assert_eq!(r.out.is_some(), t == 2);
        }
    }

    fn honest_middle_tile(cs: TamperCs<Fp>) -> Run {
        let (x, wt) = layer(12, 5);
        let (_, sums) = run_layer(12, 5, 4);
        run_tile(cs, &x, &wt, 5, 4..8, &sums[0], (false, false))
    }

    #[test]
    fn a_forged_carried_sum_fails_the_carry() {
        let honest = honest_middle_tile(TamperCs::new());
        let v = honest.cs.value("tile/grp0/carried/num").unwrap();
        let mut cs = TamperCs::new();
        cs.override_value("tile/grp0/carried/num", v + Fp::from(1));
        let run = honest_middle_tile(cs);
        assert!(run.cs.unused_overrides().is_empty());
        assert_eq!(
            run.cs.unsatisfied(),
            vec!["tile/grp0/carry", "tile/grp0/lane_sum"]
        );
    }

    #[test]
    fn restarting_the_sums_mid_layer_fails_the_carry() {
        // a prover who drops the previous tiles' sums (claims the tile is the first): with the
        // descriptor's `first` = 0, a carried zero is not the carried sum
        let mut cs = TamperCs::new();
        cs.override_value("tile/grp0/carried/num", Fp::from(0));
        let run = honest_middle_tile(cs);
        assert!(run.cs.unsatisfied().contains(&"tile/grp0/carry"));
    }

    #[test]
    fn a_bias_on_a_later_tile_fails_bias_first() {
        let honest = honest_middle_tile(TamperCs::new());
        let mut cs = TamperCs::new();
        let b = honest.cs.value("b0/num").unwrap();
        cs.override_value("b0/num", b + Fp::from(3));
        let run = honest_middle_tile(cs);
        assert!(run.cs.unused_overrides().is_empty());
        let failing = run.cs.unsatisfied();
        assert!(failing.contains(&"tile/grp0/bias_first"), "{failing:?}");
    }

    #[test]
    fn a_wrong_output_on_the_last_tile_fails_the_requantization() {
        let (x, wt) = layer(12, 5);
        let (_, sums) = run_layer(12, 5, 4);
        let honest = run_tile(TamperCs::new(), &x, &wt, 5, 8..12, &sums[1], (false, true));
        let q = honest.out.y[2].value.unwrap();
        let u = crate::range::offset_value(&fp(), q + 1).unwrap();
        let mut cs = TamperCs::new();
        cs.override_bits("tile/grp0/out2/u", u, fp().bits);
        let run = run_tile(cs, &x, &wt, 5, 8..12, &sums[1], (false, true));
        assert!(run.cs.unused_overrides().is_empty());
        assert_eq!(run.cs.unsatisfied(), vec!["tile/grp0/requant"]);
    }

    #[test]
    fn a_wrong_product_fails_its_multiplication() {
        let honest = honest_middle_tile(TamperCs::new());
        let p = honest.cs.value("tile/grp0/p1/num").unwrap();
        let mut cs = TamperCs::new();
        cs.override_value("tile/grp0/p1/num", p + Fp::from(1));
        let run = honest_middle_tile(cs);
        assert_eq!(
            run.cs.unsatisfied(),
            vec!["tile/grp0/mul1", "tile/grp0/lane_sum"]
        );
    }

    #[test]
    fn tile_sizes_are_checked() {
        let mut cs = TamperCs::<Fp>::new();
        let spec = DenseSpec { n_in: 2, n_out: 3 };
        let x = alloc_i64s(&mut cs, "x", &[1, 2]).unwrap();
        let w = alloc_i64s(&mut cs, "w", &[0, 0]).unwrap();
        let b = alloc_i64s(&mut cs, "b", &[0]).unwrap();
        let f = Boolean::constant(true);
        let err = dense_tile(&mut cs, &spec, &x, &w, &b, &[], &f, &f, &fp()).unwrap_err();
        assert!(err.to_string().contains("carried sums"), "{err}");
    }
}
