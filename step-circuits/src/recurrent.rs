//! One timestep of a recurrent cell (Keras' SimpleRNN, GRU and LSTM): its integer form, the
//! native twin, and the gadget, composed of the crate's Dense, activation and merge gadgets.
//!
//! Values are at the activation scale `2^fa`, weights at `2^fw` and biases at `2^(fa+fw)`, as a
//! Dense layer's; `rq` is a Dense's requantization (÷ `2^fw`, half up, range-checked), `⊙` is
//! Multiply's product (÷ `2^fa`, half up, range-checked), `+` and `−` are range-checked. With `x`
//! the timestep's input (`F` values), `h` (and the LSTM's `c`) the state (`U` values each), `σ`
//! the gate activation and `φ` the cell's activation (PWL approximations of sigmoid and tanh for
//! Keras' defaults):
//! - SimpleRNN: `h' = φ(rq(W·x + R·h + b))`.
//! - LSTM: `[i f g o] = rq(W·x + R·h + b)` in Keras' gate order, `c' = σ(f)⊙c + σ(i)⊙φ(g)`,
//!   `h' = σ(o)⊙φ(c')`.
//! - GRU, `reset_after` (Keras' default): `zx = rq(W·x + b_x)`, `zh = rq(R·h + b_h)` (z, r, n
//!   thirds), `z = σ(zx_z + zh_z)`, `r = σ(zx_r + zh_r)`, `n = φ(zx_n + r⊙zh_n)`.
//! - GRU, reset before: `[z r] = σ(rq(W_zr·x + R_zr·h + b_zr))`,
//!   `n = φ(rq(W_n·x + R_n·(r⊙h) + b_n))`.
//! - GRU, both: `h' = n + z⊙(h − n)`, Keras' `z·h + (1 − z)·n` without the constant `1`.
//!
//! The linear maps are Dense layers ([`CellSpec::denses`]), so their weights pack as a Dense's
//! ([`crate::packing`]) and the cell's weights are theirs in order. The cell is not yet reachable
//! from a model: it is to run as a banded layer, one timestep a band, the state carried between
//! bands (docs/DESIGN.md §7.5 item 3).

use crate::activation::activate;
use crate::elementwise::merge;
use crate::field::Field;
use crate::linear::linear;
use crate::native::{self, NativeError, Weights};
use crate::packing::packed_lens;
use crate::range::{unsat, Signed};
use crate::spec::{Act, DenseSpec, FixedPoint, Merge, Op};
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};
use serde::{Deserialize, Serialize};

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellKind {
    /// Keras' SimpleRNN.
    Simple,
    /// Keras' GRU; `reset_after` applies the reset gate after the recurrent matrix product.
    Gru {
        /// Keras' `reset_after`.
        reset_after: bool,
    },
    /// Keras' LSTM.
    Lstm,
}

/// One timestep of a recurrent cell of `units` units over `features` input values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellSpec {
    /// The cell.
    pub kind: CellKind,
    /// Input values per timestep.
    pub features: usize,
    /// Units (the length of `h`, and of the LSTM's `c`).
    pub units: usize,
}

impl CellSpec {
    /// The state carried from one timestep to the next: `h`, then the LSTM's `c`.
    pub fn state_len(&self) -> usize {
        match self.kind {
            CellKind::Lstm => 2 * self.units,
            _ => self.units,
        }
    }

    /// The cell's linear maps in order; the cell's weights are theirs, one after the other
    /// (kernels in `Weights::w`, biases in `Weights::b`, each in a Dense's layout).
    /// - SimpleRNN, LSTM: `[x; h] → g·U`, Keras' kernel above its recurrent kernel.
    /// - GRU `reset_after`: `x → 3U` (kernel, input bias), `h → 3U` (recurrent kernel and bias).
    /// - GRU reset before: `[x; h] → 2U` (the z and r columns), `[x; r⊙h] → U` (the n columns).
    pub fn denses(&self) -> Vec<DenseSpec> {
        let (f, u) = (self.features, self.units);
        let dense = |n_in, n_out| DenseSpec { n_in, n_out };
        match self.kind {
            CellKind::Simple => vec![dense(f + u, u)],
            CellKind::Lstm => vec![dense(f + u, 4 * u)],
            CellKind::Gru { reset_after: true } => vec![dense(f, 3 * u), dense(u, 3 * u)],
            CellKind::Gru { reset_after: false } => vec![dense(f + u, 2 * u), dense(f + u, u)],
        }
    }

