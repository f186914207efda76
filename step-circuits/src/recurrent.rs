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
//! ([`crate::packing`]) and the cell's weights are theirs in order. A recurrent layer
//! ([`Op::Recurrent`], [`recurrent`]) runs the cell over its timesteps in one step, from a zero
//! state; in bands ([`crate::band::BandPlan`], docs/DESIGN.md §7.4) the layer is a step a
//! timestep, [`cell`] on the state the caller carries between bands. The integer form is
//! [`crate::native::cell_step`] and
//! [`crate::native::recurrent`].

use crate::activation::activate;
use crate::elementwise::merge;
use crate::field::Field;
use crate::linear::linear;

use crate::packing::{packed_lens, split_parts};
use crate::range::{unsat, Signed};
use crate::spec::{Act, CellKind, CellSpec, FixedPoint, Merge, Op, RecurrentSpec};
use crate::zero::is_zero;
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

/// The gadget of [`crate::native::cell_step`]: the next state from `x` and `state` (both range-checked by the
/// caller, as a Dense's input) and the packed weights `w`, `b` of [`CellSpec::denses`] in order.
/// Every value it outputs is range-checked.
///
/// A masked cell's `x` ends with the timestep's token id `t` (at activation scale, as the model
/// input holds it). The timestep is padding if `p = [t = 0]` ([`is_zero`], namespace `padding`).
/// Each state value is then `s' = s + (1 − p)·(u − s)` (`keep{j}`), `u` the cell's update: `s`
/// unchanged where the token is padding, as Keras' masked recurrent layers do. `s'` is `s` or `u`,
/// both range-checked.
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
    let (wl, bl) = spec
        .linear_parts()
        .iter()
        .map(|p| packed_lens(p, fp))
        .fold((0, 0), |(w, b), l| (w + l.0, b + l.1));
    if x.len() != spec.input_len()
        || state.len() != spec.state_len()
        || w.len() != wl
        || b.len() != bl
    {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "recurrent cell: {} inputs, {} state values, {} + {} packed weights; expected {}, {}, \
             {wl} + {bl}",
            x.len(),
            state.len(),
            w.len(),
            b.len(),
            spec.input_len(),
            spec.state_len()
        )));
    }
    let update = update(cs, spec, gate, act, &x[..spec.features], state, w, b, fp)?;
    if !spec.masked {
        return Ok(update);
    }
    let token = &x[spec.features];
    let padding = is_zero(
        cs,
        "padding",
        LinearCombination::zero() + token.get_variable(),
        token.get_value(),
    )?;
    state
        .iter()
        .zip(&update)
        .enumerate()
        .map(|(j, (s, u))| {
            let kept = AllocatedNum::alloc(cs.namespace(|| format!("kept{j}")), || {
                let (s, u, p) = (s.get_value(), u.get_value(), padding.get_value());
                match (s, u, p) {
                    (Some(s), _, Some(true)) => Ok(s),
                    (_, Some(u), Some(false)) => Ok(u),
                    _ => Err(SynthesisError::AssignmentMissing),
                }
            })?;
            // (1 − p)·(u − s) = s' − s
            cs.enforce(
                || format!("keep{j}"),
                |lc| lc + CS::one() - padding.get_variable(),
                |lc| lc + u.get_variable() - s.get_variable(),
                |lc| lc + kept.get_variable() - s.get_variable(),
            );
            Ok(kept)
        })
        .collect()
}