    /// Kernel and bias lengths of the cell's weights.
    pub fn weight_lens(&self) -> (usize, usize) {
        self.denses().iter().fold((0, 0), |(w, b), d| {
            let (dw, db) = Op::Dense(*d).weight_lens();
            (w + dw, b + db)
        })
    }

    /// Kernel and bias lengths of the cell's packed weights ([`crate::packing`]).
    pub fn packed_lens(&self, fp: &FixedPoint) -> (usize, usize) {
        self.denses().iter().fold((0, 0), |(w, b), d| {
            let (dw, db) = packed_lens(&Op::Dense(*d), fp);
            (w + dw, b + db)
        })
    }

    /// Checks the spec's sizes.
    pub fn validate(&self) -> Result<(), String> {
        if self.features == 0 || self.units == 0 {
            return Err(format!(
                "a recurrent cell needs features and units, not {} and {}",
                self.features, self.units
            ));
        }
        Ok(())
    }
}

/// Splits `v` into consecutive pieces of the given lengths.
fn split<T>(mut v: &[T], lens: impl IntoIterator<Item = usize>) -> Vec<&[T]> {
    let mut out = vec![];
    for n in lens {
        let (a, b) = v.split_at(n);
        out.push(a);
        v = b;
    }
    out
}

/// The cell's integer form on one timestep: the next state (`h'`, then the LSTM's `c'`) from the
/// input `x` and the state. `gate` is σ, `act` is φ (module docs).
pub fn cell_step(
    spec: &CellSpec,
    gate: &Act,
    act: &Act,
    x: &[i64],
    state: &[i64],
    weights: &Weights,
    fp: &FixedPoint,
) -> Result<Vec<i64>, NativeError> {
    spec.validate().map_err(NativeError::InvalidParam)?;
    let (wl, bl) = spec.weight_lens();
    if x.len() != spec.features || state.len() != spec.state_len() {
        return Err(NativeError::Shape(format!(
            "recurrent cell: {} inputs and {} state values, expected {} and {}",
            x.len(),
            state.len(),
            spec.features,
            spec.state_len()
        )));
    }
    if weights.w.len() != wl || weights.b.len() != bl {
        return Err(NativeError::Shape(format!(
            "recurrent cell: {} + {} weights, expected {wl} + {bl}",
            weights.w.len(),
            weights.b.len()
        )));
    }
    let ds = spec.denses();
    let ws = split(&weights.w, ds.iter().map(|d| d.n_in * d.n_out));
    let bs = split(&weights.b, ds.iter().map(|d| d.n_out));
    let run = |k: usize, input: &[i64]| native::dense(&ds[k], input, ws[k], bs[k], fp).map(|l| l.q);
    let apply = |a: &Act, v: &[i64]| -> Result<Vec<i64>, NativeError> {
        v.iter()
            .enumerate()
            .map(|(i, &q)| native::activation(a, q, fp, i).map(|o| o.y))
            .collect()
    };
    let pair = |m: Merge, a: &[i64], b: &[i64]| -> Result<Vec<i64>, NativeError> {
        native::merge(m, false, a, b, fp)
    };
    let u = spec.units;
    let h = &state[..u];
    let next_h_gru = |z: &[i64], n: &[i64]| {
        let d = pair(Merge::Subtract, h, n)?;
        pair(Merge::Add, n, &pair(Merge::Multiply, z, &d)?)
    };
    match spec.kind {
        CellKind::Simple => apply(act, &run(0, &[x, h].concat())?),
        CellKind::Lstm => {
            let c = &state[u..];
            let q = run(0, &[x, h].concat())?;
            let (i, f) = (apply(gate, &q[..u])?, apply(gate, &q[u..2 * u])?);
            let (g, o) = (apply(act, &q[2 * u..3 * u])?, apply(gate, &q[3 * u..])?);
            let c2 = pair(
                Merge::Add,
                &pair(Merge::Multiply, &f, c)?,
                &pair(Merge::Multiply, &i, &g)?,
            )?;
            let h2 = pair(Merge::Multiply, &o, &apply(act, &c2)?)?;
            Ok([h2, c2].concat())
        }
        CellKind::Gru { reset_after: true } => {
            let (qx, qh) = (run(0, x)?, run(1, h)?);
            let z = apply(gate, &pair(Merge::Add, &qx[..u], &qh[..u])?)?;
            let r = apply(gate, &pair(Merge::Add, &qx[u..2 * u], &qh[u..2 * u])?)?;
            let rh = pair(Merge::Multiply, &r, &qh[2 * u..])?;
            let n = apply(act, &pair(Merge::Add, &qx[2 * u..], &rh)?)?;
            next_h_gru(&z, &n)
        }
        CellKind::Gru { reset_after: false } => {
            let q = run(0, &[x, h].concat())?;
            let (z, r) = (apply(gate, &q[..u])?, apply(gate, &q[u..])?);
            let rh = pair(Merge::Multiply, &r, h)?;
            let n = apply(act, &run(1, &[x, &rh].concat())?)?;
            next_h_gru(&z, &n)
        }
    }
}

/// The gadget of [`cell_step`]: the next state from `x` and `state` (both range-checked by the
/// caller, as a Dense's input) and the packed weights `w`, `b` of [`CellSpec::denses`] in order.
/// Every value it outputs is range-checked.
#[allow(clippy::too_many_arguments)]
pub fn cell<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &CellSpec,
    gate: &Act,
    act: &Act,
    x: &[AllocatedNum<F>],
    state: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    spec.validate().map_err(unsat)?;
    let (wl, bl) = spec.packed_lens(fp);
    if x.len() != spec.features || state.len() != spec.state_len() || w.len() != wl || b.len() != bl
    {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "recurrent cell: {} inputs, {} state values, {} + {} packed weights; expected {}, {}, \
             {wl} + {bl}",
            x.len(),
            state.len(),
            w.len(),
            b.len(),
            spec.features,
            spec.state_len()
        )));
    }
    let ds = spec.denses();
    let lens: Vec<(usize, usize)> = ds.iter().map(|d| packed_lens(&Op::Dense(*d), fp)).collect();
    let ws = split(w, lens.iter().map(|l| l.0));
    let bs = split(b, lens.iter().map(|l| l.1));
    let u = spec.units;
    let h = &state[..u];

    // each piece in a namespace of its own; `nums` materialises range-checked values
    let mut step = 0usize;
    let mut ns = |name: &str| {
        step += 1;
        format!("{step:02}_{name}")
    };
    fn nums<F: Field, CS: ConstraintSystem<F>>(
        cs: &mut CS,
        v: &[Signed<F>],
        fp: &FixedPoint,
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        v.iter()
            .enumerate()
            .map(|(j, s)| {
                activate(
                    &mut cs.namespace(|| format!("v{j}")),
                    &Act::Linear,
                    s,
                    fp,
                    j,
                )
            })
            .collect()
    }
    fn apply<F: Field, CS: ConstraintSystem<F>>(
        cs: &mut CS,
        a: &Act,
        v: &[AllocatedNum<F>],
        fp: &FixedPoint,
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        v.iter()
            .enumerate()
            .map(|(j, n)| {
                let s = Signed::from_num(n)?;
                activate(&mut cs.namespace(|| format!("y{j}")), a, &s, fp, j)
            })
            .collect()
    }
    fn pair<F: Field, CS: ConstraintSystem<F>>(
        cs: &mut CS,
        m: Merge,
        a: &[AllocatedNum<F>],
        b: &[AllocatedNum<F>],
        fp: &FixedPoint,
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        let v = merge(&mut cs.namespace(|| "merge"), m, false, a, b, fp)?;
        nums(&mut cs.namespace(|| "out"), &v, fp)
    }
    let run = |cs: &mut CS, name: &str, k: usize, input: &[AllocatedNum<F>]| {
        let q = linear(
            &mut cs.namespace(|| format!("{name}_dense")),
            &Op::Dense(ds[k]),
            input,
            ws[k],
            bs[k],
            fp,
        )?;
        nums(&mut cs.namespace(|| format!("{name}_q")), &q, fp)
    };

    match spec.kind {
        CellKind::Simple => {
            let q = run(cs, &ns("gates"), 0, &[x, h].concat())?;
            apply(&mut cs.namespace(|| ns("h")), act, &q, fp)
        }
        CellKind::Lstm => {
            let c = &state[u..];
            let q = run(cs, &ns("gates"), 0, &[x, h].concat())?;
            let i = apply(&mut cs.namespace(|| ns("i")), gate, &q[..u], fp)?;
            let f = apply(&mut cs.namespace(|| ns("f")), gate, &q[u..2 * u], fp)?;
            let g = apply(&mut cs.namespace(|| ns("g")), act, &q[2 * u..3 * u], fp)?;
            let o = apply(&mut cs.namespace(|| ns("o")), gate, &q[3 * u..], fp)?;
            let fc = pair(&mut cs.namespace(|| ns("f_c")), Merge::Multiply, &f, c, fp)?;
            let ig = pair(&mut cs.namespace(|| ns("i_g")), Merge::Multiply, &i, &g, fp)?;
            let c2 = pair(&mut cs.namespace(|| ns("c")), Merge::Add, &fc, &ig, fp)?;
            let tc = apply(&mut cs.namespace(|| ns("act_c")), act, &c2, fp)?;
            let h2 = pair(&mut cs.namespace(|| ns("h")), Merge::Multiply, &o, &tc, fp)?;
            Ok([h2, c2].concat())
        }
        CellKind::Gru { reset_after } => {
            let (z, n) = if reset_after {
                let qx = run(cs, &ns("x"), 0, x)?;
                let qh = run(cs, &ns("h"), 1, h)?;
                let sz = pair(
                    &mut cs.namespace(|| ns("zs")),
                    Merge::Add,
                    &qx[..u],
                    &qh[..u],
                    fp,
                )?;
                let (xr, hr) = (&qx[u..2 * u], &qh[u..2 * u]);
                let sr = pair(&mut cs.namespace(|| ns("rs")), Merge::Add, xr, hr, fp)?;
                let z = apply(&mut cs.namespace(|| ns("z")), gate, &sz, fp)?;
                let r = apply(&mut cs.namespace(|| ns("r")), gate, &sr, fp)?;
                let rh = pair(
                    &mut cs.namespace(|| ns("r_h")),
                    Merge::Multiply,
                    &r,
                    &qh[2 * u..],
                    fp,
                )?;
                let sn = pair(
                    &mut cs.namespace(|| ns("ns")),
                    Merge::Add,
                    &qx[2 * u..],
                    &rh,
                    fp,
                )?;
                (z, apply(&mut cs.namespace(|| ns("n")), act, &sn, fp)?)
            } else {
                let q = run(cs, &ns("zr"), 0, &[x, h].concat())?;
                let z = apply(&mut cs.namespace(|| ns("z")), gate, &q[..u], fp)?;
                let r = apply(&mut cs.namespace(|| ns("r")), gate, &q[u..], fp)?;
                let rh = pair(&mut cs.namespace(|| ns("r_h")), Merge::Multiply, &r, h, fp)?;
                let qn = run(cs, &ns("n"), 1, &[x, &rh[..]].concat())?;
                (z, apply(&mut cs.namespace(|| ns("n_act")), act, &qn, fp)?)
            };
            let d = pair(&mut cs.namespace(|| ns("h_n")), Merge::Subtract, h, &n, fp)?;
            let zd = pair(&mut cs.namespace(|| ns("z_d")), Merge::Multiply, &z, &d, fp)?;
            pair(&mut cs.namespace(|| ns("h")), Merge::Add, &n, &zd, fp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::field::{from_i64, to_i64};
    use crate::packing::pack;
    use crate::step::{alloc_i64s, alloc_nums};
    use nova_snark::provider::Bn256EngineKZG;
    use nova_snark::traits::Engine;

    type F = <Bn256EngineKZG as Engine>::Scalar;

    const FP: FixedPoint = FixedPoint {
        fa: 6,
        fw: 6,
        bits: 16,
        guard: 1,
    };

    /// A hard sigmoid-like gate `[0, 1]` and a bounded activation `[0, 2]` (the gadgets of
    /// smooth activations are tested in `activation`; here the cell's wiring is).
    fn acts() -> (Act, Act) {
        (Act::Clip { hi: 1 << FP.fa }, Act::Clip { hi: 2 << FP.fa })
    }

    /// Small deterministic values in `[−m, m]`.
    fn values(n: usize, seed: u64, m: i64) -> Vec<i64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % (2 * m as u64 + 1)) as i64 - m
            })
            .collect()
    }

    fn kinds() -> [CellKind; 4] {
        [
            CellKind::Simple,
            CellKind::Lstm,
            CellKind::Gru { reset_after: true },
            CellKind::Gru { reset_after: false },
        ]
    }

    fn weights(spec: &CellSpec, seed: u64) -> Weights {
        let (wl, bl) = spec.weight_lens();
        Weights {
            w: values(wl, seed, 40),
            b: values(bl, seed + 1, 1 << (FP.fa + FP.fw - 3)),
        }
    }

    /// Synthesizes one timestep; the next state's values.
    fn synth(
        cs: &mut TamperCs<F>,
        spec: &CellSpec,
        x: &[i64],
        state: &[i64],
        wt: &Weights,
    ) -> Result<Vec<i64>, SynthesisError> {
        let (gate, act) = acts();
        let xs = alloc_i64s(cs, "x", x)?;
        let ss = alloc_i64s(cs, "state", state)?;
        let (mut pw, mut pb) = (vec![], vec![]);
        let ds = spec.denses();
        let ws = split(&wt.w, ds.iter().map(|d| d.n_in * d.n_out));
        let bs = split(&wt.b, ds.iter().map(|d| d.n_out));
        for (k, d) in ds.iter().enumerate() {
            let dw = Weights {
                w: ws[k].to_vec(),
                b: bs[k].to_vec(),
            };
            let p = pack::<F>(&Op::Dense(*d), &dw, &FP);
            pw.extend(p.w);
            pb.extend(p.b);
        }
        let some = |v: Vec<F>| v.into_iter().map(Some).collect::<Vec<_>>();
        let w = alloc_nums(cs, "w", &some(pw))?;
        let b = alloc_nums(cs, "b", &some(pb))?;
        let out = cell(
            &mut cs.namespace(|| "cell"),
            spec,
            &gate,
            &act,
            &xs,
            &ss,
            &w,
            &b,
            &FP,
        )?;
        Ok(out
            .iter()
            .map(|n| to_i64(&n.get_value().unwrap()).unwrap())
            .collect())
    }

    /// Every cell, over a few timesteps fed their own state: the gadget is satisfied and computes
    /// its native twin.
    #[test]
    fn cells_compute_their_twin_timestep_after_timestep() {
        let (gate, act) = acts();
        for kind in kinds() {
            let spec = CellSpec {
                kind,
                features: 3,
                units: 2,
            };
            let wt = weights(&spec, 7);
            let mut state = vec![0; spec.state_len()];
            let mut moved = false;
            for t in 0..4 {
                let x = values(spec.features, 100 + t, 1 << FP.fa);
                let want = cell_step(&spec, &gate, &act, &x, &state, &wt, &FP).unwrap();
                let mut cs = TamperCs::<F>::new();
                let got = synth(&mut cs, &spec, &x, &state, &wt).unwrap();
                assert_eq!(cs.which_is_unsatisfied(), None, "{kind:?} timestep {t}");
                assert_eq!(got, want, "{kind:?} timestep {t}");
                moved |= want != state;
                state = want;
            }
            assert!(moved, "{kind:?}: a state that moves");
        }
    }

    /// The cell's wiring: a gate's output forged in the constraint system (the LSTM's forget
    /// gate, the GRU's update gate) fails exactly its activation's constraint and the product
    /// that reads it, which no longer matches its quotient and remainder.
    #[test]
    fn a_forged_gate_fails_the_product_that_reads_it() {
        for (kind, gate_path, product) in [
            (
                CellKind::Lstm,
                "cell/03_f/y0",
                "cell/06_f_c/merge/out0/product",
            ),
            (
                CellKind::Gru { reset_after: true },
                "cell/05_z/y0",
                "cell/11_z_d/merge/out0/product",
            ),
        ] {
            let spec = CellSpec {
                kind,
                features: 3,
                units: 2,
            };
            let wt = weights(&spec, 11);
            let x = values(3, 5, 1 << FP.fa);
            let state = values(spec.state_len(), 6, 1 << FP.fa);
            let mut honest = TamperCs::<F>::new();
            synth(&mut honest, &spec, &x, &state, &wt).unwrap();
            assert!(honest.is_satisfied());
            // the gate's output variable, one more than the activation computed
            let y = format!("{gate_path}/y/num");
            let forged = honest.value(&y).expect("the gate's output") + from_i64::<F>(1);
            let mut cs = TamperCs::<F>::new();
            cs.override_value(y, forged);
            synth(&mut cs, &spec, &x, &state, &wt).unwrap();
            let relu = format!("{gate_path}/relu");
            assert_eq!(cs.unsatisfied(), [relu.as_str(), product], "{kind:?}");
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let (gate, act) = acts();
        let spec = CellSpec {
            kind: CellKind::Lstm,
            features: 2,
            units: 2,
        };
        let wt = weights(&spec, 1);
        let err = cell_step(&spec, &gate, &act, &[0; 3], &[0; 4], &wt, &FP).unwrap_err();
        assert!(err.to_string().contains("expected 2 and 4"), "{err}");
        let err = cell_step(&spec, &gate, &act, &[0; 2], &[0; 2], &wt, &FP).unwrap_err();
        assert!(err.to_string().contains("state"), "{err}");
        let zero = CellSpec { units: 0, ..spec };
        assert!(cell_step(&zero, &gate, &act, &[0; 2], &[], &wt, &FP).is_err());
    }
}