/// The cell's update from the `features` inputs `x` and `state`, lengths checked by [`cell`].
#[allow(clippy::too_many_arguments)]
fn update<F: Field, CS: ConstraintSystem<F>>(
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
    let ds = spec.denses();
    let parts = split_parts(spec.linear_parts(), w, b, |p| packed_lens(p, fp))
        .ok_or_else(|| SynthesisError::IncompatibleLengthVector("recurrent cell weights".into()))?;
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
            parts[k].1,
            parts[k].2,
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

/// The gadget of [`crate::native::recurrent`]: the layer's cell unrolled over its timesteps (under
/// `t{t}/…`) from a zero state (`zero`, `zero_is`), `x` range-checked by the caller. The outputs
/// are the cell's (range-checked).
#[allow(clippy::too_many_arguments)]
pub fn recurrent<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    spec: &RecurrentSpec,
    act: &Act,
    x: &[AllocatedNum<F>],
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    let Act::Cell { gate, act } = act else {
        return Err(unsat(format!(
            "a recurrent layer takes its cell's two activations, not {}",
            act.name()
        )));
    };
    let c = &spec.cell;
    if x.len() != spec.timesteps * c.input_len() {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "recurrent layer: {} inputs, expected {} timesteps of {}",
            x.len(),
            spec.timesteps,
            c.input_len()
        )));
    }
    let zero = AllocatedNum::alloc(cs.namespace(|| "zero"), || Ok(F::ZERO))?;
    cs.enforce(
        || "zero_is",
        |lc| lc + zero.get_variable(),
        |lc| lc + CS::one(),
        |lc| lc,
    );
    let mut state = vec![zero; c.state_len()];
    let mut out = vec![];
    for (t, xt) in x.chunks(c.input_len()).enumerate() {
        state = cell(
            &mut cs.namespace(|| format!("t{t}")),
            c,
            gate,
            act,
            xt,
            &state,
            w,
            b,
            fp,
        )?;
        if spec.return_sequences {
            out.extend_from_slice(&state[..c.units]);
        }
    }
    if !spec.return_sequences {
        out.extend_from_slice(&state[..c.units]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::field::{from_i64, to_i64};
    use crate::native::{self, cell_step, Weights};
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

    fn layer(cell: &CellSpec, timesteps: usize, return_sequences: bool) -> RecurrentSpec {
        RecurrentSpec {
            cell: *cell,
            timesteps,
            return_sequences,
        }
    }

    fn cell_act() -> Act {
        let (gate, act) = acts();
        Act::Cell {
            gate: Box::new(gate),
            act: Box::new(act),
        }
    }

    /// Synthesizes a whole layer as a step (`op/…`); its outputs' values.
    fn synth_layer(
        cs: &mut TamperCs<F>,
        spec: &RecurrentSpec,
        x: &[i64],
        wt: &Weights,
    ) -> Vec<i64> {
        let op = Op::Recurrent(*spec);
        let p = pack::<F>(&op, wt, &FP);
        let some = |v: Vec<F>| v.into_iter().map(Some).collect::<Vec<_>>();
        let xs = alloc_i64s(cs, "x", x).unwrap();
        let w = alloc_nums(cs, "w", &some(p.w)).unwrap();
        let b = alloc_nums(cs, "b", &some(p.b)).unwrap();
        let out = crate::step::step(cs, &op, &cell_act(), &[], &xs, None, &w, &b, &FP).unwrap();
        out.y
            .iter()
            .map(|n| to_i64(&n.get_value().unwrap()).unwrap())
            .collect()
    }

    /// Every layer, both outputs: the step over the whole sequence is satisfied and computes the
    /// native twin, and its weights unpack to themselves.
    #[test]
    fn layers_compute_their_twin_over_the_sequence() {
        for kind in kinds() {
            for return_sequences in [true, false] {
                let cell = CellSpec {
                    kind,
                    features: 2,
                    units: 2,
                    masked: false,
                };
                let spec = layer(&cell, 3, return_sequences);
                let op = Op::Recurrent(spec);
                op.validate().unwrap();
                let wt = weights(&cell, 3);
                let x = values(op.input_len(), 9, 1 << FP.fa);
                let want = native::apply(&op, &cell_act(), &x, None, &wt, &FP).unwrap();
                assert_eq!(want.y.len(), op.output_len());
                let mut cs = TamperCs::<F>::new();
                let got = synth_layer(&mut cs, &spec, &x, &wt);
                assert_eq!(cs.which_is_unsatisfied(), None, "{kind:?}");
                assert_eq!(got, want.y, "{kind:?} {return_sequences}");
                let p = pack::<F>(&op, &wt, &FP);
                assert_eq!((p.w.len(), p.b.len()), packed_lens(&op, &FP));
                assert_eq!(crate::packing::unpack(&op, &p.w, &p.b, &FP), Some(wt));
            }
        }
    }

    /// The state handed from one timestep to the next is the previous cell's output: a forged
    /// `h` after the first timestep fails the constraint that computes it and the next
    /// timestep's product with it.
    #[test]
    fn a_forged_state_between_timesteps_fails_where_it_is_computed() {
        let cell = CellSpec {
            kind: CellKind::Simple,
            features: 2,
            units: 2,
            masked: false,
        };
        let spec = layer(&cell, 3, false);
        let wt = weights(&cell, 4);
        let x = values(6, 2, 1 << FP.fa);
        let mut honest = TamperCs::<F>::new();
        synth_layer(&mut honest, &spec, &x, &wt);
        assert!(honest.is_satisfied());
        let h = "op/t0/02_h/y0/y/num";
        let forged = honest.value(h).expect("the first timestep's h") + from_i64::<F>(1);
        let mut cs = TamperCs::<F>::new();
        cs.override_value(h, forged);
        synth_layer(&mut cs, &spec, &x, &wt);
        assert_eq!(cs.unused_overrides(), Vec::<String>::new());
        // the activation that computes it, and the next timestep's product that reads it
        assert_eq!(
            cs.unsatisfied(),
            ["op/t0/02_h/y0/relu", "op/t1/01_gates_dense/grp0/mul2"]
        );
    }

    /// A recurrent layer takes the cell's two activations, and those apply nowhere else.
    #[test]
    fn cell_activations_go_with_recurrent_layers_only() {
        let cell = CellSpec {
            kind: CellKind::Simple,
            features: 1,
            units: 1,
            masked: false,
        };
        let op = Op::Recurrent(layer(&cell, 2, true));
        let wt = weights(&cell, 1);
        let err = native::apply(&op, &Act::Relu, &[0, 0], None, &wt, &FP).unwrap_err();
        assert!(err.to_string().contains("two activations"), "{err}");
        let err = native::activation(&cell_act(), 3, &FP, 0).unwrap_err();
        assert!(err.to_string().contains("inside its layer"), "{err}");
        let nested = Act::Cell {
            gate: Box::new(cell_act()),
            act: Box::new(Act::Linear),
        };
        assert!(nested.validate(&FP).is_err());
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
        // a cell's weights pack as a one-timestep layer's
        let p = pack::<F>(&Op::Recurrent(layer(spec, 1, false)), wt, &FP);
        let (pw, pb) = (p.w, p.b);
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
                masked: false,
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
                masked: false,
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

    /// A masked cell: every cell, over timesteps whose token ids include padding (0), computes
    /// its twin; a padding timestep keeps the state, the others move it. A whole masked layer
    /// (the token a timestep's last input) computes its twin too.
    #[test]
    fn masked_cells_keep_the_state_on_padding() {
        let (gate, act) = acts();
        let unit = 1i64 << FP.fa;
        for kind in kinds() {
            let spec = CellSpec {
                kind,
                features: 3,
                units: 2,
                masked: true,
            };
            let wt = weights(&spec, 7);
            let mut state = values(spec.state_len(), 3, unit);
            for (t, token) in [0, 3, 0, 1].into_iter().enumerate() {
                let mut x = values(spec.features, 100 + t as u64, unit);
                x.push(token * unit);
                let want = cell_step(&spec, &gate, &act, &x, &state, &wt, &FP).unwrap();
                let mut cs = TamperCs::<F>::new();
                let got = synth(&mut cs, &spec, &x, &state, &wt).unwrap();
                assert_eq!(cs.which_is_unsatisfied(), None, "{kind:?} timestep {t}");
                assert_eq!(got, want, "{kind:?} timestep {t}");
                assert_eq!(want == state, token == 0, "{kind:?} timestep {t}");
                state = want;
            }
            let layer = layer(&spec, 4, true);
            let op = Op::Recurrent(layer);
            let mut x = values(op.input_len(), 9, unit);
            for (t, row) in x.chunks_mut(spec.input_len()).enumerate() {
                row[spec.features] = [0, 2, 0, 5][t] * unit;
            }
            let want = native::apply(&op, &cell_act(), &x, None, &wt, &FP).unwrap();
            let mut cs = TamperCs::<F>::new();
            assert_eq!(synth_layer(&mut cs, &layer, &x, &wt), want.y, "{kind:?}");
            assert_eq!(cs.which_is_unsatisfied(), None, "{kind:?}");
            // the zero state kept through the first (padding) timestep
            assert_eq!(want.y[..2], [0, 0], "{kind:?}");
        }
    }

    /// The mask bit is the token's: claiming padding for a real token (or a real token for
    /// padding) fails the constraint that ties the bit to the token, and the kept state must be
    /// the one the bit selects.
    #[test]
    fn a_forged_mask_bit_or_kept_state_fails() {
        let spec = CellSpec {
            kind: CellKind::Simple,
            features: 2,
            units: 2,
            masked: true,
        };
        let wt = weights(&spec, 4);
        let unit = 1i64 << FP.fa;
        let state = values(2, 6, unit);
        // a real token claimed as padding (its inverse claimed 0 too) keeping the state, padding
        // claimed real taking the update
        let (gate, act) = acts();
        let features = values(2, 5, unit);
        let update = cell_step(
            &spec,
            &gate,
            &act,
            &[&features[..], &[unit]].concat(),
            &state,
            &wt,
            &FP,
        )
        .unwrap();
        for (token, padding, inverse, kept, fails) in [
            (3, 1, Some(0), &state, "cell/padding_zero"),
            (0, 0, None, &update, "cell/padding_inv"),
        ] {
            let x = [&features[..], &[token * unit]].concat();
            let mut honest = TamperCs::<F>::new();
            synth(&mut honest, &spec, &x, &state, &wt).unwrap();
            assert!(honest.is_satisfied());
            let mut cs = TamperCs::<F>::new();
            cs.override_value("cell/padding/boolean", from_i64::<F>(padding));
            if let Some(v) = inverse {
                cs.override_value("cell/padding_inverse/num", from_i64::<F>(v));
            }
            for (j, &v) in kept.iter().enumerate() {
                cs.override_value(format!("cell/kept{j}/num"), from_i64::<F>(v));
            }
            synth(&mut cs, &spec, &x, &state, &wt).unwrap();
            assert_eq!(cs.unused_overrides(), Vec::<String>::new());
            assert_eq!(cs.unsatisfied(), [fails], "token {token}");
        }
        // a padding timestep that moves the state anyway
        let x = [&features[..], &[0]].concat();
        let mut cs = TamperCs::<F>::new();
        cs.override_value("cell/kept0/num", from_i64::<F>(state[0] + 1));
        synth(&mut cs, &spec, &x, &state, &wt).unwrap();
        assert_eq!(cs.unsatisfied(), ["cell/keep0"]);
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let (gate, act) = acts();
        let spec = CellSpec {
            kind: CellKind::Lstm,
            features: 2,
            units: 2,
            masked: false,
        };
        let wt = weights(&spec, 1);
        let err = cell_step(&spec, &gate, &act, &[0; 3], &[0; 4], &wt, &FP).unwrap_err();
        assert!(err.to_string().contains("expected 2 and 4"), "{err}");
        // a masked cell reads the token after the features
        let masked = CellSpec {
            masked: true,
            ..spec
        };
        let err = cell_step(&masked, &gate, &act, &[0; 2], &[0; 4], &wt, &FP).unwrap_err();
        assert!(err.to_string().contains("expected 3 and 4"), "{err}");
        let err = cell_step(&spec, &gate, &act, &[0; 2], &[0; 2], &wt, &FP).unwrap_err();
        assert!(err.to_string().contains("state"), "{err}");
        let zero = CellSpec { units: 0, ..spec };
        assert!(cell_step(&zero, &gate, &act, &[0; 2], &[], &wt, &FP).is_err());
    }
}
